package objectio

import (
	"bytes"
	"context"
	"io"
	"testing"
)

func benchEnv(b *testing.B, discard bool) *env {
	return newEnv(b, discard, func(c *Config) {
		d := DefaultConfig()
		c.Scheme, c.SegmentSize, c.ReadWindow = d.Scheme, d.SegmentSize, d.ReadWindow
		c.WriteStall, c.WriteFinish, c.ReadHedge = d.WriteStall, d.WriteFinish, d.ReadHedge
	})
}

// BenchmarkWrite: a 64 MiB object through the engine into the in-memory
// fake (which only checksums: discard mode), all 14 shards.
func BenchmarkWrite(b *testing.B) {
	const size = 64 << 20
	v := benchEnv(b, true)
	data := randData(1, size)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		segs, err := v.e.Plan(context.Background(), newVID(), size)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.e.Write(context.Background(), segs, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead: a 64 MiB object read back whole, with all shards healthy
// and with 4 data shards missing (reconstruction on every window).
func BenchmarkRead(b *testing.B) {
	const size = 64 << 20
	for _, missing := range []int{0, 4} {
		b.Run(map[int]string{0: "healthy", 4: "4-data-missing"}[missing], func(b *testing.B) {
			v := benchEnv(b, false)
			segs := v.put(b, randData(2, size))
			for i := 0; i < missing; i++ {
				v.store.Remove(v.addr(segs[0].Shards[i].Node), segs[0].Shards[i].ID)
			}
			b.SetBytes(size)
			b.ResetTimer()
			for b.Loop() {
				if err := v.e.Read(context.Background(), segs, v.e.Scheme(), 0, size, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

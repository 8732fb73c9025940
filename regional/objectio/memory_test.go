package objectio

import (
	"context"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"
)

// generator yields n pseudo-random bytes without holding them.
type generator struct {
	n, x uint64
}

func (g *generator) Read(p []byte) (int, error) {
	if g.n == 0 {
		return 0, io.EOF
	}
	if uint64(len(p)) > g.n {
		p = p[:g.n]
	}
	for i := range p {
		g.x = g.x*6364136223846793005 + 1442695040888963407
		p[i] = byte(g.x >> 56)
	}
	g.n -= uint64(len(p))
	return len(p), nil
}

// Writing a 256 MiB object keeps the heap bounded (never the whole object,
// never a whole segment).
func TestWriteMemoryBound(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("256 MiB write; heap figures are meaningless under -race")
	}
	const size = 256 << 20
	const limit = 64 << 20
	v := newEnv(t, true, func(c *Config) {
		d := DefaultConfig()
		c.Scheme, c.SegmentSize, c.ReadWindow = d.Scheme, d.SegmentSize, d.ReadWindow
	})
	segs, err := v.e.Plan(context.Background(), newVID(), size)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	var peak uint64
	samples := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				samples++
			}
		}
	}()
	out, err := v.e.Write(context.Background(), segs, &generator{n: size, x: 1})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 || v.store.PutBytes.Load() != 14*4*v.e.layout.ShardSize(64<<20) {
		t.Fatalf("%d segments, %d bytes stored", len(out), v.store.PutBytes.Load())
	}
	t.Logf("heap in use: base %d MiB, peak %d MiB while writing 256 MiB", base.HeapInuse>>20, peak>>20)
	if samples < 5 {
		t.Fatalf("only %d heap samples", samples)
	}
	if peak > limit {
		t.Fatalf("peak heap %d MiB > %d MiB", peak>>20, limit>>20)
	}
}

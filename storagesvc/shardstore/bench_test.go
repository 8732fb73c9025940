package shardstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The benchmarks compare this log-structured store with the obvious
// alternative, one durable file per shard (temp file + fsync + rename +
// directory fsync), under parallel writers. Results: docs/storage-format.md.

const benchWriters = 16 // goroutines per GOMAXPROCS

func benchLog(b *testing.B, size int) {
	o := DefaultOptions(b.TempDir())
	s, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	payload := data(size, 1)
	var n atomic.Int64
	b.SetBytes(int64(size))
	b.SetParallelism(benchWriters)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("shard-%d", n.Add(1))
			if _, err := s.Put(context.Background(), id, bytes.NewReader(payload), int64(size), PutOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	batches, _ := s.syncer.counts()
	b.ReportMetric(float64(b.N)/float64(max(batches, 1)), "puts/fsync")
}

func benchFiles(b *testing.B, size int) {
	dir := b.TempDir()
	payload := data(size, 1)
	var n atomic.Int64
	b.SetBytes(int64(size))
	b.SetParallelism(benchWriters)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("shard-%d", n.Add(1))
			if err := putFile(dir, id, payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// putFile is the file-per-shard baseline: durable create of one file.
func putFile(dir, id string, p []byte) error {
	tmp := filepath.Join(dir, id+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(p); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, id)); err != nil {
		return err
	}
	return syncDir(dir)
}

func BenchmarkPut4K(b *testing.B)          { benchLog(b, 4<<10) }
func BenchmarkPut1M(b *testing.B)          { benchLog(b, 1<<20) }
func BenchmarkFilePerShard4K(b *testing.B) { benchFiles(b, 4<<10) }
func BenchmarkFilePerShard1M(b *testing.B) { benchFiles(b, 1<<20) }

func BenchmarkGet1MFull(b *testing.B) {
	s, err := Open(DefaultOptions(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	payload := data(1<<20, 1)
	put(b, s, "x", payload)
	b.SetBytes(1 << 20)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := s.Open("x", 0, -1)
			if err != nil {
				b.Error(err)
				return
			}
			for {
				if _, err := r.Next(); err != nil {
					break
				}
			}
			r.Close()
		}
	})
}

// BenchmarkVerify: the scrubber's verify of a stored shard (every block
// read and its CRC-32C checked, the record trailer checked) — the node-local
// cost of a scrub, bytes from the page cache. Shards of 4 MiB, one
// goroutine per CPU (GOMAXPROCS).
func BenchmarkVerify(b *testing.B) {
	s, err := Open(DefaultOptions(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const size = 4 << 20
	ids := []string{"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7"}
	for i, id := range ids {
		put(b, s, id, data(size, uint64(i)))
	}
	b.SetBytes(size)
	b.ResetTimer()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Verify(ids[n.Add(1)%int64(len(ids))]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPutShardsCPU writes the 14 shards of 16 MiB objects (10+4: 1.6
// MiB each) into 14 stores at once, as the 14 nodes of a stripe do, and
// reports the process's CPU time (user + system, getrusage) per MiB of
// shard: "cached" keeps every durable record in the page cache, "uncached"
// drops it once durable (Options.UncachedWriteMinBytes), "direct" writes it
// with O_DIRECT (Options.DirectWriteMinBytes). docs/performance.md,
// "Storage node writes" and "O_DIRECT shard writes".
func BenchmarkPutShardsCPU(b *testing.B) {
	for _, bc := range []struct {
		name           string
		min, directMin int64
	}{{"cached", 0, 0}, {"uncached", 256 << 10, 0}, {"direct", 0, 256 << 10}} {
		b.Run(bc.name, func(b *testing.B) {
			const nodes, size = 14, 1677722
			stores := make([]*Store, nodes)
			for i := range stores {
				o := DefaultOptions(b.TempDir())
				o.UncachedWriteMinBytes = bc.min
				o.DirectWriteMinBytes = bc.directMin
				s, err := Open(o)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				stores[i] = s
			}
			payload := data(size, 1)
			b.SetBytes(nodes * size)
			cpu0 := processCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for j, s := range stores {
					wg.Add(1)
					go func() {
						defer wg.Done()
						id := fmt.Sprintf("obj-%d-shard-%d", i, j)
						if _, err := s.Put(context.Background(), id, bytes.NewReader(payload), size, PutOptions{}); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.StopTimer()
			mib := float64(b.N) * nodes * size / (1 << 20)
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/mib, "cpu-ms/MiB")
		})
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

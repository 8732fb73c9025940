package md5lanes

import (
	"crypto/md5"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/testbed/benchtool"
)

// The gateway's hash writes are up to 64 KiB (the body reads of a PUT).
const benchChunk = 64 << 10

// processCPU is the process CPU so far (benchtool.SelfCPU: getrusage).
func processCPU() time.Duration {
	d, _ := benchtool.SelfCPU()
	return d
}

// hashers under comparison: crypto/md5 in the caller's goroutine (the
// floor), the gateway's previous path (crypto/md5 on a goroutine per body,
// MinStreams < 0) and lanes for every body (MinStreams 1).
var benchModes = []struct {
	name string
	cfg  Config
}{
	{"sync", Config{}}, // not a Pool: md5.New() directly
	{"async", Config{MinStreams: -1}},
	{"lanes", Config{MinStreams: 1, MinSize: 1}},
}

type benchHash interface {
	Write([]byte) (int, error)
	Sum() []byte
}

type syncHash struct {
	h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
}

func (s syncHash) Write(p []byte) (int, error) { return s.h.Write(p) }
func (s syncHash) Sum() []byte                 { return s.h.Sum(nil) }

func benchNew(b *testing.B, mode string, cfg Config) (func(size int64) benchHash, func()) {
	if mode == "sync" {
		return func(int64) benchHash { return syncHash{md5.New()} }, func() {}
	}
	p, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return func(size int64) benchHash { return p.Hasher(size) }, p.Close
}

// runStreams hashes b.N objects of obj bytes on `streams` goroutines, each
// object in 64 KiB writes; every write waits until `every` after the
// stream's previous one (0: as fast as possible). It reports process CPU
// per MiB hashed and the aggregate rate.
func runStreams(b *testing.B, mk func(int64) benchHash, streams, obj int, every time.Duration) {
	data := make([][]byte, streams)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = make([]byte, benchChunk)
		for j := range data[i] {
			data[i][j] = byte(r.Uint32())
		}
	}
	b.SetBytes(int64(obj))
	b.ResetTimer()
	var next atomic.Int64
	c0, t0 := processCPU(), time.Now()
	var wg sync.WaitGroup
	for s := range streams {
		wg.Add(1)
		go func(d []byte) {
			defer wg.Done()
			due := time.Now().Add(time.Duration(s) * every / time.Duration(streams))
			for next.Add(1) <= int64(b.N) {
				h := mk(int64(obj))
				for n := 0; n < obj; n += benchChunk {
					if every > 0 {
						time.Sleep(time.Until(due))
						due = due.Add(every)
					}
					_, _ = h.Write(d)
				}
				_ = h.Sum()
			}
		}(data[s])
	}
	wg.Wait()
	elapsed, cpu := time.Since(t0), processCPU()-c0
	mib := float64(b.N) * float64(obj) / (1 << 20)
	b.ReportMetric(float64(cpu.Microseconds())/mib, "cpu-µs/MiB")
	b.ReportMetric(mib/elapsed.Seconds(), "MiB/s")
}

// BenchmarkStreams: concurrent bodies hashed as fast as they can be.
//
//	go test -run '^$' -bench Streams -benchtime 200x ./internal/md5lanes/
func BenchmarkStreams(b *testing.B) {
	for _, obj := range []int{1 << 20, 16 << 20} {
		for _, streams := range []int{1, 2, 3, 4, 8, 16} {
			for _, m := range benchModes {
				b.Run(fmt.Sprintf("obj=%dMiB/streams=%d/%s", obj>>20, streams, m.name), func(b *testing.B) {
					mk, done := benchNew(b, m.name, m.cfg)
					defer done()
					runStreams(b, mk, streams, obj, 0)
				})
			}
		}
	}
}

// BenchmarkPaced: 1 MiB bodies arriving at a set aggregate rate, as a
// gateway receives them (bench's PUTs run at 25–200 MiB/s here).
//
//	go test -run '^$' -bench Paced -benchtime 160x ./internal/md5lanes/
func BenchmarkPaced(b *testing.B) {
	for _, rate := range []int{50, 200} {
		for _, streams := range []int{4, 8} {
			every := time.Duration(float64(time.Second) * float64(streams) / float64(rate*16)) // 16 writes per MiB
			for _, m := range benchModes {
				b.Run(fmt.Sprintf("rate=%dMiBps/streams=%d/%s", rate, streams, m.name), func(b *testing.B) {
					mk, done := benchNew(b, m.name, m.cfg)
					defer done()
					runStreams(b, mk, streams, 1<<20, every)
				})
			}
		}
	}
}

// BenchmarkLatency64KiB: one body of 64 KiB, from Hasher to digest.
func BenchmarkLatency64KiB(b *testing.B) {
	d := make([]byte, benchChunk)
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			mk, done := benchNew(b, m.name, m.cfg)
			defer done()
			b.SetBytes(benchChunk)
			for b.Loop() {
				h := mk(benchChunk)
				_, _ = h.Write(d)
				_ = h.Sum()
			}
		})
	}
}

package md5lanes

import (
	"bytes"
	"crypto/md5"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/cpu"
)

// Sizes around MD5's 64-byte block and its padding boundary (55/56), the
// 32 KiB blocks md5-simd queues, the gateway's 64 KiB writes, and
// multi-MiB bodies.
var testSizes = []int{0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000,
	32<<10 - 1, 32 << 10, 32<<10 + 1, 64<<10 - 1, 64 << 10, 64<<10 + 1,
	1<<20 - 7, 1 << 20, 5<<20 + 3, 16 << 20}

func testData(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(r.Uint32())
	}
	return d
}

func needLanes(t *testing.T) {
	t.Helper()
	if !cpu.X86.HasAVX2 {
		t.Skip("no AVX2: the Pool never uses lanes")
	}
}

// lanesPool hashes every body on lanes; servers are retired after 5
// hashers so that the tests cross server generations.
func lanesPool(t *testing.T) *Pool {
	t.Helper()
	p, err := New(Config{MinStreams: 1, MinSize: 1, StreamsPerServer: 5})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatchesCryptoMD5(t *testing.T) {
	data := testData(16<<20 + 64)
	r := rand.New(rand.NewPCG(3, 4))
	splits := map[string]func() int{
		"whole":   func() int { return 1 << 30 },
		"64KiB":   func() int { return 64 << 10 },
		"odd":     func() int { return 1 + r.IntN(70000) },
		"tiny":    func() int { return 1 + r.IntN(130) },
		"1to65":   func() int { return []int{1, 63, 64, 65}[r.IntN(4)] },
		"aligned": func() int { return 64 * (1 + r.IntN(1024)) },
	}
	for _, mode := range []struct {
		name string
		cfg  Config
	}{{"lanes", Config{MinStreams: 1, MinSize: 1, StreamsPerServer: 5}}, {"crypto", Config{MinStreams: -1}}} {
		p, err := New(mode.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for name, split := range splits {
			t.Run(mode.name+"/"+name, func(t *testing.T) {
				for _, n := range testSizes {
					if name == "tiny" || name == "1to65" {
						n = min(n, 1<<20+17) // byte-sized writes of 16 MiB take long
					}
					h := p.Hasher(int64(max(n, 1))) // the size is a hint: 0 bytes on a lane too
					if mode.name == "lanes" && cpu.X86.HasAVX2 && !h.Lane() {
						t.Fatal("the lanes pool gave a crypto/md5 hasher")
					}
					for rest := data[:n]; len(rest) > 0; {
						k := min(split(), len(rest))
						if w, err := h.Write(rest[:k]); w != k || err != nil {
							t.Fatalf("Write: %d, %v", w, err)
						}
						rest = rest[k:]
					}
					want := md5.Sum(data[:n])
					if got := h.Sum(); !bytes.Equal(got, want[:]) {
						t.Fatalf("size %d: %x, crypto/md5 %x", n, got, want)
					}
					if got := h.Sum(); !bytes.Equal(got, want[:]) {
						t.Fatalf("size %d: second Sum %x", n, got)
					}
					h.Close()
				}
			})
		}
		p.Close()
		if s := p.Stats(); s.Servers != 0 || s.InFlight != 0 {
			t.Fatalf("after Close: %+v", s)
		}
	}
}

// Many bodies at once share lanes; each digest is its own.
func TestConcurrentStreams(t *testing.T) {
	needLanes(t)
	p := lanesPool(t)
	defer p.Close()
	data := testData(3 << 20)
	var wg sync.WaitGroup
	for g := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 15 {
				n := r.IntN(len(data))
				off := r.IntN(len(data) - n + 1)
				body := data[off : off+n]
				h := p.Hasher(int64(n))
				for rest := body; len(rest) > 0; {
					k := min(1+r.IntN(100000), len(rest))
					_, _ = h.Write(rest[:k])
					rest = rest[k:]
				}
				want := md5.Sum(body)
				if got := h.Sum(); !bytes.Equal(got, want[:]) {
					t.Errorf("size %d: %x, crypto/md5 %x", n, got, want)
				}
			}
		}()
	}
	wg.Wait()
}

// The Pool chooses lanes by the number of bodies in flight and their size.
func TestChoosesLanes(t *testing.T) {
	needLanes(t)
	p, err := New(Config{MinStreams: 3, MinSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, b := p.Hasher(5000), p.Hasher(5000)
	if a.Lane() || b.Lane() {
		t.Fatal("1st and 2nd body in flight took lanes")
	}
	c := p.Hasher(5000)
	small := p.Hasher(999)
	unknown := p.Hasher(-1)
	if !c.Lane() || small.Lane() || unknown.Lane() {
		t.Fatalf("3rd body lane=%v, small body lane=%v, unknown size lane=%v", c.Lane(), small.Lane(), unknown.Lane())
	}
	for _, h := range []*Hasher{a, b, c, small, unknown} {
		h.Close()
	}
	if s := p.Stats(); s.InFlight != 0 {
		t.Fatalf("in flight after Close: %d", s.InFlight)
	}
	if d := p.Hasher(5000); d.Lane() {
		t.Fatal("a body alone took a lane")
	} else {
		d.Close()
	}
}

// Bodies abandoned at any point (a client abort, an error path: Close
// without Sum, Close from another goroutine during Writes, Close twice)
// leave no goroutine and no server behind once the Pool is closed.
func TestNoLeaks(t *testing.T) {
	needLanes(t)
	before := runtime.NumGoroutine()
	for _, cfg := range []Config{{MinStreams: 1, MinSize: 1, StreamsPerServer: 5}, {MinStreams: -1}} {
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		buf := testData(200 << 10)
		var wg sync.WaitGroup
		// All 60 are open at once (12 servers' worth), then end.
		hs := make([]*Hasher, 60)
		for i := range hs {
			hs[i] = p.Hasher(int64(len(buf)))
		}
		for i, h := range hs {
			switch i % 4 {
			case 0: // abandoned before any byte
				h.Close()
			case 1: // abandoned mid-body, closed twice
				_, _ = h.Write(buf[:i*3001%len(buf)])
				h.Close()
				h.Close()
			case 2: // closed by another goroutine while writing
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 50 {
						_, _ = h.Write(buf[:10000])
					}
				}()
				time.Sleep(time.Millisecond)
				h.Close()
			case 3: // finished, then closed
				_, _ = h.Write(buf)
				_ = h.Sum()
				h.Close()
			}
		}
		wg.Wait()
		if s := p.Stats(); s.InFlight != 0 || (cfg.MinStreams > 0 && s.Servers != 1) {
			t.Fatalf("all closed, pool open: %+v (want 0 in flight, 1 server)", s)
		}
		p.Close()
		if s := p.Stats(); s.Servers != 0 {
			t.Fatalf("after Close: %d servers", s.Servers)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// A server is retired after StreamsPerServer hashers and closes when its
// last open hasher does, while the Pool keeps serving.
func TestServersRetire(t *testing.T) {
	needLanes(t)
	p := lanesPool(t) // 5 per server
	defer p.Close()
	var open []*Hasher
	for range 12 {
		h := p.Hasher(100)
		_, _ = h.Write([]byte("x"))
		open = append(open, h)
	}
	if s := p.Stats(); s.Servers != 3 {
		t.Fatalf("12 open hashers at 5 per server: %d servers, want 3", s.Servers)
	}
	for _, h := range open[:5] {
		h.Close()
	}
	if s := p.Stats(); s.Servers != 2 {
		t.Fatalf("first server's hashers closed: %d servers, want 2", s.Servers)
	}
	for _, h := range open[5:] {
		h.Close()
	}
	if s := p.Stats(); s.Servers != 1 {
		t.Fatalf("all closed: %d servers, want 1 (the current one)", s.Servers)
	}
	// After Close the Pool still works, on crypto/md5.
	p.Close()
	h := p.Hasher(1 << 20)
	if h.Lane() {
		t.Fatal("lane after Close")
	}
	h.Close()
	if s := p.Stats(); s.Servers != 0 {
		t.Fatalf("after Close: %d servers", s.Servers)
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, c := range []Config{{MinSize: -1}, {StreamsPerServer: -2}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

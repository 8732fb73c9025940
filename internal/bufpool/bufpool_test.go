package bufpool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestClasses(t *testing.T) {
	p := New(1<<20, 64<<10, 4<<10, 256<<10)
	for _, c := range []struct{ ask, want int }{{1, 4 << 10}, {4 << 10, 4 << 10}, {4<<10 + 1, 64 << 10}, {200 << 10, 256 << 10}} {
		b, err := p.Get(context.Background(), c.ask)
		if err != nil || cap(*b) != c.want || len(*b) != 0 {
			t.Fatalf("Get(%d): cap %d len %d %v, want cap %d", c.ask, cap(*b), len(*b), err, c.want)
		}
		p.Put(b)
	}
	if in, _, _ := p.Stats(); in != 0 {
		t.Fatalf("%d bytes still out", in)
	}
}

// Under many more concurrent users than the cap allows, the bytes out never
// exceed the cap; everyone gets served (they wait, they do not allocate).
func TestNeverExceedsCapUnderConcurrency(t *testing.T) {
	const class, limit, users = 64 << 10, 8 * (64 << 10), 200
	p := New(limit, class)
	var wg sync.WaitGroup
	var mu sync.Mutex
	served := 0
	for i := 0; i < users; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := p.Get(context.Background(), class)
			if err != nil {
				t.Error(err)
				return
			}
			*b = append(*b, make([]byte, class)...)
			time.Sleep(time.Millisecond)
			if in, _, _ := p.Stats(); in > limit {
				t.Errorf("%d bytes out, cap %d", in, limit)
			}
			p.Put(b)
			mu.Lock()
			served++
			mu.Unlock()
		}()
	}
	wg.Wait()
	in, peak, _ := p.Stats()
	if served != users || in != 0 || peak > limit || peak < class {
		t.Fatalf("served %d of %d, %d out, peak %d (cap %d)", served, users, in, peak, limit)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	p := New(64<<10, 64<<10)
	held, _ := p.Get(context.Background(), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Get(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get past the cap: %v, want the context's error", err)
	}
	p.Put(held)
	if b, err := p.Get(context.Background(), 1); err != nil {
		t.Fatal(err)
	} else {
		p.Put(b)
	}
}

// One buffer is always granted when none is out, whatever its size.
func TestOneAlwaysGranted(t *testing.T) {
	p := New(100<<10, 64<<10, 100<<10)
	b, err := p.Get(context.Background(), 100<<10)
	if err != nil {
		t.Fatal(err)
	}
	p.Put(b)
}

// Package bufpool hands out byte buffers of a few size classes under a cap
// on the bytes out at once. A caller past the cap waits for a buffer to come
// back instead of allocating one, so a server's buffer memory is bounded by
// the cap — by how many requests it works on at once — and not by how many
// requests are in flight. One buffer is always granted when none is out, so
// a single caller never waits forever.
package bufpool

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Pool is a bounded buffer pool; it is safe for concurrent use.
type Pool struct {
	classes []int
	free    []sync.Pool
	limit   int64

	mu      sync.Mutex
	inUse   int64
	peak    int64
	waiters int
	changed chan struct{} // closed (and replaced) whenever a buffer returns
}

// New returns a pool of buffers of the given capacities (any order) with
// at most limit bytes out at once (limit ≥ the largest class).
func New(limit int64, classes ...int) *Pool {
	cs := slices.Clone(classes)
	slices.Sort(cs)
	cs = slices.Compact(cs)
	if len(cs) == 0 || cs[0] <= 0 || limit < int64(cs[len(cs)-1]) {
		panic(fmt.Sprintf("bufpool: bad classes %v or limit %d", classes, limit))
	}
	p := &Pool{classes: cs, free: make([]sync.Pool, len(cs)), limit: limit, changed: make(chan struct{})}
	for i, c := range cs {
		p.free[i].New = func() any { b := make([]byte, 0, c); return &b }
	}
	return p
}

// Largest is the biggest buffer the pool hands out.
func (p *Pool) Largest() int { return p.classes[len(p.classes)-1] }

func (p *Pool) class(n int) int {
	i, _ := slices.BinarySearch(p.classes, n)
	if i == len(p.classes) {
		panic(fmt.Sprintf("bufpool: %d bytes asked, largest class %d", n, p.Largest()))
	}
	return i
}

// Get returns an empty buffer with capacity ≥ n (the smallest class that
// fits), waiting while the cap is reached. It fails only when ctx ends.
func (p *Pool) Get(ctx context.Context, n int) (*[]byte, error) {
	i := p.class(n)
	size := int64(p.classes[i])
	p.mu.Lock()
	for p.inUse > 0 && p.inUse+size > p.limit {
		ch := p.changed
		p.waiters++
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			p.mu.Lock()
			p.waiters--
			p.mu.Unlock()
			return nil, context.Cause(ctx)
		}
		p.mu.Lock()
		p.waiters--
	}
	p.inUse += size
	p.peak = max(p.peak, p.inUse)
	p.mu.Unlock()
	b := p.free[i].Get().(*[]byte)
	*b = (*b)[:0]
	return b, nil
}

// Put returns a buffer from Get. Put(nil) does nothing.
func (p *Pool) Put(b *[]byte) {
	if b == nil {
		return
	}
	i := p.class(cap(*b))
	if p.classes[i] != cap(*b) {
		panic(fmt.Sprintf("bufpool: buffer of %d bytes is not from this pool", cap(*b)))
	}
	p.free[i].Put(b)
	p.mu.Lock()
	p.inUse -= int64(p.classes[i])
	if p.waiters > 0 {
		close(p.changed)
		p.changed = make(chan struct{})
	}
	p.mu.Unlock()
}

// Stats reports the bytes out now, the most ever out at once, and the cap.
func (p *Pool) Stats() (inUse, peak, limit int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse, p.peak, p.limit
}

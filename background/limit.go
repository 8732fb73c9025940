package background

import (
	"context"
	"sync"
	"time"
)

// byteLimiter paces byte transfers to a rate (bytes/s) with a one-second
// burst: each request books the next rate-slot after the previous ones and
// waits until its slot is less than a second away.
type byteLimiter struct {
	rate float64 // bytes per second; ≤ 0: unlimited

	mu   sync.Mutex
	next time.Time // end of the last booked slot
}

const limiterBurst = time.Second

func (l *byteLimiter) wait(ctx context.Context, n int64) error {
	if l == nil || l.rate <= 0 || n <= 0 {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	if floor := now.Add(-limiterBurst); l.next.Before(floor) {
		l.next = floor
	}
	l.next = l.next.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
	d := l.next.Sub(now) - limiterBurst
	l.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// nodeLimiters is one byteLimiter per storage node.
type nodeLimiters struct {
	rate float64
	mu   sync.Mutex
	m    map[string]*byteLimiter
}

func newNodeLimiters(rate int64) *nodeLimiters {
	return &nodeLimiters{rate: float64(rate), m: map[string]*byteLimiter{}}
}

func (n *nodeLimiters) wait(ctx context.Context, node string, bytes int64) error {
	n.mu.Lock()
	l := n.m[node]
	if l == nil {
		l = &byteLimiter{rate: n.rate}
		n.m[node] = l
	}
	n.mu.Unlock()
	return l.wait(ctx, bytes)
}

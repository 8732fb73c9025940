// Package nodeview keeps a gateway's cached view of the region's storage
// nodes, refreshed from the control plane in the background, so the data
// path's placement decisions never wait on a control-plane round trip.
package nodeview

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Source lists storage nodes with their health (metaclient implements it).
type Source interface {
	StorageNodes(ctx context.Context) ([]metapb.StorageNode, error)
}

// View is a periodically refreshed list of storage nodes.
type View struct {
	src      Source
	interval time.Duration
	log      *slog.Logger

	mu     sync.RWMutex
	nodes  []metapb.StorageNode
	ok     bool
	readAt time.Time // when the read that produced nodes started

	fmu      sync.Mutex    // guards the two below (Fresh)
	inflight chan struct{} // closed when the forced read in flight ends
	failedAt time.Time     // the last forced read failed then

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// ErrNoView means the control plane has not answered yet.
var ErrNoView = errors.New("nodeview: no storage node list yet")

// New starts refreshing every interval. Close stops it.
func New(src Source, interval time.Duration, log *slog.Logger) *View {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &View{src: src, interval: interval, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go v.loop()
	return v
}

func (v *View) loop() {
	defer close(v.done)
	t := time.NewTicker(v.interval)
	defer t.Stop()
	for {
		v.refresh()
		select {
		case <-v.stop:
			return
		case <-t.C:
		}
	}
}

func (v *View) refresh() {
	_ = v.read(context.Background())
}

// read fetches the list (bounded by ctx and 2×interval+1s) and keeps it
// unless a read that started later already answered.
func (v *View) read(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*v.interval+time.Second)
	defer cancel()
	started := time.Now()
	nodes, err := v.src.StorageNodes(ctx)
	if err != nil {
		v.log.Debug("nodeview: refresh failed", "err", err)
		return err
	}
	v.mu.Lock()
	if started.After(v.readAt) {
		v.nodes, v.ok, v.readAt = nodes, true, started
	}
	v.mu.Unlock()
	return nil
}

// Fresh reads the node list from the control plane now and returns it: for
// decisions that must not rest on a list up to an interval old (placement
// that would put two shards of a segment on one node, objectio). Callers
// arriving while such a read is in flight share it. When a forced read
// fails, Fresh returns the last known list, and for one interval after the
// failure returns it without trying again (a control plane that is down
// must not add a timeout to every caller). The read is bounded by ctx and
// by one interval.
func (v *View) Fresh(ctx context.Context) []metapb.StorageNode {
	v.fmu.Lock()
	if !v.failedAt.IsZero() && time.Since(v.failedAt) < v.interval {
		v.fmu.Unlock()
		return v.Nodes()
	}
	if ch := v.inflight; ch != nil {
		v.fmu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return v.Nodes()
	}
	ch := make(chan struct{})
	v.inflight = ch
	v.fmu.Unlock()

	rctx, cancel := context.WithTimeout(ctx, v.interval) // a caller waits at most an interval
	err := v.read(rctx)
	cancel()

	v.fmu.Lock()
	v.inflight = nil
	if err != nil && ctx.Err() == nil {
		v.failedAt = time.Now()
	} else if err == nil {
		v.failedAt = time.Time{}
	}
	v.fmu.Unlock()
	close(ch)
	return v.Nodes()
}

// Nodes returns the last known node list (health included).
func (v *View) Nodes() []metapb.StorageNode {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.nodes
}

// Healthy returns the nodes the control plane last reported healthy.
func (v *View) Healthy() []metapb.StorageNode {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]metapb.StorageNode, 0, len(v.nodes))
	for _, n := range v.nodes {
		if n.Healthy {
			out = append(out, n)
		}
	}
	return out
}

// Wait blocks until at least min healthy nodes are known or ctx ends.
func (v *View) Wait(ctx context.Context, min int) error {
	for {
		if len(v.Healthy()) >= min {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ErrNoView, ctx.Err())
		case <-time.After(100 * time.Millisecond):
			v.refresh()
		}
	}
}

// Close stops the refresher; safe twice.
func (v *View) Close() error {
	v.once.Do(func() { close(v.stop); <-v.done })
	return nil
}

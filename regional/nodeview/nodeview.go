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

	mu    sync.RWMutex
	nodes []metapb.StorageNode
	ok    bool

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
	ctx, cancel := context.WithTimeout(context.Background(), 2*v.interval+time.Second)
	defer cancel()
	nodes, err := v.src.StorageNodes(ctx)
	if err != nil {
		v.log.Debug("nodeview: refresh failed", "err", err)
		return
	}
	v.mu.Lock()
	v.nodes, v.ok = nodes, true
	v.mu.Unlock()
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

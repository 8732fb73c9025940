package background

import (
	"context"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// nodeWatch follows the control plane's storage node list and declares a
// node dead once it has been seen unhealthy (no heartbeat) for DeadAfter
// without a break. The clock is this process's: a control-plane leader
// change, after which every node looks unhealthy until its next
// heartbeat, lasts far less than DeadAfter.
type nodeWatch struct {
	cfg     *Config
	onDead  func(id string) // told once per node each time it is declared dead
	onDrain func(id string) // told when a node is first seen draining

	mu      sync.Mutex
	nodes   map[string]metapb.StorageNode
	since   map[string]time.Time // node id → first seen unhealthy (in the current run of unhealthy views)
	dead    map[string]bool
	updated time.Time
}

func newNodeWatch(cfg *Config) *nodeWatch {
	return &nodeWatch{cfg: cfg, nodes: map[string]metapb.StorageNode{}, since: map[string]time.Time{}, dead: map[string]bool{}}
}

// nodeState is a consistent copy of the view.
type nodeState struct {
	nodes map[string]metapb.StorageNode
	dead  map[string]bool
}

func (s nodeState) healthy(id string) bool { n, ok := s.nodes[id]; return ok && n.Healthy }

func (w *nodeWatch) view() nodeState {
	w.refresh(time.Now())
	w.mu.Lock()
	defer w.mu.Unlock()
	st := nodeState{nodes: make(map[string]metapb.StorageNode, len(w.nodes)), dead: make(map[string]bool, len(w.dead))}
	for k, v := range w.nodes {
		st.nodes[k] = v
	}
	for k, v := range w.dead {
		st.dead[k] = v
	}
	return st
}

// Dead lists the nodes declared dead.
func (w *nodeWatch) Dead() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for id := range w.dead {
		out = append(out, id)
	}
	return out
}

// refresh reads the node list (Config.Nodes is a cached view) and updates
// the dead set.
func (w *nodeWatch) refresh(now time.Time) {
	list := w.cfg.Nodes()
	var newly, drains []string
	w.mu.Lock()
	seen := map[string]bool{}
	for _, n := range list {
		seen[n.ID] = true
		if n.Draining && !w.nodes[n.ID].Draining {
			drains = append(drains, n.ID)
		}
		w.nodes[n.ID] = n
		if n.Healthy {
			delete(w.since, n.ID)
			delete(w.dead, n.ID)
			continue
		}
		t, ok := w.since[n.ID]
		if !ok {
			w.since[n.ID] = now
			t = now
		}
		if now.Sub(t) >= w.cfg.DeadAfter && !w.dead[n.ID] {
			w.dead[n.ID] = true
			newly = append(newly, n.ID)
		}
	}
	for id := range w.nodes {
		if !seen[id] { // removed from the control plane
			delete(w.nodes, id)
			delete(w.since, id)
			delete(w.dead, id)
		}
	}
	w.updated = now
	w.mu.Unlock()
	for _, id := range drains {
		w.cfg.Logger.Info("background: storage node draining; its shards will be moved", "node", id)
		if w.onDrain != nil {
			w.onDrain(id)
		}
	}
	for _, id := range newly {
		w.cfg.Logger.Warn("background: storage node declared dead; its shards will be rebuilt", "node", id, "dead_after", w.cfg.DeadAfter)
		if w.onDead != nil {
			w.onDead(id)
		}
	}
}

// run refreshes every second until ctx ends.
func (w *nodeWatch) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		w.refresh(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

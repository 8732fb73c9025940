package controlplane

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Health is the ctl leader's in-memory heartbeat table.
type Health struct {
	timeout time.Duration

	mu    sync.Mutex
	beats map[string]beat
}

type beat struct {
	at   time.Time
	used int64
}

// NewHealth returns a table in which a node is healthy while its last
// heartbeat is younger than timeout.
func NewHealth(timeout time.Duration) *Health {
	return &Health{timeout: timeout, beats: map[string]beat{}}
}

// Beat records a heartbeat from node id at time at.
func (h *Health) Beat(id string, used int64, at time.Time) {
	h.mu.Lock()
	h.beats[id] = beat{at: at, used: used}
	h.mu.Unlock()
}

// Reset forgets every heartbeat (on gaining or losing leadership).
func (h *Health) Reset() {
	h.mu.Lock()
	clear(h.beats)
	h.mu.Unlock()
}

// Annotate returns the registered nodes sorted by id with LastHeartbeat,
// UsedBytes and Healthy filled in as of now.
func (h *Health) Annotate(reg map[string]metapb.StorageNode, now time.Time) []metapb.StorageNode {
	out := make([]metapb.StorageNode, 0, len(reg))
	h.mu.Lock()
	for _, n := range reg {
		if b, ok := h.beats[n.ID]; ok {
			n.LastHeartbeat = b.at
			n.UsedBytes = b.used
			n.Healthy = now.Sub(b.at) < h.timeout
		} else {
			n.LastHeartbeat = time.Time{}
			n.Healthy = false
		}
		out = append(out, n)
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// MinAZs is the number of AZs scheme s needs so that no AZ holds more than
// Parity shards of a segment: ceil((k+m)/m).
func MinAZs(s metapb.Scheme) int {
	if s.Parity <= 0 {
		return 0
	}
	n := s.Data + s.Parity
	return (n + s.Parity - 1) / s.Parity
}

// Tolerance counts the AZs with at least one healthy storage node and
// decides invariant 5 for scheme s. When not tolerant, note says why.
func Tolerance(nodes []metapb.StorageNode, s metapb.Scheme) (azs int, tolerant bool, note string) {
	set := map[string]bool{}
	for _, n := range nodes {
		if n.Healthy {
			set[n.AZ] = true
		}
	}
	azs = len(set)
	need := MinAZs(s)
	if s.Parity <= 0 {
		return azs, false, fmt.Sprintf("scheme %d+%d has no parity: losing any AZ loses data", s.Data, s.Parity)
	}
	if azs >= need {
		return azs, true, ""
	}
	return azs, false, fmt.Sprintf("not AZ-loss tolerant: %d AZ(s) with healthy storage nodes, scheme %d+%d needs at least %d so that no AZ holds more than %d shards of an object",
		azs, s.Data, s.Parity, need, s.Parity)
}

// Status assembles the region status from the replicated state, the
// annotated storage nodes and the partition leaders (partition → meta node id).
func Status(st State, nodes []metapb.StorageNode, leaders map[int]string, s metapb.Scheme) metapb.RegionStatus {
	rs := metapb.RegionStatus{
		Region:    st.Region,
		MetaNodes: slices.Clone(st.MetaNodes),
		Storage:   nodes,
	}
	for _, p := range st.Partitions {
		p.Replicas = slices.Clone(p.Replicas)
		p.Leader = leaders[p.ID]
		rs.Partitions = append(rs.Partitions, p)
	}
	rs.AZs, rs.AZLossTolerant, rs.Note = Tolerance(nodes, s)
	return rs
}

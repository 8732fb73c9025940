package objectio

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/objectio/objectiotest"
)

// worstNodes returns the 4 nodes holding the most shards of seg.
func worstNodes(seg metapb.Segment) []string {
	count := map[string]int{}
	for _, r := range seg.Shards {
		count[r.Node]++
	}
	var ids []string
	for id := range count {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if count[ids[i]] != count[ids[j]] {
			return count[ids[i]] > count[ids[j]]
		}
		return ids[i] < ids[j]
	})
	return ids[:min(4, len(ids))]
}

// The gateway's cached view of the storage nodes can be up to a refresh
// interval old: a gateway started together with its storage nodes sees
// only those that had sent their first heartbeat (the e2e
// TestFaultStorageNodes failure: 11 of 16 nodes in the view, so the first
// objects were dealt over 11 nodes with three holding two shards each, and
// killing 4 nodes lost 5 shards of one object). With FreshNodes, Plan reads
// the control plane again before it would share a node, places the segment
// on 14 distinct nodes, and losing the 4 nodes that hold the most shards
// leaves it readable. Without FreshNodes the mechanism is reproduced.
func TestPlanStaleViewDoesNotShareNodes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fresh    bool
		wantRead bool
	}{
		{"fresh view before sharing", true, true},
		{"stale view only", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reads atomic.Int64
			var v *env
			v = newEnv(t, false, func(c *Config) {
				if tc.fresh {
					c.FreshNodes = func(context.Context) []metapb.StorageNode {
						reads.Add(1)
						return v.Nodes() // the control plane: all 16 nodes beat
					}
				}
			})
			all := v.Nodes()
			stale := append([]metapb.StorageNode(nil), all[:11]...) // 5 nodes not heard of yet
			v.e.cfg.Nodes = func() []metapb.StorageNode { return stale }

			data := randData(7, tSeg)
			segs, err := v.e.Plan(context.Background(), newVID(), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			nodes := map[string]bool{}
			for _, r := range segs[0].Shards {
				nodes[r.Node] = true
			}
			st := v.e.Stats()
			t.Logf("planned on %d distinct nodes; fresh views %d, shared placements %d", len(nodes), st.FreshViews, st.SharedPlacements)
			if tc.fresh && (len(nodes) != 14 || st.SharedPlacements != 0 || reads.Load() != 1) {
				t.Fatalf("fresh view: %d distinct nodes, %d shared placements, %d control-plane reads; want 14, 0, 1",
					len(nodes), st.SharedPlacements, reads.Load())
			}
			if !tc.fresh && (len(nodes) != 11 || st.SharedPlacements != 1) {
				t.Fatalf("stale view: %d distinct nodes, %d shared placements; want 11, 1", len(nodes), st.SharedPlacements)
			}
			v.e.cfg.Nodes = v.Nodes // the view catches up before the write
			out, err := v.e.Write(context.Background(), segs, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			worst := worstNodes(out[0])
			for _, id := range worst {
				v.store.SetFault(v.addr(id), objectiotest.Fault{Down: true})
			}
			got, err := v.get(t, out, 0, int64(len(data)))
			switch {
			case tc.wantRead && (err != nil || !bytes.Equal(got, data)):
				t.Fatalf("with %v down: %v", worst, err)
			case !tc.wantRead && !errors.Is(err, ErrUnavailable):
				t.Fatalf("with %v down (holding more than 4 shards): %v, want ErrUnavailable", worst, err)
			}
		})
	}
}

// A region really short of nodes (12 of 16 healthy in the fresh view too)
// still takes writes: Plan reads the view once per call and shares nodes.
func TestPlanDegradedRegionShares(t *testing.T) {
	var reads atomic.Int64
	var v *env
	v = newEnv(t, false, func(c *Config) {
		c.FreshNodes = func(context.Context) []metapb.StorageNode {
			reads.Add(1)
			return v.Nodes()
		}
	})
	v.mu.Lock()
	for _, i := range []int{0, 5, 10, 15} {
		v.nodes[i].Healthy = false
		v.store.SetFault(v.nodes[i].Addr, objectiotest.Fault{Down: true})
	}
	v.mu.Unlock()
	data := randData(8, 2*tSeg+3) // 3 segments, one Plan
	out := v.put(t, data)
	got, err := v.get(t, out, 0, int64(len(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v", err)
	}
	if st := v.e.Stats(); reads.Load() != 1 || st.FreshViews != 1 || st.SharedPlacements != 3 {
		t.Fatalf("%d control-plane reads, stats %+v; want 1 read and 3 shared placements", reads.Load(), st)
	}
}

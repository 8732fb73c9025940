package background

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
)

func (f *fakeRegion) setDraining(id string, d bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.nodes {
		if f.nodes[i].ID == id {
			f.nodes[i].Draining = d
		}
	}
}

// TestDrainer: every shard on a draining node is moved to other nodes
// (distinct nodes, AZ cap kept, bytes intact), the old copies are queued
// as garbage, an object overwritten during its move keeps its new version
// and the rebuilt shard is queued, the checkpoints' reports count the
// moves, and new placements avoid the node.
func TestDrainer(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	f := newFakeRegion(t)
	vers := map[string]metapb.ObjectVersion{}
	data := map[string][]byte{}
	for i := 0; i < 12; i++ {
		b := bytes.Repeat([]byte{byte(i), 7}, 20<<10)
		k := fmt.Sprintf("o%d", i)
		data[k] = b
		vers[k] = f.put(t, meta, "bk/1", k, fmt.Sprintf("v%d", i), b)
	}
	victim := vers["o0"].Segments[0].Shards[2].Node
	held := 0
	for _, v := range vers {
		for _, sh := range v.Segments[0].Shards {
			if sh.Node == victim {
				held++
			}
		}
	}
	// o0 is overwritten while its shard is being moved.
	var once sync.Once
	f.beforeSwap = func(src metapb.Segment) {
		if src.Shards[0].ID == vers["o0"].Segments[0].Shards[0].ID {
			once.Do(func() {
				data["o0"] = []byte("the new o0, long enough to have shards on every node of its placement")
				vers["o0"] = f.put(t, meta, "bk/1", "o0", "v0b", data["o0"])
			})
		}
	}
	cfg := scrubConfig("bg-drain", meta, f, t)
	cfg.ScrubInterval = time.Hour
	cfg.DrainInterval = 100 * time.Millisecond
	start(t, cfg)
	time.Sleep(300 * time.Millisecond) // the scrub pass of a fresh lease
	f.setDraining(victim, true)
	waitFor(t, "no record to name the draining node", 20*time.Second, func() bool {
		for k := range vers {
			v, err := meta.Get(context.Background(), "bk/1", k)
			if err != nil {
				return false
			}
			for _, sh := range v.Segments[0].Shards {
				if sh.Node == victim {
					return false
				}
			}
		}
		return true
	})
	for k, b := range data {
		v, _ := meta.Get(context.Background(), "bk/1", k)
		az, nodes := map[string]int{}, map[string]bool{}
		for _, sh := range v.Segments[0].Shards {
			az[sh.AZ]++
			if nodes[sh.Node] || az[sh.AZ] > 4 {
				t.Fatalf("%s after the drain: %v in AZs %v", k, sh.Node, az)
			}
			nodes[sh.Node] = true
		}
		if got := f.read(t, v); !bytes.Equal(got, b) {
			t.Fatalf("%s: bytes differ after the drain", k)
		}
	}
	// The moved-from copies (and the superseded rebuild) are garbage.
	onVictim := 0
	for p := 0; p < meta.Partitions(); p++ {
		g, err := meta.ListGarbage(context.Background(), p, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range g {
			for _, sg := range e.Segments {
				for _, sh := range sg.Shards {
					if sh.Node == victim {
						onVictim++
					}
				}
			}
		}
	}
	if onVictim < held-1 {
		t.Fatalf("%d garbage shards on %s, want at least %d (all moved-from copies)", onVictim, victim, held-1)
	}
	// The reports in the checkpoints: every held shard moved or superseded.
	var cps [][]metapb.Checkpoint
	waitFor(t, "the drain reports", 10*time.Second, func() bool {
		cps = nil
		for p := 0; p < meta.Partitions(); p++ {
			_, list, err := meta.Background(context.Background(), p)
			if err != nil {
				return false
			}
			cps = append(cps, list)
		}
		prog, err := DrainProgress(cps)
		return err == nil && prog[victim].Moved+prog[victim].Superseded >= int64(held)
	})
	prog, _ := DrainProgress(cps)
	st := prog[victim]
	t.Logf("drained %s: %+v (held %d)", victim, st, held)
	if st.Superseded != 1 || st.Moved != int64(held-1) || st.MovedBytes == 0 || st.Failed != 0 {
		t.Fatalf("drain stats %+v, want %d moved and 1 superseded", st, held-1)
	}
	// New placements skip the draining node.
	for i := 0; i < 50; i++ {
		segs, err := f.engine.Plan(context.Background(), fmt.Sprintf("n%d", i), 100<<10)
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range segs[0].Shards {
			if sh.Node == victim {
				t.Fatalf("a new placement chose the draining node %s", victim)
			}
		}
	}
}

package placement

import (
	"errors"
	"fmt"
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// cluster builds healthy nodes: perAZ[i] nodes in AZ "az<i>".
func cluster(perAZ ...int) []metapb.StorageNode {
	var out []metapb.StorageNode
	for a, c := range perAZ {
		for j := range c {
			out = append(out, metapb.StorageNode{
				ID: fmt.Sprintf("n-%c%d", 'a'+a, j), AZ: fmt.Sprintf("az-%c", 'a'+a),
				Addr: fmt.Sprintf("127.0.0.1:%d", 9000+a*100+j), Healthy: true,
				CapacityBytes: 1 << 40, UsedBytes: 1 << 30,
			})
		}
	}
	return out
}

func azCounts(p Placement) (perAZ map[string]int, perNode map[string]int) {
	perAZ, perNode = map[string]int{}, map[string]int{}
	for _, n := range p.Nodes {
		perAZ[n.AZ]++
		perNode[n.ID]++
	}
	return
}

func TestChoose(t *testing.T) {
	unhealthy := cluster(4, 4, 4, 4)
	for i := 0; i < 15; i += 3 { // 5 of 16 down
		unhealthy[i].Healthy = false
	}
	full := cluster(4, 4, 4, 4)
	full[0].UsedBytes = full[0].CapacityBytes
	tests := []struct {
		name         string
		nodes        []metapb.StorageNode
		wantErr      error
		wantTolerant bool
		maxPerAZ     int // max shards in any AZ
		maxPerNode   int
		minAZs       int
	}{
		{"4 AZs x 4 nodes", cluster(4, 4, 4, 4), nil, true, 4, 1, 4},
		{"4 AZs x 14 exactly", cluster(4, 4, 3, 3), nil, true, 4, 1, 4},
		{"5 AZs", cluster(3, 3, 3, 3, 3), nil, true, 3, 1, 5},
		{"4 AZs one tiny", cluster(5, 5, 5, 1), nil, false, 5, 1, 4},
		{"3 AZs", cluster(5, 5, 5), nil, false, 5, 1, 3},
		{"1 AZ", cluster(16), nil, false, 14, 1, 1},
		{"12 nodes share", cluster(3, 3, 3, 3), nil, false, 4, 2, 4},
		{"11 nodes (k+1) share", cluster(3, 3, 3, 2), nil, false, 4, 2, 4},
		{"10 nodes is too few", cluster(3, 3, 2, 2), ErrNotEnoughNodes, false, 0, 0, 0},
		{"unhealthy skipped", unhealthy, nil, false, 4, 2, 4},
		{"full node skipped", full, nil, true, 4, 1, 4},
		{"none", nil, ErrNotEnoughNodes, false, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := uint64(0); seed < 50; seed++ {
				p, err := Choose(tt.nodes, 14, 4, seed)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err=%v want %v", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Nodes) != 14 {
					t.Fatalf("%d nodes", len(p.Nodes))
				}
				if p.Tolerant != tt.wantTolerant {
					t.Fatalf("seed %d: tolerant=%v want %v", seed, p.Tolerant, tt.wantTolerant)
				}
				perAZ, perNode := azCounts(p)
				mx := 0
				for _, c := range perAZ {
					mx = max(mx, c)
				}
				if mx > tt.maxPerAZ {
					t.Fatalf("seed %d: an AZ has %d shards (%v), want <= %d", seed, mx, perAZ, tt.maxPerAZ)
				}
				if len(perAZ) < tt.minAZs {
					t.Fatalf("seed %d: %d AZs used, want >= %d", seed, len(perAZ), tt.minAZs)
				}
				for id, c := range perNode {
					if c > tt.maxPerNode {
						t.Fatalf("seed %d: node %s holds %d shards", seed, id, c)
					}
				}
				for _, n := range p.Nodes {
					if !n.Healthy || n.UsedBytes >= n.CapacityBytes {
						t.Fatalf("seed %d: picked unusable node %+v", seed, n)
					}
				}
				if p.Tolerant != Tolerant(refs(p), 4) {
					t.Fatalf("Tolerant(refs) disagrees with Choose")
				}
			}
		})
	}
}

func refs(p Placement) []metapb.ShardRef {
	out := make([]metapb.ShardRef, len(p.Nodes))
	for i, n := range p.Nodes {
		out[i] = metapb.ShardRef{Index: i, Node: n.ID, AZ: n.AZ}
	}
	return out
}

func TestChooseBalance(t *testing.T) {
	nodes := cluster(4, 4, 4, 4)
	hits := map[string]int{}
	const seeds = 4000
	for seed := uint64(0); seed < seeds; seed++ {
		p, err := Choose(nodes, 14, 4, HashString(fmt.Sprint("vid-", seed)))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range p.Nodes {
			hits[n.ID]++
		}
	}
	// 14 of 16 nodes per object: each node expected in 87.5% of objects.
	for id, h := range hits {
		if f := float64(h) / seeds; f < 0.80 || f > 0.95 {
			t.Errorf("node %s in %.2f of placements", id, f)
		}
	}
	if len(hits) != 16 {
		t.Fatalf("only %d nodes used", len(hits))
	}
}

func TestChooseFreeCapacity(t *testing.T) {
	// 1 AZ, 28 nodes, half of them 95% full: emptier ones win most slots.
	nodes := cluster(28)
	for i := 0; i < 14; i++ {
		nodes[i].UsedBytes = nodes[i].CapacityBytes / 100 * 95
	}
	fullish, empty := 0, 0
	for seed := uint64(0); seed < 500; seed++ {
		p, _ := Choose(nodes, 14, 4, seed)
		for _, n := range p.Nodes {
			if n.UsedBytes > n.CapacityBytes/2 {
				fullish++
			} else {
				empty++
			}
		}
	}
	if fullish*3 > empty {
		t.Fatalf("nearly full nodes got %d slots vs %d for empty ones", fullish, empty)
	}
}

func TestReplacement(t *testing.T) {
	nodes := cluster(4, 4, 4, 4)
	p, err := Choose(nodes, 14, 4, 42)
	if err != nil {
		t.Fatal(err)
	}
	cur := refs(p)
	used := map[string]bool{}
	for _, r := range cur {
		used[r.Node] = true
	}
	var spare []metapb.StorageNode
	for _, n := range nodes {
		if !used[n.ID] {
			spare = append(spare, n)
		}
	}
	// The 2 spares are in the 2 AZs with 3 shards.
	for i, r := range cur {
		n, err := Replacement(cur, i, nodes, 4, 7, nil)
		if err != nil {
			t.Fatal(err)
		}
		if used[n.ID] && n.ID != r.Node {
			// Only allowed when no unused node exists; here there are spares.
			t.Fatalf("shard %d: replacement %s already used", i, n.ID)
		}
		if n.ID == r.Node {
			t.Fatalf("shard %d: replaced by the failed node", i)
		}
		sameAZSpare := false
		for _, s := range spare {
			sameAZSpare = sameAZSpare || s.AZ == r.AZ
		}
		if sameAZSpare && n.AZ != r.AZ {
			t.Fatalf("shard %d: replacement in %s, a spare exists in %s", i, n.AZ, r.AZ)
		}
		next := append([]metapb.ShardRef(nil), cur...)
		next[i] = metapb.ShardRef{Index: i, Node: n.ID, AZ: n.AZ}
		if !Tolerant(next, 4) {
			t.Fatalf("shard %d: replacement %s/%s breaks AZ tolerance", i, n.ID, n.AZ)
		}
	}
	// Exclude both spares: the only choice left is sharing a node.
	ex := map[string]bool{spare[0].ID: true, spare[1].ID: true}
	n, err := Replacement(cur, 0, nodes, 4, 7, ex)
	if err != nil {
		t.Fatal(err)
	}
	if ex[n.ID] || n.ID == cur[0].Node {
		t.Fatalf("picked excluded/failed node %s", n.ID)
	}
	// Everything excluded or down.
	down := cluster(4, 4, 4, 4)
	for i := range down {
		down[i].Healthy = false
	}
	if _, err := Replacement(cur, 0, down, 4, 7, nil); !errors.Is(err, ErrNotEnoughNodes) {
		t.Fatalf("err=%v want ErrNotEnoughNodes", err)
	}
	if _, err := Replacement(cur, 14, nodes, 4, 7, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("err=%v want ErrBadRequest", err)
	}
}

func TestReplacementOtherAZUnderCap(t *testing.T) {
	// AZ a has exactly its 4 shards' nodes; a shard of AZ a fails: the
	// replacement must go to an AZ still under the cap of 4.
	nodes := cluster(4, 4, 4, 4)
	var cur []metapb.ShardRef
	// a:4, b:4, c:3, d:3 using nodes 0..3 of a,b and 0..2 of c,d
	for a, c := range []int{4, 4, 3, 3} {
		for j := range c {
			n := nodes[a*4+j]
			cur = append(cur, metapb.ShardRef{Index: len(cur), Node: n.ID, AZ: n.AZ})
		}
	}
	n, err := Replacement(cur, 0, nodes, 4, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.AZ != "az-c" && n.AZ != "az-d" {
		t.Fatalf("replacement in %s, want az-c or az-d", n.AZ)
	}
}

// TestDrainingGetsNothing: a draining node is never chosen, by Choose or by
// Replacement (not even as a shared node of last resort).
func TestDrainingGetsNothing(t *testing.T) {
	nodes := cluster(4, 4, 4, 4)
	nodes[0].Draining, nodes[5].Draining = true, true
	for seed := uint64(0); seed < 200; seed++ {
		p, err := Choose(nodes, 14, 4, seed)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range p.Nodes {
			if n.Draining {
				t.Fatalf("seed %d: Choose picked draining %s", seed, n.ID)
			}
		}
		cur := refs(p)
		for i := range cur {
			r, err := Replacement(cur, i, nodes, 4, seed, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Draining {
				t.Fatalf("seed %d shard %d: Replacement picked draining %s", seed, i, r.ID)
			}
		}
	}
	// Only draining nodes left besides the segment's own: sharing a
	// non-draining node beats placing on a draining one.
	few := cluster(4, 4, 4, 4)
	for i := range few {
		few[i].Draining = i >= 14
	}
	p, err := Choose(few, 14, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := Replacement(refs(p), 3, few, 4, 1, nil); err != nil || n.Draining {
		t.Fatalf("replacement %+v, %v", n, err)
	}
}

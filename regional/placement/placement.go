package placement

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Errors.
var (
	ErrNotEnoughNodes = errors.New("placement: not enough healthy storage nodes")
	ErrBadRequest     = errors.New("placement: invalid request")
)

// Placement is the chosen node for each shard index.
type Placement struct {
	Nodes []metapb.StorageNode // Nodes[i] holds shard i
	// Tolerant is true when every shard is on a distinct node and no AZ
	// holds more than perAZMax shards (an AZ can be lost, invariant 5).
	Tolerant bool
}

// mix64 is the splitmix64 finalizer: a good 64-bit hash step.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// HashString is FNV-1a 64 of s; callers use it to derive seeds.
func HashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// weight is the node's free fraction of capacity (1 if unknown), with a
// floor so nearly full nodes stay rankable; 0 when the node is full.
func weight(n metapb.StorageNode) float64 {
	if n.CapacityBytes <= 0 {
		return 1
	}
	free := n.CapacityBytes - n.UsedBytes
	if free <= 0 {
		return 0
	}
	return max(float64(free)/float64(n.CapacityBytes), 1e-3)
}

// score ranks a node for seed: weighted rendezvous hashing (higher wins).
func score(seed uint64, n metapb.StorageNode) float64 {
	h := mix64(seed ^ HashString(n.ID))
	u := (float64(h>>11) + 0.5) / (1 << 53) // in (0,1)
	w := weight(n)
	if w == 0 {
		return math.Inf(-1)
	}
	return -w / math.Log(u)
}

type azGroup struct {
	az    string
	rank  uint64
	nodes []metapb.StorageNode // best first
}

// groups returns healthy nodes that are not draining grouped by AZ, nodes ranked by score, AZs
// ordered by a seed hash. skip drops candidates.
func groups(nodes []metapb.StorageNode, seed uint64, skip func(metapb.StorageNode) bool) []*azGroup {
	byAZ := map[string]*azGroup{}
	var out []*azGroup
	for _, n := range nodes {
		if !n.Healthy || n.Draining || (skip != nil && skip(n)) { // a draining node gets no new shards
			continue
		}
		g := byAZ[n.AZ]
		if g == nil {
			g = &azGroup{az: n.AZ, rank: mix64(seed ^ HashString("az/"+n.AZ))}
			byAZ[n.AZ] = g
			out = append(out, g)
		}
		g.nodes = append(g.nodes, n)
	}
	for _, g := range out {
		slices.SortStableFunc(g.nodes, func(a, b metapb.StorageNode) int {
			sa, sb := score(seed, a), score(seed, b)
			switch {
			case sa > sb:
				return -1
			case sa < sb:
				return 1
			}
			return cmpString(a.ID, b.ID)
		})
	}
	slices.SortFunc(out, func(a, b *azGroup) int {
		switch {
		case a.rank < b.rank:
			return -1
		case a.rank > b.rank:
			return 1
		}
		return cmpString(a.az, b.az)
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Choose picks nodes for n shards; perAZMax is the parity count m (the most
// shards one AZ may lose). See the package comment.
func Choose(nodes []metapb.StorageNode, n, perAZMax int, seed uint64) (Placement, error) {
	if n < 1 || perAZMax < 1 || perAZMax >= n {
		return Placement{}, fmt.Errorf("%w: n=%d perAZMax=%d", ErrBadRequest, n, perAZMax)
	}
	gs := groups(nodes, seed, func(n metapb.StorageNode) bool { return weight(n) == 0 })
	total := 0
	for _, g := range gs {
		total += len(g.nodes)
	}
	minNodes := n - perAZMax + 1
	if total < minNodes {
		return Placement{}, fmt.Errorf("%w: %d healthy, need at least %d", ErrNotEnoughNodes, total, minNodes)
	}
	counts := make([]int, len(gs))
	if total < n {
		// Shared nodes: deal shards over every node, AZ-interleaved.
		order := interleave(gs, func(int) int { return -1 })
		p := Placement{Nodes: make([]metapb.StorageNode, n)}
		for i := range n {
			p.Nodes[i] = order[i%len(order)]
		}
		return p, nil
	}
	// Water filling: first under the per-AZ cap, then (not tolerant) beyond it.
	tolerant := true
	for placed := 0; placed < n; placed++ {
		best := -1
		for pass := 0; pass < 2 && best < 0; pass++ {
			for gi, g := range gs {
				if counts[gi] >= len(g.nodes) || (pass == 0 && counts[gi] >= perAZMax) {
					continue
				}
				if best < 0 || counts[gi] < counts[best] {
					best = gi
				}
			}
			if pass == 1 && best >= 0 {
				tolerant = false
			}
		}
		counts[best]++ // total >= n guarantees a group with room
	}
	order := interleave(gs, func(gi int) int { return counts[gi] })
	return Placement{Nodes: order[:n], Tolerant: tolerant}, nil
}

// interleave lists the first limit(gi) nodes of each group (all if < 0),
// round-robin over the groups so consecutive shard indexes land in
// different AZs.
func interleave(gs []*azGroup, limit func(gi int) int) []metapb.StorageNode {
	var out []metapb.StorageNode
	for round := 0; ; round++ {
		added := false
		for gi, g := range gs {
			l := limit(gi)
			if l < 0 {
				l = len(g.nodes)
			}
			if round < l {
				out = append(out, g.nodes[round])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// Replacement picks a node for shard failed of a segment currently placed
// on current (current[i] is shard i's ref; refs with an empty Node are
// unplaced). exclude lists node ids that must not be chosen (e.g. nodes that
// already failed for this shard). See the package comment for the order of
// preference. seed should differ per attempt to spread replacements.
func Replacement(current []metapb.ShardRef, failed int, nodes []metapb.StorageNode, perAZMax int, seed uint64, exclude map[string]bool) (metapb.StorageNode, error) {
	if failed < 0 || failed >= len(current) {
		return metapb.StorageNode{}, fmt.Errorf("%w: shard %d of %d", ErrBadRequest, failed, len(current))
	}
	used := map[string]int{}
	azCount := map[string]int{}
	for i, r := range current {
		if i == failed || r.Node == "" {
			continue
		}
		used[r.Node]++
		azCount[r.AZ]++
	}
	failedNode, failedAZ := current[failed].Node, current[failed].AZ
	skip := func(n metapb.StorageNode) bool { return exclude[n.ID] || n.ID == failedNode }
	gs := groups(nodes, seed, skip)
	// 1. Same AZ, unused node.
	for _, g := range gs {
		if g.az != failedAZ {
			continue
		}
		for _, n := range g.nodes {
			if used[n.ID] == 0 && weight(n) > 0 {
				return n, nil
			}
		}
	}
	// 2. Unused node in the least loaded AZ under the cap; 3. any unused node.
	for pass := 0; pass < 2; pass++ {
		var best *metapb.StorageNode
		bestCount := 0
		for _, g := range gs {
			c := azCount[g.az]
			if pass == 0 && c >= perAZMax {
				continue
			}
			for _, n := range g.nodes {
				if used[n.ID] == 0 && weight(n) > 0 {
					if best == nil || c < bestCount {
						best, bestCount = &n, c
					}
					break
				}
			}
		}
		if best != nil {
			return *best, nil
		}
	}
	// 4. Share a node: the one holding the fewest shards of this segment.
	var best *metapb.StorageNode
	for _, g := range gs {
		for _, n := range g.nodes {
			if best == nil || used[n.ID] < used[best.ID] {
				best = &n
			}
		}
	}
	if best == nil {
		return metapb.StorageNode{}, fmt.Errorf("%w: no candidate for shard %d", ErrNotEnoughNodes, failed)
	}
	return *best, nil
}

// Tolerant reports whether a segment's shards survive the loss of any one
// AZ: all placed on distinct nodes and no AZ holding more than perAZMax.
func Tolerant(shards []metapb.ShardRef, perAZMax int) bool {
	nodes := map[string]bool{}
	az := map[string]int{}
	for _, r := range shards {
		if r.Node == "" {
			return false
		}
		if nodes[r.Node] {
			return false
		}
		nodes[r.Node] = true
		az[r.AZ]++
		if az[r.AZ] > perAZMax {
			return false
		}
	}
	return true
}

package metastate

import "github.com/meridian-s3/meridian/metasvc/metapb"

// Shard references, for the janitor's orphan scan (docs/gc-safety.md).
//
// A stored shard copy (node, id) is referenced by this partition when
//
//   - a PREPARING version or PREPARING part attempt plans id, on any node:
//     its writer may put the shard on a replacement node that no record
//     names until the COMMIT;
//   - a garbage entry names id, on any node: the janitor's garbage phase
//     deletes it after the grace that protects reads in flight;
//   - a committed record (a version, current or noncurrent, a committed part
//     attempt) names exactly (node, id): after the COMMIT the record names
//     the nodes that hold the shards, and nothing adds a node for an id
//     later except the healer's swap, which writes first and swaps within
//     the orphan scan's minimum age (gc-safety.md, rule 5).
//
// Every record that holds shards must be visited by eachShardHolder: the
// GC accounting test (checkNoLeakedShards) checks that it visits exactly
// the shards the accounting counts, so a new record kind that holds shards
// must be added here or that test fails.

// eachShardHolder calls fn with the segments of every record of t that
// references shards; loose is true for holders that reference their
// shard ids on any node (PREPARING records and garbage).
func (t *trees) eachShardHolder(fn func(loose bool, segs []metapb.Segment)) {
	t.prep.Ascend(func(v *metapb.ObjectVersion) bool { fn(true, v.Segments); return true })
	t.vers.Ascend(func(v *metapb.ObjectVersion) bool { fn(false, v.Segments); return true }) // current and noncurrent versions
	t.parts.Ascend(func(p *metapb.Part) bool { fn(p.State == metapb.StatePreparing, p.Segments); return true })
	t.garbage.Ascend(func(g *metapb.Garbage) bool { fn(true, g.Segments); return true })
}

// MaxRefCheck bounds the shards one Unreferenced call checks.
const MaxRefCheck = 5000

// Unreferenced returns those of refs (at most MaxRefCheck; more are
// ignored) that no record of this partition references, judged on one
// consistent state: the trees are cloned under the lock (copy-on-write,
// cheap) and walked without holding it, so Applies are not held up by
// the walk. Cost: one walk of every shard-holding record.
func (s *State) Unreferenced(refs []metapb.ShardRef) []metapb.ShardRef {
	if len(refs) > MaxRefCheck {
		refs = refs[:MaxRefCheck]
	}
	if len(refs) == 0 {
		return nil
	}
	// id → the candidate copies' nodes, and whether each is referenced.
	type copyRef struct {
		node string
		ref  bool
	}
	cand := make(map[string][]copyRef, len(refs))
	for _, r := range refs {
		cand[r.ID] = append(cand[r.ID], copyRef{node: r.Node})
	}
	s.mu.Lock()
	t := s.t.clone()
	s.mu.Unlock()
	t.eachShardHolder(func(loose bool, segs []metapb.Segment) {
		for _, sg := range segs {
			for _, sh := range sg.Shards {
				cs, ok := cand[sh.ID]
				if !ok {
					continue
				}
				for i := range cs {
					if loose || cs[i].node == sh.Node {
						cs[i].ref = true
					}
				}
			}
		}
	})
	var out []metapb.ShardRef
	for _, r := range refs {
		cs := cand[r.ID]
		for i := range cs {
			if cs[i].node == r.Node {
				if !cs[i].ref {
					out = append(out, r)
				}
				cs[i].ref = true // a duplicate in refs is answered once
				break
			}
		}
	}
	return out
}

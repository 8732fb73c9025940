package metastate

import "github.com/meridian-s3/meridian/metasvc/metapb"

// NodeRefs counts the shards this partition's records place on storage
// node node, on one consistent state (the trees cloned under the lock, as
// Unreferenced does): shards named by committed records (current and
// noncurrent versions, committed part attempts) and shards planned on the
// node by PREPARING versions and part attempts. Garbage entries do not
// count: their shards are never read again (they are only waiting for
// deletion). Cost: one walk of every shard-holding record.
func (s *State) NodeRefs(node string) metapb.NodeRefs {
	var out metapb.NodeRefs
	if node == "" {
		return out
	}
	s.mu.Lock()
	t := s.t.clone()
	s.mu.Unlock()
	count := func(preparing bool, segs []metapb.Segment) {
		hit := false
		for _, sg := range segs {
			for _, sh := range sg.Shards {
				if sh.Node != node {
					continue
				}
				hit = true
				if preparing {
					out.Preparing++
				} else {
					out.Shards++
					out.Bytes += sh.Size
				}
			}
		}
		if hit {
			out.Records++
		}
	}
	t.prep.Ascend(func(v *metapb.ObjectVersion) bool { count(true, v.Segments); return true })
	t.vers.Ascend(func(v *metapb.ObjectVersion) bool { count(false, v.Segments); return true })
	t.parts.Ascend(func(p *metapb.Part) bool { count(p.State == metapb.StatePreparing, p.Segments); return true })
	return out
}

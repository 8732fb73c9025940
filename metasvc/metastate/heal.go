package metastate

import (
	"fmt"
	"sort"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Healing (background/ scrubber): CmdReplaceShards swaps rebuilt shards
// into a committed record by compare-and-swap, and ScanShards walks the
// committed records that hold shards. See metapb.ReplaceShardsRequest.
//
// Garbage accounting (doc.go, "Garbage and the fence") is kept: a swap
// queues the shards it removes from the record; a refused swap queues the
// new shards no record references, in the same Apply, so a rebuilt shard is
// referenced by the record or queued, never both and never neither (once
// the command is applied; a healer that dies before applying it leaves
// orphans for the orphan scan).

// healTarget is the committed record a ReplaceShards names, with a function
// that installs a changed copy of it.
type healTarget struct {
	segs    []metapb.Segment
	install func(segs []metapb.Segment)
}

func (t *trees) healTarget(r *metapb.ReplaceShardsRequest) (healTarget, bool) {
	if r.UploadID != "" {
		p := t.partAttempt(r.Bucket, r.Key, r.UploadID, r.Number, r.Attempt)
		if p == nil || p.State != metapb.StateCommitted {
			return healTarget{}, false
		}
		return healTarget{segs: p.Segments, install: func(segs []metapb.Segment) {
			c := clonePart(p)
			c.Segments = segs
			t.parts.ReplaceOrInsert(c)
		}}, true
	}
	v := t.byRecordID(r.Bucket, r.Key, r.VersionID) // current or noncurrent
	if v == nil || v.State != metapb.StateCommitted {
		return healTarget{}, false
	}
	return healTarget{segs: v.Segments, install: func(segs []metapb.Segment) {
		c := cloneVersion(v)
		c.Segments = segs
		t.replaceRecord(v, c) // tagging.go
	}}, true
}

func (t *trees) replaceShards(now time.Time, r *metapb.ReplaceShardsRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" || (r.VersionID == "" && r.UploadID == "") || len(r.Swaps) == 0 {
		return errResult(metapb.ErrBadRequest, "replace shards: bucket, key, a version or part attempt, and swaps are required")
	}
	for _, s := range r.Swaps {
		if s.New.Index != s.Old.Index || s.New.Node == "" || s.New.ID == "" {
			return errResult(metapb.ErrBadRequest, fmt.Sprintf("replace shards: bad swap for shard %d", s.Old.Index))
		}
	}
	// newSegs holds the rebuilt shards, for garbage when refused.
	refuse := func(msg string, still []metapb.Segment) metapb.Result {
		ref := shardSet(still)
		var orphan []metapb.ShardRef
		for _, s := range r.Swaps {
			if _, ok := ref[shardID{s.New.Node, s.New.ID}]; !ok {
				orphan = append(orphan, s.New)
			}
		}
		t.queueGarbage("heal superseded", r.Bucket, r.Key, []metapb.Segment{{Shards: orphan}}, now)
		return errResult(metapb.ErrConflict, "replace shards: "+msg)
	}
	h, ok := t.healTarget(r)
	if !ok {
		return refuse("record no longer committed", nil)
	}
	if !r.NotAfter.IsZero() && now.After(r.NotAfter) {
		return refuse("past its deadline "+r.NotAfter.UTC().Format(time.RFC3339Nano), h.segs)
	}
	if r.Segment < 0 || r.Segment >= len(h.segs) {
		return refuse(fmt.Sprintf("no segment %d", r.Segment), h.segs)
	}
	seg := h.segs[r.Segment]
	var removed []metapb.ShardRef
	changed := false
	next := append([]metapb.ShardRef(nil), seg.Shards...)
	for _, s := range r.Swaps {
		i := s.Old.Index
		if i < 0 || i >= len(next) {
			return refuse(fmt.Sprintf("no shard %d in segment %d", i, r.Segment), h.segs)
		}
		cur := next[i]
		switch {
		case cur.Node == s.New.Node && cur.ID == s.New.ID:
			// Already applied (a retry).
		case cur.Node == s.Old.Node && cur.ID == s.Old.ID:
			removed = append(removed, cur)
			next[i] = s.New
			changed = true
		default:
			return refuse(fmt.Sprintf("shard %d of segment %d changed meanwhile", i, r.Segment), h.segs)
		}
	}
	if !changed {
		return metapb.Result{Existed: true}
	}
	segs := cloneSegments(h.segs)
	segs[r.Segment].Shards = next
	h.install(segs)
	var g []metapb.ShardRef
	for _, o := range removed {
		if o.Node != "" {
			g = append(g, o)
		}
	}
	t.queueGarbage("healed", r.Bucket, r.Key, []metapb.Segment{{Offset: seg.Offset, Size: seg.Size, Shards: g}}, now)
	return metapb.Result{}
}

// shardScanVisits bounds the records one ScanShards visits (inline ones
// are skipped but cost a visit), per record it may return.
const shardScanVisits = 8

// ScanShards returns up to max (≤0: 1000) committed records that hold
// shards after cursor c — committed versions, current and noncurrent, in
// (bucket, key, newest first) order, then COMMITTED part attempts — without
// inline bytes, and the cursor to resume from. The scrubber's walk.
func (s *State) ScanShards(c metapb.ShardCursor, max int) metapb.ShardScanResponse {
	max = clampMax(max)
	visits := max * shardScanVisits
	var out metapb.ShardScanResponse
	s.mu.RLock()
	defer s.mu.RUnlock()
	hasShards := func(segs []metapb.Segment) bool {
		for _, sg := range segs {
			if len(sg.Shards) > 0 {
				return true
			}
		}
		return false
	}
	strip := func(segs []metapb.Segment) []metapb.Segment {
		c := cloneSegments(segs)
		for i := range c {
			c[i].Inline = nil
		}
		return c
	}
	full := func() bool { return len(out.Records) >= max || visits <= 0 }
	out.Next = c
	if !c.Parts {
		// A cursor without Ver (from before versions) sorts after every
		// version of its key: the walk resumes at the next key, as before.
		pivot := &metapb.ObjectVersion{Bucket: c.Bucket, Key: c.Key, Ver: c.Ver}
		s.t.vers.AscendGreaterOrEqual(pivot, func(v *metapb.ObjectVersion) bool {
			if (c.Bucket != "" || c.Key != "") && v.Bucket == c.Bucket && v.Key == c.Key && v.Ver == c.Ver {
				return true // strictly after the cursor
			}
			visits--
			out.Next = metapb.ShardCursor{Bucket: v.Bucket, Key: v.Key, Ver: v.Ver}
			if v.State == metapb.StateCommitted && hasShards(v.Segments) {
				out.Records = append(out.Records, metapb.ShardRecord{Bucket: v.Bucket, Key: v.Key, VersionID: v.VersionID,
					Size: v.Size, Scheme: v.Scheme, Segments: strip(v.Segments)})
			}
			return !full()
		})
		if full() {
			return out
		}
		out.Next = metapb.ShardCursor{Parts: true}
		c = out.Next
	}
	pivot := &metapb.Part{Bucket: c.Bucket, Key: c.Key, UploadID: c.UploadID, Number: c.Number, Attempt: c.Attempt}
	started := c.Bucket != "" || c.Key != "" || c.UploadID != ""
	s.t.parts.AscendGreaterOrEqual(pivot, func(p *metapb.Part) bool {
		if started && p.Bucket == c.Bucket && p.Key == c.Key && p.UploadID == c.UploadID && p.Number == c.Number && p.Attempt == c.Attempt {
			return true
		}
		visits--
		out.Next = metapb.ShardCursor{Parts: true, Bucket: p.Bucket, Key: p.Key, UploadID: p.UploadID, Number: p.Number, Attempt: p.Attempt}
		if p.State == metapb.StateCommitted && hasShards(p.Segments) {
			var scheme metapb.Scheme
			if u := s.t.upload(p.Bucket, p.Key, p.UploadID); u != nil {
				scheme = u.Scheme
			}
			out.Records = append(out.Records, metapb.ShardRecord{Bucket: p.Bucket, Key: p.Key, UploadID: p.UploadID,
				Number: p.Number, Attempt: p.Attempt, Size: p.Size, Scheme: scheme, Segments: strip(p.Segments)})
		}
		return !full()
	})
	if !full() {
		out.Done = true
	}
	return out
}

// suspect adds and acknowledges suspects (metapb.SuspectRequest). An add
// of a known suspect keeps the first; adds beyond MaxSuspects are dropped.
func (t *trees) suspect(now time.Time, r *metapb.SuspectRequest) metapb.Result {
	b := &t.bg
	for _, sp := range r.Ack {
		delete(b.suspects, suspectKey{sp.Bucket, sp.Key, sp.VersionID})
	}
	for _, sp := range r.Add {
		if sp.Bucket == "" || sp.Key == "" || sp.VersionID == "" {
			return errResult(metapb.ErrBadRequest, "suspect: bucket, key and version id are required")
		}
		k := suspectKey{sp.Bucket, sp.Key, sp.VersionID}
		if _, had := b.suspects[k]; had || len(b.suspects) >= metapb.MaxSuspects {
			continue
		}
		sp.Time = now
		b.suspects[k] = sp
	}
	return metapb.Result{}
}

func (b *bgState) sortedSuspects() []metapb.Suspect {
	out := make([]metapb.Suspect, 0, len(b.suspects))
	for _, sp := range b.suspects {
		out = append(out, sp)
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Bucket != y.Bucket {
			return x.Bucket < y.Bucket
		}
		if x.Key != y.Key {
			return x.Key < y.Key
		}
		return x.VersionID < y.VersionID
	})
	return out
}

// Suspects returns up to max (≤0: 1000) suspects in (bucket, key,
// version) order.
func (s *State) Suspects(max int) []metapb.Suspect {
	max = clampMax(max)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := s.t.bg.sortedSuspects()
	if len(out) > max {
		out = out[:max]
	}
	return out
}

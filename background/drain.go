package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/placement"
)

// drainer moves every shard off the storage nodes the control plane marks
// draining (`meridian admin drain NODE`), so that they can be removed
// (docs/background.md, "Node lifecycle"). It is the healer's machinery
// pointed at healthy shards: per leased partition, a pass walks the
// shard-holding records (the scrubber's ShardScan, cursor in the
// checkpoint); a segment with shards on a draining node gets each of them
// rebuilt on a node placement.Replacement chooses (same AZ first, the AZ
// cap of m shards kept; draining nodes are never chosen, placement skips
// them), paced by HealRate per node, and swapped into the record by
// CmdReplaceShards — the compare-and-swap that queues the old shard as
// garbage (the janitor deletes it on the draining node after the grace),
// or, if the record changed meanwhile, queues the new one.
//
// The rebuild reads k other shards, not the draining copy: a draining
// node may be failing (the reason to drain it); the sources are read and
// checked as a GET reads them (hedged, replaced on failure).
type drainer struct {
	s *scrubber

	mu      sync.Mutex
	reports map[int]*DrainReport
}

const drainerName = "drainer"

// DrainReport is a partition's drain progress, kept in the drainer's
// checkpoint (metapb.Checkpoint.Report) and summed by `meridian admin
// drain --status`.
type DrainReport struct {
	Nodes map[string]*DrainNodeStats `json:"nodes,omitempty"`
	// PassStarted and LastEnded bound the current and the last complete
	// pass (zero while no node drains).
	PassStarted time.Time `json:"pass_started,omitzero"`
	LastEnded   time.Time `json:"last_ended,omitzero"`
}

// DrainNodeStats counts one draining node's shards in one partition.
type DrainNodeStats struct {
	Moved      int64 `json:"moved"`       // shards moved off the node (swapped into their records)
	MovedBytes int64 `json:"moved_bytes"` // their bytes
	Superseded int64 `json:"superseded"`  // moves refused because the record changed (nothing left behind)
	Failed     int64 `json:"failed"`      // moves that failed (retried next pass)
	// Left is what the current pass found on the node and could not move
	// yet (failed); LastLeft the same for the last complete pass.
	Left     int64 `json:"left"`
	LastLeft int64 `json:"last_left"`
}

func newDrainer(s *scrubber) *drainer { return &drainer{s: s, reports: map[int]*DrainReport{}} }

func (d *drainer) Name() string { return drainerName }

func (d *drainer) interval() time.Duration { return d.s.cfg.DrainInterval }

func (d *drainer) report(p int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.reports[p]
	if r == nil {
		return ""
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func (d *drainer) restore(p int, report string) {
	r := &DrainReport{}
	if report != "" {
		if err := json.Unmarshal([]byte(report), r); err != nil {
			d.s.cfg.Logger.Warn("drainer: ignoring unreadable report in checkpoint", "partition", p, "err", err)
			r = &DrainReport{}
		}
	}
	d.mu.Lock()
	d.reports[p] = r
	d.mu.Unlock()
}

// stats returns p's counters for node, created on demand (d.mu held).
func (r *DrainReport) stats(node string) *DrainNodeStats {
	if r.Nodes == nil {
		r.Nodes = map[string]*DrainNodeStats{}
	}
	st := r.Nodes[node]
	if st == nil {
		st = &DrainNodeStats{}
		r.Nodes[node] = st
	}
	return st
}

// DecodeDrainReport parses a drainer checkpoint's report ("" → empty).
func DecodeDrainReport(s string) (*DrainReport, error) {
	r := &DrainReport{}
	if s == "" {
		return r, nil
	}
	if err := json.Unmarshal([]byte(s), r); err != nil {
		return nil, fmt.Errorf("background: drain report: %w", err)
	}
	return r, nil
}

func (d *drainer) Step(ctx context.Context, p int, cursor string, valid func() bool) (string, int, bool, error) {
	view := d.s.nodes.view()
	draining := map[string]bool{}
	for id, n := range view.nodes {
		if n.Draining {
			draining[id] = true
		}
	}
	d.mu.Lock()
	rep := d.reports[p]
	if rep == nil {
		rep = &DrainReport{}
		d.reports[p] = rep
	}
	if len(draining) == 0 {
		// Nothing drains: keep the counters of nodes still registered (a
		// cancelled drain), forget removed ones, and do not scan.
		for id := range rep.Nodes {
			if _, ok := view.nodes[id]; !ok {
				delete(rep.Nodes, id)
			}
		}
		rep.PassStarted = time.Time{}
		d.mu.Unlock()
		return "", 0, true, nil
	}
	if cursor == "" {
		rep.PassStarted = time.Now().UTC()
		for id := range draining {
			rep.stats(id).Left = 0
		}
	}
	d.mu.Unlock()
	var cur metapb.ShardCursor
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &cur); err != nil {
			return "", 0, false, nil // not ours: start afresh
		}
	}
	scan, err := d.s.cfg.Meta.ScanShards(ctx, p, cur, d.s.cfg.Batch)
	if err != nil {
		return cursor, 0, false, fmt.Errorf("scan shards: %w", err)
	}
	sem := make(chan struct{}, d.s.cfg.ScrubParallel)
	var wg sync.WaitGroup
	moved := 0
	var mmu sync.Mutex
	for _, rec := range scan.Records {
		if ctx.Err() != nil || !valid() {
			break
		}
		for si, seg := range rec.Segments {
			var idx []int
			for i, sh := range seg.Shards {
				if draining[sh.Node] {
					idx = append(idx, i)
				}
			}
			if len(idx) == 0 {
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				n := d.moveSegment(ctx, view, draining, rec, si, seg, idx, valid, rep)
				mmu.Lock()
				moved += n
				mmu.Unlock()
			}()
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return cursor, moved, false, err
	}
	if !valid() {
		return cursor, moved, false, nil
	}
	if scan.Done {
		d.mu.Lock()
		for id, st := range rep.Nodes {
			if draining[id] {
				st.LastLeft = st.Left
			}
		}
		rep.LastEnded = time.Now().UTC()
		d.mu.Unlock()
		return "", moved, true, nil
	}
	next, _ := json.Marshal(scan.Next)
	return string(next), moved, false, nil
}

// moveSegment rebuilds the segment's shards idx (on draining nodes) on
// other nodes and swaps them in; it returns the shards moved.
func (d *drainer) moveSegment(ctx context.Context, view nodeState, draining map[string]bool, rec metapb.ShardRecord, si int,
	seg metapb.Segment, idx []int, valid func() bool, rep *DrainReport) int {
	s := d.s
	count := func(f func(st *DrainNodeStats, ref metapb.ShardRef)) {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, i := range idx {
			f(rep.stats(seg.Shards[i].Node), seg.Shards[i])
		}
	}
	fail := func(err error) int {
		count(func(st *DrainNodeStats, _ metapb.ShardRef) { st.Failed++; st.Left++ })
		s.m.drainFailures.Inc()
		s.cfg.Logger.Warn("drainer: move failed (retried next pass)", "bucket", rec.Bucket, "key", rec.Key, "segment", si, "err", err)
		return 0
	}
	var healthyNodes []metapb.StorageNode
	for _, n := range view.nodes {
		if n.Healthy && !view.dead[n.ID] {
			healthyNodes = append(healthyNodes, n)
		}
	}
	exclude := map[string]bool{}
	for id := range view.dead {
		exclude[id] = true
	}
	for id := range draining {
		exclude[id] = true
	}
	refs := append([]metapb.ShardRef(nil), seg.Shards...)
	src := metapb.Segment{Offset: seg.Offset, Size: seg.Size, Shards: append([]metapb.ShardRef(nil), seg.Shards...)}
	for i, r := range refs {
		if r.Node != "" && (view.dead[r.Node] || !view.healthy(r.Node)) {
			src.Shards[i].Node = "" // not a source
		}
	}
	for _, i := range idx {
		refs[i].Node, refs[i].AZ = "", "" // not counted by Replacement
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	var targets []metapb.ShardRef
	var size int64
	for _, i := range idx {
		old := seg.Shards[i]
		n, err := placement.Replacement(refs, i, healthyNodes, rec.Scheme.Parity, placement.HashString(old.ID+stamp), exclude)
		if err != nil {
			return fail(fmt.Errorf("place shard %d: %w", i, err))
		}
		refs[i].Node, refs[i].AZ = n.ID, n.AZ
		targets = append(targets, metapb.ShardRef{Index: i, ID: healID(old.ID, stamp), Size: old.Size, Node: n.ID, AZ: n.AZ})
		size += old.Size
	}
	if !valid() {
		return 0
	}
	// Pace like the healer: targets write their shard, k sources read theirs.
	for _, t := range targets {
		if err := s.healLim.wait(ctx, t.Node, t.Size); err != nil {
			return 0
		}
	}
	nsrc := 0
	for i, r := range src.Shards {
		if r.Node != "" && nsrc < rec.Scheme.Data && !draining[seg.Shards[i].Node] {
			nsrc++
			if err := s.healLim.wait(ctx, r.Node, r.Size); err != nil {
				return 0
			}
		}
	}
	notAfter := time.Now().Add(s.cfg.OrphanMinAge / 2) // docs/gc-safety.md, R5
	hctx, cancel := context.WithTimeout(ctx, s.cfg.HealTimeout+time.Duration(float64(size)/float64(max(s.cfg.HealRate, 1<<20))*float64(time.Second)))
	built, err := s.cfg.Shards.RebuildShards(hctx, rec.Scheme, src, targets)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("rebuild: %w", err))
	}
	swaps := make([]metapb.ShardSwap, len(built))
	for j, b := range built {
		swaps[j] = metapb.ShardSwap{Old: seg.Shards[b.Index], New: b}
	}
	_, err = s.cfg.Meta.ReplaceShards(ctx, metapb.ReplaceShardsRequest{Bucket: rec.Bucket, Key: rec.Key, VersionID: rec.VersionID,
		UploadID: rec.UploadID, Number: rec.Number, Attempt: rec.Attempt, Segment: si, Swaps: swaps, NotAfter: notAfter})
	switch {
	case errors.Is(err, metaclient.ErrConflict):
		// Overwritten, deleted or healed meanwhile: the command queued the
		// new shards; whatever the record names now is found next pass.
		count(func(st *DrainNodeStats, _ metapb.ShardRef) { st.Superseded++ })
		return 0
	case err != nil:
		return fail(fmt.Errorf("swap: %w", err))
	}
	count(func(st *DrainNodeStats, ref metapb.ShardRef) { st.Moved++; st.MovedBytes += ref.Size })
	s.m.drainMoved.Add(float64(len(built)))
	s.m.drainMovedBytes.Add(float64(size))
	s.cfg.Logger.Debug("drainer: moved", "bucket", rec.Bucket, "key", rec.Key, "segment", si, "shards", len(built), "bytes", size)
	return len(built)
}

// DrainProgress sums the drainer reports of every partition's checkpoint
// per node (for `meridian admin drain --status`).
func DrainProgress(cps [][]metapb.Checkpoint) (map[string]DrainNodeStats, error) {
	out := map[string]DrainNodeStats{}
	for _, list := range cps {
		for _, c := range list {
			if c.Worker != drainerName {
				continue
			}
			r, err := DecodeDrainReport(c.Report)
			if err != nil {
				return nil, err
			}
			ids := make([]string, 0, len(r.Nodes))
			for id := range r.Nodes {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				st, sum := r.Nodes[id], out[id]
				sum.Moved += st.Moved
				sum.MovedBytes += st.MovedBytes
				sum.Superseded += st.Superseded
				sum.Failed += st.Failed
				sum.Left += st.Left
				sum.LastLeft += st.LastLeft
				out[id] = sum
			}
		}
	}
	return out, nil
}

package background

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// janitor reclaims by record state (DESIGN invariant 4): in each partition
// it leases, it
//
//  1. aborts PREPARING versions and part attempts older than PrepareTimeout.
//     The Abort goes through the partition's Raft group; a COMMIT ordered
//     after it finds no PREPARING record and is refused (metastate: the
//     abort is the fence, decided by Raft order, not by time), and the
//     record's shards are queued as garbage in the same command;
//  2. drains the garbage queue: deletes the queued shards, then
//     acknowledges the entries (deletes are idempotent, so an entry whose
//     acknowledgement was lost is simply deleted again);
//  3. scans the storage nodes assigned to the partition for orphan shards
//     (orphans.go), when Config.Orphans is set.
//
// A pass over a partition is the two phases in order, with the lifecycle
// phase (lifecycle.go: bucket lifecycle rules) between them; the cursor
// names the phase, so a takeover resumes in the phase the last holder reached.
type janitor struct {
	cfg     *Config
	m       *metrics
	now     func() time.Time
	lc      lcBuckets   // lifecycle.go
	orphans *orphanScan // phase 3, nil when Config.Orphans is nil
}

const (
	phasePrepares = ""        // abort abandoned PREPAREs (and part attempts)
	phaseGarbage  = "garbage" // drain the garbage queue
)

func (j *janitor) Name() string { return "janitor" }

func (j *janitor) Step(ctx context.Context, p int, cursor string, valid func() bool) (string, int, bool, error) {
	switch cursor {
	case phasePrepares:
		n, more, err := j.abortAbandoned(ctx, p, valid)
		if err != nil || more {
			return phasePrepares, n, false, err
		}
		return j.afterPrepares(p), n, false, nil // bucket lifecycle rules when due (lifecycle.go), else garbage
	case phaseGarbage:
		n, more, err := j.reclaim(ctx, p, valid)
		if j.orphans == nil || more || err != nil {
			return phaseGarbage, n, !more && err == nil, err
		}
		return phaseOrphans, n, false, nil
	}
	if cursor == phaseOrphans || strings.HasPrefix(cursor, phaseOrphans+"/") {
		if j.orphans == nil {
			return phasePrepares, 0, true, nil
		}
		return j.orphans.step(ctx, p, cursor, valid)
	}
	if cur, ok := parseLCCursor(cursor); ok { // lifecycle.go
		next, n, done, err := j.lifecycleStep(ctx, p, cur, valid)
		if done && err == nil {
			j.lifecycleDone(p)
			return phaseGarbage, n, false, nil
		}
		return next.String(), n, false, err
	}
	// An unknown cursor (a newer version's): start the pass afresh.
	return phasePrepares, 0, false, nil
}

// abortAbandoned aborts up to Batch expired PREPAREs and part attempts of p;
// more reports that a full batch was found.
func (j *janitor) abortAbandoned(ctx context.Context, p int, valid func() bool) (n int, more bool, err error) {
	deadline := j.now().Add(-j.cfg.PrepareTimeout)
	vs, err := j.cfg.Meta.ScanPreparing(ctx, p, deadline, j.cfg.Batch)
	if err != nil {
		return 0, false, fmt.Errorf("scan preparing: %w", err)
	}
	for _, v := range vs {
		if !valid() {
			return n, false, nil
		}
		_, err := j.cfg.Meta.Abort(ctx, metapb.AbortRequest{Bucket: v.Bucket, Key: v.Key, VersionID: v.VersionID, Reason: "janitor: prepare deadline"})
		if errors.Is(err, metaclient.ErrConflict) {
			continue // committed meanwhile: nothing to abort
		}
		if err != nil {
			return n, false, fmt.Errorf("abort %s/%s %s: %w", v.Bucket, v.Key, v.VersionID, err)
		}
		n++
		j.m.aborted.Inc()
		j.cfg.Logger.Info("janitor: aborted abandoned PREPARE", "partition", p, "bucket", v.Bucket, "key", v.Key,
			"version", v.VersionID, "prepared_at", v.PreparedAt)
	}
	parts, err := j.cfg.Meta.ScanPreparingParts(ctx, p, deadline, j.cfg.Batch)
	if err != nil {
		return n, false, fmt.Errorf("scan preparing parts: %w", err)
	}
	for _, pt := range parts {
		if !valid() {
			return n, false, nil
		}
		_, err := j.cfg.Meta.AbortPart(ctx, metapb.AbortPartRequest{Bucket: pt.Bucket, Key: pt.Key, UploadID: pt.UploadID, Number: pt.Number, Attempt: pt.Attempt})
		if errors.Is(err, metaclient.ErrConflict) || errors.Is(err, metaclient.ErrNoSuchUpload) {
			continue
		}
		if err != nil {
			return n, false, fmt.Errorf("abort part %s/%s %s #%d: %w", pt.Bucket, pt.Key, pt.UploadID, pt.Number, err)
		}
		n++
		j.m.aborted.Inc()
	}
	return n, len(vs) == j.cfg.Batch || len(parts) == j.cfg.Batch, nil
}

// reclaim deletes the shards of up to Batch garbage entries of p and
// acknowledges those deleted; more reports that a full batch was found.
func (j *janitor) reclaim(ctx context.Context, p int, valid func() bool) (n int, more bool, err error) {
	items, err := j.cfg.Meta.ListGarbage(ctx, p, j.cfg.Batch)
	if err != nil {
		return 0, false, fmt.Errorf("list garbage: %w", err)
	}
	known := knownNodes(j.cfg)
	var ids []uint64
	var firstErr error
	young := false // an entry inside its grace period ends the step
	for _, it := range items {
		if !valid() {
			break
		}
		if j.now().Sub(it.Time) < j.cfg.GarbageGrace {
			young = true // ids (and so times, up to leader skew) ascend: the rest are younger
			break
		}
		segs := it.Segments
		if known != nil {
			segs = dropRemovedNodes(segs, known)
		}
		if len(segs) > 0 {
			if err := j.cfg.Data.Delete(ctx, segs); err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("delete shards of garbage %d: %w", it.ID, err)
				}
				continue // retried next pass
			}
		}
		ids = append(ids, it.ID)
	}
	if len(ids) > 0 {
		if _, err := j.cfg.Meta.AckGarbage(ctx, p, ids); err != nil {
			return 0, false, fmt.Errorf("ack garbage: %w", err)
		}
		j.m.reclaimed.Add(float64(len(ids)))
	}
	if firstErr != nil {
		return len(ids), false, firstErr
	}
	return len(ids), len(items) == j.cfg.Batch && !young, nil
}

// knownNodes is the set of storage nodes the control plane has registered
// (nil when the server has no node view, or the view is empty, e.g. not
// fetched yet).
func knownNodes(cfg *Config) map[string]bool {
	if cfg.Nodes == nil {
		return nil
	}
	list := cfg.Nodes()
	if len(list) == 0 {
		return nil
	}
	out := make(map[string]bool, len(list))
	for _, n := range list {
		out[n.ID] = true
	}
	return out
}

// dropRemovedNodes leaves out of a garbage entry's segments the shards on
// nodes the control plane does not know: removed nodes (remove-node), whose
// data is gone with them, so the entry is not retried forever. A shard on
// a node that registers later (a view that lagged) is left to the orphan
// scan, which reclaims unreferenced shards on every registered node.
func dropRemovedNodes(segs []metapb.Segment, known map[string]bool) []metapb.Segment {
	var out []metapb.Segment
	for _, sg := range segs {
		keep := sg
		keep.Shards = nil
		for _, sh := range sg.Shards {
			if sh.Node == "" || known[sh.Node] {
				keep.Shards = append(keep.Shards, sh)
			}
		}
		if len(keep.Shards) > 0 {
			out = append(out, keep)
		}
	}
	return out
}

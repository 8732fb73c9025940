package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/placement"
)

// ShardHealth is what a storage node says of one of its shards.
type ShardHealth uint8

const (
	ShardOK      ShardHealth = iota + 1 // every block checksum holds
	ShardMissing                        // the node does not have it
	ShardCorrupt                        // stored bytes fail their checksums
)

// Shards is what the scrubber needs from the storage nodes and the data
// path (cmd/meridian adapts storageclient and objectio.Engine).
type Shards interface {
	// Verify asks the node at addr to check shard id's block checksums
	// locally (no bytes shipped). An error means no answer (node down,
	// refused, timeout): the shard's state is unknown.
	Verify(ctx context.Context, addr, id string) (ShardHealth, error)
	// RebuildShards reconstructs targets (Index, Node, AZ, ID, Size) of a
	// segment from its other shards (those in src with a Node) and stores
	// them; it returns the targets with their CRC-32C.
	RebuildShards(ctx context.Context, scheme metapb.Scheme, src metapb.Segment, targets []metapb.ShardRef) ([]metapb.ShardRef, error)
}

const scrubberName = "scrubber"

// scrubber verifies every shard of every committed record of the
// partitions it leases, counts what it finds, and heals damaged shards
// (docs/background.md, "Scrubber and healer").
//
// A step scans Batch records from the cursor, verifies each record's
// shards on their nodes (ScrubParallel records at once, every shard of a
// record in parallel, paced per node at ScrubRate bytes/s), and rebuilds
// the missing and corrupt shards of a segment that still has k healthy
// ones: onto the same node with a new shard id when that node is healthy
// (a corrupt or lost shard on a live node), else onto a node chosen by
// placement.Replacement (same AZ first, AZ cap respected). The rebuilt
// shards are swapped into the record by CmdReplaceShards, a
// compare-and-swap: if the record changed meanwhile the new shards are
// queued as garbage by that same command. The replaced shards become
// garbage (the janitor deletes them after the grace).
type scrubber struct {
	cfg   *Config
	m     *metrics
	nodes *nodeWatch

	verifyLim *nodeLimiters
	healLim   *nodeLimiters

	mu      sync.Mutex
	reports map[int]*PartitionReport
}

func newScrubber(cfg *Config, m *metrics, nw *nodeWatch) *scrubber {
	return &scrubber{cfg: cfg, m: m, nodes: nw, verifyLim: newNodeLimiters(cfg.ScrubRate),
		healLim: newNodeLimiters(cfg.HealRate), reports: map[int]*PartitionReport{}}
}

func (s *scrubber) Name() string { return scrubberName }

func (s *scrubber) interval() time.Duration { return s.cfg.ScrubInterval }

// report and restore carry the partition's PartitionReport in its
// checkpoint (worker.go, reporter).
func (s *scrubber) report(p int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reports[p]
	if r == nil {
		return ""
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func (s *scrubber) restore(p int, report string) {
	r, err := decodeReport(report)
	if err != nil {
		s.cfg.Logger.Warn("scrubber: ignoring unreadable report in checkpoint", "partition", p, "err", err)
		r = &PartitionReport{}
	}
	s.mu.Lock()
	s.reports[p] = r
	s.mu.Unlock()
}

// Reports returns a copy of the reports of the partitions this process
// has worked on.
func (s *scrubber) Reports(held []int) map[int]PartitionReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]PartitionReport{}
	for _, p := range held {
		if r := s.reports[p]; r != nil {
			out[p] = *r
		}
	}
	return out
}

func (s *scrubber) Step(ctx context.Context, p int, cursor string, valid func() bool) (string, int, bool, error) {
	var cur metapb.ShardCursor
	s.mu.Lock()
	rep := s.reports[p]
	if rep == nil {
		rep = &PartitionReport{}
		s.reports[p] = rep
	}
	if cursor == "" {
		rep.PassStarted, rep.Current, rep.Pending, rep.InPass = time.Now().UTC(), PassStats{}, 0, true
	}
	s.mu.Unlock()
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &cur); err != nil {
			return "", 0, false, nil // not ours (an older format): start the pass afresh
		}
	}
	scan, err := s.cfg.Meta.ScanShards(ctx, p, cur, s.cfg.Batch)
	if err != nil {
		return cursor, 0, false, fmt.Errorf("scan shards: %w", err)
	}
	var stats PassStats
	var smu sync.Mutex
	var pending int64
	sem := make(chan struct{}, s.cfg.ScrubParallel)
	var wg sync.WaitGroup
	for _, rec := range scan.Records {
		if ctx.Err() != nil || !valid() {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var one PassStats
			left := s.scrubRecord(ctx, rec, valid, &one)
			smu.Lock()
			stats.add(&one)
			pending += left
			smu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return cursor, 0, false, err
	}
	if !valid() {
		return cursor, 0, false, nil // lease lost: the next holder redoes this step (the worker stops at begin)
	}
	s.mu.Lock()
	rep.Current.add(&stats)
	rep.Pending += pending
	if scan.Done {
		last := rep.Current
		rep.Last, rep.LastEnded, rep.InPass = &last, time.Now().UTC(), false
	}
	s.mu.Unlock()
	if scan.Done {
		return "", len(scan.Records), true, nil
	}
	next, _ := json.Marshal(scan.Next)
	return string(next), len(scan.Records), false, nil
}

// shardState is one shard's verdict in a scrub.
type shardState uint8

const (
	stHealthy shardState = iota + 1
	stMissing
	stCorrupt
	stUnknown // node down (not yet dead) or not answering: not healed now
)

// scrubRecord verifies and heals one record; it returns the damaged
// shards left unhealed.
func (s *scrubber) scrubRecord(ctx context.Context, rec metapb.ShardRecord, valid func() bool, st *PassStats) int64 {
	k, m := rec.Scheme.Data, rec.Scheme.Parity
	worst := k + m
	tolerant := true
	var left int64
	view := s.nodes.view()
	for si, seg := range rec.Segments {
		if len(seg.Shards) == 0 {
			continue
		}
		states := s.verifySegment(ctx, view, seg, st)
		found := append([]shardState(nil), states...) // verdicts, for the counters
		healthy, bad := 0, 0
		for _, x := range states {
			switch x {
			case stHealthy:
				healthy++
			case stMissing, stCorrupt:
				bad++
			}
		}
		if bad > 0 && healthy >= k && valid() {
			healed, refs, elsewhere := s.healSegment(ctx, view, rec, si, seg, states, st)
			for _, i := range elsewhere {
				// Healed by another worker (the healer or the scrubber)
				// between our verify and our swap: it counted the damage.
				switch states[i] {
				case stMissing:
					st.Missing--
				case stCorrupt:
					st.Corrupt--
				}
				states[i], found[i] = stHealthy, stHealthy
				healthy++
				bad--
			}
			if healed {
				seg.Shards = refs
				for i := range states {
					if states[i] == stMissing || states[i] == stCorrupt {
						states[i] = stHealthy
					}
				}
				healthy += bad
				bad = 0
			}
		}
		for _, x := range found {
			switch x {
			case stMissing:
				s.m.scrubFound.WithLabelValues("missing").Inc()
			case stCorrupt:
				s.m.scrubFound.WithLabelValues("corrupt").Inc()
			}
		}
		left += int64(bad)
		worst = min(worst, healthy)
		tolerant = tolerant && azTolerant(seg.Shards, states, k)
	}
	st.Records++
	b := st.bucket(rec.Bucket)
	cc := &b.Objects
	if rec.UploadID != "" {
		cc = &b.Parts
	}
	c := classify(worst, k, m)
	cc.Count[c]++
	cc.Bytes[c] += rec.Size
	if miss := k + m - worst; miss > 0 && miss <= m {
		if cc.Missing == nil {
			cc.Missing = map[int]int64{}
		}
		cc.Missing[miss]++
	}
	if !tolerant {
		cc.NotTolerant++
	}
	return left
}

// azTolerant: losing the AZ holding most of the segment's healthy shards
// still leaves k of them.
func azTolerant(refs []metapb.ShardRef, states []shardState, k int) bool {
	per := map[string]int{}
	healthy, most := 0, 0
	for i, r := range refs {
		if states[i] != stHealthy {
			continue
		}
		healthy++
		per[r.AZ]++
		most = max(most, per[r.AZ])
	}
	return healthy-most >= k
}

// verifySegment asks every shard's node for a verdict, in parallel.
func (s *scrubber) verifySegment(ctx context.Context, view nodeState, seg metapb.Segment, st *PassStats) []shardState {
	states := make([]shardState, len(seg.Shards))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, ref := range seg.Shards {
		n, known := view.nodes[ref.Node]
		switch {
		case ref.Node == "" || !known || view.dead[ref.Node]:
			states[i] = stMissing
			continue
		case !n.Healthy:
			states[i] = stUnknown
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := stUnknown
			if err := s.verifyLim.wait(ctx, ref.Node, ref.Size); err == nil {
				vctx, cancel := context.WithTimeout(ctx, s.cfg.VerifyTimeout)
				h, err := s.cfg.Shards.Verify(vctx, n.Addr, ref.ID)
				cancel()
				switch {
				case err != nil:
					s.cfg.Logger.Debug("scrubber: verify got no answer", "shard", ref.ID, "node", ref.Node, "err", err)
				case h == ShardOK:
					x = stHealthy
				case h == ShardMissing:
					x = stMissing
				case h == ShardCorrupt:
					x = stCorrupt
				}
			}
			mu.Lock()
			states[i] = x
			if x != stUnknown {
				st.VerifyBytes += ref.Size
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i, x := range states {
		st.Shards++
		switch x {
		case stHealthy:
			st.Verified++
		case stMissing:
			st.Missing++
		case stCorrupt:
			st.Corrupt++
		case stUnknown:
			st.Unreachable++
		}
		if x == stMissing || x == stCorrupt {
			s.cfg.Logger.Info("scrubber: damaged shard", "shard", seg.Shards[i].ID, "node", seg.Shards[i].Node,
				"state", map[shardState]string{stMissing: "missing", stCorrupt: "corrupt"}[x])
		}
	}
	s.m.scrubVerified.Add(float64(len(states)))
	return states
}

// healSegment rebuilds the segment's missing and corrupt shards and swaps
// them into the record. It returns whether the record now holds them, and
// the segment's refs after the swap.
func (s *scrubber) healSegment(ctx context.Context, view nodeState, rec metapb.ShardRecord, si int, seg metapb.Segment,
	states []shardState, st *PassStats) (healed bool, refs []metapb.ShardRef, elsewhere []int) {
	var healthyNodes []metapb.StorageNode
	for _, n := range view.nodes {
		if n.Healthy && !view.dead[n.ID] {
			healthyNodes = append(healthyNodes, n)
		}
	}
	refs = append([]metapb.ShardRef(nil), seg.Shards...)
	src := metapb.Segment{Offset: seg.Offset, Size: seg.Size, Shards: append([]metapb.ShardRef(nil), seg.Shards...)}
	var badIdx []int
	for i, x := range states {
		if x == stMissing || x == stCorrupt {
			badIdx = append(badIdx, i)
			src.Shards[i].Node = ""
			if view.dead[refs[i].Node] || !view.healthy(refs[i].Node) || view.nodes[refs[i].Node].Draining {
				refs[i].Node, refs[i].AZ = "", "" // not counted by Replacement (a draining node gets nothing new)
			}
		}
	}
	exclude := map[string]bool{}
	for id := range view.dead {
		exclude[id] = true
	}
	for id, n := range view.nodes {
		if n.Draining {
			exclude[id] = true
		}
	}
	var targets []metapb.ShardRef
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, i := range badIdx {
		old := seg.Shards[i]
		t := metapb.ShardRef{Index: i, ID: healID(old.ID, stamp), Size: old.Size}
		if refs[i].Node != "" {
			t.Node, t.AZ = old.Node, old.AZ // same healthy node, new id
		} else {
			n, err := placement.Replacement(refs, i, healthyNodes, rec.Scheme.Parity, placement.HashString(old.ID+stamp), exclude)
			if err != nil {
				s.healFailed(st, rec, len(badIdx), fmt.Errorf("place shard %d: %w", i, err))
				return false, nil, nil
			}
			t.Node, t.AZ = n.ID, n.AZ
		}
		refs[i].Node, refs[i].AZ = t.Node, t.AZ
		targets = append(targets, t)
	}
	// Pace: the targets' nodes write their shard, the sources read theirs.
	var size int64
	for _, t := range targets {
		size += t.Size
		if err := s.healLim.wait(ctx, t.Node, t.Size); err != nil {
			return false, nil, nil
		}
	}
	nsrc := 0
	for _, r := range src.Shards {
		if r.Node != "" && nsrc < rec.Scheme.Data {
			nsrc++
			if err := s.healLim.wait(ctx, r.Node, r.Size); err != nil {
				return false, nil, nil
			}
		}
	}
	// The rebuilt shards are unreferenced from their first byte until the
	// swap: the swap must apply within half the orphan scan's minimum age
	// (docs/gc-safety.md, R5), else it is refused and they become garbage.
	notAfter := time.Now().Add(s.cfg.OrphanMinAge / 2)
	hctx, cancel := context.WithTimeout(ctx, s.cfg.HealTimeout+time.Duration(float64(size)/float64(max(s.cfg.HealRate, 1<<20))*float64(time.Second)))
	built, err := s.cfg.Shards.RebuildShards(hctx, rec.Scheme, src, targets)
	cancel()
	if err != nil {
		s.healFailed(st, rec, len(targets), fmt.Errorf("rebuild: %w", err))
		return false, nil, nil
	}
	swaps := make([]metapb.ShardSwap, len(built))
	for j, b := range built {
		swaps[j] = metapb.ShardSwap{Old: seg.Shards[b.Index], New: b}
	}
	req := metapb.ReplaceShardsRequest{Bucket: rec.Bucket, Key: rec.Key, VersionID: rec.VersionID, UploadID: rec.UploadID,
		Number: rec.Number, Attempt: rec.Attempt, Segment: si, Swaps: swaps, NotAfter: notAfter}
	_, err = s.cfg.Meta.ReplaceShards(ctx, req)
	switch {
	case errors.Is(err, metaclient.ErrConflict):
		st.Superseded += int64(len(built))
		s.cfg.Logger.Info("scrubber: record changed during heal; rebuilt shards queued as garbage", "bucket", rec.Bucket, "key", rec.Key)
		return false, nil, s.healedElsewhere(ctx, rec, si, seg, built)
	case err != nil:
		s.healFailed(st, rec, len(built), fmt.Errorf("swap: %w", err))
		return false, nil, nil
	}
	out := append([]metapb.ShardRef(nil), seg.Shards...)
	for _, b := range built {
		out[b.Index] = b
	}
	st.Healed += int64(len(built))
	st.BytesRebuilt += size
	s.m.healed.Add(float64(len(built)))
	s.m.rebuiltBytes.Add(float64(size))
	s.cfg.Logger.Info("scrubber: healed", "bucket", rec.Bucket, "key", rec.Key, "segment", si, "shards", len(built), "bytes", size)
	return true, out, nil
}

// healedElsewhere returns the indexes of built whose shard the record no
// longer names as it did when verified (another worker healed them), after
// a refused swap.
func (s *scrubber) healedElsewhere(ctx context.Context, rec metapb.ShardRecord, si int, seg metapb.Segment, built []metapb.ShardRef) []int {
	if rec.VersionID == "" {
		return nil
	}
	v, err := s.cfg.Meta.GetVersion(ctx, rec.Bucket, rec.Key, rec.VersionID)
	if err != nil || si >= len(v.Segments) || len(v.Segments[si].Shards) != len(seg.Shards) {
		return nil // gone or unreadable: nothing to say
	}
	var out []int
	for _, b := range built {
		now, was := v.Segments[si].Shards[b.Index], seg.Shards[b.Index]
		if now.Node != was.Node || now.ID != was.ID {
			out = append(out, b.Index)
		}
	}
	return out
}

func (s *scrubber) healFailed(st *PassStats, rec metapb.ShardRecord, n int, err error) {
	st.HealFailed += int64(n)
	s.m.healFailures.Inc()
	s.cfg.Logger.Warn("scrubber: heal failed (retried next pass)", "bucket", rec.Bucket, "key", rec.Key, "err", err)
}

// healID is a fresh id for a rebuilt copy of shard id: "<id>.h<stamp>",
// replacing an earlier heal suffix. A new id keeps the old copy (which
// becomes garbage) and the new one apart on the same node.
func healID(id, stamp string) string {
	if i := strings.LastIndex(id, ".h"); i >= 0 && !strings.ContainsAny(id[i+2:], ".") && len(id) > i+2 {
		id = id[:i]
	}
	return id + ".h" + stamp
}

package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// healer heals, without waiting for the next scrub pass, the versions
// readers reported damaged (a GET that had to reconstruct records a
// metapb.Suspect in the version's partition, durably, through Raft). Each
// step takes a batch of the partition's suspects, verifies and heals each
// version exactly as the scrubber does, and acknowledges them. It runs at
// the worker Interval (seconds), the scrubber at ScrubInterval (hours).
type healer struct {
	s *scrubber

	mu     sync.Mutex
	totals map[int]*PassStats // per partition, since the partition's first suspect (kept in the checkpoint)
}

const healerName = "healer"

func newHealer(s *scrubber) *healer { return &healer{s: s, totals: map[int]*PassStats{}} }

func (h *healer) Name() string { return healerName }

// report and restore keep the partition's totals in the healer's
// checkpoint (worker.go, reporter).
func (h *healer) report(p int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.totals[p]; t != nil {
		b, _ := json.Marshal(t)
		return string(b)
	}
	return ""
}

func (h *healer) restore(p int, report string) {
	t := &PassStats{}
	if report != "" {
		if err := json.Unmarshal([]byte(report), t); err != nil {
			h.s.cfg.Logger.Warn("healer: ignoring unreadable report in checkpoint", "partition", p, "err", err)
			t = &PassStats{}
		}
	}
	h.mu.Lock()
	h.totals[p] = t
	h.mu.Unlock()
}

func (h *healer) add(p int, st PassStats) {
	st.Buckets, st.Records = nil, 0
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.totals[p]
	if t == nil {
		t = &PassStats{}
		h.totals[p] = t
	}
	t.add(&st)
}

func (h *healer) Step(ctx context.Context, p int, _ string, valid func() bool) (string, int, bool, error) {
	cfg := h.s.cfg
	sps, err := cfg.Meta.Suspects(ctx, p, cfg.Batch)
	if err != nil {
		return "", 0, false, fmt.Errorf("list suspects: %w", err)
	}
	var done []metapb.Suspect
	for _, sp := range sps {
		if ctx.Err() != nil || !valid() {
			break
		}
		v, err := cfg.Meta.GetVersion(ctx, sp.Bucket, sp.Key, sp.VersionID)
		switch {
		case errors.Is(err, metaclient.ErrNotFound):
			done = append(done, sp) // gone meanwhile: nothing to heal
			continue
		case err != nil:
			return "", len(done), false, h.ack(ctx, p, done, fmt.Errorf("get %s/%s %s: %w", sp.Bucket, sp.Key, sp.VersionID, err))
		}
		if v.State == metapb.StateCommitted && len(v.Segments) > 0 {
			var st PassStats
			left := h.s.scrubRecord(ctx, metapb.ShardRecord{Bucket: v.Bucket, Key: v.Key, VersionID: v.VersionID,
				Size: v.Size, Scheme: v.Scheme, Segments: v.Segments}, valid, &st)
			h.add(p, st)
			cfg.Logger.Info("healer: checked a suspect version", "bucket", sp.Bucket, "key", sp.Key, "version", sp.VersionID,
				"missing", st.Missing, "corrupt", st.Corrupt, "healed", st.Healed, "left", left)
			if left > 0 {
				continue // stays suspect: retried next step (and the scrub pass finds it too)
			}
		}
		done = append(done, sp)
	}
	if err := h.ack(ctx, p, done, nil); err != nil {
		return "", len(done), false, err
	}
	return "", len(done), true, nil
}

func (h *healer) ack(ctx context.Context, p int, done []metapb.Suspect, prev error) error {
	if len(done) == 0 {
		return prev
	}
	if err := h.s.cfg.Meta.AckSuspects(ctx, p, done); err != nil && prev == nil {
		return fmt.Errorf("ack suspects: %w", err)
	}
	return prev
}

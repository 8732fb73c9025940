package background

// The replicator's retry list (docs/replication.md, "Retry list"): a copy
// that fails is parked here, per partition, so that the partition's feed
// position can pass it and the copies behind it — to other destinations,
// or the same one once it answers — go on. A parked copy is retried with
// its own capped exponential backoff (1 s doubling to
// ReplicationBackoffMax), forever, until it succeeds or needs nothing any
// more (copied meanwhile, deleted for good, its rule gone: FAILED, as in
// S3). A destination that accepts a write again wakes its parked copies:
// they are due at once rather than at the end of their backoff.
//
// Durability: the list is part of the replicator's report, which the
// worker writes into the partition's checkpoint (fenced by the lease
// epoch). The feed is acknowledged past a failed entry only after a
// checkpoint holding that entry was written under the step's epoch
// (flush); if the write fails or the lease is gone, the position stays
// before the entry and the next holder reads it again from the feed. A
// restart or a takeover restores the list with the checkpoint
// (worker.progress → restore). An entry parked twice (re-read after a
// failed flush, or a resync feeding the version again) is one entry.
//
// Bound: ReplicationRetryMax entries per partition, and retryBytesMax of
// encoded entries (the checkpoint is one Raft command; a metasvc request
// is at most 8 MiB, and keys up to 1 KiB). When the list is full
// a failure is not parked: the feed position holds before it (the old
// head-of-line behaviour), counted in
// meridian_replication_retry_full_total and logged. Nothing is dropped.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// retryBytesMax bounds the encoded size of a partition's retry list.
const retryBytesMax = 2 << 20

// retryErrLen bounds the error text an entry keeps.
const retryErrLen = 120

// ReplRetry is one failed copy waiting in a partition's retry list.
type ReplRetry struct {
	Seq       uint64        `json:"seq"` // the feed entry it came from
	Op        metapb.FeedOp `json:"op"`
	Bucket    string        `json:"b"`              // metadata key of the source bucket
	Name      string        `json:"name,omitempty"` // source bucket name (status)
	Key       string        `json:"k"`
	Ver       string        `json:"v"`
	Null      bool          `json:"null,omitempty"`
	Rule      string        `json:"rule,omitempty"` // rule and destination bucket of the last attempt
	Dest      string        `json:"dst,omitempty"`
	Committed time.Time     `json:"committed,omitzero"` // source commit time
	Attempts  int           `json:"attempts"`
	Next      time.Time     `json:"next"` // next attempt, not before
	Last      time.Time     `json:"last"` // last attempt
	LastError string        `json:"err,omitempty"`
}

func (x *ReplRetry) id() string { return feedID(x.Op, x.Bucket, x.Key, x.Ver) }

// size estimates x's encoded size (JSON field names and values).
func (x *ReplRetry) size() int {
	return 200 + len(x.Bucket) + len(x.Name) + len(x.Key) + len(x.Ver) + len(x.Rule) + len(x.Dest) + len(x.LastError)
}

func (x *ReplRetry) entry() metapb.FeedEntry {
	return metapb.FeedEntry{Seq: x.Seq, Op: x.Op, Bucket: x.Bucket, Key: x.Key, Ver: x.Ver, Null: x.Null, Time: x.Committed}
}

func feedID(op metapb.FeedOp, bucket, key, ver string) string {
	return strconv.Itoa(int(op)) + "\x00" + bucket + "\x00" + key + "\x00" + ver
}

// copyFailure is a failed copy with the rule that chose its destination.
type copyFailure struct {
	rule, dst string
	err       error
}

func (e *copyFailure) Error() string { return e.err.Error() }
func (e *copyFailure) Unwrap() error { return e.err }

// lazyCheckpoint: the worker's checkpoint after a step is a status; what
// must be durable (the retry list before an acknowledgement) is flushed.
func (r *replicator) lazyCheckpoint() bool { return true }

// noteDelivered records that the destination bucket accepted a write.
func (r *replicator) noteDelivered(dst string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.delivered == nil {
		r.delivered = map[string]time.Time{}
	}
	r.delivered[dst] = time.Now()
}

// setFlush: the worker's checkpoint write (worker.flush).
func (r *replicator) setFlush(f func(ctx context.Context, p int) error) { r.flush = f }

// dueRetries returns the parked copies of p whose next attempt has come,
// oldest first, at most a batch, leaving out those the feed batch names
// again (its outcome settles them).
func (r *replicator) dueRetries(p int, now time.Time, feed []metapb.FeedEntry) []metapb.FeedEntry {
	inFeed := make(map[string]bool, len(feed))
	for _, e := range feed {
		inFeed[feedID(e.Op, e.Bucket, e.Key, e.Ver)] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var due []metapb.FeedEntry
	for _, x := range r.partReport(p).Retry {
		if len(due) >= r.cfg.ReplicationBatch {
			break
		}
		woken := x.Dest != "" && r.delivered[x.Dest].After(x.Last)
		if (woken || !x.Next.After(now)) && !inFeed[x.id()] {
			due = append(due, x.entry())
		}
	}
	return due
}

// settle records a step's outcomes (outcome[i] for entries[i], then for
// due[i-len(entries)]): retried copies that succeeded leave the list,
// those that failed wait longer; failed feed entries are parked while
// there is room. It returns the position to acknowledge — the last entry
// before the first one neither copied nor durably parked — and, per feed
// entry, what holds it (nil: copied or parked); first is the first of
// those.
func (r *replicator) settle(ctx context.Context, p int, st *replPart, entries, due []metapb.FeedEntry, outcome []error) (ack uint64, held []error, first error) {
	now := time.Now()
	held = make([]error, len(entries))
	names := make([]string, len(entries))
	for i, e := range entries {
		if outcome[i] != nil {
			names[i] = e.Bucket
			if b, ok, err := r.bucket(ctx, e.Bucket, false); err == nil && ok {
				names[i] = b.Name
			}
		}
	}
	r.mu.Lock()
	rep := r.partReport(p)
	byID := make(map[string]int, len(rep.Retry))
	size := 0
	for i, x := range rep.Retry {
		byID[x.id()] = i
		size += x.size()
	}
	drop := map[int]bool{}
	for j, e := range due {
		err := outcome[len(entries)+j]
		i, ok := byID[feedID(e.Op, e.Bucket, e.Key, e.Ver)]
		switch {
		case !ok || errors.Is(err, errLeaseLost):
		case err == nil:
			drop[i] = true
		default:
			x := rep.Retry[i]
			x.Attempts++
			x.Next, x.Last = now.Add(r.backoff(x.Attempts)), now
			x.LastError = truncate(err.Error(), retryErrLen)
			var cf *copyFailure
			if errors.As(err, &cf) {
				x.Rule, x.Dest = cf.rule, cf.dst
			}
		}
	}
	ack, passFrom := st.pos, uint64(0) // passFrom: the first failed entry the position passes
	limit := r.cfg.ReplicationRetryMax
	if r.flush == nil {
		limit = 0 // no durable checkpoint to park in: hold instead
	}
	full := false
	parked := map[*ReplRetry]bool{} // new entries of this step
	for i, e := range entries {
		err := outcome[i]
		id := feedID(e.Op, e.Bucket, e.Key, e.Ver)
		if err == nil {
			if j, ok := byID[id]; ok {
				drop[j] = true // parked earlier, copied now
			}
		} else if first == nil {
			if j, ok := byID[id]; ok && !drop[j] {
				// Parked already (re-read after a failed flush, or fed
				// again by a resync): one entry, one more attempt.
				x := rep.Retry[j]
				x.Attempts++
				x.Next, x.Last, x.LastError = now.Add(r.backoff(x.Attempts)), now, truncate(err.Error(), retryErrLen)
				if passFrom == 0 {
					passFrom = e.Seq
				}
			} else if errors.Is(err, errLeaseLost) || len(rep.Retry)-len(drop) >= limit || size >= retryBytesMax {
				full = !errors.Is(err, errLeaseLost) && limit > 0
				first = err
			} else {
				x := &ReplRetry{Seq: e.Seq, Op: e.Op, Bucket: e.Bucket, Name: names[i], Key: e.Key, Ver: e.Ver, Null: e.Null,
					Committed: e.Time, Attempts: 1, Next: now.Add(r.backoff(1)), Last: now, LastError: truncate(err.Error(), retryErrLen)}
				var cf *copyFailure
				if errors.As(err, &cf) {
					x.Rule, x.Dest = cf.rule, cf.dst
				}
				byID[id] = len(rep.Retry)
				size += x.size()
				rep.Retry = append(rep.Retry, x)
				parked[x] = true
				if passFrom == 0 {
					passFrom = e.Seq
				}
			}
		}
		if first != nil {
			held[i] = err // nil: copied, though the position holds before it
			continue
		}
		ack = e.Seq
	}
	if len(drop) > 0 {
		kept := rep.Retry[:0]
		for i, x := range rep.Retry {
			if !drop[i] {
				kept = append(kept, x)
			}
		}
		clear(rep.Retry[len(kept):])
		rep.Retry = kept
	}
	n := len(rep.Retry)
	r.mu.Unlock()
	r.m.retry.WithLabelValues(strconv.Itoa(p)).Set(float64(n))
	if full {
		r.m.retryFull.Inc()
		r.cfg.Logger.Warn("replication: retry list full; holding the feed position", "partition", p, "entries", n, "max", limit, "err", first)
	}
	if passFrom != 0 && ack >= passFrom {
		// The position passes a failed entry: the checkpoint must hold it
		// in the retry list first.
		if err := r.flush(ctx, p); err != nil {
			if first == nil {
				first = fmt.Errorf("retry list not saved: %w", err)
			}
			for i, e := range entries {
				if e.Seq >= passFrom && outcome[i] != nil {
					held[i] = outcome[i]
				}
			}
			ack = max(st.pos, passFrom-1)
			// Those are read again from the feed: not pending twice.
			r.mu.Lock()
			rep.Retry = slices.DeleteFunc(rep.Retry, func(x *ReplRetry) bool { return parked[x] })
			r.mu.Unlock()
		}
	}
	return ack, held, first
}

// RetrySummary is one source bucket's parked copies over a region's
// partitions (`meridian admin replication status`).
type RetrySummary struct {
	Entries     int       `json:"entries"`
	MaxAttempts int       `json:"max_attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"` // the earliest
	Oldest      time.Time `json:"oldest_commit,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Sample      []string  `json:"sample,omitempty"` // "key ver (attempts, error)" of the first few
}

// SummarizeRetries sums the retry lists of the partitions' replicator
// reports for the source bucket named name.
func SummarizeRetries(reports []ReplPartitionReport, name string) RetrySummary {
	var s RetrySummary
	for _, rep := range reports {
		for _, x := range rep.Retry {
			if x.Name != name {
				continue
			}
			s.Entries++
			s.MaxAttempts = max(s.MaxAttempts, x.Attempts)
			if s.NextAttempt.IsZero() || x.Next.Before(s.NextAttempt) {
				s.NextAttempt = x.Next
			}
			if !x.Committed.IsZero() && (s.Oldest.IsZero() || x.Committed.Before(s.Oldest)) {
				s.Oldest = x.Committed
			}
			if s.LastError == "" {
				s.LastError = x.LastError
			}
			if len(s.Sample) < 5 {
				s.Sample = append(s.Sample, fmt.Sprintf("%s %s → %s (%d attempts: %s)", x.Key, x.Ver, x.Dest, x.Attempts, x.LastError))
			}
		}
	}
	return s
}

// CheckpointMeta reads a partition's background records
// (metaclient.Client implements it).
type CheckpointMeta interface {
	Partitions() int
	Background(ctx context.Context, partition int) ([]metapb.Lease, []metapb.Checkpoint, error)
}

// ReadRetries sums the retry lists of every partition's replicator
// checkpoint for the source bucket named name.
func ReadRetries(ctx context.Context, meta CheckpointMeta, name string) (RetrySummary, error) {
	var reports []ReplPartitionReport
	for p := 0; p < meta.Partitions(); p++ {
		_, cps, err := meta.Background(ctx, p)
		if err != nil {
			return RetrySummary{}, fmt.Errorf("partition %d checkpoints: %w", p, err)
		}
		for _, c := range cps {
			if c.Worker == FeedConsumer {
				rep, err := DecodeReplReport(c.Report)
				if err != nil {
					return RetrySummary{}, fmt.Errorf("partition %d replicator report: %w", p, err)
				}
				reports = append(reports, rep)
			}
		}
	}
	return SummarizeRetries(reports, name), nil
}

package background

import (
	"encoding/json"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"
)

// The replicator's per-bucket summary of one partition, kept in its
// checkpoint (metapb.Checkpoint.Report) so that `meridian status` shows
// replication lag per bucket from a handful of small records, without
// walking any bucket's versions, and a takeover carries it on.

// replLagSamples is how many recent copy lags a partition keeps per bucket.
const replLagSamples = 16

// replReportBuckets bounds the buckets one partition's report keeps (the
// most recently active); the checkpoint stays small whatever the catalog.
const replReportBuckets = 64

// ReplBucketReport is one source bucket's replication in one partition.
type ReplBucketReport struct {
	Destinations []string `json:"dst,omitempty"` // destination buckets of the rules that copied
	Completed    uint64   `json:"completed"`     // copies completed (cumulative)
	// Pending counts the bucket's versions read from the feed and not yet
	// copied: those in the retry list (Retrying) plus those of the last
	// step's batch held before the feed position (Held: the retry list
	// full, or the lease lost). Exact while Held is 0; a lower bound
	// otherwise, as later batches are not read while the position holds.
	Pending  int `json:"pending"`
	Retrying int `json:"retrying,omitempty"`
	Held     int `json:"held,omitempty"`
	// OldestPending is the commit time of the oldest of them (zero: none).
	OldestPending time.Time `json:"oldest_pending,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	// LagsMs are the lags (source commit → copy done) of the most recent
	// copies, in milliseconds, oldest first.
	LagsMs     []int64   `json:"lags_ms,omitempty"`
	LastCopy   time.Time `json:"last_copy,omitzero"`
	LastActive time.Time `json:"active"`
}

// ReplPartitionReport is the replicator's report of one partition.
type ReplPartitionReport struct {
	Buckets map[string]*ReplBucketReport `json:"buckets,omitempty"` // by source bucket name
	// Retry is the partition's retry list, oldest feed entry first
	// (replretry.go): failed copies the feed position has passed.
	Retry []*ReplRetry `json:"retry,omitempty"`
}

// DecodeReplReport reads a replicator checkpoint's report ("" → empty).
func DecodeReplReport(s string) (ReplPartitionReport, error) {
	r := ReplPartitionReport{Buckets: map[string]*ReplBucketReport{}}
	if s == "" {
		return r, nil
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return ReplPartitionReport{Buckets: map[string]*ReplBucketReport{}}, err
	}
	if r.Buckets == nil {
		r.Buckets = map[string]*ReplBucketReport{}
	}
	return r, nil
}

func (r *ReplPartitionReport) bucket(name string, now time.Time) *ReplBucketReport {
	b := r.Buckets[name]
	if b == nil {
		b = &ReplBucketReport{}
		r.Buckets[name] = b
	}
	b.LastActive = now
	return b
}

// copied records one completed copy of a version committed at committed.
func (r *ReplPartitionReport) copied(name, dst string, committed, now time.Time) {
	b := r.bucket(name, now)
	b.Completed++
	b.LastCopy = now
	if !slices.Contains(b.Destinations, dst) {
		b.Destinations = append(b.Destinations, dst)
		sort.Strings(b.Destinations)
	}
	if !committed.IsZero() {
		b.LagsMs = append(b.LagsMs, max(0, now.Sub(committed).Milliseconds()))
		if n := len(b.LagsMs); n > replLagSamples {
			b.LagsMs = slices.Delete(b.LagsMs, 0, n-replLagSamples)
		}
	}
}

// replPendingEntry is one feed entry a step left uncopied.
type replPendingEntry struct {
	bucket    string
	committed time.Time
	err       string
}

// stepped replaces every bucket's pending view with what the last step
// held and the retry list (both empty: the partition is caught up), then
// trims the report to the most recently active buckets.
func (r *ReplPartitionReport) stepped(pending []replPendingEntry, now time.Time) {
	for _, b := range r.Buckets {
		b.Pending, b.Retrying, b.Held, b.OldestPending, b.LastError = 0, 0, 0, time.Time{}, ""
	}
	for _, e := range pending {
		r.bucket(e.bucket, now).Held++
	}
	for _, x := range r.Retry {
		name := x.Name
		if name == "" {
			name = x.Bucket
		}
		b := r.Buckets[name]
		if b == nil {
			b = r.bucket(name, now)
		}
		b.Retrying++
		pending = append(pending, replPendingEntry{bucket: name, committed: x.Committed, err: x.LastError})
	}
	for _, e := range pending {
		b := r.Buckets[e.bucket]
		b.Pending++
		if b.OldestPending.IsZero() || (!e.committed.IsZero() && e.committed.Before(b.OldestPending)) {
			b.OldestPending = e.committed
		}
		if b.LastError == "" && e.err != "" {
			b.LastError = truncate(e.err, 200)
		}
	}
	if len(r.Buckets) <= replReportBuckets {
		return
	}
	names := make([]string, 0, len(r.Buckets))
	for n := range r.Buckets {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return r.Buckets[names[i]].LastActive.After(r.Buckets[names[j]].LastActive) })
	for _, n := range names[replReportBuckets:] {
		if r.Buckets[n].Pending == 0 {
			delete(r.Buckets, n)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ReplBucketStatus is one source bucket's replication over every
// partition (ReplicationStatus merges the partitions' reports).
type ReplBucketStatus struct {
	Bucket       string
	Destinations []string
	Completed    uint64
	Pending      int           // see ReplBucketReport.Pending
	Retrying     int           // of Pending, in the retry list
	Held         int           // of Pending, held before the feed position (Pending is then a lower bound)
	Behind       time.Duration // now − commit time of the oldest uncopied version (0: caught up)
	LagSamples   int
	LagP50       time.Duration // over the partitions' recent copies
	LagMax       time.Duration
	LastCopy     time.Time
	LastError    string
}

// ReplicationStatus merges the replicator reports of a region's partitions
// into one line per source bucket, sorted by name.
func ReplicationStatus(reports []ReplPartitionReport, now time.Time) []ReplBucketStatus {
	byName := map[string]*ReplBucketStatus{}
	lags := map[string][]int64{}
	for _, rep := range reports {
		for name, b := range rep.Buckets {
			s := byName[name]
			if s == nil {
				s = &ReplBucketStatus{Bucket: name}
				byName[name] = s
			}
			for _, d := range b.Destinations {
				if !slices.Contains(s.Destinations, d) {
					s.Destinations = append(s.Destinations, d)
				}
			}
			s.Completed += b.Completed
			s.Pending += b.Pending
			s.Retrying += b.Retrying
			s.Held += b.Held
			if !b.OldestPending.IsZero() {
				s.Behind = max(s.Behind, now.Sub(b.OldestPending))
			}
			if b.LastCopy.After(s.LastCopy) {
				s.LastCopy = b.LastCopy
			}
			if s.LastError == "" {
				s.LastError = b.LastError
			}
			lags[name] = append(lags[name], b.LagsMs...)
		}
	}
	out := make([]ReplBucketStatus, 0, len(byName))
	for name, s := range byName {
		if l := lags[name]; len(l) > 0 {
			slices.Sort(l)
			s.LagSamples = len(l)
			s.LagP50 = time.Duration(l[(len(l)-1)/2]) * time.Millisecond
			s.LagMax = time.Duration(l[len(l)-1]) * time.Millisecond
		}
		sort.Strings(s.Destinations)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket < out[j].Bucket })
	return out
}

// encodeReport serves a reporter's report(p) from its per-partition
// summaries m (guarded by mu): JSON, or "" when there is none.
func encodeReport[T any](mu *sync.Mutex, m map[int]*T, p int, empty func(*T) bool) string {
	mu.Lock()
	defer mu.Unlock()
	rep := m[p]
	if rep == nil || empty(rep) {
		return ""
	}
	b, _ := json.Marshal(rep)
	return string(b)
}

// restoreReport serves a reporter's restore(p, s): the checkpoint's
// summary replaces p's (an unreadable one is logged and starts empty).
func restoreReport[T any](mu *sync.Mutex, m map[int]*T, p int, s string, decode func(string) (T, error), log *slog.Logger, worker string) {
	rep, err := decode(s)
	if err != nil {
		log.Warn(worker+": ignoring unreadable report in checkpoint", "partition", p, "err", err)
	}
	mu.Lock()
	m[p] = &rep
	mu.Unlock()
}

package background

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// The resync worker: existing-object replication as a leased background
// worker (docs/replication.md). A bucket of this region needs a resync when
// its replication configuration's ResyncToken is not "" — a rule enables
// ExistingObjectReplication, or an operator ran `meridian admin replication
// resync` — and the partition's report does not hold that token as done.
// The worker walks the bucket's versions in the partition a page per step
// and marks PENDING those the replicator should copy (markForResync); its
// cursor and the per-bucket counts are in the partition's checkpoint, so a
// takeover resumes where the last holder stopped. Marking is idempotent: a
// page walked twice marks nothing twice.

// resyncPage is how many versions one step reads.
const resyncPage = 500

// resyncReportBuckets bounds the finished resyncs a report keeps.
const resyncReportBuckets = 64

// ResyncBucketReport is one bucket's resync in one partition.
type ResyncBucketReport struct {
	Token    string    `json:"token"`
	Scanned  int64     `json:"scanned"`
	Marked   int64     `json:"marked"`
	Bytes    int64     `json:"bytes"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"` // zero while walking
}

// ResyncReport is the resync worker's report of one partition.
type ResyncReport struct {
	Buckets map[string]*ResyncBucketReport `json:"buckets,omitempty"`
}

// DecodeResyncReport reads a resync checkpoint's report ("" → empty).
func DecodeResyncReport(s string) (ResyncReport, error) {
	r := ResyncReport{Buckets: map[string]*ResyncBucketReport{}}
	if s != "" {
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			return ResyncReport{Buckets: map[string]*ResyncBucketReport{}}, err
		}
	}
	if r.Buckets == nil {
		r.Buckets = map[string]*ResyncBucketReport{}
	}
	return r, nil
}

// ResyncWorkerName is the worker's name in checkpoints.
const ResyncWorkerName = "resync"

type resyncer struct {
	cfg  *Config
	meta ResyncMeta

	mu      sync.Mutex
	reports map[int]*ResyncReport
	buckets []bucketsvc.Bucket
	fetched time.Time
}

func newResyncer(cfg *Config) *resyncer {
	return &resyncer{cfg: cfg, meta: cfg.Meta.(ResyncMeta), reports: map[int]*ResyncReport{}}
}

func (r *resyncer) Name() string { return ResyncWorkerName }

// interval: a request is picked up within the replicator's poll interval
// times a few; an idle pass reads only the (cached) catalog.
func (r *resyncer) interval() time.Duration { return max(2*time.Second, 4*r.cfg.ReplicationInterval) }

func (r *resyncer) report(p int) string {
	return encodeReport(&r.mu, r.reports, p, func(rep *ResyncReport) bool { return len(rep.Buckets) == 0 })
}

func (r *resyncer) restore(p int, s string) {
	restoreReport(&r.mu, r.reports, p, s, DecodeResyncReport, r.cfg.Logger, "resync")
}

// catalog returns this region's buckets with replication, sorted by name
// (the catalog is read at most every replBucketsTTL).
func (r *resyncer) catalog(ctx context.Context) ([]bucketsvc.Bucket, error) {
	r.mu.Lock()
	fresh := !r.fetched.IsZero() && time.Since(r.fetched) < replBucketsTTL
	bs := r.buckets
	r.mu.Unlock()
	if fresh {
		return bs, nil
	}
	all, err := r.cfg.Catalog.ListBuckets(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	bs = bs[:0:0]
	for _, b := range all {
		if b.Region == r.cfg.Region && b.Replication != nil {
			bs = append(bs, b)
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
	r.mu.Lock()
	r.buckets, r.fetched = bs, time.Now()
	r.mu.Unlock()
	return bs, nil
}

// The cursor is "<bucket name>\x00<token>\x00<key marker>\x00<version marker>".
func parseResyncCursor(c string) (name, token, key, ver string, ok bool) {
	f := strings.SplitN(c, "\x00", 4)
	if len(f) != 4 {
		return "", "", "", "", false
	}
	return f[0], f[1], f[2], f[3], true
}

func (r *resyncer) Step(ctx context.Context, p int, cursor string, valid func() bool) (string, int, bool, error) {
	bs, err := r.catalog(ctx)
	if err != nil {
		return cursor, 0, false, err
	}
	r.mu.Lock()
	rep := r.reports[p]
	if rep == nil {
		rep = &ResyncReport{Buckets: map[string]*ResyncBucketReport{}}
		r.reports[p] = rep
	}
	r.mu.Unlock()
	// The bucket to walk: the cursor's, if its resync is still the one
	// asked for; else the first bucket whose resync is not done here.
	var b bucketsvc.Bucket
	var token, keyMarker, verMarker string
	if name, tok, km, vm, ok := parseResyncCursor(cursor); ok {
		for _, c := range bs {
			if c.Name == name && c.Replication.ResyncToken() == tok {
				b, token, keyMarker, verMarker = c, tok, km, vm
			}
		}
	}
	if token == "" {
		for _, c := range bs {
			tok := c.Replication.ResyncToken()
			r.mu.Lock()
			done := rep.Buckets[c.Name]
			r.mu.Unlock()
			if tok != "" && (done == nil || done.Token != tok || done.Finished.IsZero()) {
				b, token = c, tok
				break
			}
		}
	}
	if token == "" {
		return "", 0, true, nil
	}
	r.mu.Lock()
	br := rep.Buckets[b.Name]
	if br == nil || br.Token != token || (keyMarker == "" && verMarker == "") {
		br = &ResyncBucketReport{Token: token, Started: time.Now().UTC()}
		rep.Buckets[b.Name] = br
	}
	r.mu.Unlock()
	res, err := r.meta.ListVersionsPartition(ctx, p, metapb.ListVersionsRequest{Bucket: b.MetaKey(), KeyMarker: keyMarker, VersionMarker: verMarker, MaxKeys: resyncPage})
	if err != nil {
		return cursor, 0, false, fmt.Errorf("resync %s: list versions: %w", b.Name, err)
	}
	n := 0
	for _, e := range res.Entries {
		v := e.Version
		if v == nil {
			continue
		}
		if !valid() || ctx.Err() != nil {
			return cursor, n, false, nil // the next holder resumes from the last checkpointed cursor
		}
		marked, err := markForResync(ctx, r.meta, b.Replication, v, true)
		if err != nil {
			return cursor, n, false, fmt.Errorf("resync %s: %w", b.Name, err)
		}
		n++
		keyMarker, verMarker = v.Key, v.S3VersionID()
		r.mu.Lock()
		br.Scanned++
		if marked {
			br.Marked++
			br.Bytes += v.Size
		}
		r.mu.Unlock()
	}
	if res.Truncated && len(res.Entries) > 0 {
		return b.Name + "\x00" + token + "\x00" + keyMarker + "\x00" + verMarker, n, false, nil
	}
	r.mu.Lock()
	br.Finished = time.Now().UTC()
	trimResyncReport(rep)
	r.mu.Unlock()
	r.cfg.Logger.Info("resync: bucket walked", "bucket", b.Name, "partition", p, "scanned", br.Scanned, "marked", br.Marked)
	return "", n, false, nil // the next step looks for another bucket
}

// trimResyncReport drops the oldest finished resyncs beyond the bound.
func trimResyncReport(rep *ResyncReport) {
	if len(rep.Buckets) <= resyncReportBuckets {
		return
	}
	var done []string
	for n, b := range rep.Buckets {
		if !b.Finished.IsZero() {
			done = append(done, n)
		}
	}
	sort.Slice(done, func(i, j int) bool { return rep.Buckets[done[i]].Finished.Before(rep.Buckets[done[j]].Finished) })
	for _, n := range done[:max(0, min(len(done), len(rep.Buckets)-resyncReportBuckets))] {
		delete(rep.Buckets, n)
	}
}

// ResyncStatus sums a bucket's resync with token over the partitions'
// reports: partitions finished, versions scanned and marked.
type ResyncStatus struct {
	Partitions, Finished   int
	Scanned, Marked, Bytes int64
}

// SumResync adds up the reports of every partition for bucket's resync
// token.
func SumResync(reports []ResyncReport, bucket, token string) ResyncStatus {
	st := ResyncStatus{Partitions: len(reports)}
	for _, rep := range reports {
		b := rep.Buckets[bucket]
		if b == nil || b.Token != token {
			continue
		}
		st.Scanned += b.Scanned
		st.Marked += b.Marked
		st.Bytes += b.Bytes
		if !b.Finished.IsZero() {
			st.Finished++
		}
	}
	return st
}

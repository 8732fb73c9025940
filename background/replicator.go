package background

// The replicator (docs/replication.md): it consumes the change feed of
// every partition this process leases and copies each version and delete
// marker that a bucket's replication rule selects to the destination
// bucket's home region, over the inter-region link (HTTP/3 over QUIC,
// mutual TLS with this process's background certificate).
//
// Nothing lost, nothing doubled:
//
//   - the feed position (consumer "replicator") is acknowledged only up to
//     the last entry before the first one not yet committed at its
//     destination, so a crash, a lost lease or a destination outage
//     re-reads every entry that might not have been copied;
//   - the destination write is idempotent by version id (a present id is a
//     no-op), so re-reading costs one small request, never a second
//     version;
//   - a version whose copy fails is marked FAILED (visible on HEAD) and
//     retried with backoff, forever, while its rule exists; a version
//     whose rule was removed before it was copied ends FAILED, as in S3.
//
// The source is never blocked: the replicator only reads the feed and the
// records, and writes the status.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3replication"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// ReplicaLinks sends requests to a region's gateways over the inter-region
// link (regionalclient.Client implements it).
type ReplicaLinks interface {
	Do(req *http.Request, region string) (*http.Response, error)
}

// ReplMeta is what the replicator needs from the metadata service beyond
// Meta (metaclient.Client implements it).
type ReplMeta interface {
	ReadFeed(ctx context.Context, partition int, after uint64, max int) ([]metapb.FeedEntry, error)
	AckFeed(ctx context.Context, partition int, consumer string, seq uint64) (metapb.Result, error)
	GetVer(ctx context.Context, bucket, key, ver string) (metapb.ObjectVersion, error)
	SetReplStatus(ctx context.Context, r metapb.ReplStatusRequest) (metapb.Result, error)
}

// ObjectReader streams a version's bytes (objectio.Engine implements it).
type ObjectReader interface {
	Read(ctx context.Context, segs []metapb.Segment, scheme metapb.Scheme, off, length int64, w io.Writer) error
}

// FeedConsumer is the replicator's name in every partition's feed.
const FeedConsumer = "replicator"

// replBucketsTTL bounds how stale the replicator's view of the catalog is.
const replBucketsTTL = 5 * time.Second

// errNoDestination: the rule's destination bucket is not in the catalog.
var errNoDestination = errors.New("background: replication destination bucket not found")

// errRegionDown: an earlier copy to the region failed at the link; copies
// to it fail fast until its backoff ends.
var errRegionDown = errors.New("background: destination region unreachable (backing off)")

type replicator struct {
	cfg  *Config
	meta ReplMeta
	src  ObjectReader
	m    *replMetrics

	// slots bounds the copies in flight over every partition
	// (ReplicationParallel); partitions step concurrently.
	slots chan struct{}

	mu      sync.Mutex
	parts   map[int]*replPart
	down    map[string]time.Time // region → fail fast until
	buckets replBuckets
	reports map[int]*ReplPartitionReport // per-bucket summary and retry list per partition (replstatus.go, replretry.go)
	// flush writes a partition's checkpoint now (worker.flush; nil: no
	// durable retry list, failures hold the feed position).
	flush func(ctx context.Context, p int) error
	// delivered: destination bucket → last write it accepted (wakes its
	// parked copies, replretry.go).
	delivered map[string]time.Time
}

// replPart is the replicator's position in one partition's feed.
type replPart struct {
	known   bool
	pos     uint64 // acknowledged position (never ahead of metasvc's)
	fails   int    // consecutive steps whose position was held by a failure
	retryAt time.Time
	logged  time.Time // last warning of parked failures (rate limit)
}

type replBuckets struct {
	fetched time.Time
	byKey   map[string]bucketsvc.Bucket // by MetaKey
	byName  map[string]bucketsvc.Bucket
}

func newReplicator(cfg *Config, m *replMetrics) *replicator {
	return &replicator{cfg: cfg, meta: cfg.Meta.(ReplMeta), src: cfg.Data.(ObjectReader), m: m,
		parts: map[int]*replPart{}, down: map[string]time.Time{}, reports: map[int]*ReplPartitionReport{}, slots: make(chan struct{}, cfg.ReplicationParallel)}
}

func (r *replicator) Name() string { return "replicator" }

func (r *replicator) interval() time.Duration { return r.cfg.ReplicationInterval }

// concurrentPartitions: a partition waiting on a slow destination does not
// hold up the others.
func (r *replicator) concurrentPartitions() bool { return true }

func (r *replicator) part(p int) *replPart {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.parts[p]
	if st == nil {
		st = &replPart{}
		r.parts[p] = st
	}
	return st
}

// backoff is the wait after n consecutive failed steps: 1 s doubling to
// ReplicationBackoffMax.
func (r *replicator) backoff(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < r.cfg.ReplicationBackoffMax; i++ {
		d *= 2
	}
	return min(d, r.cfg.ReplicationBackoffMax)
}

// Step copies one batch of p's feed and acknowledges what its destinations
// committed. The cursor is not used: the acknowledged position in metasvc
// is the truth.
func (r *replicator) Step(ctx context.Context, p int, cursor string, valid func() bool) (string, int, bool, error) {
	st := r.part(p)
	if time.Now().Before(st.retryAt) {
		return cursor, 0, true, nil
	}
	if !st.known {
		// Acknowledging 0 registers the consumer (metasvc keeps the feed
		// from here on) and answers its position.
		res, err := r.meta.AckFeed(ctx, p, FeedConsumer, 0)
		if err != nil {
			return cursor, 0, false, fmt.Errorf("feed position: %w", err)
		}
		st.pos, st.known = res.Seq, true
	}
	entries, err := r.meta.ReadFeed(ctx, p, st.pos, r.cfg.ReplicationBatch)
	if err != nil {
		return cursor, 0, false, fmt.Errorf("read feed: %w", err)
	}
	// Parked copies whose time has come run with the batch (replretry.go).
	due := r.dueRetries(p, time.Now(), entries)
	if len(entries) == 0 && len(due) == 0 {
		r.m.backlog.WithLabelValues(strconv.Itoa(p)).Set(0)
		r.stepped(ctx, p, nil, nil)
		return "", 0, true, nil
	}
	work := append(entries[:len(entries):len(entries)], due...)
	outcome := make([]error, len(work))
	// Two phases: versions and markers first, then tag changes — a tag
	// change of a version copied in this batch then finds it COMPLETED. Of
	// several tag changes to one version only the last is sent (each sends
	// the record's current tags, so fewer sends give the same end state and
	// no two race).
	lastTags := map[string]int{}
	for i, e := range work {
		if e.Op == metapb.FeedTags {
			lastTags[e.Bucket+"\x00"+e.Key+"\x00"+e.Ver] = i
		}
	}
	for _, tags := range []bool{false, true} {
		var wg sync.WaitGroup
		for i, e := range work {
			if (e.Op == metapb.FeedTags) != tags || (tags && lastTags[e.Bucket+"\x00"+e.Key+"\x00"+e.Ver] != i) {
				continue
			}
			if !valid() || ctx.Err() != nil {
				outcome[i] = errLeaseLost
				continue
			}
			r.slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-r.slots; wg.Done() }()
				if tags {
					outcome[i] = r.copyTags(ctx, e)
				} else {
					outcome[i] = r.copyEntry(ctx, p, e)
				}
			}()
		}
		wg.Wait()
	}
	failed := 0
	var anyErr error
	for _, err := range outcome {
		if err != nil {
			failed++
			anyErr = err
		}
	}
	// Failed copies are parked in the retry list so the position passes
	// them; first is what holds it (the list full, the lease lost).
	ack, held, first := r.settle(ctx, p, st, entries, due, outcome)
	if ack > st.pos && valid() {
		if _, err := r.meta.AckFeed(ctx, p, FeedConsumer, ack); err != nil {
			return cursor, len(work) - failed, false, fmt.Errorf("acknowledge feed: %w", err)
		}
		st.pos = ack
	}
	if len(entries) > 0 {
		r.m.backlog.WithLabelValues(strconv.Itoa(p)).Set(float64(entries[len(entries)-1].Seq - st.pos))
	}
	r.stepped(ctx, p, entries, held)
	if first != nil {
		st.fails++
		wait := r.backoff(st.fails)
		st.retryAt = time.Now().Add(wait)
		if !errors.Is(first, errLeaseLost) {
			r.cfg.Logger.Warn("replication: copies failed; holding the feed position", "partition", p, "failed", failed,
				"of", len(work), "retry_in", wait, "err", first)
		}
		return "", len(work) - failed, true, nil
	}
	st.fails = 0
	if anyErr != nil && !errors.Is(anyErr, errLeaseLost) && time.Since(st.logged) >= 10*time.Second {
		st.logged = time.Now()
		r.cfg.Logger.Warn("replication: copies failed; in the retry list", "partition", p, "failed", failed, "of", len(work), "err", anyErr)
	}
	return strconv.FormatUint(st.pos, 10), len(work) - failed, len(entries) < r.cfg.ReplicationBatch && len(due) < r.cfg.ReplicationBatch, nil
}

// copyEntry copies the version a feed entry names when a rule selects it;
// nil means nothing is left to do for the entry.
func (r *replicator) copyEntry(ctx context.Context, p int, e metapb.FeedEntry) error {
	if (e.Op != metapb.FeedPut && e.Op != metapb.FeedMarker) || e.Ver == "" {
		return nil // permanent deletes are not replicated (tag changes: copyTags)
	}
	v, err := r.meta.GetVer(ctx, e.Bucket, e.Key, e.Ver)
	if errors.Is(err, metaclient.ErrNotFound) {
		return nil // deleted for good since
	}
	if err != nil {
		return err
	}
	if v.Replication != metapb.ReplPending && v.Replication != metapb.ReplFailed {
		return nil // a REPLICA, done already, or not selected when written
	}
	src, ok, err := r.bucket(ctx, e.Bucket, true)
	if err == nil && !selectedBy(src, ok, v) && r.catalogOlderThan(v.CommittedAt) {
		// Selected at write time by a configuration newer than this
		// process's view of the catalog (replBucketsTTL): look again.
		if err = r.loadBuckets(ctx, true); err == nil {
			src, ok, err = r.bucket(ctx, e.Bucket, false)
		}
	}
	if err != nil {
		return err
	}
	if !ok || src.Replication == nil {
		return r.setStatus(ctx, v, metapb.ReplFailed) // bucket or configuration gone
	}
	rule, ok := ruleForVersion(src.Replication, v) // replsse.go: SSE-KMS only by rules selecting it
	if !ok || (v.IsDeleteMarker() && !rule.DeleteMarkers) {
		return r.setStatus(ctx, v, metapb.ReplFailed)
	}
	start := time.Now()
	err = r.send(ctx, src, rule, v)
	labels := []string{src.Name, rule.ID}
	if err != nil {
		r.m.ops.WithLabelValues(append(labels, "failed")...).Inc()
		if v.Replication != metapb.ReplFailed && refusedCopy(err) { // a temporary failure stays PENDING (replfail.go)
			_ = r.setStatus(ctx, v, metapb.ReplFailed)
		}
		return &copyFailure{rule: rule.ID, dst: rule.Destination.Bucket, err: fmt.Errorf("%s/%s %s: %w", src.Name, v.Key, v.Ver, err)}
	}
	r.m.ops.WithLabelValues(append(labels, "completed")...).Inc()
	r.m.bytes.WithLabelValues(labels...).Add(float64(v.Size))
	if !v.CommittedAt.IsZero() {
		r.m.lag.WithLabelValues(src.Name).Observe(time.Since(v.CommittedAt).Seconds())
	}
	r.m.sendSeconds.Observe(time.Since(start).Seconds())
	r.mu.Lock()
	r.partReport(p).copied(src.Name, rule.Destination.Bucket, v.CommittedAt, time.Now())
	r.mu.Unlock()
	return r.setStatus(ctx, v, metapb.ReplCompleted)
}

// partReport returns p's report (r.mu held).
func (r *replicator) partReport(p int) *ReplPartitionReport {
	rep := r.reports[p]
	if rep == nil {
		rep = &ReplPartitionReport{Buckets: map[string]*ReplBucketReport{}}
		r.reports[p] = rep
	}
	return rep
}

// stepped records which of a step's entries are left uncopied and not
// parked (outcome not nil), by source bucket, with p's retry list, in p's
// report and the pending gauge.
func (r *replicator) stepped(ctx context.Context, p int, entries []metapb.FeedEntry, outcome []error) {
	var pending []replPendingEntry
	for i, e := range entries {
		if outcome[i] == nil {
			continue
		}
		name := e.Bucket // the metadata key when the catalog no longer knows it
		if b, ok, err := r.bucket(ctx, e.Bucket, false); err == nil && ok {
			name = b.Name
		}
		pe := replPendingEntry{bucket: name, committed: e.Time}
		if !errors.Is(outcome[i], errLeaseLost) {
			pe.err = outcome[i].Error()
		}
		pending = append(pending, pe)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := r.partReport(p)
	rep.stepped(pending, time.Now())
	for name := range rep.Buckets {
		n := 0
		for _, other := range r.reports {
			if b := other.Buckets[name]; b != nil {
				n += b.Pending
			}
		}
		r.m.pending.WithLabelValues(name).Set(float64(n))
	}
}

// The replicator's report is kept in its checkpoints (worker.go reporter).
func (r *replicator) report(p int) string {
	return encodeReport(&r.mu, r.reports, p, func(rep *ReplPartitionReport) bool { return len(rep.Buckets) == 0 && len(rep.Retry) == 0 })
}

func (r *replicator) restore(p int, s string) {
	restoreReport(&r.mu, r.reports, p, s, DecodeReplReport, r.cfg.Logger, "replicator")
}

func (r *replicator) setStatus(ctx context.Context, v metapb.ObjectVersion, status string) error {
	_, err := r.meta.SetReplStatus(ctx, metapb.ReplStatusRequest{Bucket: v.Bucket, Key: v.Key, Ver: v.Ver, Status: status})
	return err
}

// copyTags sends a version's current tags to its copy when a tag change
// (PutObjectTagging, DeleteObjectTagging) follows its replication. A
// version not yet copied needs nothing: its copy reads the record's tags
// when it is sent (FAILED ones are retried whole). REPLICAs are not sent
// back (S3 syncs replica changes only with ReplicaModifications, which
// Meridian does not implement).
func (r *replicator) copyTags(ctx context.Context, e metapb.FeedEntry) error {
	if e.Ver == "" {
		return nil
	}
	v, err := r.meta.GetVer(ctx, e.Bucket, e.Key, e.Ver)
	if errors.Is(err, metaclient.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Replication != metapb.ReplCompleted || v.IsDeleteMarker() {
		return nil
	}
	src, ok, err := r.bucket(ctx, e.Bucket, true)
	if err != nil || !ok || src.Replication == nil {
		return err
	}
	rule, ok := ruleForVersion(src.Replication, v)
	if !ok {
		return nil // the new tags take the version out of every rule: its copy keeps the tags it had
	}
	labels := []string{src.Name, rule.ID}
	if err := r.sendReplica(ctx, rule.Destination.Bucket, v.Key, regionalclient.Replica{Ver: v.Ver, Created: v.Created, TagsOnly: true, Tags: v.Tags, Owner: v.Owner}, nil, nil); err != nil {
		r.m.ops.WithLabelValues(append(labels, "failed")...).Inc()
		return fmt.Errorf("%s/%s %s tags: %w", src.Name, v.Key, v.Ver, err)
	}
	r.m.ops.WithLabelValues(append(labels, "tags")...).Inc()
	return nil
}

// send streams v to the destination bucket's home region.
func (r *replicator) send(ctx context.Context, src bucketsvc.Bucket, rule s3replication.Rule, v metapb.ObjectVersion) error {
	rep := regionalclient.Replica{Ver: v.Ver, Null: v.Null, Created: v.Created, DeleteMarker: v.IsDeleteMarker(), Size: v.Size,
		ETag: v.ETag, Parts: v.Parts, ContentType: v.ContentType, Headers: v.Headers, UserMeta: v.UserMeta,
		Tags: v.Tags, Checksums: v.Checksums, ChecksumType: v.ChecksumType, Owner: v.Owner, ACL: v.ACL, Lock: v.Lock}
	if rep.DeleteMarker {
		rep.Size = 0
	}
	enc, key, err := r.replicaSSE(ctx, v, rule) // replsse.go: encrypted versions
	if err != nil {
		return err
	}
	rep.SSE = enc
	return r.sendReplica(ctx, rule.Destination.Bucket, v.Key, rep, &v, key)
}

// sendReplica sends rep to key in the destination bucket's home region,
// with v's bytes as the body when rep.Size > 0 (decrypted with dataKey
// when it is set, replsse.go).
func (r *replicator) sendReplica(ctx context.Context, dstName, key string, rep regionalclient.Replica, v *metapb.ObjectVersion, dataKey []byte) error {
	dst, ok, err := r.bucketByName(ctx, dstName)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", errNoDestination, dstName)
	}
	r.mu.Lock()
	until := r.down[dst.Region]
	r.mu.Unlock()
	if time.Now().Before(until) {
		return fmt.Errorf("%w: %s", errRegionDown, dst.Region)
	}
	hv, err := regionalclient.EncodeReplica(rep)
	if err != nil {
		return err
	}
	cctx, progress, cancel := stallContext(ctx, r.cfg.ReplicationTimeout)
	defer cancel()
	u := &url.URL{Path: "/" + dst.Name + "/" + key, RawQuery: regionalclient.QueryReplicate}
	var body io.Reader = http.NoBody
	var readErr chan error
	if rep.Size > 0 && v != nil {
		if len(v.Segments) == 0 && v.SSE == nil {
			body = bytes.NewReader(v.Inline)
		} else {
			pr, pw := io.Pipe()
			readErr = make(chan error, 1)
			defer func() {
				_ = pr.Close() // stops the reader when the destination answered early
				<-readErr
			}()
			go func() {
				err := r.readSource(cctx, v, dataKey, pw)
				pw.CloseWithError(err)
				readErr <- err
			}()
			body = pr
		}
	}
	req, err := http.NewRequestWithContext(cctx, http.MethodPut, u.String(), progress(body))
	if err != nil {
		return err
	}
	req.ContentLength = rep.BodySize() // SSE-C: the stored ciphertext
	req.Header.Set(rep.Header(), hv)   // encrypted versions: a header older gateways refuse
	resp, err := r.cfg.Links.Do(req, dst.Region)
	if err != nil {
		if ctx.Err() == nil && (readErr == nil || len(readErr) == 0) { // not a failed source read
			r.mu.Lock()
			r.down[dst.Region] = time.Now().Add(r.cfg.ReplicationRegionBackoff)
			r.mu.Unlock()
		}
		if c := context.Cause(cctx); ctx.Err() == nil && c != nil && !errors.Is(c, context.Canceled) {
			err = fmt.Errorf("%w (%v)", err, c) // the copy stalled (stallContext)
		}
		return fmt.Errorf("link to %s: %w", dst.Region, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return &destRefusal{Region: dst.Region, Status: resp.StatusCode, Body: bytes.TrimSpace(msg)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	r.m.results.WithLabelValues(resp.Header.Get(regionalclient.HeaderReplicaResult)).Inc()
	r.noteDelivered(dst.Name)
	return nil
}

// bucket returns the bucket whose metadata key is mk (refetching the
// catalog once on a miss when refresh).
func (r *replicator) bucket(ctx context.Context, mk string, refresh bool) (bucketsvc.Bucket, bool, error) {
	if err := r.loadBuckets(ctx, false); err != nil {
		return bucketsvc.Bucket{}, false, err
	}
	r.mu.Lock()
	b, ok := r.buckets.byKey[mk]
	r.mu.Unlock()
	if !ok && refresh {
		if err := r.loadBuckets(ctx, true); err != nil {
			return bucketsvc.Bucket{}, false, err
		}
		r.mu.Lock()
		b, ok = r.buckets.byKey[mk]
		r.mu.Unlock()
	}
	return b, ok, nil
}

func (r *replicator) bucketByName(ctx context.Context, name string) (bucketsvc.Bucket, bool, error) {
	if err := r.loadBuckets(ctx, false); err != nil {
		return bucketsvc.Bucket{}, false, err
	}
	r.mu.Lock()
	b, ok := r.buckets.byName[name]
	r.mu.Unlock()
	return b, ok, nil
}

func (r *replicator) loadBuckets(ctx context.Context, force bool) error {
	r.mu.Lock()
	fresh := !r.buckets.fetched.IsZero() && time.Since(r.buckets.fetched) < replBucketsTTL
	r.mu.Unlock()
	if fresh && !force {
		return nil
	}
	all, err := r.cfg.Catalog.ListBuckets(ctx, "")
	if err != nil {
		return fmt.Errorf("list buckets: %w", err)
	}
	byKey, byName := map[string]bucketsvc.Bucket{}, map[string]bucketsvc.Bucket{}
	for _, b := range all {
		byName[b.Name] = b
		if b.Region == r.cfg.Region {
			byKey[b.MetaKey()] = b
		}
	}
	r.mu.Lock()
	r.buckets = replBuckets{fetched: time.Now(), byKey: byKey, byName: byName}
	r.mu.Unlock()
	return nil
}

// Link timeouts for the replicator's regionalclient (cmd/meridian,
// testbed/devcluster): a dead destination gateway is detected within
// ReplicationLinkIdle, after which copies fail, are retried and reconnect.
const (
	ReplicationLinkIdle      = 10 * time.Second
	ReplicationLinkKeepAlive = 2 * time.Second
)

// selectedBy reports whether a rule of bucket b (ok: found) replicates v now.
func selectedBy(b bucketsvc.Bucket, ok bool, v metapb.ObjectVersion) bool {
	if !ok || b.Replication == nil {
		return false
	}
	rule, ok := ruleForVersion(b.Replication, v)
	return ok && (!v.IsDeleteMarker() || rule.DeleteMarkers)
}

// catalogOlderThan reports whether the cached catalog was read before t
// (less a second for the clocks of the metadata leader and this process).
func (r *replicator) catalogOlderThan(t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buckets.fetched.Before(t.Add(time.Second))
}

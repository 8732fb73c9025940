package background

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3lifecycle"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// The janitor's lifecycle phase (docs/lifecycle.md, "Execution"): in each
// partition it leases, for every bucket of this region with enabled rules,
// it walks the bucket's current versions hashed to the partition and
// expires those a rule has made due, then its in-progress multipart uploads
// and aborts those past DaysAfterInitiation. What is due is decided by the
// pure s3lifecycle.Evaluate / AbortOf; this file only walks and acts.
//
// The cursor "lifecycle|<bucket>|<o or u>|<upload id>|<key>" names the
// bucket, the listing (objects, uploads) and the position in it, so a
// takeover resumes there (buckets are visited in name order; a bucket that
// lost its rules or was deleted meanwhile is skipped to the next name).

// Catalog is the part of the bucket catalog the lifecycle phase reads
// (bucketsvc.Store implements it).
type Catalog interface {
	ListBuckets(ctx context.Context, owner string) ([]bucketsvc.Bucket, error)
}

const phaseLifecycle = "lifecycle"

// lcBucketsTTL bounds how stale the janitor's view of the catalog's rules
// may be (a new configuration acts within it, a deleted one stops).
const lcBucketsTTL = 5 * time.Second

type lcCursor struct {
	bucket   string
	uploads  bool // walking uploads (else objects)
	uploadID string
	key      string
}

func (c lcCursor) String() string {
	kind := "o"
	if c.uploads {
		kind = "u"
	}
	return strings.Join([]string{phaseLifecycle, c.bucket, kind, c.uploadID, c.key}, "|")
}

// parseLCCursor reads a lifecycle cursor; ok is false for another phase's.
func parseLCCursor(s string) (lcCursor, bool) {
	f := strings.SplitN(s, "|", 5)
	if f[0] != phaseLifecycle {
		return lcCursor{}, false
	}
	if len(f) != 5 {
		return lcCursor{}, true // phase start
	}
	return lcCursor{bucket: f[1], uploads: f[2] == "u", uploadID: f[3], key: f[4]}, true
}

// lcBuckets caches the buckets of this region that have enabled rules,
// sorted by name, and when each partition's last lifecycle walk ended.
type lcBuckets struct {
	mu      sync.Mutex
	fetched time.Time
	list    []bucketsvc.Bucket
	last    map[int]time.Time // partition → end of its last complete walk (this process)
}

// afterPrepares is the phase after the abandoned PREPAREs in p: the
// lifecycle walk when LifecycleInterval passed since p's last complete
// walk by this process (a new holder walks at once), else the garbage
// queue. Rules act at day granularity; walking every object of every
// bucket with rules on each 2 s janitor pass would cost a full listing
// per pass for nothing.
func (j *janitor) afterPrepares(p int) string {
	if j.cfg.Catalog == nil {
		return phaseGarbage
	}
	j.lc.mu.Lock()
	defer j.lc.mu.Unlock()
	if t, ok := j.lc.last[p]; ok && j.now().Sub(t) < j.cfg.LifecycleInterval {
		return phaseGarbage
	}
	return phaseLifecycle
}

// lifecycleDone records the end of a complete walk of p.
func (j *janitor) lifecycleDone(p int) {
	j.lc.mu.Lock()
	defer j.lc.mu.Unlock()
	if j.lc.last == nil {
		j.lc.last = map[int]time.Time{}
	}
	j.lc.last[p] = j.now()
}

func (j *janitor) lifecycleBuckets(ctx context.Context) ([]bucketsvc.Bucket, error) {
	c := &j.lc
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fetched.IsZero() && time.Since(c.fetched) < lcBucketsTTL {
		return c.list, nil
	}
	all, err := j.cfg.Catalog.ListBuckets(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	var list []bucketsvc.Bucket
	for _, b := range all {
		if b.Region == j.cfg.Region && len(b.Lifecycle.Enabled()) > 0 {
			list = append(list, b)
		}
	}
	sort.Slice(list, func(a, b int) bool { return list[a].Name < list[b].Name })
	c.list, c.fetched = list, time.Now()
	return list, nil
}

// lifecycleStep does one bounded step of the phase from cur; done reports
// that the phase ended in p (every bucket walked).
func (j *janitor) lifecycleStep(ctx context.Context, p int, cur lcCursor, valid func() bool) (next lcCursor, n int, done bool, err error) {
	if j.cfg.Catalog == nil {
		return cur, 0, true, nil
	}
	buckets, err := j.lifecycleBuckets(ctx)
	if err != nil {
		return cur, 0, false, err
	}
	i := sort.Search(len(buckets), func(i int) bool { return buckets[i].Name >= cur.bucket })
	if i == len(buckets) {
		return cur, 0, true, nil
	}
	b := buckets[i]
	if b.Name != cur.bucket { // first bucket, or the cursor's lost its rules
		cur = lcCursor{bucket: b.Name}
	}
	rules := b.Lifecycle.Enabled()
	now := j.now()
	if !cur.uploads {
		var more bool
		n, more, cur.key, err = j.expireObjects(ctx, p, b, rules, cur.key, now, valid)
		if err != nil || more {
			return cur, n, false, err
		}
		cur = lcCursor{bucket: b.Name, uploads: true}
	}
	m, more, key, uid, err := j.abortUploads(ctx, p, b, rules, cur.key, cur.uploadID, now, valid)
	n += m
	if err != nil || more {
		cur.key, cur.uploadID = key, uid
		return cur, n, false, err
	}
	if i+1 == len(buckets) {
		return cur, n, true, nil
	}
	return lcCursor{bucket: buckets[i+1].Name}, n, false, nil
}

// expiresCurrent reports whether any rule expires current versions.
func expiresCurrent(rules []s3lifecycle.Rule) bool {
	for _, r := range rules {
		if r.Expiration != nil && (r.Expiration.Days > 0 || r.Expiration.Date != nil) {
			return true
		}
	}
	return false
}

// expireObjects walks up to Batch current versions of b in p after
// startAfter and deletes those due. more: the listing continues after
// last.
func (j *janitor) expireObjects(ctx context.Context, p int, b bucketsvc.Bucket, rules []s3lifecycle.Rule, startAfter string,
	now time.Time, valid func() bool) (n int, more bool, last string, err error) {
	if !expiresCurrent(rules) {
		return 0, false, "", nil
	}
	if b.Versioning != bucketsvc.VersioningOff {
		// Expiring a current version of a versioned bucket writes a delete
		// marker; the record model gains markers with versioning (issue 8).
		// Until then such buckets keep their objects (docs/lifecycle.md).
		return 0, false, "", nil
	}
	resp, err := j.cfg.Meta.ListPartition(ctx, p, metapb.ListRequest{Bucket: b.MetaKey(), StartAfter: startAfter, MaxKeys: j.cfg.Batch})
	if err != nil {
		return 0, false, startAfter, fmt.Errorf("list %s: %w", b.Name, err)
	}
	last = startAfter
	for _, e := range resp.Entries {
		v := e.Version
		if v == nil {
			continue
		}
		d := s3lifecycle.Evaluate(rules, s3lifecycle.Version{Key: v.Key, Size: v.Size, Created: v.Created, IsLatest: true}, j.cfg.LifecycleDay)
		if d.Action == s3lifecycle.ExpireCurrent && d.Due(now) {
			if !valid() {
				return n, false, last, nil
			}
			// If-Match: the version evaluated is the one deleted; an
			// overwrite since the listing keeps its new version.
			_, err := j.cfg.Meta.DeleteObject(ctx, metapb.DeleteRequest{Bucket: v.Bucket, Key: v.Key, IfMatch: v.ETag})
			switch {
			case errors.Is(err, metaclient.ErrPrecondition), errors.Is(err, metaclient.ErrNotFound):
			case err != nil:
				return n, false, last, fmt.Errorf("expire %s/%s: %w", b.Name, v.Key, err)
			default:
				n++
				j.m.lcExpired.Inc()
				j.cfg.Logger.Info("lifecycle: expired object", "partition", p, "bucket", b.Name, "key", v.Key,
					"rule", d.RuleID, "due", d.At, "created", v.Created)
			}
		}
		last = v.Key
	}
	return n, resp.Truncated, last, nil
}

// abortUploads walks up to Batch in-progress uploads of b in p after the
// markers and aborts those past DaysAfterInitiation.
func (j *janitor) abortUploads(ctx context.Context, p int, b bucketsvc.Bucket, rules []s3lifecycle.Rule, keyMarker, uidMarker string,
	now time.Time, valid func() bool) (n int, more bool, lastKey, lastUID string, err error) {
	aborts := false
	for _, r := range rules {
		aborts = aborts || r.AbortIncompleteDays > 0
	}
	if !aborts {
		return 0, false, "", "", nil
	}
	resp, err := j.cfg.Meta.ListUploadsPartition(ctx, p, metapb.ListUploadsRequest{Bucket: b.MetaKey(),
		KeyMarker: keyMarker, UploadIDMarker: uidMarker, MaxUploads: j.cfg.Batch})
	if err != nil {
		return 0, false, keyMarker, uidMarker, fmt.Errorf("list uploads %s: %w", b.Name, err)
	}
	lastKey, lastUID = keyMarker, uidMarker
	for _, u := range resp.Uploads {
		at, rule, ok := s3lifecycle.AbortOf(rules, u.Key, u.Initiated, j.cfg.LifecycleDay)
		if ok && !now.Before(at) {
			if !valid() {
				return n, false, lastKey, lastUID, nil
			}
			_, err := j.cfg.Meta.AbortUpload(ctx, metapb.AbortUploadRequest{Bucket: u.Bucket, Key: u.Key, UploadID: u.UploadID})
			switch {
			case errors.Is(err, metaclient.ErrNoSuchUpload), errors.Is(err, metaclient.ErrNotFound):
			case err != nil:
				return n, false, lastKey, lastUID, fmt.Errorf("abort upload %s/%s %s: %w", b.Name, u.Key, u.UploadID, err)
			default:
				n++
				j.m.lcAborted.Inc()
				j.cfg.Logger.Info("lifecycle: aborted incomplete multipart upload", "partition", p, "bucket", b.Name, "key", u.Key,
					"upload", u.UploadID, "rule", rule, "initiated", u.Initiated)
			}
		}
		lastKey, lastUID = u.Key, u.UploadID
	}
	return n, resp.Truncated, lastKey, lastUID, nil
}

package background

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3lifecycle"
	"github.com/meridian-s3/meridian/internal/s3lock"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// The janitor's lifecycle phase (docs/lifecycle.md, "Execution"): in each
// partition it leases, for every bucket of this region with enabled rules,
// it walks the bucket's versions hashed to the partition (every version of a
// key lives in the key's partition; key ascending, newest first) and
// executes what the rules made due — expire a current version (a delete, or
// a delete marker in a versioned bucket), delete a noncurrent version,
// remove an expired object delete marker — then its in-progress multipart
// uploads, aborting those past DaysAfterInitiation. What is due is decided
// by the pure s3lifecycle.Evaluate / AbortOf; this file walks and acts.
//
// The cursor "lifecycle|<bucket>|o|<version walk state>|<key>" or
// "lifecycle|<bucket>|u|<upload id>|<key>" names the bucket, the listing and
// the position in it, so a takeover resumes there (buckets are visited in
// name order; a bucket that lost its rules or was deleted meanwhile is
// skipped to the next name). The version walk state carries what a key's
// later versions need from its earlier ones when a page ends inside a key:
// the last version id listed, how many versions of the key were seen, the
// last one's creation time (when its successor became noncurrent).

// Catalog is the part of the bucket catalog the lifecycle phase reads
// (bucketsvc.Store implements it).
type Catalog interface {
	ListBuckets(ctx context.Context, owner string) ([]bucketsvc.Bucket, error)
}

const phaseLifecycle = "lifecycle"

// errLeaseLost ends a step whose lease became invalid before an action.
var errLeaseLost = errors.New("background: lease lost")

// lcBucketsTTL bounds how stale the janitor's view of the catalog's rules
// may be (a new configuration acts within it, a deleted one stops).
const lcBucketsTTL = 5 * time.Second

type lcCursor struct {
	bucket  string
	uploads bool   // walking uploads (else versions)
	key     string // last key listed (KeyMarker)
	// uploads: the last upload id listed.
	uploadID string
	// versions, when a page ended inside key: the last version listed, the
	// versions of key seen so far and the last one's creation time.
	ver         string
	seen        int
	lastCreated time.Time
	marker      bool // the key's newest version is a delete marker
}

func (c lcCursor) String() string {
	kind, pos := "o", ""
	if c.uploads {
		kind, pos = "u", c.uploadID
	} else if c.ver != "" {
		pos = c.ver + ";" + strconv.Itoa(c.seen) + ";" + strconv.FormatInt(c.lastCreated.UnixNano(), 10) + ";" + strconv.FormatBool(c.marker)
	}
	return strings.Join([]string{phaseLifecycle, c.bucket, kind, pos, c.key}, "|")
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
	c := lcCursor{bucket: f[1], uploads: f[2] == "u", key: f[4]}
	if c.uploads {
		c.uploadID = f[3]
	} else if p := strings.Split(f[3], ";"); len(p) == 4 {
		seen, err1 := strconv.Atoi(p[1])
		ns, err2 := strconv.ParseInt(p[2], 10, 64)
		marker, err3 := strconv.ParseBool(p[3])
		if err1 == nil && err2 == nil && err3 == nil {
			c.ver, c.seen, c.lastCreated, c.marker = p[0], seen, time.Unix(0, ns).UTC(), marker
		}
	}
	return c, true
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
		n, more, cur, err = j.expireVersions(ctx, p, b, rules, cur, now, valid)
		if errors.Is(err, errLeaseLost) {
			return cur, n, false, nil
		}
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

// versioningOf is the mode a delete command carries for bucket b.
func versioningOf(b bucketsvc.Bucket) metapb.Versioning {
	switch b.Versioning {
	case bucketsvc.VersioningEnabled:
		return metapb.VersioningEnabled
	case bucketsvc.VersioningSuspended:
		return metapb.VersioningSuspended
	}
	return metapb.VersioningOff
}

// walksVersions reports whether any rule acts on versions (expiration of
// current versions, noncurrent versions, expired delete markers).
func walksVersions(rules []s3lifecycle.Rule) bool {
	for _, r := range rules {
		if r.Expiration != nil || r.Noncurrent != nil {
			return true
		}
	}
	return false
}

// lcKey is the walk's knowledge of the key being walked.
type lcKey struct {
	key         string
	seen        int       // versions of key listed so far (newest first)
	lastVer     string    // S3 version id of the last one
	lastCreated time.Time // and its creation time
	marker      bool      // the newest version is a delete marker
}

// expireVersions walks up to Batch versions of b in p from the cursor and
// executes the actions due. more: the listing continues from next.
func (j *janitor) expireVersions(ctx context.Context, p int, b bucketsvc.Bucket, rules []s3lifecycle.Rule, cur lcCursor,
	now time.Time, valid func() bool) (n int, more bool, next lcCursor, err error) {
	next = cur
	if !walksVersions(rules) {
		return 0, false, next, nil
	}
	resp, err := j.cfg.Meta.ListVersionsPartition(ctx, p, metapb.ListVersionsRequest{Bucket: b.MetaKey(),
		KeyMarker: cur.key, VersionMarker: cur.ver, MaxKeys: j.cfg.Batch})
	if err != nil {
		return 0, false, next, fmt.Errorf("list versions %s: %w", b.Name, err)
	}
	k := lcKey{}
	if cur.ver != "" { // the page continues a key
		k = lcKey{key: cur.key, seen: cur.seen, lastVer: cur.ver, lastCreated: cur.lastCreated, marker: cur.marker}
	}
	act := func(d s3lifecycle.Decision, req metapb.DeleteRequest) error {
		if !d.Due(now) {
			return nil
		}
		if !valid() {
			return errLeaseLost
		}
		req.Bucket, req.Versioning, req.Owner = b.MetaKey(), versioningOf(b), b.Owner
		_, err := j.cfg.Meta.DeleteObject(ctx, req)
		switch {
		case errors.Is(err, metaclient.ErrPrecondition), errors.Is(err, metaclient.ErrNotFound):
			return nil // changed since the listing: the next walk decides again
		case errors.Is(err, metaclient.ErrObjectLocked):
			// Object Lock protects the version (by the metadata service's
			// clock, which may be behind ours): kept; a later walk retries.
			return nil
		case err != nil:
			return fmt.Errorf("lifecycle %s %s/%s: %w", d.Action, b.Name, req.Key, err)
		}
		n++
		if d.Action == s3lifecycle.ExpireCurrent {
			j.m.lcExpired.Inc()
		} else {
			j.m.lcVersions.Inc()
		}
		j.cfg.Logger.Info("lifecycle: "+d.Action.String(), "partition", p, "bucket", b.Name, "key", req.Key,
			"version", req.Version, "rule", d.RuleID, "due", d.At)
		return nil
	}
	// finish decides what needed the whole key: an expired object delete
	// marker is the key's only version.
	finish := func(k lcKey) error {
		if k.marker && k.seen == 1 {
			d := s3lifecycle.Evaluate(rules, s3lifecycle.Version{Key: k.key, Created: k.lastCreated, IsLatest: true,
				DeleteMarker: true, OnlyVersion: true}, j.cfg.LifecycleDay)
			if d.Action == s3lifecycle.RemoveDeleteMarker {
				return act(d, metapb.DeleteRequest{Key: k.key, Version: k.lastVer})
			}
		}
		return nil
	}
	for _, e := range resp.Entries {
		v := e.Version
		if v == nil {
			continue
		}
		if v.Key != k.key || k.seen == 0 {
			if err := finish(k); err != nil {
				return n, false, next, err
			}
			k = lcKey{key: v.Key}
		}
		ev := s3lifecycle.Version{Key: v.Key, Size: v.Size, Created: v.Created, DeleteMarker: v.IsDeleteMarker(), Tags: v.Tags}
		switch {
		case e.Latest:
			k.marker = v.IsDeleteMarker()
			if !k.marker {
				ev.IsLatest = true
				d := s3lifecycle.Evaluate(rules, ev, j.cfg.LifecycleDay)
				if d.Action == s3lifecycle.ExpireCurrent {
					// If-Match: the version evaluated is the one expired.
					err = act(d, metapb.DeleteRequest{Key: v.Key, IfMatch: v.ETag})
				}
			}
		default:
			ev.NoncurrentSince, ev.NewerNoncurrent = k.lastCreated, max(0, k.seen-1)
			if d := s3lifecycle.Evaluate(rules, ev, j.cfg.LifecycleDay); d.Action == s3lifecycle.DeleteNoncurrent && !lockProtected(v, now) {
				err = act(d, metapb.DeleteRequest{Key: v.Key, Version: v.S3VersionID()})
			}
		}
		if err != nil {
			return n, false, next, err
		}
		k.seen++
		k.lastVer, k.lastCreated = v.S3VersionID(), v.Created
		next = lcCursor{bucket: b.Name, key: k.key, ver: k.lastVer, seen: k.seen, lastCreated: k.lastCreated, marker: k.marker}
	}
	if resp.Truncated {
		return n, true, next, nil
	}
	return n, false, next, finish(k)
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

// lockProtected reports whether Object Lock keeps v at now (a retention
// not yet past, or a legal hold): lifecycle never removes such a version
// and does not ask (docs/object-lock.md). The metadata service enforces
// the same rule with its own clock whatever is asked.
func lockProtected(v *metapb.ObjectVersion, now time.Time) bool {
	if v.Lock == nil {
		return false
	}
	return s3lock.Protected(s3lock.Retention{Mode: s3lock.Mode(v.Lock.Mode), Until: v.Lock.Until}, v.Lock.LegalHold, now, false)
}

package metastate

import (
	"fmt"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func (t *trees) current(bucket, key string) *metapb.ObjectVersion {
	v, ok := t.cur.Get(&metapb.ObjectVersion{Bucket: bucket, Key: key})
	if !ok {
		return nil
	}
	return v
}

func (t *trees) preparing(bucket, key, vid string) *metapb.ObjectVersion {
	v, ok := t.prep.Get(&metapb.ObjectVersion{Bucket: bucket, Key: key, VersionID: vid})
	if !ok {
		return nil
	}
	return v
}

func (t *trees) prepare(now time.Time, r *metapb.PrepareRequest) metapb.Result {
	in := &r.Version
	if in.Bucket == "" || in.Key == "" || in.VersionID == "" {
		return errResult(metapb.ErrBadRequest, "prepare: bucket, key and version id are required")
	}
	if res, ok := t.fenced(in.Bucket); ok {
		return res
	}
	if res, ok := t.objectRetry(in.Bucket, in.Key, in.Token, in.VersionID); ok {
		return res
	}
	v := cloneVersion(in)
	v.Format = metapb.FormatV1
	v.State = metapb.StatePreparing
	v.PreparedAt = now
	v.CommittedAt = time.Time{}
	if v.Created.IsZero() {
		v.Created = now
	}
	t.prep.ReplaceOrInsert(v)
	if v.Token != "" {
		t.putToken(&token{Bucket: v.Bucket, Key: v.Key, Kind: tokObject, Token: v.Token, ID: v.VersionID,
			Expires: now.Add(TokenTTL).UnixNano()})
	}
	return metapb.Result{Version: cloneVersion(v)}
}

// objectRetry answers a retried PUT (Prepare or inline Commit): by token,
// the version the token created (PREPARING, COMMITTED, or a summary of a
// committed version that has since been replaced); by version id, an
// existing record with that id.
func (t *trees) objectRetry(bucket, key, tok, vid string) (metapb.Result, bool) {
	if e := t.getToken(bucket, key, tokObject, tok); e != nil {
		if e.Done != nil {
			return metapb.Result{Version: t.outcome(e.Done), Existed: true}, true
		}
		if p := t.preparing(bucket, key, e.ID); p != nil {
			return metapb.Result{Version: cloneVersion(p), Existed: true}, true
		}
		// The token's PREPARE was aborted: this retry starts afresh.
	}
	if p := t.preparing(bucket, key, vid); p != nil {
		return metapb.Result{Version: cloneVersion(p), Existed: true}, true
	}
	if c := t.byRecordID(bucket, key, vid); c != nil {
		return metapb.Result{Version: cloneVersion(c), Existed: true}, true
	}
	return metapb.Result{}, false
}

// outcome returns the full record when done is still kept (current or
// noncurrent), else the summary.
func (t *trees) outcome(done *metapb.ObjectVersion) *metapb.ObjectVersion {
	if c := t.byRecordID(done.Bucket, done.Key, done.VersionID); c != nil {
		return cloneVersion(c)
	}
	return cloneVersion(done)
}

func (t *trees) commit(now time.Time, region string, r *metapb.CommitRequest) metapb.Result {
	bucket, key, vid := r.Bucket, r.Key, r.VersionID
	if bucket == "" {
		bucket = r.Final.Bucket
	}
	if key == "" {
		key = r.Final.Key
	}
	if vid == "" {
		vid = r.Final.VersionID
	}
	if bucket == "" || key == "" || vid == "" {
		return errResult(metapb.ErrBadRequest, "commit: bucket, key and version id are required")
	}
	if r.Replica {
		return t.commitReplica(now, bucket, key, vid, r)
	}
	cur := t.current(bucket, key)
	// Idempotent retries first: a committed version answers Existed even if
	// its condition would now fail against itself.
	if c := t.byRecordID(bucket, key, vid); c != nil {
		return metapb.Result{Version: cloneVersion(c), Existed: true}
	}
	if e := t.getToken(bucket, key, tokObject, r.Final.Token); e != nil && e.Done != nil {
		return metapb.Result{Version: t.outcome(e.Done), Existed: true}
	}
	if res, ok := t.fenced(bucket); ok {
		return res
	}
	p := t.preparing(bucket, key, vid)
	if p == nil && len(r.Final.Segments) > 0 {
		return errResult(metapb.ErrConflict, fmt.Sprintf("commit: no PREPARING version %q of %q (aborted?)", vid, key))
	}
	if r.IfMatch != "" && cur == nil {
		// S3: If-Match on a key that does not exist is 404 NoSuchKey.
		return errResult(metapb.ErrNotFound, "commit: no such key (If-Match)")
	}
	if !condOK(cur, r.IfMatch, r.IfNoneMatch) {
		return errResult(metapb.ErrPrecondition, "commit: precondition failed")
	}
	if res, ok := t.nullReplaceLocked(bucket, key, r.Versioning, now); ok {
		return res // objectlock.go: a protected null version is never replaced
	}
	v := cloneVersion(&r.Final)
	v.Format = metapb.FormatV1
	v.Bucket, v.Key, v.VersionID = bucket, key, vid
	v.State = metapb.StateCommitted
	v.CommittedAt = now
	if p != nil {
		if !checkSubset(r.Final.Segments, p.Segments) {
			return errResult(metapb.ErrBadRequest, "commit: final segments reference shards not planned at prepare")
		}
		fillFromPrepared(v, p)
		t.prep.Delete(p)
		t.queueGarbage("unused", bucket, key, unusedSegments(p.Segments, v.Segments), now)
	} else {
		v.PreparedAt = now
		if v.Created.IsZero() {
			v.Created = now
		}
		if len(v.Inline) > 0 && v.Size == 0 {
			v.Size = int64(len(v.Inline))
		}
	}
	replaced := t.install(v, r.Versioning, region, now)
	t.markDone(tokObject, v, now)
	seq := t.appendFeedVer(metapb.FeedPut, v, now)
	res := metapb.Result{Version: cloneVersion(v), Seq: seq}
	if replaced != nil {
		res.Replaced = cloneVersion(replaced)
	}
	return res
}

// fillFromPrepared completes a committed record with what the PREPARE set
// and the final form left empty.
func fillFromPrepared(v, p *metapb.ObjectVersion) {
	if v.Token == "" {
		v.Token = p.Token
	}
	if v.Owner == "" {
		v.Owner = p.Owner
	}
	if v.Created.IsZero() {
		v.Created = p.Created
	}
	if v.Scheme == (metapb.Scheme{}) {
		v.Scheme = p.Scheme
	}
	if v.ContentType == "" {
		v.ContentType = p.ContentType
	}
	if v.Headers == nil {
		v.Headers = cloneMap(p.Headers)
	}
	if v.UserMeta == nil {
		v.UserMeta = cloneMap(p.UserMeta)
	}
	if v.Checksums == nil {
		v.Checksums = cloneMap(p.Checksums)
	}
	if v.Tags == nil {
		v.Tags = cloneMap(p.Tags)
	}
	if v.ACL == nil {
		v.ACL = p.ACL.Clone()
	}
	if v.ChecksumType == "" {
		v.ChecksumType = p.ChecksumType
	}
	if v.Lock == nil {
		v.Lock = cloneLock(p.Lock)
	}
	v.PreparedAt = p.PreparedAt
}

// condOK evaluates If-Match / If-None-Match against the current version.
func condOK(cur *metapb.ObjectVersion, ifMatch, ifNoneMatch string) bool {
	if ifMatch != "" {
		if cur == nil || !etagListMatches(ifMatch, cur.ETag) {
			return false
		}
	}
	if ifNoneMatch != "" && cur != nil && etagListMatches(ifNoneMatch, cur.ETag) {
		return false
	}
	return true
}

// etagListMatches matches an If-Match style list ("*", or comma-separated,
// possibly quoted or weak ETags) against etag.
func etagListMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "*" {
			return true
		}
		e = strings.TrimPrefix(e, "W/")
		if strings.Trim(e, `"`) == etag {
			return true
		}
	}
	return false
}

func (t *trees) abort(now time.Time, r *metapb.AbortRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" || r.VersionID == "" {
		return errResult(metapb.ErrBadRequest, "abort: bucket, key and version id are required")
	}
	if p := t.preparing(r.Bucket, r.Key, r.VersionID); p != nil {
		t.prep.Delete(p)
		t.queueGarbage("aborted", p.Bucket, p.Key, p.Segments, now)
		return metapb.Result{Version: cloneVersion(p)}
	}
	if c := t.byRecordID(r.Bucket, r.Key, r.VersionID); c != nil {
		return errResult(metapb.ErrConflict, fmt.Sprintf("abort: version %q of %q is committed", r.VersionID, r.Key))
	}
	return metapb.Result{}
}

func (t *trees) delete(now time.Time, region string, r *metapb.DeleteRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" {
		return errResult(metapb.ErrBadRequest, "delete: bucket and key are required")
	}
	if r.Replica != nil {
		return t.deleteReplica(now, r)
	}
	c := t.current(r.Bucket, r.Key)
	if r.IfMatch != "" {
		if c == nil {
			return errResult(metapb.ErrNotFound, "delete: no such key (If-Match)")
		}
		if !etagListMatches(r.IfMatch, c.ETag) {
			return errResult(metapb.ErrPrecondition, "delete: If-Match does not match the current version")
		}
	}
	if r.Version != "" || r.Versioning != metapb.VersioningOff {
		return t.deleteVersioned(now, region, r)
	}
	// Unversioned bucket: the null version goes.
	n := t.nullOf(r.Bucket, r.Key)
	if l := t.latest(r.Bucket, r.Key); l != nil && l != n {
		// The key has versions: the caller read a status from before
		// versioning was enabled. Nothing is deleted; a retry reads the
		// bucket again.
		return errResult(metapb.ErrConflict, "delete: the key has versions; the bucket is versioned")
	}
	if n == nil {
		return metapb.Result{}
	}
	if protected(n, now, r.BypassGovernance) {
		return lockedResult(n) // objectlock.go
	}
	t.removeVersion(n, "deleted", now)
	seq := t.appendFeedVer(metapb.FeedDelete, n, now)
	return metapb.Result{Version: cloneVersion(n), Seq: seq}
}

// ---- copies ----

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func cloneSegments(segs []metapb.Segment) []metapb.Segment {
	if segs == nil {
		return nil
	}
	c := make([]metapb.Segment, len(segs))
	for i, s := range segs {
		c[i] = s
		c[i].Shards = append([]metapb.ShardRef(nil), s.Shards...)
		c[i].Inline = cloneBytes(s.Inline)
	}
	return c
}

// cloneVersion deep-copies v: records in the state are never shared with
// callers.
func cloneVersion(v *metapb.ObjectVersion) *metapb.ObjectVersion {
	c := *v
	c.Checksums = cloneMap(v.Checksums)
	c.Headers = cloneMap(v.Headers)
	c.UserMeta = cloneMap(v.UserMeta)
	c.Tags = cloneMap(v.Tags)
	c.ACL = v.ACL.Clone()
	c.Lock = cloneLock(v.Lock)
	c.Inline = cloneBytes(v.Inline)
	c.Segments = cloneSegments(v.Segments)
	if v.Parts != nil {
		c.Parts = append([]metapb.PartInfo(nil), v.Parts...)
		for i := range c.Parts {
			c.Parts[i].Checksums = cloneMap(v.Parts[i].Checksums)
		}
	}
	return &c
}

// cloneListed is cloneVersion without the inline bytes (listings).
// cloneListed is the listing form of a version: what ListObjects shows (key,
// size, ETag, times, owner, headers) without the bytes or the shard map,
// which listings never need and which would dominate their size.
func cloneListed(v *metapb.ObjectVersion) *metapb.ObjectVersion {
	c := *v
	c.Inline, c.Segments, c.Parts = nil, nil, nil
	return cloneVersion(&c)
}

func cloneUpload(u *metapb.Upload) *metapb.Upload {
	c := *u
	c.Headers = cloneMap(u.Headers)
	c.UserMeta = cloneMap(u.UserMeta)
	c.Tags = cloneMap(u.Tags)
	c.ACL = u.ACL.Clone()
	c.Lock = cloneLock(u.Lock)
	return &c
}

func clonePart(p *metapb.Part) *metapb.Part {
	c := *p
	c.Checksums = cloneMap(p.Checksums)
	c.Inline = cloneBytes(p.Inline)
	c.Segments = cloneSegments(p.Segments)
	return &c
}

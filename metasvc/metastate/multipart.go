package metastate

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func (t *trees) upload(bucket, key, uid string) *metapb.Upload {
	u, ok := t.uploads.Get(&metapb.Upload{Bucket: bucket, Key: key, UploadID: uid})
	if !ok {
		return nil
	}
	return u
}

func (t *trees) partAttempt(bucket, key, uid string, n int, attempt string) *metapb.Part {
	p, ok := t.parts.Get(&metapb.Part{Bucket: bucket, Key: key, UploadID: uid, Number: n, Attempt: attempt})
	if !ok {
		return nil
	}
	return p
}

// uploadParts calls fn for every attempt of every part of an upload, by
// (number, attempt), starting at part number from.
func (t *trees) uploadParts(bucket, key, uid string, from int, fn func(p *metapb.Part) bool) {
	t.parts.AscendGreaterOrEqual(&metapb.Part{Bucket: bucket, Key: key, UploadID: uid, Number: from}, func(p *metapb.Part) bool {
		if p.Bucket != bucket || p.Key != key || p.UploadID != uid {
			return false
		}
		return fn(p)
	})
}

// committedPart returns the committed attempt of part n, if any (there is
// at most one).
func (t *trees) committedPart(bucket, key, uid string, n int) *metapb.Part {
	var found *metapb.Part
	t.uploadParts(bucket, key, uid, n, func(p *metapb.Part) bool {
		if p.Number != n {
			return false
		}
		if p.State == metapb.StateCommitted {
			found = p
			return false
		}
		return true
	})
	return found
}

func (t *trees) createUpload(now time.Time, r *metapb.CreateUploadRequest) metapb.Result {
	in := &r.Upload
	if in.Bucket == "" || in.Key == "" || in.UploadID == "" {
		return errResult(metapb.ErrBadRequest, "create upload: bucket, key and upload id are required")
	}
	if res, ok := t.fenced(in.Bucket); ok {
		return res
	}
	if e := t.getToken(in.Bucket, in.Key, tokUpload, in.Token); e != nil {
		if u := t.upload(in.Bucket, in.Key, e.ID); u != nil {
			return metapb.Result{Upload: cloneUpload(u), Existed: true}
		}
	}
	if u := t.upload(in.Bucket, in.Key, in.UploadID); u != nil {
		return metapb.Result{Upload: cloneUpload(u), Existed: true}
	}
	u := cloneUpload(in)
	u.Format = metapb.FormatV1
	if u.Initiated.IsZero() {
		u.Initiated = now
	}
	t.uploads.ReplaceOrInsert(u)
	if u.Token != "" {
		t.putToken(&token{Bucket: u.Bucket, Key: u.Key, Kind: tokUpload, Token: u.Token, ID: u.UploadID,
			Expires: now.Add(TokenTTL).UnixNano()})
	}
	return metapb.Result{Upload: cloneUpload(u)}
}

func (t *trees) preparePart(now time.Time, r *metapb.PreparePartRequest) metapb.Result {
	in := &r.Part
	if in.Bucket == "" || in.Key == "" || in.UploadID == "" || in.Attempt == "" {
		return errResult(metapb.ErrBadRequest, "prepare part: bucket, key, upload id and attempt are required")
	}
	if in.Number < 1 || in.Number > metapb.MaxParts {
		return errResult(metapb.ErrBadRequest, fmt.Sprintf("prepare part: part number %d out of range", in.Number))
	}
	if res, ok := t.fenced(in.Bucket); ok {
		return res
	}
	if t.upload(in.Bucket, in.Key, in.UploadID) == nil {
		return errResult(metapb.ErrNoSuchUpload, "prepare part: no such upload")
	}
	if p := t.partAttempt(in.Bucket, in.Key, in.UploadID, in.Number, in.Attempt); p != nil {
		return metapb.Result{Part: clonePart(p), Existed: true}
	}
	p := clonePart(in)
	p.Format = metapb.FormatV1
	p.State = metapb.StatePreparing
	if p.Created.IsZero() {
		p.Created = now
	}
	t.parts.ReplaceOrInsert(p)
	t.preparingParts++
	return metapb.Result{Part: clonePart(p)}
}

func (t *trees) commitPart(now time.Time, r *metapb.CommitPartRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" || r.UploadID == "" || r.Attempt == "" {
		return errResult(metapb.ErrBadRequest, "commit part: bucket, key, upload id and attempt are required")
	}
	if r.Number < 1 || r.Number > metapb.MaxParts {
		return errResult(metapb.ErrBadRequest, fmt.Sprintf("commit part: part number %d out of range", r.Number))
	}
	if res, ok := t.fenced(r.Bucket); ok {
		return res
	}
	if t.upload(r.Bucket, r.Key, r.UploadID) == nil {
		return errResult(metapb.ErrNoSuchUpload, "commit part: no such upload")
	}
	rec := t.partAttempt(r.Bucket, r.Key, r.UploadID, r.Number, r.Attempt)
	if rec != nil && rec.State == metapb.StateCommitted {
		return metapb.Result{Part: clonePart(rec), Existed: true}
	}
	if rec == nil && len(r.Final.Segments) > 0 {
		return errResult(metapb.ErrConflict, fmt.Sprintf("commit part: no PREPARING attempt %q of part %d (aborted?)", r.Attempt, r.Number))
	}
	if rec != nil && !checkSubset(r.Final.Segments, rec.Segments) {
		return errResult(metapb.ErrBadRequest, "commit part: final segments reference shards not planned at prepare")
	}
	p := clonePart(&r.Final)
	p.Format = metapb.FormatV1
	p.Bucket, p.Key, p.UploadID, p.Number, p.Attempt = r.Bucket, r.Key, r.UploadID, r.Number, r.Attempt
	p.State = metapb.StateCommitted
	if len(p.Inline) > 0 && p.Size == 0 {
		p.Size = int64(len(p.Inline))
	}
	if rec != nil {
		if p.Created.IsZero() {
			p.Created = rec.Created
		}
		t.parts.Delete(rec)
		t.preparingParts--
		t.queueGarbage("unused", r.Bucket, r.Key, unusedSegments(rec.Segments, p.Segments), now)
	} else if p.Created.IsZero() {
		p.Created = now
	}
	if old := t.committedPart(r.Bucket, r.Key, r.UploadID, r.Number); old != nil {
		t.parts.Delete(old)
		t.queueGarbage("replaced", r.Bucket, r.Key, old.Segments, now)
	}
	t.parts.ReplaceOrInsert(p)
	return metapb.Result{Part: clonePart(p)}
}

func (t *trees) abortPart(now time.Time, r *metapb.AbortPartRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" || r.UploadID == "" || r.Attempt == "" {
		return errResult(metapb.ErrBadRequest, "abort part: bucket, key, upload id and attempt are required")
	}
	p := t.partAttempt(r.Bucket, r.Key, r.UploadID, r.Number, r.Attempt)
	if p == nil {
		return metapb.Result{}
	}
	if p.State == metapb.StateCommitted {
		return errResult(metapb.ErrConflict, fmt.Sprintf("abort part: attempt %q of part %d is committed", r.Attempt, r.Number))
	}
	t.parts.Delete(p)
	t.preparingParts--
	t.queueGarbage("aborted", p.Bucket, p.Key, p.Segments, now)
	return metapb.Result{Part: clonePart(p)}
}

// removeUpload deletes an upload and all its part attempts; parts accepted
// by keep survive only as references (not queued), the rest are queued as
// garbage with reason.
func (t *trees) removeUpload(u *metapb.Upload, reason string, keep map[*metapb.Part]bool, now time.Time) {
	var all []*metapb.Part
	t.uploadParts(u.Bucket, u.Key, u.UploadID, 0, func(p *metapb.Part) bool {
		all = append(all, p)
		return true
	})
	for _, p := range all {
		t.parts.Delete(p)
		if p.State == metapb.StatePreparing {
			t.preparingParts--
		}
		if !keep[p] {
			t.queueGarbage(reason, p.Bucket, p.Key, p.Segments, now)
		}
	}
	t.uploads.Delete(u)
}

func (t *trees) abortUpload(now time.Time, r *metapb.AbortUploadRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" || r.UploadID == "" {
		return errResult(metapb.ErrBadRequest, "abort upload: bucket, key and upload id are required")
	}
	u := t.upload(r.Bucket, r.Key, r.UploadID)
	if u == nil {
		// A replay of this very abort (same token, same upload) answers
		// as the first one did; any other request finds no upload.
		if e := t.getToken(r.Bucket, r.Key, tokAbort, r.Token); e != nil && e.ID == r.UploadID {
			return metapb.Result{Existed: true}
		}
		return errResult(metapb.ErrNoSuchUpload, "abort upload: no such upload")
	}
	t.removeUpload(u, "upload aborted", nil, now)
	if r.Token != "" {
		t.putToken(&token{Bucket: r.Bucket, Key: r.Key, Kind: tokAbort, Token: r.Token, ID: r.UploadID,
			Expires: now.Add(TokenTTL).UnixNano()})
	}
	return metapb.Result{Upload: cloneUpload(u)}
}

func (t *trees) completeUpload(now time.Time, region string, r *metapb.CompleteUploadRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" || r.UploadID == "" {
		return errResult(metapb.ErrBadRequest, "complete upload: bucket, key and upload id are required")
	}
	// Idempotent retry: by token, or by version id once the upload is gone.
	if e := t.getToken(r.Bucket, r.Key, tokComplete, r.Token); e != nil && e.Done != nil {
		return metapb.Result{Version: t.outcome(e.Done), Existed: true}
	}
	u := t.upload(r.Bucket, r.Key, r.UploadID)
	if u == nil {
		if c := t.byRecordID(r.Bucket, r.Key, r.VersionID); c != nil && r.VersionID != "" {
			return metapb.Result{Version: cloneVersion(c), Existed: true}
		}
		// A repeated Complete of an upload that was completed (by another
		// request, not a retry) answers that completion, as S3 does, while
		// the version it made exists and the list names the same parts.
		if c := t.completedFrom(r); c != nil {
			return metapb.Result{Version: cloneVersion(c), Existed: true}
		}
		if res, ok := t.fenced(r.Bucket); ok {
			return res
		}
		return errResult(metapb.ErrNoSuchUpload, "complete upload: no such upload")
	}
	if res, ok := t.fenced(r.Bucket); ok {
		return res
	}
	// Conditional completion, evaluated against the current version in this
	// apply: nothing is completed (or removed) when it fails.
	if cur := t.current(r.Bucket, r.Key); r.IfMatch != "" || r.IfNoneMatch != "" {
		if r.IfMatch != "" && cur == nil {
			return errResult(metapb.ErrNotFound, "complete upload: no such key (If-Match)")
		}
		if !condOK(cur, r.IfMatch, r.IfNoneMatch) {
			return errResult(metapb.ErrPrecondition, "complete upload: precondition failed")
		}
	}
	if r.VersionID == "" {
		return errResult(metapb.ErrBadRequest, "complete upload: version id is required")
	}
	if len(r.Parts) == 0 {
		return errResult(metapb.ErrBadRequest, "complete upload: no parts")
	}
	if len(r.Parts) > metapb.MaxParts {
		return errResult(metapb.ErrBadRequest, "complete upload: too many parts")
	}
	for i := 1; i < len(r.Parts); i++ {
		if r.Parts[i].Number <= r.Parts[i-1].Number {
			return errResult(metapb.ErrInvalidPartOrder, fmt.Sprintf("complete upload: part %d listed after part %d", r.Parts[i].Number, r.Parts[i-1].Number))
		}
	}
	committed := map[int]*metapb.Part{}
	t.uploadParts(u.Bucket, u.Key, u.UploadID, 0, func(p *metapb.Part) bool {
		if p.State == metapb.StateCommitted {
			committed[p.Number] = p
		}
		return true
	})
	listed := make([]*metapb.Part, len(r.Parts))
	for i, cp := range r.Parts {
		p := committed[cp.Number]
		if p == nil || !strings.EqualFold(strings.Trim(cp.ETag, `"`), strings.Trim(p.ETag, `"`)) {
			return errResult(metapb.ErrInvalidPart, fmt.Sprintf("complete upload: part %d not found or ETag mismatch", cp.Number))
		}
		listed[i] = p
	}
	for i, p := range listed[:len(listed)-1] {
		if p.Size < metapb.MinPartSize {
			return errResult(metapb.ErrEntityTooSmall, fmt.Sprintf("complete upload: part %d (#%d) is %d bytes, under the %d minimum", p.Number, i+1, p.Size, metapb.MinPartSize))
		}
	}
	cks, ckType, code, msg := multipartChecksum(u, r, listed)
	if code != "" {
		return errResult(code, msg)
	}
	if t.preparing(r.Bucket, r.Key, r.VersionID) != nil || t.byRecordID(r.Bucket, r.Key, r.VersionID) != nil {
		return errResult(metapb.ErrConflict, "complete upload: version id already in use")
	}
	if res, ok := t.nullReplaceLocked(r.Bucket, r.Key, r.Versioning, now); ok {
		return res // objectlock.go
	}

	v := &metapb.ObjectVersion{
		Format: metapb.FormatV1, Bucket: u.Bucket, Key: u.Key, VersionID: r.VersionID,
		State: metapb.StateCommitted, Token: r.Token, ETag: MultipartETag(etags(listed)),
		Checksums: cks, ChecksumType: ckType, ContentType: u.ContentType, Headers: cloneMap(u.Headers),
		UserMeta: cloneMap(u.UserMeta), Owner: u.Owner, Created: r.Created, Scheme: u.Scheme,
		PreparedAt: u.Initiated, CommittedAt: now, UploadID: u.UploadID, Tags: cloneMap(u.Tags), ACL: u.ACL.Clone(),
		Replication: r.Replication, SSE: u.SSE, Lock: cloneLock(u.Lock),
	}
	if d := r.DefaultLock; d != nil && d.Mode != "" && (v.Lock == nil || v.Lock.Mode == "") {
		// The bucket's default retention, resolved by the gateway.
		if v.Lock == nil {
			v.Lock = &metapb.ObjectLock{}
		}
		v.Lock.Mode, v.Lock.Until = d.Mode, d.Until
	}
	if v.Created.IsZero() {
		v.Created = now
	}
	allInline := true
	for _, p := range listed {
		if len(p.Segments) > 0 {
			allInline = false
		}
	}
	keep := make(map[*metapb.Part]bool, len(listed))
	// Segments are laid out by the parts' stored sizes (which exceed the
	// plaintext sizes when the upload is encrypted); Size is the plaintext's.
	var off, size int64
	for _, p := range listed {
		keep[p] = true
		v.Parts = append(v.Parts, metapb.PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, Checksums: cloneMap(p.Checksums), SSEIV: p.SSEIV})
		stored := storedSize(p)
		switch {
		case allInline:
			v.Inline = append(v.Inline, p.Inline...)
		case len(p.Segments) == 0:
			if stored > 0 {
				v.Segments = append(v.Segments, metapb.Segment{Offset: off, Size: stored, Inline: cloneBytes(p.Inline)})
			}
		default:
			for _, s := range cloneSegments(p.Segments) {
				s.Offset += off
				v.Segments = append(v.Segments, s)
			}
		}
		off += stored
		size += p.Size
	}
	v.Size = size
	t.removeUpload(u, "unlisted part", keep, now)
	replaced := t.install(v, r.Versioning, region, now)
	t.markDone(tokComplete, v, now)
	seq := t.appendFeedVer(metapb.FeedPut, v, now)
	res := metapb.Result{Version: cloneVersion(v), Seq: seq}
	if replaced != nil {
		res.Replaced = cloneVersion(replaced)
	}
	return res
}

// completedFrom finds the version of r's key that completing r.UploadID
// made, if its parts are exactly those r lists (numbers and ETags).
func (t *trees) completedFrom(r *metapb.CompleteUploadRequest) *metapb.ObjectVersion {
	var found *metapb.ObjectVersion
	t.keyVersions(r.Bucket, r.Key, func(v *metapb.ObjectVersion) bool {
		if v.UploadID != r.UploadID || v.State != metapb.StateCommitted || len(v.Parts) != len(r.Parts) {
			return true
		}
		for i, p := range v.Parts {
			if p.Number != r.Parts[i].Number || !strings.EqualFold(strings.Trim(r.Parts[i].ETag, `"`), strings.Trim(p.ETag, `"`)) {
				return true
			}
		}
		found = v
		return false
	})
	return found
}

func etags(parts []*metapb.Part) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.ETag
	}
	return out
}

// MultipartETag is S3's ETag of a multipart object: the hex MD5 of the
// concatenated binary MD5s of its parts, then "-" and the part count. A part
// ETag that is not a hex MD5 contributes the MD5 of its text.
func MultipartETag(partETags []string) string {
	h := md5.New()
	for _, e := range partETags {
		e = strings.Trim(e, `"`)
		b, err := hex.DecodeString(e)
		if err != nil || len(b) != md5.Size {
			s := md5.Sum([]byte(e))
			b = s[:]
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(partETags))
}

// storedSize is how many bytes a part occupies in storage: its plaintext
// size, or more when it is encrypted (metapb.Encryption).
func storedSize(p *metapb.Part) int64 {
	if p.SSEIV == nil {
		return p.Size
	}
	if len(p.Segments) == 0 {
		return int64(len(p.Inline))
	}
	var n int64
	for _, s := range p.Segments {
		n += s.Size
	}
	return n
}

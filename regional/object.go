package regional

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/md5lanes"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/commit"
	"github.com/meridian-s3/meridian/regional/objectio"
)

// IdempotencyHeader is Meridian's explicit idempotency header; AWS SDKs'
// amz-sdk-invocation-id (kept across retries) is used when it is absent.
const IdempotencyHeader = "X-Meridian-Idempotency-Key"

// storedHeaders are the standard headers kept with an object and returned on GET/HEAD.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// newVersionID returns a time-ordered unique id: 16 hex digits of Unix
// nanoseconds then 8 random hex digits. Only [0-9a-f], safe in shard ids.
func newVersionID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

func idempotencyToken(r *http.Request) string {
	if v := r.Header.Get(IdempotencyHeader); v != "" {
		return v
	}
	if v := r.Header.Get("amz-sdk-invocation-id"); v != "" {
		return v
	}
	return ""
}

// bodyInfo is the declared size and expected digests of a request body.
type bodyInfo struct {
	size      int64
	md5       []byte // from Content-MD5, nil if absent
	reader    io.Reader
	md5h      *md5lanes.Hasher // finished by Sum, or by Close when the request ends
	auth      func() map[string]string
	remaining func() error
}

// openBody resolves the decoded body length, the Content-MD5, and wraps the
// verifying body so the MD5 is computed while it streams.
func (g *Gateway) openBody(req *request, max int64) (*bodyInfo, error) {
	r := req.r
	if err := s3api.CheckContentLength(r, streamingBody(req)); err != nil {
		return nil, err
	}
	size := req.auth.DecodedLength
	if size < 0 {
		size = r.ContentLength
	}
	if size < 0 {
		return nil, s3err.New(s3err.MissingContentLength)
	}
	if size > max {
		return nil, s3err.New(s3err.EntityTooLarge).With("ProposedSize", strconv.FormatInt(size, 10)).With("MaxSizeAllowed", strconv.FormatInt(max, 10))
	}
	bi := &bodyInfo{size: size, md5h: g.md5.Hasher(size), auth: req.auth.Checksums}
	context.AfterFunc(r.Context(), bi.md5h.Close) // never leak the hasher's goroutine or lane
	d, err := s3api.ContentMD5(r.Header)
	if err != nil {
		return nil, err
	}
	bi.md5 = d
	body := req.auth.Body
	bi.reader = io.TeeReader(io.LimitReader(body, size), bi.md5h)
	// finish reads the body to its end so that the verifying reader checks
	// payload hash, chunk signatures and trailing checksums, then checks MD5.
	bi.remaining = func() error {
		var one [1]byte
		n, err := io.ReadFull(body, one[:])
		if n > 0 {
			return s3err.WithMessage(s3err.IncompleteBody, "The request body is longer than its declared length.")
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		if bi.md5 != nil && !bytes.Equal(bi.md5, bi.md5h.Sum()) {
			return s3err.New(s3err.BadDigest)
		}
		return nil
	}
	// Wait for the body's first byte before anything is planned, prepared
	// or opened: a client that declares a body and sends nothing costs one
	// goroutine until its body deadline, not a PREPARE record and a shard
	// stream to every storage node.
	if size > 0 {
		var first [1]byte
		if _, err := io.ReadFull(bi.reader, first[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, s3err.New(s3err.IncompleteBody)
			}
			return nil, err
		}
		bi.reader = io.MultiReader(bytes.NewReader(first[:]), bi.reader)
	}
	return bi, nil
}

// streamingBody reports an aws-chunked body, whose length the SigV4
// verifier took from x-amz-decoded-content-length.
func streamingBody(req *request) bool {
	return strings.HasPrefix(req.auth.PayloadMode, "STREAMING-")
}

// etag returns the hex MD5 of what was read.
func (bi *bodyInfo) etag() string { return hex.EncodeToString(bi.md5h.Sum()) }

// commitBody hands the verified body to the commit coordinator.
func (bi *bodyInfo) commitBody(req *request) commit.Body {
	return commit.Body{Size: bi.size, Reader: bi.reader, Finish: bi.remaining, ETag: bi.etag, Checksums: req.auth.Checksums}
}

// objectHeaders extracts content headers and user metadata from a request.
func objectHeaders(r *http.Request) (ctype string, hdrs, meta map[string]string, err error) {
	ctype = r.Header.Get("Content-Type")
	hdrs = map[string]string{}
	for _, h := range storedHeaders {
		if v := r.Header.Get(h); v != "" {
			if h == "Content-Encoding" {
				v = stripAWSChunked(v)
				if v == "" {
					continue
				}
			}
			hdrs[h] = v
		}
	}
	meta = map[string]string{}
	total := 0
	for name, vals := range r.Header {
		lname := strings.ToLower(name)
		if m, ok := strings.CutPrefix(lname, "x-amz-meta-"); ok {
			v := strings.Join(vals, ",")
			meta[m] = v
			total += len(m) + len(v)
		}
	}
	if total > s3api.MaxUserMetadata {
		return "", nil, nil, s3err.New(s3err.MetadataTooLarge).With("Size", strconv.Itoa(total)).With("MaxSizeAllowed", strconv.Itoa(s3api.MaxUserMetadata))
	}
	return ctype, hdrs, meta, nil
}

func stripAWSChunked(v string) string {
	var keep []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p != "" && !strings.EqualFold(p, "aws-chunked") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// putObject: PREPARE → write shards → COMMIT through the commit
// coordinator (regional/commit, docs/commit-protocol.md).
func (g *Gateway) putObject(req *request) error {
	ctx := req.r.Context()
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if err := s3api.CheckUnsupportedHeaders(req.r.Header, s3api.ScopeObjectWrite); err != nil {
		return err
	}
	ctype, hdrs, meta, err := objectHeaders(req.r)
	if err != nil {
		return err
	}
	tags, err := requestTags(req.r) // tagging.go
	if err != nil {
		return err
	}
	enc, err := g.writeEncryption(req, b) // sse.go
	if err != nil {
		return err
	}
	owner, acl, err := g.writeACL(req, b) // acl.go
	if err != nil {
		return err
	}
	locks, err := g.objectLockHeaders(req, b) // objectlock.go
	if err != nil {
		return err
	}
	if lockRecord(b, locks, time.Now(), true) != nil && !declaresIntegrity(req) {
		return errLockNeedsIntegrity()
	}
	bi, err := g.openBody(req, s3api.MaxSinglePut)
	if err != nil {
		return err
	}
	body := bi.commitBody(req)
	var sseEnc *metapb.Encryption
	if enc != nil {
		var iv []byte
		if body, iv, err = enc.encryptBody(body); err != nil {
			return err
		}
		sseEnc = withIV(enc.enc, iv)
	}
	now := time.Now().UTC()
	v := metapb.ObjectVersion{
		Format:      metapb.FormatV1,
		Bucket:      req.mb,
		Key:         req.key,
		VersionID:   newVersionID(now),
		Token:       idempotencyToken(req.r),
		Size:        bi.size,
		ContentType: ctype,
		Headers:     hdrs,
		UserMeta:    meta,
		Owner:       owner,
		Created:     now,
		Scheme:      g.cfg.Data.Scheme(),
		Tags:        tags,
		SSE:         sseEnc,
		ACL:         acl,
		Lock:        lockRecord(b, locks, now, true),
	}
	v.Replication = replicationStatus(b, v.Key, v.Tags, v.SSE) // replicate.go
	res, err := g.commit.Write(ctx, commit.Target{
		Object:      &v,
		IfMatch:     s3api.UnquoteETag(req.r.Header.Get("If-Match")),
		IfNoneMatch: s3api.UnquoteETag(req.r.Header.Get("If-None-Match")),
		Versioning:  versioningOf(b),
		Log:         req.log,
	}, body)
	if err != nil {
		return err
	}
	if enc != nil {
		setSSEHeaders(req.w.Header(), enc.enc, enc.keyMD5)
	}
	g.setExpiration(req.w, b, v) // lifecycle.go
	setVersionHeader(req.w.Header(), b, res.Version)
	if len(res.Checksums) > 0 {
		req.w.Header().Set("x-amz-checksum-type", metapb.ChecksumFullObject)
	}
	writeStored(req.w, res.ETag, res.Checksums)
	return nil
}

// writeStored answers a successful PutObject or UploadPart.
func writeStored(w http.ResponseWriter, etag string, checksums map[string]string) {
	h := w.Header()
	h.Set("ETag", s3api.QuoteETag(etag))
	for alg, val := range checksums {
		h.Set("x-amz-checksum-"+strings.ToLower(alg), val)
	}
	w.WriteHeader(http.StatusOK)
}

// getObject serves GetObject (with Range and conditions).
func (g *Gateway) getObject(req *request) error { return g.serveObject(req, true) }

// headObject serves HeadObject.
func (g *Gateway) headObject(req *request) error { return g.serveObject(req, false) }

func (g *Gateway) serveObject(req *request, withBody bool) error {
	ctx := req.r.Context()
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if err := s3api.CheckUnsupportedHeaders(req.r.Header, s3api.ScopeObjectRead); err != nil {
		return err
	}
	q := req.r.URL.Query()
	if err := checkVersionParam(q, b); err != nil {
		return err
	}
	partNumber, byPart, err := s3api.ParsePartNumber(q, metapb.MaxParts)
	if err != nil {
		return err
	}
	if byPart && req.r.Header.Get("Range") != "" {
		return s3api.ErrPartNumberWithRange()
	}
	v, err := g.resolveVersion(req, b)
	if err != nil {
		return err
	}
	if err := refuseReadSSEHeaders(req.r.Header); err != nil { // sse.go
		return err
	}
	key, keyMD5, err := g.objectKey(req, v.SSE, prefixSSEC)
	if err != nil {
		return err
	}
	switch s3api.EvalConditions(req.r.Header, v.ETag, v.Created) {
	case s3api.CondNotModified:
		h := req.w.Header()
		setVersionHeader(h, b, &v)
		h.Set("ETag", s3api.QuoteETag(v.ETag))
		h.Set("Last-Modified", v.Created.UTC().Format(http.TimeFormat))
		return s3err.New(s3err.NotModified)
	case s3api.CondPreconditionFailed:
		return s3err.New(s3err.PreconditionFailed).With("Condition", "If-Match")
	}
	var rng s3api.Range
	var partial bool
	if byPart {
		// GetObject/HeadObject ?partNumber: a ranged read of that part
		// (206 with its Content-Range); part 1 of an object not uploaded
		// in parts is the whole object, as S3 answers.
		sizes := make([]int64, len(v.Parts))
		for i, p := range v.Parts {
			sizes[i] = p.Size
		}
		if rng, err = s3api.PartRange(partNumber, v.Size, sizes); err != nil {
			return err
		}
		partial = v.Size > 0
	} else if rng, partial, err = s3api.ParseRange(req.r.Header.Get("Range"), v.Size); err != nil {
		req.w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", v.Size))
		return s3err.New(s3err.InvalidRange).With("RangeRequested", req.r.Header.Get("Range")).With("ActualObjectSize", strconv.FormatInt(v.Size, 10))
	}
	if !partial {
		rng = s3api.Range{Start: 0, Length: v.Size}
	}
	h := req.w.Header()
	ctype := v.ContentType
	if ctype == "" {
		ctype = "binary/octet-stream"
	}
	h.Set("Content-Type", ctype)
	for k, val := range v.Headers {
		h.Set(k, val)
	}
	for k, val := range v.UserMeta {
		h["X-Amz-Meta-"+k] = []string{val}
	}
	h.Set("ETag", s3api.QuoteETag(v.ETag))
	h.Set("Last-Modified", v.Created.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	if q.Get("versionId") == "" { // the current version: what Expiration acts on
		g.setExpiration(req.w, b, v) // lifecycle.go
	}
	setVersionHeader(h, b, &v)
	if v.Replication != "" {
		h.Set("x-amz-replication-status", v.Replication)
	}
	if len(v.Parts) > 0 && byPart {
		// S3 sends the part count only to a request that names a part.
		h.Set("x-amz-mp-parts-count", strconv.Itoa(len(v.Parts)))
	}
	if !byPart {
		partNumber = 0
	}
	setSSEHeaders(h, v.SSE, keyMD5)                       // sse.go
	setChecksumHeaders(h, req.r, &v, partial, partNumber) // checksum.go
	setTaggingCount(h, &v)                                // tagging.go
	g.setLockHeaders(req, b, h, &v)                       // objectlock.go
	if withBody {
		q := req.r.URL.Query()
		for param, header := range map[string]string{
			"response-content-type": "Content-Type", "response-content-language": "Content-Language",
			"response-expires": "Expires", "response-cache-control": "Cache-Control",
			"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
		} {
			if val := q.Get(param); val != "" {
				h.Set(header, val)
			}
		}
	}
	h.Set("Content-Length", strconv.FormatInt(rng.Length, 10))
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", rng.ContentRange(v.Size))
		status = http.StatusPartialContent
	}
	if !withBody || rng.Length == 0 {
		req.w.WriteHeader(status)
		return nil
	}
	// The status goes out with the first decoded bytes: a read that fails
	// before any byte (too few shards reachable) still gets an S3 error.
	lw := &lazyHeader{w: req.w, status: status}
	if err := g.readObject(ctx, &v, key, rng.Start, rng.Length, lw); err != nil {
		if !lw.sent {
			for k := range h {
				if k != "X-Amz-Request-Id" && k != "X-Amz-Id-2" && k != "Server" {
					delete(h, k)
				}
			}
			req.log.Error("read failed before the first byte", "err", err, "version", v.VersionID)
			return s3err.WithMessage(s3err.ServiceUnavailable, "Not enough shards of the object are reachable right now; please retry.")
		}
		// Headers are gone: the only honest signal left is a cut connection.
		req.log.Error("read failed mid-stream", "err", err, "version", v.VersionID)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// lazyHeader writes the response status just before the first body byte.
type lazyHeader struct {
	w      http.ResponseWriter
	status int
	sent   bool
}

func (l *lazyHeader) Write(p []byte) (int, error) {
	if !l.sent {
		l.sent = true
		l.w.WriteHeader(l.status)
	}
	return l.w.Write(p)
}

// suspecter is the optional capability of Meta to report a version a read
// found damaged to the healer (metaclient implements it).
type suspecter interface {
	Suspect(ctx context.Context, sp metapb.Suspect) error
}

// readRange streams [off, off+length) of a version to w. A read that had
// to reconstruct (a shard failed, was corrupt or missing) reports the
// version to the healer once the bytes are sent (docs/background.md).
func (g *Gateway) readRange(ctx context.Context, v *metapb.ObjectVersion, off, length int64, w io.Writer) error {
	if sp, ok := g.cfg.Meta.(suspecter); ok && len(v.Segments) > 0 {
		var rep *objectio.ReadReport
		ctx, rep = objectio.WithReadReport(ctx)
		defer func() {
			if !rep.Degraded() {
				return
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := sp.Suspect(sctx, metapb.Suspect{Bucket: v.Bucket, Key: v.Key, VersionID: v.VersionID, Reason: "degraded read"}); err != nil {
				g.log.WarnContext(ctx, "regional: could not report a degraded read to the healer", "bucket", v.Bucket, "key", v.Key, "err", err)
			}
		}()
	}
	if v.Inline != nil || len(v.Segments) == 0 {
		if off+length > int64(len(v.Inline)) {
			return fmt.Errorf("regional: inline object %s shorter than its size", v.VersionID)
		}
		_, err := w.Write(v.Inline[off : off+length])
		return err
	}
	end := off + length
	for _, seg := range v.Segments {
		sEnd := seg.Offset + seg.Size
		if sEnd <= off || seg.Offset >= end {
			continue
		}
		from, to := max(off, seg.Offset), min(end, sEnd)
		if len(seg.Shards) == 0 {
			if seg.Inline == nil || int64(len(seg.Inline)) < seg.Size {
				return fmt.Errorf("regional: segment at %d of %s has no data", seg.Offset, v.VersionID)
			}
			if _, err := w.Write(seg.Inline[from-seg.Offset : to-seg.Offset]); err != nil {
				return err
			}
			continue
		}
		// DataPath.Read takes offsets relative to the segments it is given.
		if err := g.cfg.Data.Read(ctx, []metapb.Segment{seg}, v.Scheme, from-seg.Offset, to-from, w); err != nil {
			return err
		}
	}
	return nil
}

// deleteObject removes the current version (unversioned bucket), adds a
// delete marker (versioned or suspended bucket), or removes the version
// ?versionId names for good; absent keys and versions answer 204 too.
// If-Match ("*" or ETags) is evaluated by metasvc in the apply that deletes:
// 412 PreconditionFailed when it does not match, 404 NoSuchKey when the key
// is absent, and nothing is deleted in either case (as S3 does).
func (g *Gateway) deleteObject(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if err := checkVersionParam(req.r.URL.Query(), b); err != nil {
		return err
	}
	for _, h := range []string{"x-amz-if-match-size", "x-amz-if-match-last-modified-time"} {
		if req.r.Header.Get(h) != "" {
			// S3 honours these on directory buckets only: refused, never ignored.
			return s3err.WithMessage(s3err.NotImplemented, "A header you provided implies functionality that is not implemented").With("Header", h)
		}
	}
	named, _ := s3api.VersionIDParam(req.r.URL.Query())
	if b.Versioning == bucketsvc.VersioningOff {
		named = "" // "null" on a bucket that never had versioning: the object itself
	}
	res, err := g.cfg.Meta.DeleteObject(req.r.Context(), metapb.DeleteRequest{
		Bucket: req.mb, Key: req.key, IfMatch: req.r.Header.Get("If-Match"),
		Version: named, Versioning: versioningOf(b), Owner: req.principal,
		Replication:      markerReplicationStatus(b, req.key, named), // replicate.go
		BypassGovernance: g.bypassGovernance(req, b),                 // objectlock.go
	})
	if err != nil {
		if errors.Is(err, metaclient.ErrPrecondition) {
			return s3err.New(s3err.PreconditionFailed).With("Condition", "If-Match")
		}
		return err
	}
	deleteHeaders(req.w.Header(), b, named, res)
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxDeleteBody bounds a DeleteObjects request body.
const maxDeleteBody = 2 << 20

// deleteObjects serves the multi-object delete (POST ?delete).
func (g *Gateway) deleteObjects(req *request) error {
	ctx := req.r.Context()
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if _, err := s3api.ContentMD5(req.r.Header); err != nil {
		return err // before the body is read
	}
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, maxDeleteBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxDeleteBody {
		return s3err.New(s3err.MalformedXML)
	}
	// S3 requires an integrity check on every multi-object delete.
	if err := checkContentMD5(req, body); err != nil {
		return err
	}
	d, err := s3api.ParseDelete(body)
	if err != nil {
		return err
	}
	versioned := b.Versioning != bucketsvc.VersioningOff
	res := s3api.DeleteResult{XMLNS: s3api.XMLNS}
	for _, o := range d.Objects {
		if err := s3api.ValidateKey(o.Key); err != nil {
			res.Errors = append(res.Errors, s3api.DeleteError{Key: o.Key, Code: string(s3err.KeyTooLongError), Message: "Your key is too long"})
			continue
		}
		if err := s3api.CheckVersionID(o.VersionID, o.VersionID != "", versioned, metapb.ValidVersionID); err != nil {
			e := s3err.As(err)
			res.Errors = append(res.Errors, s3api.DeleteError{Key: o.Key, VersionID: o.VersionID, Code: string(e.Code), Message: e.Message})
			continue
		}
		named := o.VersionID
		if !versioned {
			named = "" // "null" on a bucket that never had versioning: the object itself
		}
		if err := g.allowKey(req, b, o.Key, o.VersionID != ""); err != nil { // authz.go
			e := s3err.As(err)
			res.Errors = append(res.Errors, s3api.DeleteError{Key: o.Key, VersionID: o.VersionID, Code: string(e.Code), Message: e.Message})
			continue
		}
		// <ETag> is the per-object If-Match (conditional delete).
		r, err := g.cfg.Meta.DeleteObject(ctx, metapb.DeleteRequest{Bucket: req.mb, Key: o.Key, IfMatch: o.ETag,
			Version: named, Versioning: versioningOf(b), Owner: req.principal,
			Replication: markerReplicationStatus(b, o.Key, named), BypassGovernance: g.bypassGovernance(req, b)})
		if err != nil {
			e := g.translate(req, err)
			res.Errors = append(res.Errors, s3api.DeleteError{Key: o.Key, VersionID: o.VersionID, Code: string(e.Code), Message: e.Message})
			continue
		}
		if !d.Quiet {
			res.Deleted = append(res.Deleted, deletedEntry(o.Key, b, named, r))
		}
	}
	sort.Slice(res.Deleted, func(i, j int) bool { return res.Deleted[i].Key < res.Deleted[j].Key })
	return writeXML(req, http.StatusOK, res)
}

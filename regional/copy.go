package regional

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/commit"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// CopyObject and UploadPartCopy (docs/copy.md). A copy resolves the source
// to ONE version record first and then streams that record's segments —
// erasure-decoded from the source shards — into the commit coordinator,
// which re-encodes them for the destination exactly as it stores a PUT or
// UploadPart body. A concurrent overwrite of the source makes a new record;
// it never changes the segments this copy reads, so the copy's bytes are
// exactly one version's (or, if the old shards were reclaimed mid-copy,
// the copy fails and nothing is stored).

// copySource is the resolved source of a copy.
type copySource struct {
	bucket bucketsvc.Bucket
	key    string
	named  bool // the header named a version (?versionId)
	v      metapb.ObjectVersion
	// remote is set when the source bucket is homed in another region: the
	// edge read it there and the request body is its bytes
	// (regionalclient.HeaderCopySource; docs/copy.md, "Regions").
	remote *regionalclient.CopySource
}

// copySourceOf is the source of a copy: read by the edge from another
// region (the link header, honoured only on the edge listener), else
// resolved here (resolveCopySource).
func (g *Gateway) copySourceOf(req *request) (copySource, error) {
	v := req.r.Header.Get(regionalclient.HeaderCopySource)
	if _, fromEdge := edgeFrom(req.r); !fromEdge || v == "" {
		return g.resolveCopySource(req)
	}
	rc, err := regionalclient.DecodeCopySource(v)
	if err != nil {
		return copySource{}, s3err.WithMessage(s3err.InvalidRequest, "Malformed "+regionalclient.HeaderCopySource+" header from the edge.")
	}
	cs, err := s3api.ParseCopySource(req.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return copySource{}, err
	}
	if cs.Bucket != rc.Bucket || cs.Key != rc.Key || rc.Region == g.cfg.Region {
		return copySource{}, s3err.WithMessage(s3err.InvalidRequest, "The edge's copy source does not match x-amz-copy-source.")
	}
	src := copySource{key: rc.Key, named: cs.Versioned, remote: &rc}
	src.bucket = bucketsvc.Bucket{Name: rc.Bucket, Region: rc.Region}
	if rc.VersionID != "" {
		src.bucket.Versioning = bucketsvc.VersioningEnabled // the source answered a version id
	}
	src.v = metapb.ObjectVersion{Key: rc.Key, Size: rc.Size, ETag: rc.ETag, Created: rc.Modified,
		ContentType: rc.ContentType, Headers: rc.Headers, UserMeta: rc.UserMeta}
	if rc.VersionID == metapb.NullVersion {
		src.v.Null = true
	} else {
		src.v.Ver = rc.VersionID
	}
	return src, nil
}

// remoteBody is the request body of a cross-region copy: exactly the
// bytes the edge read from the source region (the edge link's body rule:
// complete only when the stream ended cleanly).
func (g *Gateway) remoteBody(req *request, src copySource) (commit.Body, error) {
	bi, err := g.openBody(req, s3api.MaxCopySource)
	if err != nil {
		return commit.Body{}, err
	}
	if bi.size != src.remote.Length {
		return commit.Body{}, s3err.WithMessage(s3err.InvalidRequest, "The edge's copy source length does not match its body.")
	}
	return bi.commitBody(req), nil
}

// resolveCopySource parses x-amz-copy-source and reads the one version it
// names. The caller must be allowed to read the source (s3:GetObject, or
// s3:GetObjectVersion for a named version), which must be homed in this
// region.
func (g *Gateway) resolveCopySource(req *request) (copySource, error) {
	ctx := req.r.Context()
	cs, err := s3api.ParseCopySource(req.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return copySource{}, err
	}
	if err := bucketsvc.ValidateBucketName(cs.Bucket); err != nil {
		return copySource{}, s3err.New(s3err.InvalidBucketName).With("BucketName", cs.Bucket)
	}
	if err := s3api.ValidateKey(cs.Key); err != nil {
		if errors.Is(err, s3api.ErrKeyTooLong) {
			return copySource{}, s3err.New(s3err.KeyTooLongError).With("Size", fmt.Sprint(len(cs.Key))).With("MaxSizeAllowed", "1024")
		}
		return copySource{}, s3err.WithMessage(s3err.InvalidArgument, "Object key is not valid UTF-8")
	}
	b, err := g.cfg.Catalog.GetBucket(ctx, cs.Bucket)
	if err != nil {
		if errors.Is(err, bucketsvc.ErrNoSuchBucket) {
			return copySource{}, s3err.New(s3err.NoSuchBucket).With("BucketName", cs.Bucket)
		}
		return copySource{}, err
	}
	srcAction := s3authz.ActionGetObject
	if cs.Versioned {
		srcAction = s3authz.ActionGetObjectVersion
	}
	if err := g.allow(req, b, srcAction, cs.Key); err != nil {
		return copySource{}, err
	}
	if b.Region != g.cfg.Region {
		// Through an edge, the edge reads such a source in its home region
		// and sends its bytes (copySourceOf); a request straight to this
		// listener has no way to read it. Refused, never wrong bytes.
		return copySource{}, s3err.WithMessage(s3err.NotImplemented,
			"Copying from a bucket homed in another region ("+b.Region+") into one homed in "+g.cfg.Region+" is served through an edge, not by a regional listener directly; copy through an edge or a client (GET, then PUT).").
			With("Header", "x-amz-copy-source")
	}
	versioned := b.Versioning != bucketsvc.VersioningOff
	if cs.Versioned {
		if err := s3api.CheckVersionID(cs.VersionID, true, versioned, metapb.ValidVersionID); err != nil {
			return copySource{}, err
		}
	}
	src := copySource{bucket: b, key: cs.Key, named: cs.Versioned && versioned}
	mb := b.MetaKey()
	if !src.named {
		v, err := g.cfg.Meta.Latest(ctx, mb, cs.Key)
		if errors.Is(err, metaclient.ErrNotFound) || (err == nil && v.IsDeleteMarker()) {
			return src, s3err.New(s3err.NoSuchKey).With("Key", cs.Key)
		}
		src.v = v
		return src, err
	}
	v, err := g.cfg.Meta.GetVer(ctx, mb, cs.Key, cs.VersionID)
	if errors.Is(err, metaclient.ErrNotFound) {
		return src, s3err.New(s3err.NoSuchVersion).With("Key", cs.Key).With("VersionId", cs.VersionID)
	}
	if err != nil {
		return src, err
	}
	if v.IsDeleteMarker() {
		return src, s3api.ErrCopyFromDeleteMarker()
	}
	src.v = v
	return src, nil
}

// copySourceKey is the key that opens the copy source (checked against the
// x-amz-copy-source-server-side-encryption-customer-* headers). A source in
// another region was read — and its key checked — there, by the edge.
func (g *Gateway) copySourceKey(req *request, src copySource) ([]byte, error) {
	if src.remote != nil {
		return nil, nil
	}
	key, _, err := g.objectKey(req, src.v.SSE, prefixCopySSEC)
	return key, err
}

// setCopySourceVersion sends x-amz-copy-source-version-id when the source
// bucket has versioning (enabled or suspended), as S3.
func setCopySourceVersion(h http.Header, src copySource) {
	if src.bucket.Versioning != bucketsvc.VersioningOff && (src.v.Ver != "" || src.v.Null) {
		h.Set("x-amz-copy-source-version-id", src.v.S3VersionID())
	}
}

// errCopySourceRead: the source's shards could not be read to the end
// (too few reachable, or reclaimed after a concurrent overwrite). Nothing
// was stored; a retry reads the version that is current then.
func errCopySourceRead() error {
	return s3err.WithMessage(s3err.ServiceUnavailable, "The copy source could not be read to its end (not enough of its shards are reachable, or it was overwritten and reclaimed during the copy); nothing was stored. Please retry.")
}

// copyStream is the decoded bytes of one source version's range, read by
// an owned goroutine into a pipe (never buffered whole) and hashed as the
// commit coordinator reads them.
type copyStream struct {
	pr   *io.PipeReader
	md5  hash.Hash
	size int64
	n    int64
	done chan struct{}
	err  error // the read's error; valid once done is closed
}

// errCopyFinished stops the source read when the writer is done with it.
var errCopyFinished = errors.New("regional: copy finished")

// openCopy starts streaming [off, off+length) of v. The caller must call
// close, which stops and waits for the reading goroutine.
func (g *Gateway) openCopy(ctx context.Context, v *metapb.ObjectVersion, key []byte, off, length int64) *copyStream {
	pr, pw := io.Pipe()
	c := &copyStream{pr: pr, md5: md5.New(), size: length, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		err := g.readObject(ctx, v, key, off, length, pw) // sse.go: decrypts an encrypted source
		c.err = err
		_ = pw.CloseWithError(err) // nil: EOF
	}()
	return c
}

func (c *copyStream) Read(p []byte) (int, error) {
	n, err := c.pr.Read(p)
	c.md5.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// close stops the source read (if still running) and waits for it.
func (c *copyStream) close() {
	if c.pr == nil {
		return // never started
	}
	_ = c.pr.CloseWithError(errCopyFinished)
	<-c.done
}

// failed reports whether the source read failed (after close).
func (c *copyStream) failed() bool {
	return c.err != nil && !errors.Is(c.err, errCopyFinished) && !errors.Is(c.err, io.ErrClosedPipe)
}

// commitBody is the stream as the commit coordinator's Body. checksums are
// carried to the new record (the same bytes, so the same values).
func (c *copyStream) commitBody(checksums map[string]string) commit.Body {
	return commit.Body{
		Size:   c.size,
		Reader: c,
		Finish: func() error {
			var one [1]byte
			k, err := io.ReadFull(c, one[:])
			if k > 0 {
				return errors.New("regional: copy source longer than its recorded size")
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			<-c.done
			if c.err != nil {
				return c.err
			}
			if c.n != c.size {
				return fmt.Errorf("regional: copy source gave %d bytes, want %d", c.n, c.size)
			}
			return nil
		},
		ETag:      func() string { return hex.EncodeToString(c.md5.Sum(nil)) },
		Checksums: func() map[string]string { return checksums },
	}
}

// wholeObjectChecksums are the source's checksums a copy of all its bytes
// keeps: full-object values only (a composite "<b64>-<n>" checksum of a
// multipart source describes its parts, which the copy does not have).
func wholeObjectChecksums(v metapb.ObjectVersion) map[string]string {
	if v.ChecksumType == metapb.ChecksumComposite {
		return nil
	}
	var out map[string]string
	for alg, val := range v.Checksums {
		if strings.Contains(val, "-") {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[alg] = val
	}
	return out
}

// copyObject serves CopyObject: PUT with x-amz-copy-source, through the
// commit coordinator like a PutObject whose body is the source version.
func (g *Gateway) copyObject(req *request) error {
	ctx := req.r.Context()
	h := req.r.Header
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if err := s3api.CheckUnsupportedHeaders(h, s3api.ScopeObjectWrite); err != nil {
		return err
	}
	// The copy's lock comes from the request (or the bucket default), never
	// from the source, as in S3 (objectlock.go).
	locks, err := g.objectLockHeaders(req, b)
	if err != nil {
		return err
	}
	mdir, err := s3api.ParseDirective(h, "x-amz-metadata-directive")
	if err != nil {
		return err
	}
	// COPY keeps the source's tags; REPLACE takes x-amz-tagging's
	// (tagging.go; none: the copy is untagged).
	tdir, err := s3api.ParseDirective(h, "x-amz-tagging-directive")
	if err != nil {
		return err
	}
	newTags, err := requestTags(req.r)
	if err != nil {
		return err
	}
	enc, err := g.writeEncryption(req, b) // sse.go: the destination's encryption
	if err != nil {
		return err
	}
	// The copy's ACL is the request's (default: private), never the
	// source's, as S3 (acl.go).
	owner, acl, err := g.writeACL(req, b)
	if err != nil {
		return err
	}
	src, err := g.copySourceOf(req)
	if err != nil {
		return err
	}
	srcKey, err := g.copySourceKey(req, src)
	if err != nil {
		return err
	}
	if err := s3api.CheckCopySourceConditions(h, src.v.ETag, src.v.Created, time.Now()); err != nil {
		return err
	}
	if src.v.Size > s3api.MaxCopySource {
		return s3api.ErrCopySourceTooLarge()
	}
	// Copy onto itself: allowed when it changes the metadata or the
	// encryption (S3's rule).
	if src.bucket.Name == b.Name && src.key == req.key && mdir == s3api.DirectiveCopy && !src.named && !namesEncryption(h) {
		return s3api.ErrCopyToItself()
	}
	ctype, hdrs, meta := src.v.ContentType, src.v.Headers, src.v.UserMeta
	if mdir == s3api.DirectiveReplace {
		if ctype, hdrs, meta, err = objectHeaders(req.r); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	v := metapb.ObjectVersion{
		Format:      metapb.FormatV1,
		Bucket:      req.mb,
		Key:         req.key,
		VersionID:   newVersionID(now),
		Token:       idempotencyToken(req.r),
		Size:        src.v.Size,
		ContentType: ctype,
		Headers:     hdrs,
		UserMeta:    meta,
		Owner:       owner,
		Created:     now,
		Scheme:      g.cfg.Data.Scheme(),
		ACL:         acl,
	}
	if tdir == s3api.DirectiveReplace {
		v.Tags = newTags
	}
	if tdir == s3api.DirectiveCopy && len(src.v.Tags) > 0 {
		v.Tags = maps.Clone(src.v.Tags)
	}
	v.Lock = lockRecord(b, locks, now, true)
	var cb commit.Body
	body := &copyStream{} // not started: a cross-region copy's body is the request's
	if src.remote != nil {
		if src.remote.Offset != 0 || src.remote.Length != src.v.Size {
			return s3err.WithMessage(s3err.InvalidRequest, "The edge's copy source is not the whole object.")
		}
		if cb, err = g.remoteBody(req, src); err != nil {
			return err
		}
	} else {
		body = g.openCopy(ctx, &src.v, srcKey, 0, src.v.Size)
		defer body.close()
		cb = body.commitBody(wholeObjectChecksums(src.v))
	}
	if alg, _, err := uploadChecksum(req.r); err != nil { // checksum.go: x-amz-checksum-algorithm
		return err
	} else if alg != "" {
		// The copy gets the checksum the request asks for, computed over
		// the bytes as they are stored (S3: the destination's algorithm).
		cb.Checksums = func() map[string]string { return nil }
		cb = withServerChecksum(cb, alg)
	}
	if enc != nil {
		var iv []byte
		if cb, iv, err = enc.encryptBody(cb); err != nil {
			return err
		}
		v.SSE = withIV(enc.enc, iv)
	}
	v.Replication = replicationStatus(b, v.Key, v.Tags, v.SSE) // replicate.go
	res, err := g.commit.Write(ctx, commit.Target{
		Object: &v,
		// Conditional copy: If-Match / If-None-Match name the destination,
		// evaluated by metasvc in the apply that commits, as for PutObject.
		IfMatch:     s3api.UnquoteETag(h.Get("If-Match")),
		IfNoneMatch: s3api.UnquoteETag(h.Get("If-None-Match")),
		Versioning:  versioningOf(b),
		Log:         req.log,
	}, cb)
	if err != nil {
		body.close()
		if body.failed() {
			req.log.Warn("copy source read failed", "err", body.err, "source_bucket", src.bucket.Name, "source_key", src.key)
			return errCopySourceRead()
		}
		return err
	}
	g.setExpiration(req.w, b, *res.Version) // lifecycle.go
	setVersionHeader(req.w.Header(), b, res.Version)
	setCopySourceVersion(req.w.Header(), src)
	if enc != nil {
		setSSEHeaders(req.w.Header(), enc.enc, enc.keyMD5)
	}
	return writeXML(req, http.StatusOK, s3api.CopyObjectResult{
		XMLNS: s3api.XMLNS, ETag: s3api.QuoteETag(res.ETag), LastModified: s3api.ISOTime(res.Version.Created),
		CopyChecksums: s3api.CopyChecksumsOf(res.Checksums),
	})
}

// uploadPartCopy serves UploadPartCopy: a part whose bytes are a range of
// the source version, committed through the same part path as UploadPart
// (so CompleteMultipartUpload treats it like any other part).
func (g *Gateway) uploadPartCopy(req *request) error {
	ctx := req.r.Context()
	h := req.r.Header
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	if err := s3api.CheckUnsupportedHeaders(h, s3api.ScopePartWrite); err != nil {
		return err
	}
	q := req.r.URL.Query()
	n, err := partNumberParam(q)
	if err != nil {
		return err
	}
	uploadID := q.Get("uploadId")
	u, err := g.cfg.Meta.GetUpload(ctx, req.mb, req.key, uploadID)
	if err != nil {
		return err
	}
	enc, err := g.uploadKey(req, &u) // sse.go: the upload's key
	if err != nil {
		return err
	}
	src, err := g.copySourceOf(req)
	if err != nil {
		return err
	}
	srcKey, err := g.copySourceKey(req, src)
	if err != nil {
		return err
	}
	if err := s3api.CheckCopySourceConditions(h, src.v.ETag, src.v.Created, time.Now()); err != nil {
		return err
	}
	var rng s3api.Range
	if src.remote != nil {
		rng = s3api.Range{Start: src.remote.Offset, Length: src.remote.Length} // the edge applied the range
	} else {
		var ranged bool
		if rng, ranged, err = s3api.ParseCopySourceRange(h.Get("x-amz-copy-source-range"), src.v.Size); err != nil {
			return err
		}
		if !ranged {
			rng = s3api.Range{Start: 0, Length: src.v.Size}
		}
	}
	if rng.Length > s3api.MaxCopySource {
		return s3api.ErrCopySourceTooLarge()
	}
	var checksums map[string]string
	if rng.Start == 0 && rng.Length == src.v.Size {
		checksums = wholeObjectChecksums(src.v)
	}
	p := metapb.Part{
		Format: metapb.FormatV1, Bucket: req.mb, Key: req.key, UploadID: uploadID,
		Number: n, Attempt: randomHex(6), Size: rng.Length, Created: time.Now().UTC(),
	}
	var cb commit.Body
	body := &copyStream{} // not started: a cross-region copy's body is the request's
	if src.remote != nil {
		if cb, err = g.remoteBody(req, src); err != nil {
			return err
		}
	} else {
		body = g.openCopy(ctx, &src.v, srcKey, rng.Start, rng.Length)
		defer body.close()
		cb = body.commitBody(checksums)
	}
	if u.Checksum != "" {
		// Every part of an upload with an algorithm carries its checksum
		// (checksum.go), copied parts too: Complete combines them.
		cb = withServerChecksum(cb, s3checksum.Algorithm(u.Checksum))
	}
	if enc != nil {
		if cb, p.SSEIV, err = enc.encryptBody(cb); err != nil {
			return err
		}
	}
	res, err := g.commit.Write(ctx, commit.Target{Part: &p, Log: req.log}, cb)
	if err != nil {
		body.close()
		if body.failed() {
			req.log.Warn("copy source read failed", "err", body.err, "source_bucket", src.bucket.Name, "source_key", src.key)
			return errCopySourceRead()
		}
		return err
	}
	created := p.Created
	if res.Part != nil && !res.Part.Created.IsZero() {
		created = res.Part.Created
	}
	setCopySourceVersion(req.w.Header(), src)
	if enc != nil {
		setSSEHeaders(req.w.Header(), enc.enc, enc.keyMD5)
	}
	return writeXML(req, http.StatusOK, s3api.CopyPartResult{
		XMLNS: s3api.XMLNS, ETag: s3api.QuoteETag(res.ETag), LastModified: s3api.ISOTime(created),
		CopyChecksums: s3api.CopyChecksumsOf(res.Checksums),
	})
}

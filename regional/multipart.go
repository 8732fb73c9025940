package regional

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3lock"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/commit"
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (g *Gateway) createMultipartUpload(req *request) error {
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
	alg, ckType, err := uploadChecksum(req.r) // checksum.go
	if err != nil {
		return err
	}
	enc, err := g.writeEncryption(req, b) // sse.go: every part is encrypted with its key
	if err != nil {
		return err
	}
	owner, acl, err := g.writeACL(req, b) // acl.go
	if err != nil {
		return err
	}
	locks, err := g.objectLockHeaders(req, b) // objectlock.go: the default retention applies at Complete
	if err != nil {
		return err
	}
	u := metapb.Upload{
		Format: metapb.FormatV1, Bucket: req.mb, Key: req.key,
		UploadID:    randomHex(16),
		Token:       idempotencyToken(req.r),
		ContentType: ctype, Headers: hdrs, UserMeta: meta,
		Checksum:     string(alg),
		ChecksumType: ckType,
		Tags:         tags,
		ACL:          acl,
		Owner:        owner,
		Initiated:    time.Now().UTC(),
		Scheme:       g.cfg.Data.Scheme(),
		Lock:         lockRecord(b, locks, time.Time{}, false),
	}
	if enc != nil {
		u.SSE = enc.enc
	}
	res, err := g.cfg.Meta.CreateUpload(req.r.Context(), u)
	if err != nil {
		return err
	}
	if res.Upload != nil {
		u = *res.Upload
	}
	setUploadChecksumHeaders(req.w.Header(), &u)
	if enc != nil {
		setSSEHeaders(req.w.Header(), u.SSE, enc.keyMD5)
	}
	return writeXML(req, http.StatusOK, s3api.InitiateMultipartUploadResult{XMLNS: s3api.XMLNS, Bucket: req.bucket, Key: req.key, UploadID: u.UploadID})
}

func partNumberParam(q map[string][]string) (int, error) {
	vals := q["partNumber"]
	if len(vals) == 0 {
		return 0, s3err.WithMessage(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive").With("ArgumentName", "partNumber")
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || n < 1 || n > metapb.MaxParts {
		return 0, s3err.WithMessage(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive").With("ArgumentName", "partNumber").With("ArgumentValue", vals[0])
	}
	return n, nil
}

func (g *Gateway) uploadPart(req *request) error {
	ctx := req.r.Context()
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	if err := s3api.CheckUnsupportedHeaders(req.r.Header, s3api.ScopePartWrite); err != nil {
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
	enc, err := g.uploadKey(req, &u) // sse.go
	if err != nil {
		return err
	}
	bi, err := g.openBody(req, s3api.MaxPartSize)
	if err != nil {
		return err
	}
	attempt := randomHex(6)
	p := metapb.Part{
		Format: metapb.FormatV1, Bucket: req.mb, Key: req.key, UploadID: uploadID,
		Number: n, Attempt: attempt, Size: bi.size, Created: time.Now().UTC(),
	}
	body := bi.commitBody(req)
	if u.Checksum != "" {
		// Every part of an upload with an algorithm carries its checksum
		// (checksum.go): Complete combines them.
		body = withServerChecksum(body, s3checksum.Algorithm(u.Checksum))
	}
	if enc != nil {
		// After the checksum: checksums are over the plaintext.
		if body, p.SSEIV, err = enc.encryptBody(body); err != nil {
			return err
		}
	}
	res, err := g.commit.Write(ctx, commit.Target{Part: &p, Log: req.log}, body)
	if err != nil {
		return err
	}
	if enc != nil {
		setSSEHeaders(req.w.Header(), enc.enc, enc.keyMD5)
	}
	writeStored(req.w, res.ETag, res.Checksums)
	return nil
}

const maxCompleteBody = 4 << 20

func (g *Gateway) completeMultipartUpload(req *request) error {
	ctx := req.r.Context()
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if err := s3api.CheckUnsupportedHeaders(req.r.Header, s3api.ScopePartWrite); err != nil {
		return err
	}
	uploadID := req.r.URL.Query().Get("uploadId")
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, maxCompleteBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxCompleteBody {
		return s3err.New(s3err.MalformedXML)
	}
	c, err := s3api.ParseCompleteMultipartUpload(body, metapb.MaxParts)
	if err != nil {
		return err
	}
	claimed, err := completeChecksums(req.r) // checksum.go
	if err != nil {
		return err
	}
	parts := make([]metapb.CompletePart, len(c.Parts))
	for i, p := range c.Parts {
		parts[i] = metapb.CompletePart{Number: p.PartNumber, ETag: s3api.UnquoteETag(p.ETag), Checksums: p.Checksums()}
	}
	// The upload's tags (x-amz-tagging at create) decide whether a
	// replication rule with a tag filter selects the object.
	var upTags map[string]string
	var upSSE *metapb.Encryption // an SSE-KMS object is selected by fewer rules
	if b.Replication != nil {
		if u, err := g.cfg.Meta.GetUpload(ctx, req.mb, req.key, uploadID); err == nil {
			upTags, upSSE = u.Tags, u.SSE
		}
	}
	created := time.Now().UTC()
	v, err := g.commit.Complete(ctx, metapb.CompleteUploadRequest{
		Bucket: req.mb, Key: req.key, UploadID: uploadID,
		VersionID: newVersionID(created), Token: idempotencyToken(req.r),
		Parts: parts, Created: created, Checksums: claimed,
		// Evaluated by metasvc in the apply that completes (404 NoSuchKey /
		// 412 PreconditionFailed; the upload stays as it was).
		IfMatch:     req.r.Header.Get("If-Match"),
		IfNoneMatch: req.r.Header.Get("If-None-Match"),
		Versioning:  versioningOf(b),
		Replication: replicationStatus(b, req.key, upTags, upSSE),    // replicate.go
		DefaultLock: lockRecord(b, s3lock.Settings{}, created, true), // objectlock.go
	})
	if errors.Is(err, metaclient.ErrBadRequest) {
		// The parts cannot make the upload's checksum (a part without the
		// upload's algorithm): the request is refused, not a server fault.
		msg := "The upload's parts cannot be completed as requested."
		var re *metaclient.ResultError
		if errors.As(err, &re) && re.Msg != "" {
			msg = re.Msg
		}
		return s3err.WithMessage(s3err.InvalidRequest, msg)
	}
	if err != nil {
		return err
	}
	g.setExpiration(req.w, b, v) // lifecycle.go
	setVersionHeader(req.w.Header(), b, &v)
	setSSEHeaders(req.w.Header(), v.SSE, "") // sse.go
	res := s3api.CompleteMultipartUploadResult{
		XMLNS: s3api.XMLNS, Location: "/" + req.bucket + "/" + req.key,
		Bucket: req.bucket, Key: req.key, ETag: s3api.QuoteETag(v.ETag),
	}
	if len(v.Checksums) > 0 {
		res.ChecksumElements = s3api.ChecksumElementsOf(v.Checksums)
		res.ChecksumType = checksumType(&v)
	}
	return writeXML(req, http.StatusOK, res)
}

func (g *Gateway) abortMultipartUpload(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	if _, err := g.cfg.Meta.AbortUpload(req.r.Context(), metapb.AbortUploadRequest{
		Bucket: req.mb, Key: req.key, UploadID: req.r.URL.Query().Get("uploadId"), Token: idempotencyToken(req.r),
	}); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (g *Gateway) listParts(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	q := req.r.URL.Query()
	maxParts, err := maxKeysParam(q, "max-parts")
	if err != nil {
		return err
	}
	marker := 0
	if v := q.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return s3err.WithMessage(s3err.InvalidArgument, "Provided part-number-marker not an integer or within integer range").With("ArgumentName", "part-number-marker")
		}
	}
	uploadID := q.Get("uploadId")
	resp, err := g.cfg.Meta.ListParts(req.r.Context(), metapb.ListPartsRequest{
		Bucket: req.mb, Key: req.key, UploadID: uploadID, PartNumberMarker: marker, MaxParts: maxParts,
	})
	if err != nil {
		return err
	}
	owner := s3api.Owner{ID: resp.Upload.Owner}
	res := s3api.ListPartsResult{
		XMLNS: s3api.XMLNS, Bucket: req.bucket, Key: req.key, UploadID: uploadID,
		Initiator: owner, Owner: owner, StorageClass: "STANDARD",
		PartNumberMarker: marker, MaxParts: maxParts, IsTruncated: resp.Truncated,
		ChecksumAlgorithm: resp.Upload.Checksum, ChecksumType: resp.Upload.ChecksumType,
	}
	for _, p := range resp.Parts {
		res.Parts = append(res.Parts, s3api.PartItem{PartNumber: p.Number, LastModified: s3api.ISOTime(p.Created), ETag: s3api.QuoteETag(p.ETag), Size: p.Size,
			ChecksumElements: s3api.ChecksumElementsOf(p.Checksums)})
	}
	if len(res.Parts) > 0 {
		res.NextPartNumberMarker = res.Parts[len(res.Parts)-1].PartNumber
	}
	return writeXML(req, http.StatusOK, res)
}

func (g *Gateway) listMultipartUploads(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	q := req.r.URL.Query()
	maxUploads, err := maxKeysParam(q, "max-uploads")
	if err != nil {
		return err
	}
	enc, err := encodingParam(q)
	if err != nil {
		return err
	}
	lr := metapb.ListUploadsRequest{
		Bucket: req.mb, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: maxUploads,
	}
	resp := metapb.ListUploadsResponse{}
	if maxUploads > 0 {
		if resp, err = g.cfg.Meta.ListUploads(req.r.Context(), lr); err != nil {
			return err
		}
	}
	res := s3api.ListMultipartUploadsResult{
		XMLNS: s3api.XMLNS, Bucket: req.bucket, KeyMarker: encodeName(lr.KeyMarker, enc), UploadIDMarker: lr.UploadIDMarker,
		Delimiter: encodeName(lr.Delimiter, enc), Prefix: encodeName(lr.Prefix, enc), MaxUploads: maxUploads, IsTruncated: resp.Truncated,
	}
	if enc {
		res.EncodingType = "url"
	}
	for _, u := range resp.Uploads {
		o := s3api.Owner{ID: u.Owner}
		res.Uploads = append(res.Uploads, s3api.UploadItem{Key: encodeName(u.Key, enc), UploadID: u.UploadID, Initiator: o, Owner: o, StorageClass: "STANDARD", Initiated: s3api.ISOTime(u.Initiated)})
	}
	for _, p := range resp.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, s3api.CommonPrefix{Prefix: encodeName(p, enc)})
	}
	if resp.Truncated && len(resp.Uploads) > 0 {
		last := resp.Uploads[len(resp.Uploads)-1]
		res.NextKeyMarker, res.NextUploadIDMarker = encodeName(last.Key, enc), last.UploadID
	}
	return writeXML(req, http.StatusOK, res)
}

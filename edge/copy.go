package edge

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3route"
	"github.com/meridian-s3/meridian/internal/telemetry"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// Cross-region CopyObject and UploadPartCopy (docs/copy.md, "Regions").
// The destination region commits the copy, as for every copy; when the
// source bucket is homed in another region, the edge — which holds a link
// to every region and speaks for the caller — reads the source from its
// home region with one GET (so one version; the source region checks that
// the caller owns the source bucket) and streams it to the destination
// region as the copy's body, described by regionalclient.HeaderCopySource.

// copiedHeaders are the stored content headers a copy carries.
var copiedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// crossRegionSource reads the source of a copy whose source bucket is homed
// in another region than dest. It answers (nil, "", nil) when the copy is
// not cross-region (or its source header does not parse: the destination
// region answers that); else the open source response, whose body is the
// bytes to copy, and the HeaderCopySource value.
func (s *Server) crossRegionSource(req *request, dest bucketsvc.Bucket) (*http.Response, string, error) {
	if req.op != s3route.CopyObject && req.op != s3route.UploadPartCopy {
		return nil, "", nil
	}
	r := req.r
	cs, err := s3api.ParseCopySource(r.Header.Get("x-amz-copy-source"))
	if err != nil || bucketsvc.ValidateBucketName(cs.Bucket) != nil {
		return nil, "", nil
	}
	ctx := r.Context()
	src, err := s.buckets.Get(ctx, cs.Bucket)
	if err != nil {
		if errors.Is(err, bucketsvc.ErrNoSuchBucket) {
			return nil, "", s3err.New(s3err.NoSuchBucket).With("BucketName", cs.Bucket)
		}
		return nil, "", err
	}
	if src.Region == dest.Region {
		return nil, "", nil
	}
	rangeHdr := ""
	if req.op == s3route.UploadPartCopy {
		// The syntax first (the size is checked against the answer).
		v := r.Header.Get("x-amz-copy-source-range")
		if _, _, err := s3api.ParseCopySourceRange(v, math.MaxInt64); err != nil {
			return nil, "", err
		}
		rangeHdr = v
	}
	// The client's own (empty) body still passes the verifier first.
	if _, err := readSmallBody(req, 0); err != nil {
		return nil, "", err
	}
	out, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return nil, "", err
	}
	u := &url.URL{Path: "/" + cs.Bucket + "/" + cs.Key}
	out.URL = &url.URL{Path: u.Path, RawPath: u.EscapedPath()}
	if cs.Versioned {
		out.URL.RawQuery = url.Values{"versionId": {cs.VersionID}}.Encode()
	}
	out.Header = http.Header{}
	if rangeHdr != "" {
		out.Header.Set("Range", rangeHdr)
	}
	// An SSE-C source is read with the key the client gave for it
	// (docs/sse.md, "Copies").
	for _, part := range []string{"Algorithm", "Key", "Key-Md5"} {
		if v, ok := r.Header["X-Amz-Copy-Source-Server-Side-Encryption-Customer-"+part]; ok {
			out.Header["X-Amz-Server-Side-Encryption-Customer-"+part] = v
		}
	}
	s.linkHeaders(req, out.Header, nil)
	telemetry.Inject(ctx, out.Header)
	resp, err := s.link.Do(out, src.Region)
	if err != nil {
		req.log.Warn("copy source region unreachable", "source_region", src.Region, "err", err)
		return nil, "", s3err.WithMessage(s3err.ServiceUnavailable, "The copy source's home region could not be reached.")
	}
	info, err := copySourceInfo(resp, cs, src.Region, rangeHdr)
	if err != nil {
		_ = resp.Body.Close()
		if rangeHdr != "" && s3err.As(err).Code == s3err.InvalidRange {
			e := s3err.As(err)
			return nil, "", e.With("RangeRequested", r.Header.Get("x-amz-copy-source-range"))
		}
		return nil, "", err
	}
	req.log.Debug("cross-region copy source", "source_region", src.Region, "bytes", info.Length)
	return resp, info.Encode(), nil
}

// copySourceInfo reads the answer of the source GET: an S3 error for the
// copy, or what the body is.
func copySourceInfo(resp *http.Response, cs s3api.CopySource, region, rangeHdr string) (regionalclient.CopySource, error) {
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent:
	case http.StatusRequestedRangeNotSatisfiable:
		return regionalclient.CopySource{}, s3err.New(s3err.InvalidRange)
	case http.StatusMethodNotAllowed:
		// GET of a version id that names a delete marker.
		return regionalclient.CopySource{}, s3api.ErrCopyFromDeleteMarker()
	default:
		return regionalclient.CopySource{}, sourceError(resp)
	}
	h := resp.Header
	info := regionalclient.CopySource{Region: region, Bucket: cs.Bucket, Key: cs.Key, VersionID: h.Get("x-amz-version-id"),
		ETag: s3api.UnquoteETag(h.Get("ETag")), ContentType: h.Get("Content-Type")}
	if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		info.Modified = t
	}
	info.Length = resp.ContentLength
	info.Size = resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		// "bytes first-last/size"
		var first, last, size int64
		if _, err := fmt.Sscanf(h.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &size); err != nil {
			return info, fmt.Errorf("edge: copy source answered Content-Range %q", h.Get("Content-Range"))
		}
		info.Offset, info.Size = first, size
		if info.Length != last-first+1 {
			return info, fmt.Errorf("edge: copy source answered %d bytes for %q", info.Length, h.Get("Content-Range"))
		}
	}
	if info.Length < 0 {
		return info, errors.New("edge: copy source answered without a length")
	}
	if rangeHdr != "" {
		// S3 refuses a copy range reaching past the source; HTTP would have
		// served the bytes up to the end.
		if _, _, err := s3api.ParseCopySourceRange(rangeHdr, info.Size); err != nil {
			return info, err
		}
	}
	for _, k := range copiedHeaders {
		if v := h.Get(k); v != "" {
			if info.Headers == nil {
				info.Headers = map[string]string{}
			}
			info.Headers[k] = v
		}
	}
	for k, v := range h {
		if m, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok && len(v) > 0 {
			if info.UserMeta == nil {
				info.UserMeta = map[string]string{}
			}
			info.UserMeta[m] = v[0]
		}
	}
	return info, nil
}

// sourceError turns the source region's error answer into the copy's.
func sourceError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorPeek))
	var e struct {
		Code, Message, Key, VersionId, BucketName string
	}
	if xml.Unmarshal(body, &e) != nil || e.Code == "" {
		return s3err.WithMessage(s3err.ServiceUnavailable, "The copy source's home region answered "+strconv.Itoa(resp.StatusCode)+".")
	}
	out := &s3err.Error{Code: s3err.Code(e.Code), Message: e.Message, Status: resp.StatusCode}
	for _, f := range []struct{ name, v string }{{"Key", e.Key}, {"VersionId", e.VersionId}, {"BucketName", e.BucketName}} {
		if f.v != "" {
			out.With(f.name, f.v)
		}
	}
	return out
}

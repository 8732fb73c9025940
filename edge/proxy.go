package edge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/sigv4"
	"github.com/meridian-s3/meridian/internal/telemetry"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// hopHeaders are not forwarded in either direction (RFC 9110 7.6.1) or
// describe the client's encoding of the body, which the edge decoded.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length"}

var requestOnlyStrip = []string{"Authorization", "X-Amz-Content-Sha256", "X-Amz-Decoded-Content-Length",
	"X-Amz-Trailer", "Expect"}

// idempotencyHeader is a client header that happens to share the link's prefix.
const idempotencyHeader = "X-Meridian-Idempotency-Key"

// linkHeaders writes the trusted headers of the edge link.
func (s *Server) linkHeaders(req *request, h http.Header, algs []string) {
	h.Set(regionalclient.HeaderPrincipal, req.principal)
	if req.formPost {
		h.Set(regionalclient.HeaderFormPost, "1")
	}
	h.Set(regionalclient.HeaderAccessKey, req.auth.AccessKeyID)
	h.Set(regionalclient.HeaderRequestID, req.id)
	h.Set(regionalclient.HeaderSigningRegion, req.auth.Region)
	if req.r.TLS != nil {
		h.Set(regionalclient.HeaderClientTLS, "1")
	}
	s.authzHeaders(req, h) // authz.go
	if len(algs) > 0 {
		h.Set(regionalclient.HeaderChecksumAlgorithms, strings.Join(algs, ","))
	}
}

// verifiedAlgorithms lists the checksum algorithms the SigV4 verifier
// checks for r: an x-amz-checksum-<alg> header or a declared trailer.
func verifiedAlgorithms(r *http.Request) []string {
	var out []string
	for k := range r.Header {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, s3checksum.HeaderPrefix) || sigv4.ObjectChecksumHeaders(r) {
			continue
		}
		if a, err := s3checksum.Parse(lk); err == nil {
			out = append(out, string(a))
		}
	}
	if t := r.Header.Get("X-Amz-Trailer"); t != "" {
		for name := range strings.SplitSeq(t, ",") {
			if a, err := s3checksum.Parse(strings.TrimSpace(name)); err == nil {
				out = append(out, string(a))
			}
		}
	}
	return out
}

// forwardBody is the verified body on its way to the region. It records the
// verifier's failure (the http3 client then resets the stream) and can be
// detached so nothing reads the client's body after the handler returns.
type forwardBody struct {
	r        io.Reader
	n        atomic.Int64
	detached atomic.Bool
	mu       sync.Mutex
	err      error
}

var errDetached = errors.New("edge: request finished")

func (b *forwardBody) Read(p []byte) (int, error) {
	if b.detached.Load() {
		return 0, errDetached
	}
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *forwardBody) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// proxy sends the request to the bucket's home region and relays the answer.
func (s *Server) proxy(req *request) error {
	r := req.r
	ctx := r.Context()
	bucket, err := s.buckets.Get(ctx, req.bucket)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPut && req.key != "" {
		// An upload must declare its length (411 otherwise): refused here,
		// before a byte crosses the link.
		if err := s3api.CheckContentLength(r, strings.HasPrefix(req.auth.PayloadMode, "STREAMING-")); err != nil {
			return err
		}
	}
	// A copy from a bucket homed in another region: the edge reads the
	// source there and streams it to the destination region (copy.go).
	copySrc, copyInfo, err := s.crossRegionSource(req, bucket)
	if err != nil {
		return err
	}
	var body *forwardBody
	length := req.auth.DecodedLength
	if length < 0 && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		length = -1 // unknown: streamed as is; the region decides
	}
	switch {
	case copySrc != nil:
		defer copySrc.Body.Close()
		body = &forwardBody{r: copySrc.Body}
		defer body.detached.Store(true)
		length = copySrc.ContentLength
	case length == 0 || r.Body == nil || r.Body == http.NoBody:
		// An empty body still has to pass the verifier (chunk signatures,
		// trailers) before anything reaches the region.
		if _, err := readSmallBody(req, 0); err != nil {
			return err
		}
		length = 0
	default:
		body = &forwardBody{r: req.auth.Body}
		defer body.detached.Store(true)
	}
	algs := verifiedAlgorithms(r)
	for attempt := 0; ; attempt++ {
		out, err := http.NewRequestWithContext(ctx, r.Method, "/", nil)
		if err != nil {
			return err
		}
		out.URL = &url.URL{Path: "/" + req.bucket + "/" + req.key, RawPath: "/" + req.bucket + "/" + escapedKey(s, r), RawQuery: forwardQuery(r.URL.RawQuery)}
		if req.key == "" {
			out.URL.Path, out.URL.RawPath = "/"+req.bucket, ""
		}
		out.Header = forwardHeaders(r.Header)
		s.linkHeaders(req, out.Header, algs)
		if copyInfo != "" {
			out.Header.Set(regionalclient.HeaderCopySource, copyInfo)
		}
		telemetry.Inject(ctx, out.Header) // the edge span is the region's parent
		out.ContentLength = length
		if body != nil {
			out.Body = io.NopCloser(body)
		}
		resp, err := s.link.Do(out, bucket.Region)
		if body != nil {
			if ferr := body.failure(); ferr != nil && copySrc != nil {
				// The copy source's stream broke: the region committed nothing.
				if resp != nil {
					_ = resp.Body.Close()
				}
				req.log.Warn("cross-region copy source read failed", "err", ferr)
				return s3err.WithMessage(s3err.ServiceUnavailable, "The copy source could not be read to its end from its home region; nothing was stored. Please retry.")
			} else if ferr != nil {
				// The verifier rejected the body: the stream was reset, the
				// region committed nothing; answer with the verifier's error.
				if resp != nil {
					_ = resp.Body.Close()
				}
				return ferr
			}
		}
		if err != nil && ctx.Err() != nil {
			// The client went away (or the body deadline passed): not the region's fault.
			return fmt.Errorf("edge: request to %s abandoned: %w (%w)", bucket.Region, ctx.Err(), err)
		}
		if err != nil {
			req.log.Warn("home region unreachable", "home_region", bucket.Region, "err", err)
			return s3err.WithMessage(s3err.ServiceUnavailable, "The bucket's home region could not be reached.")
		}
		stale, head, err := staleBucket(resp)
		if err != nil {
			// The region's error answer was cut off (typically the link
			// stream reset because this edge's own body deadline passed):
			// answer with an S3 error of our own, never a truncated one.
			_ = resp.Body.Close()
			if ctx.Err() != nil || req.body.TimedOut() {
				return fmt.Errorf("edge: answer from %s cut off: %w", bucket.Region, err)
			}
			req.log.Warn("home region's error answer cut off", "home_region", bucket.Region, "err", err)
			return s3err.WithMessage(s3err.ServiceUnavailable, "The bucket's home region could not be reached.")
		}
		if !stale {
			if resp.StatusCode < 300 && changesBucketConfig(req.op) {
				s.buckets.Invalidate(req.bucket) // authz.go
			}
			// staleBucket may have read an error body to look at its code:
			// relay those bytes first.
			s.relayPrefix(req, resp, head)
			return nil
		}
		// The region no longer has the bucket: the cache was stale.
		s.buckets.Invalidate(req.bucket)
		consumed := body != nil && body.n.Load() > 0
		if attempt > 0 || consumed {
			req.log.Info("region answered NoSuchBucket; cache invalidated", "home_region", bucket.Region)
			s.relayPrefix(req, resp, head)
			return nil
		}
		nb, err := s.buckets.Get(ctx, req.bucket)
		if err != nil {
			_ = resp.Body.Close()
			return err
		}
		if nb.Region == bucket.Region && nb.Created.Equal(bucket.Created) {
			req.log.Info("region answered NoSuchBucket for a cataloged bucket", "home_region", bucket.Region)
			s.relayPrefix(req, resp, head)
			return nil
		}
		_ = resp.Body.Close()
		req.log.Info("bucket moved; retrying", "old_region", bucket.Region, "home_region", nb.Region)
		s.metrics.linkRetries.Inc()
		bucket = nb
	}
}

// escapedKey is the key as the client escaped it.
func escapedKey(s *Server, r *http.Request) string {
	p := r.URL.EscapedPath()
	if s.hostBucket(r.Host) != "" {
		return strings.TrimPrefix(p, "/")
	}
	p = strings.TrimPrefix(p, "/")
	_, key, _ := strings.Cut(p, "/")
	return key
}

// forwardQuery drops SigV4's presign parameters, keeping the rest verbatim.
func forwardQuery(raw string) string {
	if !strings.Contains(raw, "X-Amz-") && !strings.Contains(raw, "AWSAccessKeyId") {
		return raw
	}
	var keep []string
	for part := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(part, "=")
		if ku, err := url.QueryUnescape(k); err == nil {
			k = ku
		}
		drop := false
		for _, p := range presignParams {
			if k == p {
				drop = true
			}
		}
		if !drop {
			keep = append(keep, part)
		}
	}
	return strings.Join(keep, "&")
}

func forwardHeaders(in http.Header) http.Header {
	h := in.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	for _, k := range requestOnlyStrip {
		h.Del(k)
	}
	for k := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Meridian-") && http.CanonicalHeaderKey(k) != idempotencyHeader {
			delete(h, k) // a client cannot speak for the edge
		}
	}
	if ce := h.Get("Content-Encoding"); ce != "" {
		var keep []string
		for p := range strings.SplitSeq(ce, ",") {
			if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "aws-chunked") {
				keep = append(keep, p)
			}
		}
		if len(keep) == 0 {
			h.Del("Content-Encoding")
		} else {
			h.Set("Content-Encoding", strings.Join(keep, ","))
		}
	}
	return h
}

const maxErrorPeek = 64 << 10

// staleBucket reports whether resp is an S3 error saying the region does
// not have the bucket (NoSuchBucket, PermanentRedirect). Every error answer
// (status 400 and up, not HEAD) is read first, up to a small bound, and
// returned in head for relaying: an error document is relayed whole or not
// at all (err), so a link cut off after the status line never reaches the
// client as an error status with a truncated body.
func staleBucket(resp *http.Response) (stale bool, head []byte, err error) {
	if resp.StatusCode < 400 && resp.StatusCode != http.StatusMovedPermanently {
		return false, nil, nil
	}
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		return resp.StatusCode == http.StatusNotFound && resp.Header.Get("x-amz-error-code") == "NoSuchBucket", nil, nil
	}
	head, err = io.ReadAll(io.LimitReader(resp.Body, maxErrorPeek))
	if err != nil {
		return false, nil, err
	}
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusMovedPermanently, http.StatusInternalServerError:
		// PermanentRedirect has no registered status in s3err yet (500).
		stale = bytes.Contains(head, []byte("<Code>NoSuchBucket</Code>")) || bytes.Contains(head, []byte("<Code>PermanentRedirect</Code>"))
	}
	return stale, head, nil
}

// relay copies the region's answer to the client, streaming the body.
func (s *Server) relay(req *request, resp *http.Response) { s.relayPrefix(req, resp, nil) }

func (s *Server) relayPrefix(req *request, resp *http.Response, head []byte) {
	defer resp.Body.Close()
	h := req.w.Header()
	for k, v := range resp.Header {
		h[relayName(k)] = v
	}
	for _, k := range hopHeaders {
		if k != "Content-Length" {
			h.Del(k)
		}
	}
	if resp.ContentLength >= 0 && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	h.Set("x-amz-request-id", req.id)
	if !req.body.Done() {
		// The region answered before taking the whole body (an error).
		req.body.PrepareError(h)
	}
	req.w.WriteHeader(resp.StatusCode)
	if req.r.Method == http.MethodHead {
		return
	}
	if len(head) > 0 {
		if _, err := req.w.Write(head); err != nil {
			return
		}
	}
	if err := relayBody(req.w, resp.Body); err != nil {
		req.log.Warn("relaying response body failed", "err", err)
	}
}

// relayName is the name under which a response header of the region is
// sent to the client. HTTP/3 carries names in lower case and the link's
// client canonicalises them ("x-amz-meta-owner" arrives as
// "X-Amz-Meta-Owner"); user-metadata names are stored in lower case, as S3
// stores them, so their suffix goes out in lower case again — clients such
// as boto3 key Metadata by the name as sent.
func relayName(k string) string {
	const metaPrefix = "X-Amz-Meta-"
	if len(k) > len(metaPrefix) && strings.EqualFold(k[:len(metaPrefix)], metaPrefix) {
		return metaPrefix + strings.ToLower(k[len(metaPrefix):])
	}
	return k
}

// relayBufs are relayBody's buffers: one per response being relayed, so
// their memory follows the edge's concurrency.
var relayBufs = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// relayBody copies an HTTP/3 body to the client in writes of at least 64 KiB
// (or the rest). HTTP/3 reads often return a single DATA frame; writing each
// on its own costs a TLS record and a syscall apiece. (io.CopyBuffer would
// not help: the ResponseWriter's ReadFrom ignores the buffer.)
func relayBody(w io.Writer, r io.Reader) error {
	bp := relayBufs.Get().(*[]byte)
	defer relayBufs.Put(bp)
	buf := *bp
	for {
		n, err := 0, error(nil)
		for n < 64<<10 && err == nil {
			var m int
			m, err = r.Read(buf[n:])
			n += m
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err // a truncated or reset body: the client sees a short body
		}
	}
}

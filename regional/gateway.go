package regional

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/sigv4"
	"github.com/meridian-s3/meridian/internal/telemetry"
)

// Gateway is a regional S3 gateway.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	verifier *sigv4.Verifier
	metrics  *metrics
	tracer   trace.Tracer
	hostID   string

	ln   net.Listener
	srv  *http.Server
	edge *edgeServer // HTTP/3 edge listener (edgelink.go); nil when disabled

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	ready     chan struct{}
}

// New builds a gateway and binds its listener.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg:   cfg,
		log:   cfg.Logger.With("part", "regional", "region", cfg.Region),
		stop:  make(chan struct{}),
		ready: make(chan struct{}),
	}
	g.metrics = newMetrics(cfg.Registry, cfg.Data)
	g.tracer = telemetry.Provider(cfg.TracerProvider).Tracer(tracerName)
	var hid [24]byte
	_, _ = rand.Read(hid[:])
	g.hostID = base64.StdEncoding.EncodeToString(hid[:])
	vcfg := sigv4.DefaultVerifierConfig()
	vcfg.Credentials = bucketsvc.SigV4Credentials{Store: cfg.Catalog}
	vcfg.AllowedRegions = []string{cfg.Region}
	v, err := sigv4.NewVerifier(vcfg)
	if err != nil {
		return nil, err
	}
	g.verifier = v
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("regional: listen: %w", err)
	}
	g.ln = ln
	g.srv = &http.Server{
		Handler: g,
		// net/http answers oversize headers with a plain-text 431 before any
		// handler runs; admit more and enforce cfg.MaxHeaderBytes in ServeHTTP
		// so clients get S3's XML error.
		MaxHeaderBytes:    max(1<<20, 4*cfg.MaxHeaderBytes),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	if err := g.openEdge(); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return g, nil
}

// Addr is the address the gateway listens on.
func (g *Gateway) Addr() string { return g.ln.Addr().String() }

// Ready is closed once the gateway serves requests.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// Run serves until ctx is cancelled or Close is called.
func (g *Gateway) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- g.srv.Serve(g.ln) }()
	g.serveEdge()
	close(g.ready)
	g.log.Info("regional gateway serving", "addr", g.Addr())
	select {
	case <-ctx.Done():
		return g.Close()
	case <-g.stop:
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		_ = g.Close()
		return err
	}
}

// Close stops accepting requests, drains in-flight ones, then stops the
// edge link. Safe to call twice. (The gateway runs no background loops:
// garbage is reclaimed by the background server, package background.)
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownTimeout)
		defer cancel()
		g.closeEdge(ctx)
		g.closeErr = g.srv.Shutdown(ctx)
		if g.closeErr != nil {
			_ = g.srv.Close()
		}
		close(g.stop)
		g.wg.Wait()
	})
	return g.closeErr
}

// request carries what the handlers need about one request.
type request struct {
	r         *http.Request
	w         http.ResponseWriter
	id        string
	bucket    string
	mb        string // the bucket's key in metasvc (incarnation), set by bucketFor
	key       string
	auth      *sigv4.Auth
	principal string // account id
	log       *slog.Logger
	start     time.Time
	body      *s3api.WatchedBody // nil on the edge link's internal requests
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// ServeHTTP authenticates, routes and answers one S3 request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
		w.WriteHeader(http.StatusOK)
		return
	}
	// The body is watched on the server's own writer (before tracing wraps
	// it): no byte for BodyIdleTimeout, or the whole body not in by
	// BodyTotalTimeout, ends the request with RequestTimeout.
	body := s3api.WatchBody(w, r, g.cfg.bodyTimeouts())
	defer body.Finish()
	w, r, span := g.startSpan(w, r) // tracing.go
	req := &request{r: r, w: w, id: g.requestID(r), start: time.Now(), body: body}
	w.Header().Set("x-amz-request-id", req.id)
	w.Header().Set("x-amz-id-2", s3api.ExtendedRequestID(g.hostID, req.id))
	w.Header().Set("Server", "Meridian")
	req.log = g.log.With("request_id", req.id, "method", r.Method)

	var op handler
	defer func() { endSpan(span, w, req, op) }()
	err := g.checkHeaderSize(r)
	if err == nil {
		op, err = g.route(req)
	}
	if err == nil {
		err = g.authenticate(req)
	}
	if err == nil {
		err = op(req)
	}
	if err != nil {
		g.writeError(req, err)
	}
	g.metrics.observe(opName(r), time.Since(req.start))
	// An unread body is not drained here: writeError read at most a small
	// bound of it (or closed the connection), and body.Finish stops net/http
	// from waiting for the rest.
}

type handler func(*request) error

// checkHeaderSize enforces Config.MaxHeaderBytes on the request line and headers.
func (g *Gateway) checkHeaderSize(r *http.Request) error {
	if _, ok := edgeFrom(r); ok {
		return nil // the edge enforced its limit before the link headers were added
	}
	if s3api.HeaderSectionSize(r) > g.cfg.MaxHeaderBytes {
		return s3err.New(s3err.RequestHeaderSectionTooLarge).With("MaxSizeAllowed", fmt.Sprint(g.cfg.MaxHeaderBytes))
	}
	return nil
}

func opName(r *http.Request) string { return r.Method }

// route splits bucket and key (path- or virtual-hosted-style) and picks the handler.
func (g *Gateway) route(req *request) (handler, error) {
	r := req.r
	path := r.URL.Path
	bucket, key := "", ""
	if b := g.hostBucket(r.Host); b != "" {
		bucket = b
		key = strings.TrimPrefix(path, "/")
	} else {
		p := strings.TrimPrefix(path, "/")
		bucket, key, _ = strings.Cut(p, "/")
	}
	req.bucket, req.key = bucket, key
	req.log = req.log.With("bucket", bucket, "key", key)
	q := r.URL.Query()
	has := func(name string) bool { _, ok := q[name]; return ok }

	if bucket == "" {
		if r.Method == http.MethodGet {
			return g.listBuckets, nil
		}
		return nil, s3err.New(s3err.MethodNotAllowed)
	}
	if err := bucketsvc.ValidateBucketName(bucket); err != nil {
		return nil, s3err.New(s3err.InvalidBucketName).With("BucketName", bucket)
	}
	if key == "" {
		switch r.Method {
		case http.MethodPut:
			if len(q) > 0 {
				return nil, notImplemented(q)
			}
			return g.createBucket, nil
		case http.MethodHead:
			return g.headBucket, nil
		case http.MethodDelete:
			if len(q) > 0 {
				return nil, notImplemented(q)
			}
			return g.deleteBucket, nil
		case http.MethodGet:
			switch {
			case has("location"):
				return g.getBucketLocation, nil
			case has("versioning"):
				return g.getBucketVersioning, nil
			case has("uploads"):
				return g.listMultipartUploads, nil
			case q.Get("list-type") == "2":
				return g.listObjectsV2, nil
			case has("acl"), has("policy"), has("lifecycle"), has("cors"), has("tagging"),
				has("replication"), has("encryption"), has("website"), has("logging"),
				has("notification"), has("object-lock"), has("versions"), has("ownershipControls"):
				return nil, notImplemented(q)
			}
			return g.listObjectsV1, nil
		case http.MethodPost:
			if has("delete") {
				return g.deleteObjects, nil
			}
		}
		return nil, s3err.New(s3err.MethodNotAllowed)
	}
	if err := s3api.ValidateKey(key); err != nil {
		if errors.Is(err, s3api.ErrKeyTooLong) {
			return nil, s3err.New(s3err.KeyTooLongError).With("Size", fmt.Sprint(len(key))).With("MaxSizeAllowed", "1024")
		}
		return nil, s3err.WithMessage(s3err.InvalidArgument, "Object key is not valid UTF-8")
	}
	switch r.Method {
	case http.MethodPut:
		if r.Header.Get("x-amz-copy-source") != "" {
			return nil, s3err.WithMessage(s3err.NotImplemented, "CopyObject and UploadPartCopy are not implemented yet")
		}
		if has("uploadId") || has("partNumber") {
			return g.uploadPart, nil
		}
		if has("tagging") || has("acl") || has("retention") || has("legal-hold") {
			return nil, notImplemented(q)
		}
		return g.putObject, nil
	case http.MethodGet:
		if has("uploadId") {
			return g.listParts, nil
		}
		if has("tagging") || has("acl") || has("attributes") || has("torrent") || has("retention") || has("legal-hold") {
			return nil, notImplemented(q)
		}
		return g.getObject, nil
	case http.MethodHead:
		return g.headObject, nil
	case http.MethodDelete:
		if has("uploadId") {
			return g.abortMultipartUpload, nil
		}
		return g.deleteObject, nil
	case http.MethodPost:
		if has("uploads") {
			return g.createMultipartUpload, nil
		}
		if has("uploadId") {
			return g.completeMultipartUpload, nil
		}
	}
	return nil, s3err.New(s3err.MethodNotAllowed)
}

func notImplemented(q map[string][]string) error {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	return s3err.WithMessage(s3err.NotImplemented, "Meridian does not implement this operation yet: "+strings.Join(names, ","))
}

// hostBucket returns the bucket of a virtual-hosted-style Host, or "".
func (g *Gateway) hostBucket(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, d := range g.cfg.Domains {
		if b, ok := strings.CutSuffix(host, "."+strings.ToLower(d)); ok && b != "" {
			return b
		}
	}
	return ""
}

// authenticate verifies SigV4 and replaces the body with the verifying reader.
func (g *Gateway) authenticate(req *request) error {
	auth, err := g.verify(req.r) // SigV4, or the edge link's headers (edgelink.go)
	if err != nil {
		return err
	}
	if auth.Anonymous {
		return s3err.New(s3err.AccessDenied)
	}
	req.auth = auth
	req.principal = auth.Principal
	req.log = req.log.With("access_key", auth.AccessKeyID)
	return nil
}

// bucketFor loads the bucket and checks that the caller may use it.
func (g *Gateway) bucketFor(req *request) (bucketsvc.Bucket, error) {
	b, err := g.cfg.Catalog.GetBucket(req.r.Context(), req.bucket)
	if err != nil {
		if errors.Is(err, bucketsvc.ErrNoSuchBucket) {
			return b, s3err.New(s3err.NoSuchBucket).With("BucketName", req.bucket)
		}
		return b, err
	}
	if b.Owner != req.principal {
		return b, s3err.New(s3err.AccessDenied)
	}
	if b.Region != g.cfg.Region {
		// The bucket lives elsewhere; S3 answers with a redirect error.
		return b, s3err.WithMessage(s3err.Code("PermanentRedirect"), "The bucket you are attempting to access must be addressed using the specified endpoint.").With("BucketName", req.bucket).With("Region", b.Region)
	}
	req.mb = b.MetaKey()
	return b, nil
}

func (g *Gateway) writeError(req *request, err error) {
	if req.body.TimedOut() {
		err = s3err.New(s3err.RequestTimeout)
	}
	e := g.translate(req, err)
	s3api.LogError(req.r.Context(), req.log, err, e)
	// Answer now: read at most a small bound of an unwanted body.
	req.body.PrepareError(req.w.Header())
	if e.Resource == "" {
		e.Resource = req.r.URL.Path
	}
	g.metrics.errors.WithLabelValues(string(e.Code)).Inc()
	traceError(req, e)
	s3err.Write(req.w, req.r, e, req.id, s3api.ExtendedRequestID(g.hostID, req.id))
}

func writeXML(req *request, status int, v any) error { return s3api.WriteXML(req.w, status, v) }

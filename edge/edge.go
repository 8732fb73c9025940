package edge

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/edge/bucketcache"
	"github.com/meridian-s3/meridian/internal/connbuf"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3route"
	"github.com/meridian-s3/meridian/internal/sigv4"
	"github.com/meridian-s3/meridian/internal/telemetry"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// Server is an edge gateway.
type Server struct {
	cfg      Config
	log      *slog.Logger
	verifier *sigv4.Verifier
	buckets  *bucketcache.Cache
	policies *s3authz.PolicyCache // parsed bucket policies (authz.go)
	link     *regionalclient.Client
	hostID   string
	metrics  *metrics
	tracer   trace.Tracer

	ln  net.Listener
	tln net.Listener // ln with TLS (connbuf)
	srv *http.Server

	ready     chan struct{}
	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error
	runOnce   sync.Once
	served    chan struct{}
}

// New builds an edge and binds its listener.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	serverCert, clientCert, roots, err := cfg.certificates()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("part", "edge", "region", cfg.Region),
		ready: make(chan struct{}), stop: make(chan struct{}), served: make(chan struct{})}
	var hid [24]byte
	_, _ = rand.Read(hid[:])
	s.hostID = base64.StdEncoding.EncodeToString(hid[:])

	vcfg := sigv4.DefaultVerifierConfig()
	vcfg.Credentials = bucketsvc.SigV4Credentials{Store: cfg.Catalog}
	vcfg.AllowedRegions = s.signingRegions()
	vcfg.Now = cfg.Now
	vcfg.HostBucket = s.hostBucket
	if s.verifier, err = sigv4.NewVerifier(vcfg); err != nil {
		return nil, err
	}
	bc := bucketcache.Config{Size: cfg.CacheSize, TTL: cfg.CacheTTL, NegativeTTL: cfg.NegativeTTL, Now: cfg.Now}
	if s.buckets, err = bucketcache.New(bc, cfg.Catalog.GetBucket); err != nil {
		return nil, err
	}
	if s.metrics, err = newMetrics(cfg.Registry, s.buckets); err != nil {
		return nil, fmt.Errorf("edge: metrics: %w", err)
	}
	s.policies = s3authz.NewPolicyCache(policyCacheSize)
	s.tracer = telemetry.Provider(cfg.TracerProvider).Tracer(tracerName)
	lc := regionalclient.DefaultConfig()
	lc.Regions = cfg.Regions
	lc.TLS = &tls.Config{Certificates: []tls.Certificate{clientCert}, RootCAs: roots, MinVersion: tls.VersionTLS13}
	lc.DialTimeout = cfg.LinkDialTimeout
	if cfg.LocalLink == regionalclient.TransportTCP {
		lc.TCPRegions, lc.TCPConns = []string{cfg.Region}, cfg.LocalLinkConns
		lc.LocalSocketDir = cfg.LocalSocketDir
	}
	lc.Logger = s.log
	if s.link, err = regionalclient.New(lc); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = s.link.Close()
		return nil, fmt.Errorf("edge: listen: %w", err)
	}
	s.ln = ln
	tc := &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	// TLS below net/http with records written and read in large batches
	// (internal/connbuf); HTTP/2 is recognized by its preface after ALPN
	// chose h2 (connbuf.ConfigureServer).
	s.tln = connbuf.MustPool(connbuf.DefaultOptions()).NewListener(ln, tc)
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	s.srv = &http.Server{
		Handler:   s,
		TLSConfig: tc,
		Protocols: protos,
		// Oversize headers are answered in ServeHTTP with S3's XML error;
		// net/http's own limit would answer a plain-text 431.
		MaxHeaderBytes:    max(1<<20, 4*cfg.MaxHeaderBytes),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	connbuf.ConfigureServer(s.srv)
	return s, nil
}

// signingRegions: every deployment region plus us-east-1, which global
// clients sign for by default.
func (s *Server) signingRegions() []string {
	out := []string{s.cfg.Region}
	for r := range s.cfg.Regions {
		out = append(out, r)
	}
	out = append(out, "us-east-1")
	slices.Sort(out[1:])
	return slices.Compact(out)
}

// LinkStats counts the connections the edge made to its own region's
// gateways (HTTP/2: local sockets or TLS over TCP).
func (s *Server) LinkStats() regionalclient.LinkStats { return s.link.LinkStats() }

// Addr is the HTTPS listen address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Ready is closed once the edge serves.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// BucketCache exposes the cache (stats, tests).
func (s *Server) BucketCache() *bucketcache.Cache { return s.buckets }

// Run serves until ctx is cancelled or Close is called.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	started := false
	s.runOnce.Do(func() {
		started = true
		go func() {
			defer close(s.served)
			errc <- s.srv.Serve(s.tln)
		}()
		close(s.ready)
		s.log.Info("edge serving", "addr", s.Addr())
	})
	if !started {
		return errors.New("edge: Run called twice")
	}
	select {
	case <-ctx.Done():
		return s.Close()
	case <-s.stop:
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		_ = s.Close()
		return err
	}
}

// Close stops accepting, drains in-flight requests, then closes the links
// to the regions. Safe to call twice.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		s.closeErr = s.srv.Shutdown(ctx)
		if s.closeErr != nil {
			_ = s.srv.Close()
		}
		_ = s.ln.Close()
		close(s.stop)
		s.runOnce.Do(func() { close(s.served) }) // never served
		<-s.served
		_ = s.link.Close()
	})
	return s.closeErr
}

// request is one request in flight.
type request struct {
	r         *http.Request
	w         http.ResponseWriter
	id        string
	bucket    string
	key       string
	op        s3route.Operation // set by serve
	auth      *sigv4.Auth
	principal string
	log       *slog.Logger
	body      *s3api.WatchedBody
	formPost  bool // an unsigned browser-form upload, forwarded for the region to authenticate
	anonymous bool // unsigned: the anonymous principal (authz.go)
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// presignParams are query parameters that belong to SigV4, not to the operation.
var presignParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
	"AWSAccessKeyId", "Expires", "Signature"} // SigV2's

// ServeHTTP authenticates, then answers or proxies one S3 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The body is watched on the server's own writer (before tracing wraps
	// it): no byte for BodyIdleTimeout, or the whole body not in by
	// BodyTotalTimeout, ends the request with RequestTimeout.
	body := s3api.WatchBody(w, r, s.cfg.bodyTimeouts())
	start := time.Now()
	w, r, span := s.startSpan(w, r) // tracing.go
	req := &request{r: r, w: w, id: newRequestID(), body: body}
	defer func() {
		s.metrics.observe(r.Method, time.Since(start))
		endSpan(span, w, req)
	}()
	w.Header().Set("x-amz-request-id", req.id)
	w.Header().Set("x-amz-id-2", s3api.ExtendedRequestID(s.hostID, req.id))
	w.Header().Set("Server", "Meridian")
	req.bucket, req.key = s.split(r)
	req.log = s.log.With("request_id", req.id, "method", r.Method, "bucket", req.bucket, "key", req.key)
	var err error
	if s3api.HeaderSectionSize(r) > s.cfg.MaxHeaderBytes {
		err = s3err.New(s3err.RequestHeaderSectionTooLarge).With("MaxSizeAllowed", strconv.Itoa(s.cfg.MaxHeaderBytes))
	} else {
		err = s.serve(req)
	}
	if err != nil {
		s.writeError(req, err)
	}
	body.Finish()
	if req.auth != nil {
		_ = req.auth.Body.Close()
	}
}

// serve authenticates, then routes through the shared table: the edge
// answers the bucket operations it owns (the catalog is global) and
// proxies every other operation to the bucket's home region. Requests the
// table refuses are refused here, with the same S3 error the region
// would give.
func (s *Server) serve(req *request) error {
	r := req.r
	if s3route.IsPreflight(r.Method) {
		return s.preflight(req) // CORS, unauthenticated (cors.go)
	}
	s.addCORSHeaders(req)
	auth, err := s.verifier.Verify(r)
	if err != nil {
		return err
	}
	req.auth = auth
	if auth.Anonymous {
		// Unsigned: the anonymous principal. Authorization decides at the
		// bucket's home region (or here, for the bucket operations the
		// edge answers); a browser-form upload is authenticated by its
		// form's own signature at the region (regional/post.go).
		req.anonymous = true
	} else {
		req.principal = auth.Principal
		req.log = req.log.With("access_key", auth.AccessKeyID)
	}
	if req.bucket != "" {
		if err := bucketsvc.ValidateBucketName(req.bucket); err != nil {
			return s3err.New(s3err.InvalidBucketName).With("BucketName", req.bucket)
		}
	}
	op, err := s3route.Resolve(s3route.RequestOf(r, s3route.LevelOf(req.bucket, req.key)))
	if err != nil {
		return err
	}
	req.op = op
	if req.anonymous {
		switch op {
		case s3route.ListBuckets, s3route.CreateBucket:
			return s3err.New(s3err.AccessDenied) // these need an account
		case s3route.PostObject:
			req.formPost = true
		}
	}
	switch op {
	case s3route.ListBuckets:
		return s.listBuckets(req)
	case s3route.CreateBucket:
		return s.createBucket(req)
	case s3route.DeleteBucket:
		return s.deleteBucket(req)
	case s3route.HeadBucket:
		return s.headBucket(req)
	case s3route.GetBucketLocation:
		return s.getBucketLocation(req)
	}
	if corsChanged(op) {
		defer s.buckets.Invalidate(req.bucket) // cors.go
	}
	return s.proxy(req)
}

// split returns bucket and key, virtual-hosted-style or path-style.
func (s *Server) split(r *http.Request) (bucket, key string) {
	return s3route.Split(r.Host, r.URL.Path, s.cfg.Domains)
}

func (s *Server) hostBucket(host string) string { return s3route.HostBucket(host, s.cfg.Domains) }

// translate maps an error to the S3 error answered for it (the one place).
func (s *Server) translate(req *request, err error) *s3err.Error {
	var e *s3err.Error
	if errors.As(err, &e) {
		return e
	}
	var exists *bucketsvc.BucketExistsError
	switch {
	case errors.As(err, &exists):
		if exists.Owner == req.principal {
			return s3err.New(s3err.BucketAlreadyOwnedByYou).With("BucketName", exists.Name)
		}
		return s3err.New(s3err.BucketAlreadyExists).With("BucketName", exists.Name)
	case errors.Is(err, bucketsvc.ErrNoSuchBucket):
		return s3err.New(s3err.NoSuchBucket).With("BucketName", req.bucket)
	case errors.Is(err, regionalclient.ErrUnknownRegion):
		return s3err.WithMessage(s3err.ServiceUnavailable, "The bucket's home region is not reachable from this edge.")
	case errors.Is(err, context.DeadlineExceeded):
		return s3err.New(s3err.RequestTimeout)
	case errors.Is(err, context.Canceled):
		return s3err.WithMessage(s3err.RequestTimeout, "The request was cancelled.")
	}
	return s3err.New(s3err.InternalError)
}

func (s *Server) writeError(req *request, err error) {
	if req.body.TimedOut() {
		err = s3err.New(s3err.RequestTimeout)
	}
	if req.anonymous && !req.formPost {
		// An unsigned request learns nothing the edge knows (operations,
		// names, buckets): only the region's authorization answers it
		// otherwise, and its answers are relayed, not written here.
		err = s3err.New(s3err.AccessDenied)
	}
	e := s.translate(req, err)
	s3api.LogError(req.r.Context(), req.log, err, e)
	// Answer now: read at most a small bound of an unwanted body.
	req.body.PrepareError(req.w.Header())
	if e.Resource == "" {
		e.Resource = req.r.URL.Path
	}
	s.metrics.errors.WithLabelValues(string(e.Code)).Inc()
	traceError(req, e)
	s3err.Write(req.w, req.r, e, req.id, s3api.ExtendedRequestID(s.hostID, req.id))
}

func writeXML(req *request, status int, v any) error { return s3api.WriteXML(req.w, status, v) }

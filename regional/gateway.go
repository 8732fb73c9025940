package regional

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
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/connbuf"
	"github.com/meridian-s3/meridian/internal/md5lanes"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3lifecycle"
	"github.com/meridian-s3/meridian/internal/s3route"
	"github.com/meridian-s3/meridian/internal/sigv4"
	"github.com/meridian-s3/meridian/internal/telemetry"
	"github.com/meridian-s3/meridian/regional/commit"
)

// Gateway is a regional S3 gateway.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	verifier *sigv4.Verifier
	metrics  *metrics
	tracer   trace.Tracer
	hostID   string
	commit   *commit.Coordinator  // the commit protocol (regional/commit)
	policies *s3authz.PolicyCache // parsed bucket policies (authz.go)
	md5      *md5lanes.Pool       // request bodies' MD5 (ETag, Content-MD5)

	ln   net.Listener
	srv  *http.Server
	tln  net.Listener // ListenTLS with TLS (connbuf); nil when off
	tsrv *http.Server // serves tln
	edge *edgeServer  // HTTP/3 edge listener (edgelink.go); nil when disabled

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
	if cfg.LifecycleDay == 0 {
		cfg.LifecycleDay = s3lifecycle.Day
	}
	g := &Gateway{
		cfg:   cfg,
		log:   cfg.Logger.With("part", "regional", "region", cfg.Region),
		stop:  make(chan struct{}),
		ready: make(chan struct{}),
	}
	g.policies = s3authz.NewPolicyCache(policyCacheSize)
	md5p, err := md5lanes.New(cfg.MD5)
	if err != nil {
		return nil, err
	}
	g.md5 = md5p
	g.metrics = newMetrics(cfg.Registry, cfg.Data)
	g.commit = &commit.Coordinator{
		Meta: cfg.Meta, Data: cfg.Data, InlineThreshold: cfg.InlineThreshold,
		BeforeCommit: cfg.BeforeCommit, Log: g.log,
	}
	g.tracer = telemetry.Provider(cfg.TracerProvider).Tracer(tracerName)
	var hid [24]byte
	_, _ = rand.Read(hid[:])
	g.hostID = base64.StdEncoding.EncodeToString(hid[:])
	vcfg := sigv4.DefaultVerifierConfig()
	vcfg.Credentials = bucketsvc.SigV4Credentials{Store: cfg.Catalog}
	vcfg.AllowedRegions = []string{cfg.Region}
	vcfg.HostBucket = func(host string) string { return s3route.HostBucket(host, cfg.Domains) }
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
	g.srv = g.s3Server()
	if err := g.openTLS(); err != nil {
		_ = ln.Close()
		return nil, err
	}
	if err := g.openEdge(); err != nil {
		_ = ln.Close()
		if g.tln != nil {
			_ = g.tln.Close()
		}
		return nil, err
	}
	return g, nil
}

// s3Server is the http.Server of an S3 listener (Listen, ListenTLS).
func (g *Gateway) s3Server() *http.Server {
	return &http.Server{
		Handler: g,
		// net/http answers oversize headers with a plain-text 431 before any
		// handler runs; admit more and enforce cfg.MaxHeaderBytes in ServeHTTP
		// so clients get S3's XML error.
		MaxHeaderBytes:    max(1<<20, 4*g.cfg.MaxHeaderBytes),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
}

// openTLS binds the HTTPS listener when configured (called by New): the
// S3 server of the plain listener, over TLS with records written and read
// in large batches (internal/connbuf, as the edge's client listener);
// connbuf.ConfigureServer gives requests r.TLS (SSE-C, aws:SecureTransport)
// and accepts HTTP/2 by its preface once ALPN chose h2. A plain HTTP
// request on this port is answered 400, as net/http answers it.
func (g *Gateway) openTLS() error {
	if g.cfg.ListenTLS == "" {
		return nil
	}
	tc := g.cfg.ServerTLS.Clone()
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	tc.NextProtos = []string{"h2", "http/1.1"}
	ln, err := net.Listen("tcp", g.cfg.ListenTLS)
	if err != nil {
		return fmt.Errorf("regional: listen (TLS): %w", err)
	}
	g.tln = connbuf.MustPool(connbuf.DefaultOptions()).NewListener(ln, tc)
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	g.tsrv = g.s3Server()
	g.tsrv.TLSConfig, g.tsrv.Protocols = tc, protos
	connbuf.ConfigureServer(g.tsrv)
	return nil
}

// Addr is the address the gateway listens on.
func (g *Gateway) Addr() string { return g.ln.Addr().String() }

// TLSAddr is the address of the HTTPS listener, "" when off.
func (g *Gateway) TLSAddr() string {
	if g.tln == nil {
		return ""
	}
	return g.tln.Addr().String()
}

// Ready is closed once the gateway serves requests.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// Run serves until ctx is cancelled or Close is called.
func (g *Gateway) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- g.srv.Serve(g.ln) }()
	if g.tsrv != nil {
		go func() { errc <- g.tsrv.Serve(g.tln) }()
	}
	g.serveEdge()
	close(g.ready)
	g.log.Info("regional gateway serving", "addr", g.Addr(), "tls_addr", g.TLSAddr())
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
		// Both S3 listeners drain at once, within the same deadline.
		var tlsErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			if g.tsrv == nil {
				return
			}
			if tlsErr = g.tsrv.Shutdown(ctx); tlsErr != nil {
				_ = g.tsrv.Close()
			}
			_ = g.tln.Close() // not closed by Shutdown if Run never served it
		}()
		g.closeErr = g.srv.Shutdown(ctx)
		if g.closeErr != nil {
			_ = g.srv.Close()
		}
		<-done
		g.closeErr = errors.Join(g.closeErr, tlsErr)
		close(g.stop)
		g.wg.Wait()
		g.md5.Close() // a server still lending lanes closes with its last body
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
	op        s3route.Operation // set by route
	auth      *sigv4.Auth
	principal string // account id
	log       *slog.Logger
	start     time.Time
	body      *s3api.WatchedBody // nil on the edge link's internal requests
	bkt       *bucketsvc.Bucket  // the bucket bucketFor read and authorized the request on
	authzCtx  *s3authz.Context   // the request's condition keys, built on first use (authz.go)
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// ServeHTTP authenticates, routes and answers one S3 request. It
// authenticates before anything else that could answer differently for
// different requests: an unsigned request learns neither which operations
// exist nor which bucket names are valid.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	req.bucket, req.key = s3route.Split(r.Host, r.URL.Path, g.cfg.Domains)
	req.log = g.log.With("request_id", req.id, "method", r.Method, "bucket", req.bucket, "key", req.key)

	defer func() { endSpan(span, w, req) }()
	err := g.checkHeaderSize(r)
	preflight := s3route.IsPreflight(r.Method) // CORS: answered unauthenticated (cors.go)
	if err == nil && !preflight {
		g.addCORSHeaders(req)
		err = g.authenticate(req)
	}
	var op handler = g.preflight
	if err == nil && !preflight {
		op, err = g.route(req)
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

// route validates the bucket name and key of an authenticated request,
// resolves its operation in the shared route table and picks the handler.
func (g *Gateway) route(req *request) (handler, error) {
	if req.bucket != "" {
		if err := bucketsvc.ValidateBucketName(req.bucket); err != nil {
			return nil, s3err.New(s3err.InvalidBucketName).With("BucketName", req.bucket)
		}
	}
	if req.key != "" {
		if err := s3api.ValidateKey(req.key); err != nil {
			if errors.Is(err, s3api.ErrKeyTooLong) {
				return nil, s3err.New(s3err.KeyTooLongError).With("Size", fmt.Sprint(len(req.key))).With("MaxSizeAllowed", "1024")
			}
			return nil, s3err.WithMessage(s3err.InvalidArgument, "Object key is not valid UTF-8")
		}
	}
	op, err := s3route.Resolve(s3route.RequestOf(req.r, s3route.LevelOf(req.bucket, req.key)))
	if err != nil {
		return nil, err
	}
	req.op = op
	req.log = req.log.With("op", op.String())
	return g.handler(op), nil
}

// handler is the gateway's handler of op. Versioned requests reach the
// same handlers: they read ?versionId themselves.
func (g *Gateway) handler(op s3route.Operation) handler {
	switch op {
	case s3route.ListBuckets:
		return g.listBuckets
	case s3route.CreateBucket:
		return g.createBucket
	case s3route.DeleteBucket:
		return g.deleteBucket
	case s3route.HeadBucket:
		return g.headBucket
	case s3route.GetBucketLocation:
		return g.getBucketLocation
	case s3route.GetBucketVersioning:
		return g.getBucketVersioning
	case s3route.PutBucketLifecycleConfiguration:
		return g.putBucketLifecycle // lifecycle.go
	case s3route.GetBucketLifecycleConfiguration:
		return g.getBucketLifecycle
	case s3route.DeleteBucketLifecycle:
		return g.deleteBucketLifecycle
	case s3route.PutBucketVersioning:
		return g.putBucketVersioning
	case s3route.PutBucketReplication:
		return g.putBucketReplication // replication.go
	case s3route.GetBucketReplication:
		return g.getBucketReplication
	case s3route.DeleteBucketReplication:
		return g.deleteBucketReplication
	case s3route.ListObjectVersions:
		return g.listObjectVersions
	case s3route.ListObjects:
		return g.listObjectsV1
	case s3route.ListObjectsV2:
		return g.listObjectsV2
	case s3route.ListMultipartUploads:
		return g.listMultipartUploads
	case s3route.DeleteObjects:
		return g.deleteObjects
	case s3route.PutObject:
		return g.putObject
	case s3route.PostObject:
		return g.postObject // post.go
	case s3route.GetObject:
		return g.getObject
	case s3route.HeadObject:
		return g.headObject
	case s3route.DeleteObject:
		return g.deleteObject
	case s3route.CreateMultipartUpload:
		return g.createMultipartUpload
	case s3route.UploadPart:
		return g.uploadPart
	case s3route.CopyObject:
		return g.copyObject // copy.go
	case s3route.UploadPartCopy:
		return g.uploadPartCopy
	case s3route.CompleteMultipartUpload:
		return g.completeMultipartUpload
	case s3route.AbortMultipartUpload:
		return g.abortMultipartUpload
	case s3route.ListParts:
		return g.listParts
	case s3route.GetObjectTagging:
		return g.getObjectTagging // tagging.go
	case s3route.PutObjectTagging:
		return g.putObjectTagging
	case s3route.DeleteObjectTagging:
		return g.deleteObjectTagging
	case s3route.GetBucketTagging:
		return g.getBucketTagging
	case s3route.PutBucketTagging:
		return g.putBucketTagging
	case s3route.DeleteBucketTagging:
		return g.deleteBucketTagging
	case s3route.GetObjectAttributes:
		return g.getObjectAttributes // attributes.go
	case s3route.GetBucketAcl:
		return g.getBucketAcl // acl.go
	case s3route.PutBucketAcl:
		return g.putBucketAcl
	case s3route.GetObjectAcl:
		return g.getObjectAcl
	case s3route.PutObjectAcl:
		return g.putObjectAcl
	case s3route.GetBucketOwnershipControls:
		return g.getBucketOwnershipControls
	case s3route.PutBucketOwnershipControls:
		return g.putBucketOwnershipControls
	case s3route.DeleteBucketOwnershipControls:
		return g.deleteBucketOwnershipControls
	case s3route.PutBucketCors:
		return g.putBucketCors // cors.go
	case s3route.GetBucketCors:
		return g.getBucketCors
	case s3route.DeleteBucketCors:
		return g.deleteBucketCors
	case s3route.PutObjectLockConfiguration:
		return g.putObjectLockConfiguration // objectlock.go
	case s3route.GetObjectLockConfiguration:
		return g.getObjectLockConfiguration
	case s3route.PutObjectRetention:
		return g.putObjectRetention
	case s3route.GetObjectRetention:
		return g.getObjectRetention
	case s3route.PutObjectLegalHold:
		return g.putObjectLegalHold
	case s3route.GetObjectLegalHold:
		return g.getObjectLegalHold
	case s3route.PutBucketPolicy:
		return g.putBucketPolicy // policy.go
	case s3route.GetBucketPolicy:
		return g.getBucketPolicy
	case s3route.DeleteBucketPolicy:
		return g.deleteBucketPolicy
	case s3route.GetBucketPolicyStatus:
		return g.getBucketPolicyStatus
	case s3route.PutPublicAccessBlock:
		return g.putPublicAccessBlock // publicaccessblock.go
	case s3route.GetPublicAccessBlock:
		return g.getPublicAccessBlock
	case s3route.DeletePublicAccessBlock:
		return g.deletePublicAccessBlock
	case s3route.GetBucketEncryption:
		return g.getBucketEncryption // bucketencryption.go
	case s3route.PutBucketEncryption:
		return g.putBucketEncryption
	case s3route.DeleteBucketEncryption:
		return g.deleteBucketEncryption
	}
	if h := g.defaultHandler(op); h != nil { // defaults.go
		return h
	}
	return notImplemented(op)
}

// notImplemented answers an operation Meridian does not serve yet.
func notImplemented(op s3route.Operation) handler {
	return func(*request) error {
		return s3err.WithMessage(s3err.NotImplemented, "Meridian does not implement "+op.String()+" yet.")
	}
}

// authenticate verifies SigV4 and replaces the body with the verifying reader.
func (g *Gateway) authenticate(req *request) error {
	auth, err := g.verify(req.r) // SigV4, or the edge link's headers (edgelink.go)
	if err != nil {
		return err
	}
	if auth.Anonymous {
		// Unsigned: the anonymous principal, which authorization decides
		// on (bucketFor). A browser-form upload authenticates its form
		// (postObject). Operations that need an account are refused.
		op, err := s3route.Resolve(s3route.RequestOf(req.r, s3route.LevelOf(req.bucket, req.key)))
		if err == nil && !anonymousAllowed(op) {
			return s3err.New(s3err.AccessDenied)
		}
		req.auth = auth
		return nil
	}
	req.auth = auth
	req.principal = auth.Principal
	req.log = req.log.With("access_key", auth.AccessKeyID)
	return nil
}

// bucketFor loads the bucket and checks that the caller may do the
// request's operation on it (authz.go).
func (g *Gateway) bucketFor(req *request) (bucketsvc.Bucket, error) {
	b, err := g.cfg.Catalog.GetBucket(req.r.Context(), req.bucket)
	if err != nil {
		if errors.Is(err, bucketsvc.ErrNoSuchBucket) {
			return b, s3err.New(s3err.NoSuchBucket).With("BucketName", req.bucket)
		}
		return b, err
	}
	if err := g.authorize(req, b); err != nil {
		return b, err
	}
	req.bkt = &b
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
	err = g.hideMissing(req, err) // authz.go
	if req.auth != nil && req.auth.Anonymous && req.bkt == nil && req.op != s3route.PostObject {
		// An unsigned request learns nothing — which operations exist,
		// which names are valid, which buckets exist — until
		// authorization allowed it on a bucket.
		err = s3err.New(s3err.AccessDenied)
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

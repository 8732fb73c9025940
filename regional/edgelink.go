package regional

// The edge link: an HTTP/3 listener that serves requests an edge already
// authenticated (docs/edge.md). Requests on it skip SigV4; the principal,
// access key, request id and verified checksum algorithms come from headers
// that are trusted only here, and only from a peer whose verified
// certificate carries the edge mark (regionalclient.EdgeName).

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/meridian-s3/meridian/internal/connbuf"
	"github.com/meridian-s3/meridian/internal/localconn"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3route"
	"github.com/meridian-s3/meridian/internal/sigv4"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// ErrEdgeTLS: EdgeListen is set without a usable EdgeTLS.
var ErrEdgeTLS = errors.New("regional: EdgeTLS must hold a server certificate, ClientCAs and RequireAndVerifyClientCert")

// edgeServer is the edge link's two listeners on the same address: HTTP/3
// over QUIC on UDP (edges of other regions: the WAN hop) and HTTP/2 over
// TLS on TCP (edges of this region: the cheaper same-region hop, see
// docs/edge.md). Both require TLS 1.3 and a verified client certificate,
// and both serve serveEdgeHTTP, which admits only edge certificates.
type edgeServer struct {
	conn  net.PacketConn
	srv   *http3.Server
	tcp   net.Listener
	local net.Listener // the TCP listener's local socket (LocalSocketDir); nil when off
	tsrv  *http.Server
}

// edgeKey marks a request's context as having arrived over the edge link
// from a verified edge.
type edgeKey struct{}

type edgeInfo struct{ name string }

// openEdge binds the edge listener when configured (called by New).
func (g *Gateway) openEdge() error {
	if g.cfg.EdgeListen == "" {
		return nil
	}
	t := g.cfg.EdgeTLS
	if t == nil || (len(t.Certificates) == 0 && t.GetCertificate == nil && t.GetConfigForClient == nil) ||
		t.ClientCAs == nil || t.ClientAuth != tls.RequireAndVerifyClientCert {
		return ErrEdgeTLS
	}
	tc := t.Clone()
	tc.MinVersion = tls.VersionTLS13
	pc, tl, err := listenUDPAndTCP(g.cfg.EdgeListen)
	if err != nil {
		return fmt.Errorf("regional: edge listen: %w", err)
	}
	ttc := tc.Clone()
	ttc.NextProtos = []string{"h2", "http/1.1"}
	// Full-size records from the first byte: the link is long-lived and
	// carries bulk data; small warm-up records only cost CPU here.
	ttc.DynamicRecordSizingDisabled = true
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	g.edge = &edgeServer{
		// TLS with records written and read in large batches (the link
		// carries bulk data; internal/connbuf). connbuf.ConfigureServer
		// below gives requests r.TLS and accepts h2 by its preface.
		tcp: connbuf.MustPool(connbuf.DefaultOptions()).NewListener(tl, ttc),
		tsrv: &http.Server{
			Handler:           http.HandlerFunc(g.serveEdgeHTTP),
			TLSConfig:         ttc,
			Protocols:         protos,
			MaxHeaderBytes:    max(1<<20, 4*g.cfg.MaxHeaderBytes),
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       120 * time.Second,
			HTTP2:             linkHTTP2Config(),
			ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		},
		conn: pc,
		srv: &http3.Server{
			TLSConfig: http3.ConfigureTLSConfig(tc),
			Handler:   http.HandlerFunc(g.serveEdgeHTTP),
			// The edge enforced its own limit on the client's header
			// section; this hop adds the link headers and counts 32 bytes
			// more per field (RFC 9114 §4.2.2). Whatever the edge accepted
			// must pass here.
			MaxHeaderBytes: max(1<<20, 4*g.cfg.MaxHeaderBytes),
			IdleTimeout:    120 * time.Second,
			QUICConfig: &quic.Config{
				MaxIdleTimeout:                 90 * time.Second,
				InitialStreamReceiveWindow:     4 << 20,
				MaxStreamReceiveWindow:         16 << 20,
				InitialConnectionReceiveWindow: 8 << 20,
				MaxConnectionReceiveWindow:     64 << 20,
				MaxIncomingStreams:             1000,
			},
		},
	}
	connbuf.ConfigureServer(g.edge.tsrv)
	if g.cfg.LocalSocketDir != "" {
		// The same HTTP/2 server for edges on this host, authenticated by
		// the same certificates (ttc: ClientCAs, client certificates
		// required) over a local socket; serveEdgeHTTP still admits only
		// edge certificates.
		ll, err := localconn.Listen(g.cfg.LocalSocketDir, tl.Addr().String(),
			localconn.ListenConfig{TLS: ttc, OnError: localconn.LogRefusals(g.log.With("listener", "edge link"))})
		if err != nil {
			_ = pc.Close()
			_ = tl.Close()
			g.edge = nil
			return fmt.Errorf("regional: edge link local socket: %w", err)
		}
		g.edge.local = ll
	}
	return nil
}

// listenUDPAndTCP binds addr on UDP and TCP, one port for both, so one
// address names the gateway's link. For port 0 it lets the kernel choose a
// TCP port and takes the same UDP port, retrying when that one is taken.
func listenUDPAndTCP(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	tries := 1
	if port == "0" {
		tries = 20
	}
	for i := 0; ; i++ {
		tl, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, err
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(tl.Addr().(*net.TCPAddr).Port)))
		if err == nil {
			return pc, tl, nil
		}
		_ = tl.Close()
		if i+1 >= tries {
			return nil, nil, err
		}
	}
}

// linkHTTP2Config: windows and frames for bulk transfer on the same-region
// link (Go's defaults are 16 KiB frames from the client and windows sized
// for many small streams). Same values as the edge's side of the link.
func linkHTTP2Config() *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxConcurrentStreams:          1000,
		MaxReadFrameSize:              1 << 20,
		MaxReceiveBufferPerConnection: 4<<20 - 1,
		MaxReceiveBufferPerStream:     4<<20 - 1,
	}
}

// EdgeAddr is the edge listener's UDP address, "" when disabled.
func (g *Gateway) EdgeAddr() string {
	if g.edge == nil {
		return ""
	}
	return g.edge.conn.LocalAddr().String()
}

// serveEdge starts serving the edge listener (called by Run).
func (g *Gateway) serveEdge() {
	if g.edge == nil {
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := g.edge.srv.Serve(g.edge.conn); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, quic.ErrServerClosed) {
			g.log.Error("edge listener stopped", "err", err)
		}
	}()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		// Serve, not ServeTLS: the listener already speaks TLS (connbuf);
		// an edge that negotiated h2 by ALPN starts with the HTTP/2 preface.
		if err := g.edge.tsrv.Serve(g.edge.tcp); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("edge listener (tcp) stopped", "err", err)
		}
	}()
	if g.edge.local != nil {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := g.edge.tsrv.Serve(g.edge.local); err != nil && !errors.Is(err, http.ErrServerClosed) {
				g.log.Error("edge listener (local socket) stopped", "err", err)
			}
		}()
	}
	g.log.Info("edge listener serving", "addr", g.EdgeAddr())
}

// closeEdge stops the edge listener, draining requests until ctx ends
// (called by Close).
func (g *Gateway) closeEdge(ctx context.Context) {
	if g.edge == nil {
		return
	}
	if err := g.edge.srv.Shutdown(ctx); err != nil {
		_ = g.edge.srv.Close()
	}
	_ = g.edge.conn.Close()
	if err := g.edge.tsrv.Shutdown(ctx); err != nil {
		_ = g.edge.tsrv.Close()
	}
	_ = g.edge.tcp.Close()
	if g.edge.local != nil {
		_ = g.edge.local.Close()
	}
}

// serveEdgeHTTP admits only verified edges, then serves the request like
// any other, with authentication taken from the link headers.
func (g *Gateway) serveEdgeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := regionalclient.EdgeName(r.TLS)
	if !ok {
		// A replicator (a background server of any region) may make the
		// replication write, and nothing else (replicate.go).
		if peer, ok := replicatorPeer(r); ok {
			if _, ok := r.URL.Query()[regionalclient.QueryReplicate]; ok {
				g.replicate(w, r, peer)
				return
			}
		}
		g.log.Warn("edge link: peer without an edge certificate refused", "remote", r.RemoteAddr)
		s3err.Write(w, r, s3err.WithMessage(s3err.AccessDenied, "An edge certificate is required on this listener."), newRequestID(), g.hostID)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), edgeKey{}, edgeInfo{name: name}))
	if _, ok := r.URL.Query()[regionalclient.QueryPrepareDelete]; ok {
		g.prepareDelete(w, r)
		return
	}
	g.ServeHTTP(w, r)
}

func edgeFrom(r *http.Request) (edgeInfo, bool) {
	e, ok := r.Context().Value(edgeKey{}).(edgeInfo)
	return e, ok
}

// requestID is the edge's id for edge-link requests, a new one otherwise.
func (g *Gateway) requestID(r *http.Request) string {
	if _, ok := edgeFrom(r); ok {
		if id := r.Header.Get(regionalclient.HeaderRequestID); regionalclient.ValidRequestID(id) {
			return id
		}
	}
	return newRequestID()
}

// verify authenticates r: SigV4 on the direct listener, the link headers on
// the edge listener. X-Meridian-* headers are never consulted elsewhere.
func (g *Gateway) verify(r *http.Request) (*sigv4.Auth, error) {
	e, ok := edgeFrom(r)
	if !ok {
		return g.verifier.Verify(r)
	}
	return g.edgeAuth(r, e)
}

// edgeAuth builds the Auth of an edge-link request.
func (g *Gateway) edgeAuth(r *http.Request, _ edgeInfo) (*sigv4.Auth, error) {
	principal := r.Header.Get(regionalclient.HeaderPrincipal)
	if principal == "" && r.Header.Get(regionalclient.HeaderFormPost) == "1" {
		// A browser form: anonymous at the request level; postObject
		// authenticates its fields (post.go), and nothing else admits it.
		src := r.Body
		if src == nil {
			src = http.NoBody
		}
		b := &edgeBody{src: src, want: r.ContentLength}
		return &sigv4.Auth{Anonymous: true, PayloadMode: regionalclient.PayloadModeEdge, Body: b,
			DecodedLength: b.want, Checksums: b.checksums, RequestTime: time.Now().UTC()}, nil
	}
	if principal == "" && r.Header.Get(regionalclient.HeaderAnonymous) == "1" {
		// An unsigned request: the anonymous principal, authorized like
		// any other (authz.go).
		src := r.Body
		if src == nil {
			src = http.NoBody
		}
		b := &edgeBody{src: src, want: r.ContentLength}
		return &sigv4.Auth{Anonymous: true, PayloadMode: regionalclient.PayloadModeEdge, Body: b,
			DecodedLength: b.want, Checksums: b.checksums, RequestTime: time.Now().UTC()}, nil
	}
	if principal == "" {
		return nil, s3err.WithMessage(s3err.AccessDenied, "The edge sent no principal.")
	}
	var algs []s3checksum.Algorithm
	if v := r.Header.Get(regionalclient.HeaderChecksumAlgorithms); v != "" {
		for name := range strings.SplitSeq(v, ",") {
			a, err := s3checksum.Parse(name)
			if err != nil {
				return nil, s3err.WithMessage(s3err.InvalidRequest, "Unknown checksum algorithm from the edge: "+name)
			}
			algs = append(algs, a)
		}
	}
	region := r.Header.Get(regionalclient.HeaderSigningRegion)
	if region == "" {
		region = g.cfg.Region
	}
	src := r.Body
	if src == nil {
		src = http.NoBody
	}
	b := &edgeBody{src: src, want: r.ContentLength}
	if len(algs) > 0 {
		b.sums = s3checksum.NewMultiHasher(algs...)
	}
	return &sigv4.Auth{
		AccessKeyID:   r.Header.Get(regionalclient.HeaderAccessKey),
		Principal:     principal,
		Region:        region,
		PayloadMode:   regionalclient.PayloadModeEdge,
		Body:          b,
		DecodedLength: b.want,
		Checksums:     b.checksums,
		RequestTime:   time.Now().UTC(),
	}, nil
}

// edgeBody is the body of an edge-link request. It returns io.EOF only when
// the stream ended cleanly after exactly Content-Length bytes; a stream the
// edge reset (its verifying reader failed) yields an error, so the handlers
// never commit it. It recomputes the checksums the edge verified.
type edgeBody struct {
	src  io.ReadCloser
	want int64
	n    int64
	sums *s3checksum.MultiHasher
	done bool
	err  error
}

func (b *edgeBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.src.Read(p)
	b.n += int64(n)
	if b.sums != nil && n > 0 {
		_, _ = b.sums.Write(p[:n])
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if b.want >= 0 && b.n != b.want {
			b.err = s3err.New(s3err.IncompleteBody)
			return n, b.err
		}
		b.done = true
		b.err = io.EOF
	default:
		// A reset stream: the edge rejected the body, or the link failed.
		b.err = &edgeBodyError{cause: err}
	}
	return n, b.err
}

func (b *edgeBody) Close() error { return b.src.Close() }

func (b *edgeBody) checksums() map[string]string {
	if !b.done || b.sums == nil {
		return nil
	}
	out := map[string]string{}
	for a, v := range b.sums.Sums() {
		out[string(a)] = v
	}
	return out
}

// edgeBodyError: the edge link stream was reset or broke mid-body.
type edgeBodyError struct{ cause error }

func (e *edgeBodyError) Error() string {
	return "regional: edge request body abandoned: " + e.cause.Error()
}

func (e *edgeBodyError) Unwrap() []error {
	return []error{s3err.WithMessage(s3err.IncompleteBody, "The request body was abandoned by the edge."), e.cause}
}

// prepareDelete serves DELETE /<bucket>?meridian-prepare-delete for an
// edge: the whole bucket delete, fenced like a direct one
// (deleteIncarnation): BucketNotEmpty if the bucket holds an object, else
// 204 once the catalog entry is gone.
func (g *Gateway) prepareDelete(w http.ResponseWriter, r *http.Request) {
	req := &request{r: r, w: w, id: g.requestID(r), start: time.Now()}
	w.Header().Set("x-amz-request-id", req.id)
	w.Header().Set("x-amz-id-2", s3api.ExtendedRequestID(g.hostID, req.id))
	req.log = g.log.With("request_id", req.id, "op", "prepare-delete")
	req.bucket = strings.TrimPrefix(r.URL.Path, "/")
	err := func() error {
		if r.Method != http.MethodDelete || req.bucket == "" || strings.Contains(req.bucket, "/") {
			return s3err.New(s3err.MethodNotAllowed)
		}
		if err := g.authenticate(req); err != nil {
			return err
		}
		req.op = s3route.DeleteBucket // what bucketFor authorizes
		b, err := g.bucketFor(req)
		if err != nil {
			return err
		}
		err = g.deleteIncarnation(r.Context(), b)
		if errors.Is(err, errBucketNotEmpty) {
			w.Header().Set(regionalclient.HeaderBucketEmpty, "false")
		}
		return err
	}()
	if err != nil {
		g.writeError(req, err)
		return
	}
	w.Header().Set(regionalclient.HeaderBucketEmpty, "true")
	w.WriteHeader(http.StatusNoContent)
}

package edge_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/quic-go/quic-go/http3"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/embedded"
	"github.com/meridian-s3/meridian/edge"
	"github.com/meridian-s3/meridian/internal/connbuf"
	"github.com/meridian-s3/meridian/internal/localconn"
	"github.com/meridian-s3/meridian/metasvc"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
	"github.com/meridian-s3/meridian/regional"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/regional/objectio/objectiotest"
	"github.com/meridian-s3/meridian/regional/regionalclient"
	"github.com/meridian-s3/meridian/testbed/devca"
)

const (
	accessKey = "AKIDEDGETEST"
	secretKey = "edge-test-secret"
	otherKey  = "AKIDOTHER"
	otherSec  = "other-secret"
)

// world is a deployment for tests: one metadata cluster and one in-memory
// shard store shared by the gateways of two regions (bucket names are
// global, so the regions never collide), a dev CA, an embedded catalog and
// an edge.
type world struct {
	t        *testing.T
	ca       *devca.CA
	catalog  *embedded.Store
	account  string
	other    string
	gateways map[string][]*regional.Gateway
	edge     *edge.Server
	log      *slog.Logger
	store    *objectiotest.Store // every shard of both regions
	// sockets is the gateways' and edges' local socket folder: an edge
	// reaches its own region's gateways over authenticated local sockets
	// (internal/localconn), other regions over QUIC.
	sockets string
}

func logger() *slog.Logger {
	if os.Getenv("EDGE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newWorld starts regions us-east-1 (usGateways gateways) and eu-west-1 (1).
func newWorld(t *testing.T, usGateways int) *world {
	t.Helper()
	return newTracedWorld(t, usGateways, nil)
}

// newTracedWorld is newWorld with every part (meta nodes, metaclient,
// gateways, edge) tracing to tp; nil: no tracing.
func newTracedWorld(t *testing.T, usGateways int, tp trace.TracerProvider) *world {
	t.Helper()
	return newWorldWith(t, usGateways, tp, nil)
}

// newWorldWith is newTracedWorld with mod applied to every gateway's config.
func newWorldWith(t *testing.T, usGateways int, tp trace.TracerProvider, mod func(*regional.Config)) *world {
	t.Helper()
	w := &world{t: t, gateways: map[string][]*regional.Gateway{}, log: logger()}
	dir := t.TempDir()
	var err error
	if w.ca, err = devca.EnsureCA(filepath.Join(dir, "ca")); err != nil {
		t.Fatal(err)
	}
	sd, err := os.MkdirTemp("", "edg") // socket paths are limited to 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sd) })
	w.sockets = filepath.Join(sd, "s")
	ecfg := embedded.DefaultConfig()
	ecfg.EncryptionKey = make([]byte, 32)
	if w.catalog, err = embedded.Open(filepath.Join(dir, "catalog.db"), ecfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.catalog.Close() })
	ctx := context.Background()
	for i, k := range []struct{ id, secret string }{{accessKey, secretKey}, {otherKey, otherSec}} {
		a, err := w.catalog.CreateAccount(ctx, bucketsvc.Account{DisplayName: fmt.Sprint("acct", i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.catalog.PutAccessKey(ctx, bucketsvc.AccessKey{ID: k.id, Secret: k.secret, AccountID: a.ID, Status: bucketsvc.KeyActive, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			w.account = a.ID
		} else {
			w.other = a.ID
		}
	}

	cluster := metasvctest.Start(t, metasvctest.Options{Partitions: 2, Region: "test",
		Tune: func(_ int, c *metasvc.Config) { c.TracerProvider = tp }})
	mcfg := cluster.ClientConfig()
	mcfg.TracerProvider = tp
	meta, err := metaclient.New(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(meta.Close)
	store := objectiotest.New(false)
	w.store = store
	var nodes []metapb.StorageNode
	for a := 0; a < 4; a++ {
		for j := 0; j < 4; j++ {
			nodes = append(nodes, metapb.StorageNode{ID: fmt.Sprintf("node-%c%d", 'a'+a, j), AZ: fmt.Sprintf("az-%c", 'a'+a),
				Addr: fmt.Sprintf("10.0.%d.%d:7000", a, j), Healthy: true, CapacityBytes: 1 << 40})
		}
	}
	oc := objectio.DefaultConfig()
	oc.Client = store
	oc.Nodes = func() []metapb.StorageNode { return nodes }
	oc.Logger = w.log
	engine, err := objectio.New(oc)
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := w.ca.IssueServer([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	for region, n := range map[string]int{"us-east-1": usGateways, "eu-west-1": 1} {
		for i := 0; i < n; i++ {
			gc := regional.DefaultConfig()
			gc.Region = region
			gc.Listen = "127.0.0.1:0"
			gc.EdgeListen = "127.0.0.1:0"
			gc.EdgeTLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: w.ca.Pool(), ClientAuth: tls.RequireAndVerifyClientCert}
			gc.Meta, gc.Data, gc.Catalog, gc.Logger = meta, engine, w.catalog, w.log.With("gateway", fmt.Sprint(region, i))
			gc.ShutdownTimeout = 2 * time.Second
			gc.TracerProvider = tp
			gc.LocalSocketDir = w.sockets
			if mod != nil {
				mod(&gc)
			}
			g, err := regional.New(gc)
			if err != nil {
				t.Fatal(err)
			}
			run(t, g.Run, g.Close)
			<-g.Ready()
			w.gateways[region] = append(w.gateways[region], g)
		}
	}
	w.edge = w.newEdge("us-east-1", func(c *edge.Config) { c.TracerProvider = tp })
	return w
}

// run runs a server for the test and stops it at the end.
func run(t *testing.T, runf func(context.Context) error, closef func() error) {
	done := make(chan error, 1)
	go func() { done <- runf(context.Background()) }()
	t.Cleanup(func() {
		_ = closef()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
}

func (w *world) regionsMap() map[string][]string {
	m := map[string][]string{}
	for r, gs := range w.gateways {
		for _, g := range gs {
			m[r] = append(m[r], g.EdgeAddr())
		}
	}
	return m
}

func (w *world) newEdge(region string, mod func(*edge.Config)) *edge.Server {
	w.t.Helper()
	serverCert, err := w.ca.IssueServer([]string{"localhost", "s3.localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		w.t.Fatal(err)
	}
	clientCert, err := w.ca.IssueClient("edge-"+region, devca.RoleEdge)
	if err != nil {
		w.t.Fatal(err)
	}
	cfg := edge.DefaultConfig()
	cfg.Region = region
	cfg.Regions = w.regionsMap()
	cfg.Listen = "127.0.0.1:0"
	cfg.TLSCert, cfg.ClientCert, cfg.RootCAs = &serverCert, &clientCert, w.ca.Pool()
	cfg.Domains = []string{"s3.localhost"}
	cfg.Catalog = w.catalog
	cfg.LinkDialTimeout = time.Second
	cfg.ShutdownTimeout = 2 * time.Second
	cfg.LocalSocketDir = w.sockets
	cfg.Logger = w.log.With("edge", region)
	if mod != nil {
		mod(&cfg)
	}
	e, err := edge.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	run(w.t, e.Run, e.Close)
	<-e.Ready()
	return e
}

// httpClient trusts the dev CA.
func (w *world) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: w.ca.Pool()},
		ForceAttemptHTTP2: true,
	}, Timeout: 2 * time.Minute}
}

// s3Client is aws-sdk-go-v2 with its default checksum settings, path-style.
func (w *world) s3Client(e *edge.Server, key, secret, region string) *s3.Client {
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String("https://" + e.Addr()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:   w.httpClient(),
		// What config.LoadDefaultConfig gives: aws-chunked with trailers.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
}

// linkTransports are the two transports of the edge link, as an edge with
// cert would dial a regional gateway's EdgeAddr: HTTP/3 over QUIC and
// HTTP/2 over TLS on TCP. Tests of the region's side of the link run over
// both, and over HTTP/2 and HTTP/1.1 on the gateway's authenticated local
// socket.
func (w *world) linkTransports(cert *tls.Certificate) map[string]http.RoundTripper {
	w.t.Helper()
	tc := &tls.Config{RootCAs: w.ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS13}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	h3 := &http3.Transport{TLSClientConfig: tc}
	h2 := &http.Transport{TLSClientConfig: tc.Clone(), ForceAttemptHTTP2: true}
	h2.Protocols = new(http.Protocols)
	h2.Protocols.SetHTTP2(true)
	// HTTP/2 over the gateway's local socket, as an edge on its host.
	local := &http.Transport{DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return localconn.Dial(ctx, localconn.SocketPath(w.sockets, addr), "h2", tc)
	}}
	connbuf.HTTP2Transport(local)
	// HTTP/1.1 over the local socket, as an edge on the gateway's host sends
	// it: request bodies through regionalclient.HoldLastByte (HTTP/1.1 has no
	// stream reset; the last byte waits for the body's clean end).
	local1 := &http.Transport{DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return localconn.Dial(ctx, localconn.SocketPath(w.sockets, addr), "http/1.1", tc)
	}}
	holdLast := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil && r.Body != http.NoBody {
			r = r.Clone(r.Context())
			r.Body = regionalclient.HoldLastByte(r.Body)
		}
		return local1.RoundTrip(r)
	})
	w.t.Cleanup(func() {
		_ = h3.Close()
		h2.CloseIdleConnections()
		local.CloseIdleConnections()
		local1.CloseIdleConnections()
	})
	return map[string]http.RoundTripper{"h3": h3, "h2": h2, "local-h2": local, "local-h1": holdLast}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

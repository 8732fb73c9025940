package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// Catalog is the part of the bucket catalog the edge uses
// (bucketsvc.Store implements it).
type Catalog interface {
	LookupAccessKey(ctx context.Context, id string) (bucketsvc.AccessKey, error)
	GetAccount(ctx context.Context, id string) (bucketsvc.Account, error)
	CreateBucket(ctx context.Context, b bucketsvc.Bucket) error
	GetBucket(ctx context.Context, name string) (bucketsvc.Bucket, error)
	ListBuckets(ctx context.Context, owner string) ([]bucketsvc.Bucket, error)
}

// Config configures an edge.
type Config struct {
	// Region is the region this edge runs in: the home of buckets created
	// without a LocationConstraint.
	Region string
	// Regions maps every region of the deployment to the edge-link (UDP
	// host:port) addresses of its regional gateways.
	Regions map[string][]string
	// Listen is the TCP host:port for HTTPS.
	Listen string
	// Server certificate: TLSCert, or CertFile and KeyFile.
	TLSCert  *tls.Certificate
	CertFile string
	KeyFile  string
	// Edge client certificate for mutual TLS to the regions (it must carry
	// the URI SAN meridian://edge/<name>): ClientCert, or ClientCertFile and
	// ClientKeyFile.
	ClientCert     *tls.Certificate
	ClientCertFile string
	ClientKeyFile  string
	// RootCAs verifies the regional gateways' certificates: RootCAs, or a
	// PEM file RootCAFile.
	RootCAs    *x509.CertPool
	RootCAFile string
	// Domains for virtual-hosted-style requests: "<bucket>.<domain>".
	Domains []string
	// Catalog is the bucket catalog.
	Catalog Catalog
	// Scheme is the erasure scheme recorded for new buckets.
	Scheme bucketsvc.ErasureScheme
	// Bucket cache.
	CacheSize   int
	CacheTTL    time.Duration
	NegativeTTL time.Duration
	// Edge link.
	LinkDialTimeout time.Duration
	// LocalLink is the transport to the regional gateways of Region:
	// TransportTCP (HTTP/2 over mutual TLS, the default: a same-region hop
	// gains nothing from QUIC and pays for it per packet) or TransportQUIC.
	// Other regions are always reached over QUIC (docs/edge.md).
	LocalLink regionalclient.Transport
	// LocalLinkConns is the number of HTTP/2 connections to each gateway of
	// Region when LocalLink is TransportTCP.
	LocalLinkConns int
	// LocalSocketDir, when set with LocalLink TransportTCP, is the folder
	// of the gateways' authenticated local sockets (internal/localconn): a
	// gateway of Region on this host is reached there, HTTP/2 without TLS
	// but with the same certificates; otherwise, and when it has none,
	// over TLS. "" (the default): off.
	LocalSocketDir string
	// MaxHeaderBytes bounds the request header section.
	MaxHeaderBytes int
	// BodyIdleTimeout: a request body that sends no byte for this long is
	// answered 400 RequestTimeout and its connection closed (S3: ~20 s).
	BodyIdleTimeout time.Duration
	// BodyTotalTimeout caps the time to receive a whole request body,
	// however steadily it trickles (0: no cap).
	BodyTotalTimeout time.Duration
	// ShutdownTimeout bounds draining in-flight requests on Close.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Now is the clock of the bucket cache and the SigV4 verifier; nil is time.Now.
	Now func() time.Time
	// Registry receives the edge's metrics (metrics.go); nil: none.
	Registry *prometheus.Registry
	// TracerProvider receives a server span per request (tracing.go), whose
	// context is sent to the region; nil: no tracing.
	TracerProvider trace.TracerProvider
}

// DefaultConfig returns defaults; Region, Regions, certificates and Catalog
// must be set.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8443",
		Scheme:          bucketsvc.ErasureScheme{Data: 10, Parity: 4},
		CacheSize:       100_000,
		CacheTTL:        30 * time.Second,
		NegativeTTL:     2 * time.Second,
		LinkDialTimeout: 5 * time.Second,
		LocalLink:       regionalclient.TransportTCP,
		LocalLinkConns:  1,
		MaxHeaderBytes:  64 << 10,
		ShutdownTimeout: 10 * time.Second,

		BodyIdleTimeout:  20 * time.Second,
		BodyTotalTimeout: time.Hour, // 5 GiB (the largest single PUT) at ≥1.5 MB/s
	}
}

// Validate checks the config, cross-field rules included.
func (c Config) Validate() error {
	var errs []error
	add := func(s string) { errs = append(errs, errors.New("edge: "+s)) }
	if c.Region == "" {
		add("Region is required")
	}
	if len(c.Regions) == 0 {
		add("Regions is required")
	} else if _, ok := c.Regions[c.Region]; c.Region != "" && !ok {
		add(fmt.Sprintf("Region %q is not one of Regions", c.Region))
	}
	for r, addrs := range c.Regions {
		if r == "" || len(addrs) == 0 || slices.Contains(addrs, "") {
			add(fmt.Sprintf("region %q needs gateway addresses", r))
		}
	}
	if c.Listen == "" {
		add("Listen is required")
	}
	if c.LocalLinkConns < 1 || c.LocalLinkConns > 64 {
		add(fmt.Sprintf("LocalLinkConns %d is not in 1..64", c.LocalLinkConns))
	}
	if c.LocalLink != regionalclient.TransportTCP && c.LocalLink != regionalclient.TransportQUIC {
		add(fmt.Sprintf("LocalLink %q is not %q or %q", c.LocalLink, regionalclient.TransportTCP, regionalclient.TransportQUIC))
	}
	if c.TLSCert == nil && (c.CertFile == "" || c.KeyFile == "") {
		add("TLSCert or CertFile and KeyFile are required")
	}
	if c.ClientCert == nil && (c.ClientCertFile == "" || c.ClientKeyFile == "") {
		add("ClientCert or ClientCertFile and ClientKeyFile are required")
	}
	if c.RootCAs == nil && c.RootCAFile == "" {
		add("RootCAs or RootCAFile is required")
	}
	if c.Catalog == nil {
		add("Catalog is required")
	}
	if c.Scheme.Data < 1 || c.Scheme.Parity < 0 {
		add("Scheme is invalid")
	}
	if c.CacheSize <= 0 || c.CacheTTL <= 0 || c.NegativeTTL < 0 || c.NegativeTTL > c.CacheTTL {
		add("CacheSize and CacheTTL must be positive and 0 ≤ NegativeTTL ≤ CacheTTL")
	}
	if c.LinkDialTimeout <= 0 || c.ShutdownTimeout <= 0 {
		add("LinkDialTimeout and ShutdownTimeout must be positive")
	}
	if c.MaxHeaderBytes < 8<<10 {
		add("MaxHeaderBytes must be at least 8 KiB")
	}
	if err := c.bodyTimeouts().Validate("edge"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) bodyTimeouts() s3api.BodyTimeouts {
	return s3api.BodyTimeouts{Idle: c.BodyIdleTimeout, Total: c.BodyTotalTimeout}
}

// certificates resolves the configured certificates and CA pool.
func (c Config) certificates() (server, client tls.Certificate, roots *x509.CertPool, err error) {
	if c.TLSCert != nil {
		server = *c.TLSCert
	} else if server, err = tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
		return server, client, nil, fmt.Errorf("edge: server certificate: %w", err)
	}
	if c.ClientCert != nil {
		client = *c.ClientCert
	} else if client, err = tls.LoadX509KeyPair(c.ClientCertFile, c.ClientKeyFile); err != nil {
		return server, client, nil, fmt.Errorf("edge: client certificate: %w", err)
	}
	roots = c.RootCAs
	if roots == nil {
		pem, err := os.ReadFile(c.RootCAFile)
		if err != nil {
			return server, client, nil, fmt.Errorf("edge: root CAs: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return server, client, nil, fmt.Errorf("edge: root CAs: no certificate in %s", c.RootCAFile)
		}
	}
	return server, client, roots, nil
}

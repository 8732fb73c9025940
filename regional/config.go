package regional

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/internal/md5lanes"
	"github.com/meridian-s3/meridian/internal/s3api"
)

// Config configures a regional gateway.
type Config struct {
	Region string // e.g. "us-east-1"
	Listen string // host:port for S3 over HTTP
	// ListenTLS, when set, is a second host:port serving the same S3 API
	// over HTTPS (HTTP/1.1 and HTTP/2 by ALPN), e.g. for clients that need
	// TLS in the region or to measure the edge against a direct path that
	// pays for TLS too; "" (the default): off. Requires ServerTLS.
	ListenTLS string
	// ServerTLS is ListenTLS's TLS config: a server certificate
	// (Certificates, GetCertificate or GetConfigForClient). The gateway
	// serves a clone with TLS 1.2 at least and ALPN "h2", "http/1.1".
	ServerTLS *tls.Config
	// Domains for virtual-hosted-style requests: "<bucket>.<domain>".
	Domains []string
	// InlineThreshold: objects (and parts) up to this size are stored in the
	// metadata record instead of as shards. Chosen by measurement (docs/performance.md).
	InlineThreshold int64
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
	// LifecycleDay is the length of a lifecycle "day" for x-amz-expiration
	// (0: 24 h). Only tests shorten it (MERIDIAN_TEST_DAY, cmd/meridian);
	// the background servers must use the same length.
	LifecycleDay time.Duration

	Meta     Meta
	Data     DataPath
	Catalog  Catalog
	Logger   *slog.Logger
	Registry *prometheus.Registry // nil: no metrics; the process serves the registry (cmd: --metrics-listen)

	// EdgeListen is the host:port of the edge link (regional/edgelink.go,
	// docs/edge.md): HTTP/3 on UDP and HTTP/2 on TCP at the same port (port
	// 0: one kernel-chosen port for both); "" disables it.
	EdgeListen string
	// EdgeTLS is the edge listener's TLS config: server certificate,
	// ClientCAs and ClientAuth = tls.RequireAndVerifyClientCert. TLS 1.3
	// is enforced. Required when EdgeListen is set.
	EdgeTLS *tls.Config
	// LocalSocketDir, when set, serves the edge link's HTTP/2 listener on
	// an authenticated local socket too (internal/localconn), named by the
	// TCP address in this folder: an edge on the same host reaches it
	// without TLS but with the same certificate checks (docs/edge.md).
	// "" (the default): off.
	LocalSocketDir string

	// SSEKeys seals and opens SSE-S3 data keys under the region's master
	// key (regional/ssekeys); nil: SSE-S3 requests are refused (501).
	SSEKeys SSEKeys
	// KMS is the key service of SSE-KMS (regional/ssekms); nil: SSE-KMS
	// requests are refused (501).
	KMS KMS
	// SSECOverHTTP admits SSE-C keys on requests that did not arrive over
	// TLS. Tests only: S3 refuses them (docs/sse.md).
	SSECOverHTTP bool

	// MD5 says when request bodies' MD5 (ETag, Content-MD5) runs on
	// multi-buffer lanes (internal/md5lanes); the zero value is the
	// measured default.
	MD5 md5lanes.Config

	// TracerProvider receives a server span per S3 request (regional/tracing.go);
	// nil: no tracing.
	TracerProvider trace.TracerProvider

	// BeforeCommit is a test-only fault hook: when set it is called after a
	// PUT's shards are written (or its inline body read) and just before its
	// COMMIT, with the incarnation key and object key. Tests use it to pause a
	// PUT there; the process sets it only from MERIDIAN_TEST_FAULTS
	// (regional/faults.go). nil in production.
	BeforeCommit func(ctx context.Context, bucket, key string)
}

// DefaultConfig returns a config with defaults; dependencies must be set.
func DefaultConfig() Config {
	return Config{
		Region:          "us-east-1",
		Listen:          "127.0.0.1:9000",
		InlineThreshold: 64 << 10, // docs/performance.md: measured crossover 128–256 KiB; kept lower because inline bytes live in the in-memory FSM on 3 replicas
		MaxHeaderBytes:  64 << 10,
		ShutdownTimeout: 10 * time.Second,

		BodyIdleTimeout:  20 * time.Second,
		BodyTotalTimeout: time.Hour, // 5 GiB (the largest single PUT) at ≥1.5 MB/s
	}
}

// Validate checks the config.
func (c Config) Validate() error {
	var errs []error
	if c.Region == "" {
		errs = append(errs, errors.New("regional: Region is required"))
	}
	if c.Listen == "" {
		errs = append(errs, errors.New("regional: Listen is required"))
	}
	if c.ListenTLS != "" && !hasServerCert(c.ServerTLS) {
		errs = append(errs, ErrServerTLS)
	}
	if c.InlineThreshold < 0 || c.InlineThreshold > 4<<20 {
		errs = append(errs, fmt.Errorf("regional: InlineThreshold %d out of range [0, 4 MiB]", c.InlineThreshold))
	}
	if c.MaxHeaderBytes < 8<<10 {
		errs = append(errs, errors.New("regional: MaxHeaderBytes must be at least 8 KiB"))
	}
	if err := c.bodyTimeouts().Validate("regional"); err != nil {
		errs = append(errs, err)
	}
	if err := c.MD5.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("regional: MD5: %w", err))
	}
	if c.LifecycleDay < 0 {
		errs = append(errs, errors.New("regional: LifecycleDay must not be negative"))
	}
	if c.Meta == nil || c.Data == nil || c.Catalog == nil {
		errs = append(errs, errors.New("regional: Meta, Data and Catalog are required"))
	}
	return errors.Join(errs...)
}

// ErrServerTLS: ListenTLS is set without a server certificate.
var ErrServerTLS = errors.New("regional: ListenTLS requires ServerTLS with a server certificate")

// hasServerCert reports whether t can present a server certificate.
func hasServerCert(t *tls.Config) bool {
	return t != nil && (len(t.Certificates) > 0 || t.GetCertificate != nil || t.GetConfigForClient != nil)
}

func (c Config) bodyTimeouts() s3api.BodyTimeouts {
	return s3api.BodyTimeouts{Idle: c.BodyIdleTimeout, Total: c.BodyTotalTimeout}
}

package regionalclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/meridian-s3/meridian/internal/connbuf"
	"github.com/meridian-s3/meridian/internal/localconn"
)

// Sentinel errors.
var (
	ErrUnknownRegion = errors.New("regionalclient: unknown region")
	ErrClosed        = errors.New("regionalclient: client closed")
)

// Config configures a Client.
type Config struct {
	// Regions maps a region to its regional gateways' edge-link addresses (host:port: UDP for QUIC, TCP for TCPRegions).
	Regions map[string][]string
	// TLS holds the edge client certificate and the RootCAs that sign the
	// regional gateways' certificates. MinVersion is raised to TLS 1.3.
	TLS *tls.Config
	// DialTimeout bounds the QUIC handshake with one gateway.
	DialTimeout time.Duration
	// IdleTimeout closes a connection that carried nothing for this long.
	IdleTimeout time.Duration
	// KeepAlive is the QUIC keep-alive period on an open connection.
	KeepAlive time.Duration
	// DownFor: a gateway whose request failed is tried last for this long.
	DownFor time.Duration
	// MaxResponseHeaderBytes bounds a response header section.
	MaxResponseHeaderBytes int
	// TCPRegions are the regions reached over HTTP/2 on mutual TLS over
	// TCP instead of HTTP/3 over QUIC, at the same host:port — normally the
	// edge's own region, where the hop is short and QUIC's per-packet cost
	// is not repaid (docs/edge.md).
	TCPRegions []string
	// TCPConns is the number of HTTP/2 connections to each gateway of a TCP
	// region, used round robin (each connection's frames are read, and
	// decrypted, by one goroutine at either end).
	TCPConns int
	// QUICConns is the number of QUIC connections to each gateway of a QUIC
	// region, used round robin (1 if zero). Each connection has its own
	// congestion window and its own receive loop at the gateway: across a
	// long link a loss halves only that connection's window, and the
	// gateway's 256-packet queue per connection (quic-go) is drained by N
	// goroutines rather than one (docs/replication.md, "Measured").
	QUICConns int
	// LocalSocketDir, when set, is the folder of the gateways'
	// authenticated local sockets (internal/localconn): a connection to a
	// gateway of a TCP region first tries the local socket of its address
	// (HTTP/2 with prior knowledge, the same certificates and checks,
	// no TLS), and falls back to TLS over TCP when there is none or the
	// local handshake fails. "" (the default): TLS only.
	LocalSocketDir string
	Logger         *slog.Logger
}

// Transport names the protocol of a link to a gateway.
type Transport string

// The link's transports.
const (
	TransportQUIC Transport = "quic" // HTTP/3 over QUIC (UDP)
	TransportTCP  Transport = "tcp"  // HTTP/2 over TLS over TCP
)

// DefaultConfig returns defaults; Regions and TLS must be set.
func DefaultConfig() Config {
	return Config{
		DialTimeout:            5 * time.Second,
		IdleTimeout:            60 * time.Second,
		KeepAlive:              15 * time.Second,
		DownFor:                5 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		TCPConns:               1,
		QUICConns:              1,
	}
}

// Validate checks c.
func (c Config) Validate() error {
	var errs []error
	if len(c.Regions) == 0 {
		errs = append(errs, errors.New("regionalclient: Regions is empty"))
	}
	for r, addrs := range c.Regions {
		if r == "" || len(addrs) == 0 {
			errs = append(errs, fmt.Errorf("regionalclient: region %q has no gateway", r))
		}
	}
	if c.TLS == nil || len(c.TLS.Certificates) == 0 && c.TLS.GetClientCertificate == nil {
		errs = append(errs, errors.New("regionalclient: TLS with an edge client certificate is required"))
	}
	if c.DialTimeout <= 0 || c.IdleTimeout <= 0 || c.KeepAlive <= 0 || c.KeepAlive >= c.IdleTimeout {
		errs = append(errs, errors.New("regionalclient: DialTimeout, IdleTimeout must be positive and KeepAlive in (0, IdleTimeout)"))
	}
	if len(c.TCPRegions) > 0 && (c.TCPConns < 1 || c.TCPConns > 64) {
		errs = append(errs, fmt.Errorf("regionalclient: TCPConns %d is not in 1..64", c.TCPConns))
	}
	if c.QUICConns < 0 || c.QUICConns > 64 {
		errs = append(errs, fmt.Errorf("regionalclient: QUICConns %d is not in 0..64", c.QUICConns))
	}
	for _, r := range c.TCPRegions {
		if _, ok := c.Regions[r]; !ok {
			errs = append(errs, fmt.Errorf("regionalclient: TCP region %q is not one of Regions", r))
		}
	}
	return errors.Join(errs...)
}

// Client sends requests to regional gateways over HTTP/3. Safe for
// concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	regions map[string]*pool
	closed  atomic.Bool
	stats   *linkCounters
}

// LinkStats counts the connections made to gateways of TCP regions.
type LinkStats struct {
	Local       int64 // authenticated local sockets (Config.LocalSocketDir)
	TLS         int64 // TLS over TCP
	LocalFailed int64 // local handshakes that failed (each then dialed TLS)
}

type linkCounters struct {
	local, tls, localFailed atomic.Int64
	loggedBad               sync.Map // addr → struct{}: logged once
}

// LinkStats is what the client's TCP-region connections used so far.
func (c *Client) LinkStats() LinkStats {
	return LinkStats{Local: c.stats.local.Load(), TLS: c.stats.tls.Load(), LocalFailed: c.stats.localFailed.Load()}
}

// pool is the gateways of one region.
type pool struct {
	next     atomic.Uint64
	gateways []*gateway
}

type gateway struct {
	addr  string
	proto Transport
	tr    roundTripCloser
	mu    sync.Mutex
	down  time.Time // last failure
}

// roundTripCloser is a link transport: a quicPool of http3.Transports, or
// a tcpPool of http.Transports.
type roundTripCloser interface {
	http.RoundTripper
	Close() error
}

// tcpTransport is the same-region link to one gateway: HTTP/2 over mutual
// TLS (h2), and, when the gateway has a local socket on this host, HTTP/1.1
// over that socket (local) — see newTCPTransport.
type tcpTransport struct {
	h2    *http.Transport
	local *http.Transport // nil without LocalSocketDir
	dir   string
	// skip: addr → time.Time until which the local socket is not tried,
	// set when a dial of it failed (a stale socket file, a handshake that
	// did not authenticate). The request that met the failure fails (its
	// body cannot be sent twice); the next ones take TLS.
	skip *sync.Map
}

// localSkip is how long a failed local socket is left alone.
const localSkip = 5 * time.Second

// RoundTrip takes the local socket while the gateway's socket file exists
// (a stat per request) and has not just failed, TLS otherwise.
func (t tcpTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.local != nil {
		if until, ok := t.skip.Load(r.URL.Host); ok && time.Now().Before(until.(time.Time)) {
			return t.h2.RoundTrip(r)
		}
		if fi, err := os.Stat(localconn.SocketPath(t.dir, r.URL.Host)); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if r.Body != nil && r.Body != http.NoBody {
				r = r.Clone(r.Context())
				r.Body = HoldLastByte(r.Body)
			}
			return t.local.RoundTrip(r)
		}
	}
	return t.h2.RoundTrip(r)
}

// holdLast keeps back the last byte of a request body until the body ends
// cleanly (io.EOF). The edge learns that a body is bad only at its end (a
// chunk signature, a checksum, the declared length), and the region commits
// only bodies that arrive whole: HTTP/2 resets the stream, but over
// HTTP/1.1 with a Content-Length every byte sent before the error would
// already be a complete body. With the last byte held back, a body that
// ends in an error arrives one byte short and the connection is closed, so
// the region sees a truncated request and stores nothing
// (TestRegionCommitsOnlyCleanStreams/local-h1, TestRejectedBodyIsNotStored).
type holdLast struct {
	rc   io.ReadCloser
	held [1]byte
	has  bool
	err  error // sticky: io.EOF once the held byte was released, or the body's error
}

func (h *holdLast) Read(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var tmp [1]byte
	off, dst := 0, p
	if h.has {
		if len(p) == 1 {
			dst = tmp[:] // no room beside the held byte: read one ahead
		} else {
			p[0], off, dst = h.held[0], 1, p[1:]
		}
	}
	n, err := h.rc.Read(dst)
	if len(p) == 1 && h.has {
		p[0] = h.held[0]
		if n == 1 && (err == nil || errors.Is(err, io.EOF)) {
			h.held[0] = tmp[0] // the new byte is held; an EOF is the source's again next time
			return 1, nil
		}
		off, n = 1, 0 // nothing new: p[0] is the held byte
	}
	total := off + n
	switch {
	case err == nil:
		if total == 0 {
			return 0, nil
		}
		h.held[0], h.has = p[total-1], true
		return total - 1, nil
	case errors.Is(err, io.EOF):
		h.has, h.err = false, io.EOF
		return total, io.EOF
	default:
		h.has, h.err = false, err
		return 0, err // the held byte (and this read's) never leave
	}
}

func (h *holdLast) Close() error { return h.rc.Close() }

// HoldLastByte wraps a request body sent over HTTP/1.1 on the link so that
// an error at its end leaves the region one byte short (holdLast).
func HoldLastByte(rc io.ReadCloser) io.ReadCloser { return &holdLast{rc: rc} }

// Close drops the idle connections (http.Transport has no Close).
func (t tcpTransport) Close() error {
	t.h2.CloseIdleConnections()
	if t.local != nil {
		t.local.CloseIdleConnections()
	}
	return nil
}

// tcpPool spreads requests over several HTTP/2 connections to one gateway
// (one http.Transport each, so each holds its own connection).
type tcpPool struct {
	next atomic.Uint64
	trs  []tcpTransport
}

// quicPool spreads requests over several QUIC connections to one gateway
// (one http3.Transport each, with its own UDP socket and connection).
type quicPool struct {
	next atomic.Uint64
	trs  []*http3.Transport
}

func newQUICPool(cfg Config, tc *tls.Config, qc *quic.Config) *quicPool {
	p := &quicPool{}
	for i := 0; i < max(1, cfg.QUICConns); i++ {
		p.trs = append(p.trs, &http3.Transport{
			TLSClientConfig:        tc,
			QUICConfig:             qc,
			MaxResponseHeaderBytes: cfg.MaxResponseHeaderBytes,
			DisableCompression:     true,
		})
	}
	return p
}

func (p *quicPool) RoundTrip(r *http.Request) (*http.Response, error) {
	return p.trs[p.next.Add(1)%uint64(len(p.trs))].RoundTrip(r)
}

func (p *quicPool) Close() error {
	var errs []error
	for _, t := range p.trs {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}

func newTCPPool(cfg Config, tc *tls.Config, stats *linkCounters) *tcpPool {
	p := &tcpPool{}
	for i := 0; i < max(1, cfg.TCPConns); i++ {
		p.trs = append(p.trs, newTCPTransport(cfg, tc, stats))
	}
	return p
}

func (p *tcpPool) RoundTrip(r *http.Request) (*http.Response, error) {
	return p.trs[p.next.Add(1)%uint64(len(p.trs))].RoundTrip(r)
}

func (p *tcpPool) Close() error {
	for _, t := range p.trs {
		_ = t.Close()
	}
	return nil
}

// newTCPTransport is the same-region link: HTTP/2 over mutual TLS 1.3 with
// large frames and windows and full-size TLS records — or, with
// LocalSocketDir and a gateway on this host, HTTP/1.1 over its
// authenticated local socket.
// dialSetup is what both dialers of the same-region link start with: tc for
// addr (ServerName from its host unless set) and ctx bounded by DialTimeout.
func dialSetup(ctx context.Context, cfg Config, tc *tls.Config, addr string) (*tls.Config, context.Context, context.CancelFunc) {
	c := tc.Clone()
	if c.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			c.ServerName = host
		}
	}
	if cfg.DialTimeout > 0 {
		ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
		return c, ctx, cancel
	}
	return c, ctx, func() {}
}

func newTCPTransport(cfg Config, tc *tls.Config, stats *linkCounters) tcpTransport {
	tc = tc.Clone()
	tc.NextProtos = []string{"h2"}
	tc.DynamicRecordSizingDisabled = true
	// TLS below net/http, with records written and read in large batches
	// (internal/connbuf); the transport speaks HTTP/2 with prior knowledge
	// over the Conn, whose ALPN negotiated "h2".
	pool := connbuf.MustPool(connbuf.DefaultOptions())
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, ctx, cancel := dialSetup(ctx, cfg, tc, addr)
			defer cancel()
			conn, err := pool.Dial(ctx, d, network, addr, c)
			if err != nil {
				return nil, err
			}
			stats.tls.Add(1)
			if p := conn.State().NegotiatedProtocol; p != "h2" {
				_ = conn.Close()
				return nil, fmt.Errorf("regionalclient: %s negotiated %q, not h2", addr, p)
			}
			return conn, nil
		},
		IdleConnTimeout:        cfg.IdleTimeout,
		MaxResponseHeaderBytes: int64(cfg.MaxResponseHeaderBytes),
		DisableCompression:     true,
		HTTP2: &http.HTTP2Config{
			MaxReadFrameSize:              1 << 20,
			MaxReceiveBufferPerConnection: 4<<20 - 1,
			MaxReceiveBufferPerStream:     4<<20 - 1,
			SendPingTimeout:               cfg.KeepAlive,
		},
	}
	connbuf.HTTP2Transport(t)
	if cfg.LocalSocketDir == "" {
		return tcpTransport{h2: t}
	}
	// The local socket speaks HTTP/1.1: no framing, flow-control windows or
	// pipe between the socket and the body, so a response body is read
	// straight from the socket into the edge's relay buffer. Connections
	// are cheap here (no TLS), so one per request in flight, kept idle for
	// reuse. A socket file whose server is gone (a killed gateway leaves
	// it) refuses: the request fails as it would over TLS to a dead gateway.
	skip := new(sync.Map)
	lt := &http.Transport{
		// DialTLSContext: the link's URLs are https; the local Conn is
		// already authenticated, and HTTP/2 is never tried over it.
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, ctx, cancel := dialSetup(ctx, cfg, tc, addr)
			defer cancel()
			lc, err := localconn.Dial(ctx, localconn.SocketPath(cfg.LocalSocketDir, addr), "http/1.1", c)
			if err != nil {
				if ctx.Err() == nil {
					skip.Store(addr, time.Now().Add(localSkip))
				}
				if !errors.Is(err, localconn.ErrUnavailable) && ctx.Err() == nil {
					stats.localFailed.Add(1)
					if _, seen := stats.loggedBad.LoadOrStore(addr, struct{}{}); !seen {
						cfg.Logger.Warn("edge link: local socket handshake failed; TLS over TCP for the next requests", "addr", addr, "err", err)
					}
				}
				return nil, err
			}
			stats.local.Add(1)
			return lc, nil
		},
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        cfg.IdleTimeout,
		MaxResponseHeaderBytes: int64(cfg.MaxResponseHeaderBytes),
		DisableCompression:     true,
		WriteBufferSize:        64 << 10,
		ReadBufferSize:         64 << 10,
	}
	return tcpTransport{h2: t, local: lt, dir: cfg.LocalSocketDir, skip: skip}
}

// New builds a client. Connections are dialed on first use.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	tc := cfg.TLS.Clone()
	tc.MinVersion = tls.VersionTLS13
	qc := &quic.Config{
		HandshakeIdleTimeout: cfg.DialTimeout,
		MaxIdleTimeout:       cfg.IdleTimeout,
		KeepAlivePeriod:      cfg.KeepAlive,
		// Large windows: the link is a long fat pipe between regions.
		InitialStreamReceiveWindow:     4 << 20,
		MaxStreamReceiveWindow:         16 << 20,
		InitialConnectionReceiveWindow: 8 << 20,
		MaxConnectionReceiveWindow:     64 << 20,
	}
	c := &Client{cfg: cfg, log: cfg.Logger.With("component", "regionalclient"), regions: map[string]*pool{}, stats: new(linkCounters)}
	tcp := map[string]bool{}
	for _, r := range cfg.TCPRegions {
		tcp[r] = true
	}
	for r, addrs := range cfg.Regions {
		p := &pool{}
		for _, a := range addrs {
			g := &gateway{addr: a, proto: TransportQUIC}
			if tcp[r] {
				g.proto, g.tr = TransportTCP, newTCPPool(cfg, tc, c.stats)
			} else {
				g.tr = newQUICPool(cfg, tc, qc)
			}
			p.gateways = append(p.gateways, g)
		}
		c.regions[r] = p
	}
	return c, nil
}

// Regions lists the configured regions, sorted.
func (c *Client) Regions() []string {
	out := make([]string, 0, len(c.regions))
	for r := range c.regions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// order returns the region's gateways, starting round-robin, gateways that
// failed within DownFor last.
func (c *Client) order(p *pool) []*gateway {
	n := len(p.gateways)
	start := int(p.next.Add(1) % uint64(n))
	now := time.Now()
	var up, down []*gateway
	for i := 0; i < n; i++ {
		g := p.gateways[(start+i)%n]
		g.mu.Lock()
		failed := !g.down.IsZero() && now.Sub(g.down) < c.cfg.DownFor
		g.mu.Unlock()
		if failed {
			down = append(down, g)
		} else {
			up = append(up, g)
		}
	}
	return append(up, down...)
}

// Do sends req to a gateway of region. req.URL needs only Path, RawPath and
// RawQuery; Do fills in scheme and host. req.Body, if any, is never closed
// by Do (the caller owns it). A request that fails without a response is
// retried once on another gateway of the region when it has no body or its
// body was not read yet. The caller closes the response body.
func (c *Client) Do(req *http.Request, region string) (*http.Response, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	p, ok := c.regions[region]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownRegion, region)
	}
	gws := c.order(p)
	attempts := min(2, len(gws))
	if len(gws) == 1 {
		attempts = 2 // a single gateway: retry once on a fresh connection
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		g := gws[i%len(gws)]
		resp, consumed, err := c.try(req, g)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		g.mu.Lock()
		g.down = time.Now()
		g.mu.Unlock()
		c.log.LogAttrs(req.Context(), slog.LevelWarn, "edge link request failed",
			slog.String("request_id", req.Header.Get(HeaderRequestID)), slog.String("region", region),
			slog.String("gateway", g.addr), slog.Int("attempt", i+1), slog.Any("err", err))
		if consumed || req.Context().Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// try sends one attempt; consumed reports whether any body byte was read.
func (c *Client) try(req *http.Request, g *gateway) (*http.Response, bool, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = "https", g.addr, g.addr
	var body *attemptBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &attemptBody{r: req.Body}
		out.Body = body
		out.GetBody = nil
	}
	resp, err := g.tr.RoundTrip(out)
	if err == nil {
		return resp, true, nil
	}
	consumed := false
	if body != nil {
		consumed = body.detach() > 0
	}
	return nil, consumed, err
}

// Close closes every connection. Safe twice.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, p := range c.regions {
		for _, g := range p.gateways {
			errs = append(errs, g.tr.Close())
		}
	}
	return errors.Join(errs...)
}

// attemptBody hands the caller's body to one attempt. It never closes the
// caller's body; detach stops the attempt from reading more, so a retry
// can reuse an unread body without two readers racing.
type attemptBody struct {
	mu       sync.Mutex
	r        io.Reader
	n        int64
	detached bool
}

var errDetached = errors.New("regionalclient: attempt abandoned")

func (b *attemptBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.detached {
		return 0, errDetached
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *attemptBody) Close() error { return nil }

func (b *attemptBody) detach() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.detached = true
	return b.n
}

// Transport reports how region is reached ("" for an unknown region).
func (c *Client) Transport(region string) Transport {
	p, ok := c.regions[region]
	if !ok || len(p.gateways) == 0 {
		return ""
	}
	return p.gateways[0].proto
}

// Gateways lists the gateway addresses of region.
func (c *Client) Gateways(region string) []string {
	p, ok := c.regions[region]
	if !ok {
		return nil
	}
	out := make([]string, len(p.gateways))
	for i, g := range p.gateways {
		out[i] = g.addr
	}
	return out
}

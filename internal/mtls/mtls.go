package mtls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-s3/meridian/internal/connbuf"
	"github.com/meridian-s3/meridian/internal/localconn"
)

// Scheme is the scheme of the identity URI SAN.
const Scheme = "meridian"

// Role is what a node is allowed to be.
type Role string

// The roles.
const (
	RoleMeta       Role = "meta"       // metadata node: Raft peer, serves the RPC and control plane
	RoleStorage    Role = "storage"    // storage node: serves shards, sends heartbeats
	RoleGateway    Role = "gateway"    // regional gateway: calls metadata and storage
	RoleBackground Role = "background" // janitor/scrubber/replicator: calls metadata and storage
	RoleAdmin      Role = "admin"      // operators' tools (meridian status)
	RoleEdge       Role = "edge"       // edge gateway: the QUIC edge link only
)

// Internal reports whether r is a role of a region's internal network (every
// role but edge); internal identities must name their region.
func (r Role) Internal() bool {
	switch r {
	case RoleMeta, RoleStorage, RoleGateway, RoleBackground, RoleAdmin:
		return true
	}
	return false
}

func (r Role) known() bool { return r == RoleEdge || r.Internal() }

// Sentinel errors.
var (
	ErrNoIdentity  = errors.New("mtls: no verified peer certificate")
	ErrBadIdentity = errors.New("mtls: certificate does not carry one valid meridian identity")
	ErrForbidden   = errors.New("mtls: peer role not allowed")
	ErrBadFiles    = errors.New("mtls: CA, certificate or key files unusable")
)

// Identity is what a certificate says a node is.
type Identity struct {
	Role   Role
	ID     string
	Region string // empty only for edge
	AZ     string // required for meta and storage; optional for gateway, background, admin; empty for edge
}

func (i Identity) String() string { return i.URI().String() }

// URI is the identity's URI SAN.
func (i Identity) URI() *url.URL {
	u := &url.URL{Scheme: Scheme, Host: string(i.Role), Path: "/" + i.ID}
	if i.Region != "" || i.AZ != "" {
		q := url.Values{}
		if i.Region != "" {
			q.Set("region", i.Region)
		}
		if i.AZ != "" {
			q.Set("az", i.AZ)
		}
		u.RawQuery = q.Encode()
	}
	return u
}

// Validate checks an identity: a known role, segment-safe id, region and AZ
// (1..128 of [A-Za-z0-9._-]); internal roles need a region, meta and
// storage nodes an AZ; edge has neither.
func (i Identity) Validate() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrBadIdentity, why) }
	switch {
	case !i.Role.known():
		return bad(fmt.Sprintf("unknown role %q", i.Role))
	case !Segment(i.ID):
		return bad(fmt.Sprintf("bad id %q", i.ID))
	case i.Role.Internal() && !Segment(i.Region):
		return bad(fmt.Sprintf("role %s needs a region (have %q)", i.Role, i.Region))
	case (i.Role == RoleMeta || i.Role == RoleStorage) && !Segment(i.AZ):
		return bad(fmt.Sprintf("role %s needs an AZ (have %q)", i.Role, i.AZ))
	case i.AZ != "" && !Segment(i.AZ):
		return bad(fmt.Sprintf("bad AZ %q", i.AZ))
	case !i.Role.Internal() && (i.Region != "" || i.AZ != ""):
		return bad("an edge identity names no region or AZ")
	}
	return nil
}

// Segment reports whether s is 1..128 characters of [A-Za-z0-9._-].
func Segment(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ParseURI parses an identity URI; it is strict (no userinfo, port,
// fragment, extra path segments, unknown or repeated query keys).
func ParseURI(u *url.URL) (Identity, error) {
	if u == nil || u.Scheme != Scheme {
		return Identity{}, fmt.Errorf("%w: not a %s: URI", ErrBadIdentity, Scheme)
	}
	if u.User != nil || u.Port() != "" || u.Fragment != "" || u.Opaque != "" || u.RawPath != "" {
		return Identity{}, fmt.Errorf("%w: %q", ErrBadIdentity, u.String())
	}
	id, ok := strings.CutPrefix(u.Path, "/")
	if !ok || strings.Contains(id, "/") {
		return Identity{}, fmt.Errorf("%w: path %q", ErrBadIdentity, u.Path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: query: %v", ErrBadIdentity, err)
	}
	for k, v := range q {
		if (k != "region" && k != "az") || len(v) != 1 {
			return Identity{}, fmt.Errorf("%w: query key %q", ErrBadIdentity, k)
		}
	}
	ident := Identity{Role: Role(u.Host), ID: id, Region: q.Get("region"), AZ: q.Get("az")}
	if err := ident.Validate(); err != nil {
		return Identity{}, err
	}
	return ident, nil
}

// FromCert returns the identity of a certificate: exactly one meridian: URI
// SAN, valid. It does not verify the certificate.
func FromCert(c *x509.Certificate) (Identity, error) {
	if c == nil {
		return Identity{}, ErrNoIdentity
	}
	var found []*url.URL
	for _, u := range c.URIs {
		if u.Scheme == Scheme {
			found = append(found, u)
		}
	}
	if len(found) != 1 {
		return Identity{}, fmt.Errorf("%w: %d %s: URIs", ErrBadIdentity, len(found), Scheme)
	}
	return ParseURI(found[0])
}

// PeerIdentity is the identity of a connection's verified peer: the leaf of
// its first verified chain. A connection without verified chains (plain, or
// a client config that skipped verification) has none.
func PeerIdentity(cs *tls.ConnectionState) (Identity, error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return Identity{}, ErrNoIdentity
	}
	return FromCert(cs.VerifiedChains[0][0])
}

// FromRequest is PeerIdentity of the request's connection.
func FromRequest(r *http.Request) (Identity, error) { return PeerIdentity(r.TLS) }

// Policy admits peers by role, within one region.
type Policy struct {
	Region string // the server's region; a peer of another region is refused
	Roles  []Role
}

// Check returns nil when id may call under p.
func (p Policy) Check(id Identity) error {
	if !slices.Contains(p.Roles, id.Role) {
		return fmt.Errorf("%w: %s may not call this (allowed: %v)", ErrForbidden, id, p.Roles)
	}
	if id.Role.Internal() && id.Region != p.Region {
		return fmt.Errorf("%w: %s belongs to region %q, not %q", ErrForbidden, id, id.Region, p.Region)
	}
	return nil
}

// Allow wraps h: only verified peers admitted by p reach it; others get 403
// (401 without a verified certificate, which a server requiring client
// certificates never lets through the handshake).
func Allow(p Policy, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := FromRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if err := p.Check(id); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Node is one node's TLS material: the region CA, its certificate and key,
// and the identity the certificate names. It is safe for concurrent use.
type Node struct {
	Identity Identity
	cert     tls.Certificate
	roots    *x509.CertPool
	server   *tls.Config
	sessions tls.ClientSessionCache

	local     atomic.Pointer[localSetting] // nil: local sockets off
	loggedBad sync.Map                     // addr → struct{}: local handshake failures logged once
	stats     sync.Map                     // Role (the first a dialer accepts) → *dialCounters
}

// localSetting is SetLocalDir's folder and logger.
type localSetting struct {
	dir string
	log *slog.Logger
}

type dialCounters struct{ local, tls, localFailed atomic.Int64 }

// DialStats counts the connections this Node's dialers made.
type DialStats struct {
	Local       int64 // authenticated local sockets (internal/localconn)
	TLS         int64 // TLS over TCP
	LocalFailed int64 // local handshakes that failed (each then dialed TLS)
}

// DialStats is what the Node's dialers did so far, for dialers of servers
// of the given roles (the first role each dialer accepts; none: all).
func (n *Node) DialStats(roles ...Role) DialStats {
	var st DialStats
	n.stats.Range(func(k, v any) bool {
		if len(roles) == 0 || slices.Contains(roles, k.(Role)) {
			c := v.(*dialCounters)
			st.Local += c.local.Load()
			st.TLS += c.tls.Load()
			st.LocalFailed += c.localFailed.Load()
		}
		return true
	})
	return st
}

func (n *Node) counters(roles []Role) *dialCounters {
	var r Role
	if len(roles) > 0 {
		r = roles[0]
	}
	c, _ := n.stats.LoadOrStore(r, new(dialCounters))
	return c.(*dialCounters)
}

// SetLocalDir turns on authenticated local sockets (internal/localconn)
// with socket folder dir ("" turns them off, the default): ListenLocal
// serves one beside a TCP listener, and the dialers try the socket of the
// address they dial before TCP. log hears of local handshakes that failed
// (once per address; nil: nobody). Call it before the Node's servers and
// clients start.
func (n *Node) SetLocalDir(dir string, log *slog.Logger) {
	if dir == "" {
		n.local.Store(nil)
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n.local.Store(&localSetting{dir: dir, log: log})
}

// LocalDir is the socket folder ("" when local sockets are off).
func (n *Node) LocalDir() string {
	if l := n.local.Load(); l != nil {
		return l.dir
	}
	return ""
}

// ListenLocal listens on the local socket of TCP address addr (the address
// clients dial; bind the TCP listener first) with this Node's server
// identity and checks, for the given protocols (ALPN names). It returns nil
// and no error when local sockets are off.
func (n *Node) ListenLocal(addr string, protocols []string, onError func(error)) (*localconn.Listener, error) {
	l := n.local.Load()
	if l == nil {
		return nil, nil
	}
	tc := n.server.Clone()
	tc.NextProtos = protocols
	return localconn.Listen(l.dir, addr, localconn.ListenConfig{TLS: tc, OnError: onError})
}

// Load reads the CA bundle, certificate chain and key (PEM files).
func Load(caFile, certFile, keyFile string) (*Node, error) {
	if caFile == "" || certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("%w: CA, certificate and key files are all required", ErrBadFiles)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFiles, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: %s holds no certificate", ErrBadFiles, caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFiles, err)
	}
	return NewNode(roots, cert)
}

// NewNode builds a Node from a CA pool and a certificate whose chain
// verifies against it.
func NewNode(roots *x509.CertPool, cert tls.Certificate) (*Node, error) {
	if len(cert.Certificate) == 0 {
		return nil, fmt.Errorf("%w: empty certificate", ErrBadFiles)
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadFiles, err)
		}
		cert.Leaf = leaf
	}
	if _, err := verify(roots, cert.Certificate, x509.ExtKeyUsageAny); err != nil {
		return nil, fmt.Errorf("%w: the certificate does not chain to the CA: %v", ErrBadFiles, err)
	}
	id, err := FromCert(leaf)
	if err != nil {
		return nil, err
	}
	n := &Node{Identity: id, cert: cert, roots: roots, sessions: tls.NewLRUClientSessionCache(1024)}
	n.server = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    roots,
		NextProtos:   []string{"http/1.1"},
	}
	return n, nil
}

// ServerConfig is the one server config of this node (shared, so that its
// session-ticket keys stay the same across connections): TLS 1.3, client
// certificates required and verified against the CA. Clone it to change it.
func (n *Node) ServerConfig() *tls.Config { return n.server }

// Roots is the CA pool.
func (n *Node) Roots() *x509.CertPool { return n.roots }

// ClientConfig returns a client config presenting this node's certificate
// and accepting only servers whose chain verifies against the CA and whose
// identity has one of roles (in any region: the caller chose whom to dial).
// Host names are not checked: the identity is the certificate's URI.
func (n *Node) ClientConfig(roles ...Role) *tls.Config {
	roots := n.roots
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{n.cert},
		RootCAs:            roots,
		ClientSessionCache: n.sessions,
		// The chain and the role are verified in VerifyConnection, which
		// also runs on resumed sessions; the host name is not an identity.
		InsecureSkipVerify: true,
		// The local handshake (internal/localconn) runs the same check.
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrNoIdentity
			}
			raw := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				raw[i] = c.Raw
			}
			if _, err := verify(roots, raw, x509.ExtKeyUsageServerAuth); err != nil {
				return fmt.Errorf("mtls: server certificate: %w", err)
			}
			id, err := FromCert(cs.PeerCertificates[0])
			if err != nil {
				return err
			}
			if !slices.Contains(roles, id.Role) {
				return fmt.Errorf("%w: server %s is not one of %v", ErrForbidden, id, roles)
			}
			return nil
		},
	}
}

func verify(roots *x509.CertPool, chain [][]byte, usage x509.ExtKeyUsage) ([][]*x509.Certificate, error) {
	_, chains, err := localconn.VerifyChain(chain, x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}})
	return chains, err
}

// keyedCache scopes a session cache to one peer address: http.Transport sets
// ServerName to the bare host, so peers sharing a host (loopback, one
// machine) would otherwise offer each other's tickets.
type keyedCache struct {
	prefix string
	inner  tls.ClientSessionCache
}

func (k keyedCache) Get(key string) (*tls.ClientSessionState, bool) {
	return k.inner.Get(k.prefix + key)
}
func (k keyedCache) Put(key string, cs *tls.ClientSessionState) { k.inner.Put(k.prefix+key, cs) }

// Dialer returns a DialTLSContext for http.Transport (and a dial for
// anything else) that connects over TCP and completes a TLS 1.3 handshake
// as ClientConfig(roles...) with the given ALPN protocols (nil: none),
// resuming sessions per peer address. With SetLocalDir, it first tries the
// address's local socket (internal/localconn: the same certificates and
// checks, plaintext) and returns a *localconn.Conn speaking alpn[0]; a
// missing or refusing socket falls back to TLS silently, a failed local
// handshake falls back to TLS and is logged once per address.
func (n *Node) Dialer(timeout time.Duration, alpn []string, roles ...Role) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return n.dialer(nil, timeout, alpn, roles)
}

// BufferedDialer is Dialer returning *connbuf.Conn from pool: the records
// of one Write leave in few large system calls and reads fetch many records
// at once (internal/connbuf). http.Transport then sees a plain connection:
// right for HTTP/1.1; for HTTP/2 see connbuf.HTTP2Transport.
func (n *Node) BufferedDialer(pool *connbuf.Pool, timeout time.Duration, alpn []string, roles ...Role) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return n.dialer(pool, timeout, alpn, roles)
}

func (n *Node) dialer(pool *connbuf.Pool, timeout time.Duration, alpn []string, roles []Role) func(ctx context.Context, network, addr string) (net.Conn, error) {
	base := n.ClientConfig(roles...)
	base.NextProtos = alpn
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	proto := ""
	if len(alpn) > 0 {
		proto = alpn[0]
	}
	stats := n.counters(roles)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if c := n.dialLocal(ctx, stats, base, timeout, addr, proto); c != nil {
			return c, nil
		}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := base.Clone()
		cfg.ClientSessionCache = keyedCache{prefix: addr + "|", inner: n.sessions}
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
		var c interface {
			net.Conn
			HandshakeContext(context.Context) error
		}
		if pool != nil {
			c = pool.Client(raw, cfg)
		} else {
			c = tls.Client(raw, cfg)
		}
		hctx := ctx
		if timeout > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		if err := c.HandshakeContext(hctx); err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("mtls: handshake with %s: %w", addr, err)
		}
		stats.tls.Add(1)
		return c, nil
	}
}

// dialLocal tries addr's local socket when local sockets are on; nil
// means "dial TLS".
func (n *Node) dialLocal(ctx context.Context, stats *dialCounters, base *tls.Config, timeout time.Duration, addr, proto string) net.Conn {
	l := n.local.Load()
	if l == nil {
		return nil
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := localconn.Dial(ctx, localconn.SocketPath(l.dir, addr), proto, base)
	if err == nil {
		stats.local.Add(1)
		return c
	}
	if !errors.Is(err, localconn.ErrUnavailable) && ctx.Err() == nil {
		stats.localFailed.Add(1)
		if _, seen := n.loggedBad.LoadOrStore(addr, struct{}{}); !seen {
			l.log.Warn("local socket handshake failed; using TLS over TCP", "addr", addr, "err", err)
		}
	}
	return nil
}

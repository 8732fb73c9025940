package raftmux

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Magic starts every Raft connection.
const Magic = "MRFT"

// ALPN is the TLS application protocol of Raft connections; HTTP
// connections offer "http/1.1" or nothing.
const ALPN = "meridian-raft"

// TLS makes the mux accept only TLS connections and dial Raft peers over TLS.
type TLS struct {
	// Server is the listener's config (client certificates required); the
	// mux adds ALPN to a clone.
	Server *tls.Config
	// Dial connects to a peer and completes the handshake offering ALPN
	// (e.g. mtls.Node.Dialer with []string{ALPN}).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// AuthorizeRaft decides whether a verified peer may speak Raft; a
	// connection it refuses is closed before its group sees it. Nil refuses
	// every Raft connection.
	AuthorizeRaft func(cs *tls.ConnectionState) error
}

// Sentinel errors.
var (
	ErrClosed       = errors.New("raftmux: closed")
	ErrBadGroupName = errors.New("raftmux: group name must be 1..255 bytes")
	ErrDuplicate    = errors.New("raftmux: group already registered")
)

// DefaultSniffTimeout bounds how long a new connection may take to send its
// first bytes.
const DefaultSniffTimeout = 5 * time.Second

// Mux dispatches the connections of one listener to Raft groups and to HTTP.
type Mux struct {
	ln        net.Listener
	advertise net.Addr
	log       *slog.Logger
	sniff     time.Duration

	mu     sync.Mutex
	groups map[string]*Layer
	conns  map[net.Conn]struct{} // connections being sniffed
	// raft holds every Raft connection handed off (inbound, delivered to a
	// Layer) or dialed (outbound): the wrapper → the raw socket under TLS.
	raft map[*raftConn]net.Conn

	tls       *TLS
	tlsServer *tls.Config

	httpLn *chanListener
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// New wraps ln. advertise is the address peers dial to reach ln (nil = ln.Addr()).
func New(ln net.Listener, advertise net.Addr, logger *slog.Logger) *Mux {
	if advertise == nil {
		advertise = ln.Addr()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Mux{
		ln:        ln,
		advertise: advertise,
		log:       logger,
		sniff:     DefaultSniffTimeout,
		groups:    map[string]*Layer{},
		conns:     map[net.Conn]struct{}{},
		raft:      map[*raftConn]net.Conn{},
		closed:    make(chan struct{}),
	}
	m.httpLn = newChanListener(ln.Addr(), m.closed)
	return m
}

// NewTLS is New for a mux that accepts only TLS: a connection that does not
// complete a handshake (plain TCP, a certificate of another CA, no client
// certificate) within the sniff timeout is closed. Raft connections are told
// apart by ALPN and must pass t.AuthorizeRaft; every other connection goes to
// the HTTP listener as a *tls.Conn, so http.Request.TLS is set.
func NewTLS(ln net.Listener, advertise net.Addr, logger *slog.Logger, t TLS) *Mux {
	m := New(ln, advertise, logger)
	m.tls = &t
	m.tlsServer = t.Server.Clone()
	m.tlsServer.NextProtos = []string{ALPN, "http/1.1"}
	return m
}

// Addr is the listener's local address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// HTTPListener yields every connection that is not a Raft connection.
func (m *Mux) HTTPListener() net.Listener { return m.httpLn }

// Group registers a group and returns its stream layer.
func (m *Mux) Group(name string) (*Layer, error) {
	if len(name) == 0 || len(name) > 255 {
		return nil, ErrBadGroupName
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.groups[name]; ok {
		return nil, fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	l := &Layer{
		mux:    m,
		name:   name,
		header: Header(name),
		accept: newChanListener(m.advertise, m.closed),
	}
	m.groups[name] = l
	return l, nil
}

// Header returns the bytes that open a Raft connection to group name.
func Header(name string) []byte {
	h := make([]byte, 0, len(Magic)+1+len(name))
	h = append(h, Magic...)
	h = append(h, byte(len(name)))
	return append(h, name...)
}

// Serve accepts connections until Close. It returns nil after Close.
func (m *Mux) Serve() error {
	var delay time.Duration
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				m.log.Warn("raftmux: accept", "err", err, "retry_in", delay)
				select {
				case <-time.After(delay):
					continue
				case <-m.closed:
					return nil
				}
			}
			return fmt.Errorf("raftmux: accept: %w", err)
		}
		delay = 0
		m.mu.Lock()
		select {
		case <-m.closed:
			m.mu.Unlock()
			_ = c.Close()
			return nil
		default:
		}
		m.conns[c] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go m.dispatch(c)
	}
}

func (m *Mux) dispatch(c net.Conn) {
	defer m.wg.Done()
	if m.tls != nil {
		m.dispatchTLS(c)
		return
	}
	route := func() (deliver func() bool) {
		_ = c.SetReadDeadline(time.Now().Add(m.sniff))
		var first [len(Magic)]byte
		if _, err := io.ReadFull(c, first[:]); err != nil {
			return nil
		}
		if string(first[:]) != Magic {
			_ = c.SetReadDeadline(time.Time{})
			pc := &prefixConn{Conn: c, prefix: append([]byte(nil), first[:]...)}
			return func() bool { return m.httpLn.deliver(pc) }
		}
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil || n[0] == 0 {
			return nil
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(c, name); err != nil {
			return nil
		}
		_ = c.SetReadDeadline(time.Time{})
		m.mu.Lock()
		l := m.groups[string(name)]
		m.mu.Unlock()
		if l == nil {
			m.log.Debug("raftmux: connection for unknown group", "group", string(name), "remote", c.RemoteAddr().String())
			return nil
		}
		return func() bool { return m.deliverRaft(l, c, c) }
	}
	deliver := route()
	m.mu.Lock()
	delete(m.conns, c)
	m.mu.Unlock()
	if deliver == nil || !deliver() {
		_ = c.Close()
	}
}

// readHeader reads a Raft connection's group header and returns its layer.
func (m *Mux) readHeader(c net.Conn) *Layer {
	var first [len(Magic) + 1]byte
	if _, err := io.ReadFull(c, first[:]); err != nil || string(first[:len(Magic)]) != Magic || first[len(Magic)] == 0 {
		return nil
	}
	name := make([]byte, first[len(Magic)])
	if _, err := io.ReadFull(c, name); err != nil {
		return nil
	}
	m.mu.Lock()
	l := m.groups[string(name)]
	m.mu.Unlock()
	if l == nil {
		m.log.Debug("raftmux: connection for unknown group", "group", string(name), "remote", c.RemoteAddr().String())
	}
	return l
}

func (m *Mux) dispatchTLS(raw net.Conn) {
	route := func() (deliver func() bool) {
		_ = raw.SetDeadline(time.Now().Add(m.sniff))
		c := tls.Server(raw, m.tlsServer)
		if err := c.Handshake(); err != nil {
			m.log.Debug("raftmux: TLS handshake refused", "remote", raw.RemoteAddr().String(), "err", err)
			return nil
		}
		cs := c.ConnectionState()
		if cs.NegotiatedProtocol != ALPN {
			_ = raw.SetDeadline(time.Time{})
			return func() bool { return m.httpLn.deliver(c) }
		}
		if m.tls.AuthorizeRaft == nil {
			return nil
		}
		if err := m.tls.AuthorizeRaft(&cs); err != nil {
			m.log.Warn("raftmux: raft connection refused", "remote", raw.RemoteAddr().String(), "err", err)
			return nil
		}
		l := m.readHeader(c)
		if l == nil {
			return nil
		}
		_ = raw.SetDeadline(time.Time{})
		return func() bool { return m.deliverRaft(l, c, raw) }
	}
	deliver := route()
	m.mu.Lock()
	delete(m.conns, raw)
	m.mu.Unlock()
	if deliver == nil || !deliver() {
		_ = raw.Close()
	}
}

// deliverRaft hands c (raw underneath) to l, tracked; false if refused.
func (m *Mux) deliverRaft(l *Layer, c, raw net.Conn) bool {
	rc, ok := m.track(c, raw)
	if !ok {
		return false
	}
	if !l.accept.deliver(rc) {
		m.untrack(rc)
		return false
	}
	return true
}

// track registers a Raft connection; false once the mux is closed.
func (m *Mux) track(c, raw net.Conn) (*raftConn, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.closed:
		return nil, false
	default:
	}
	rc := &raftConn{Conn: c, mux: m}
	m.raft[rc] = raw
	return rc, true
}

func (m *Mux) untrack(rc *raftConn) {
	m.mu.Lock()
	delete(m.raft, rc)
	m.mu.Unlock()
}

// AbortRaftConns closes the socket under every open Raft connection,
// inbound and outbound, of every group, and returns how many it closed.
// hashicorp/raft sets no deadline on an inbound connection while its main
// goroutine reads a streamed snapshot, and scales the deadline of an
// outbound snapshot by its size, so a peer that stalls mid-transfer can keep
// raft.Shutdown waiting (forever, for an inbound one); closing the sockets
// makes those reads and writes fail at once. The raw socket is closed, not
// the TLS connection, whose Close may first try for seconds to send a
// close_notify alert to the stalled peer. Meant for shutdown, after Close:
// a connection dialed or accepted later is refused.
func (m *Mux) AbortRaftConns() int {
	m.mu.Lock()
	raws := make([]net.Conn, 0, len(m.raft))
	for rc, raw := range m.raft {
		raws = append(raws, raw)
		delete(m.raft, rc)
	}
	m.mu.Unlock()
	for _, raw := range raws {
		_ = raw.Close()
	}
	return len(raws)
}

// Close stops Serve, closes the listener and every connection still being
// sniffed, makes every Layer's and the HTTP listener's Accept fail, refuses
// later Dials, and waits for the mux's goroutines. Connections already
// handed off are owned by their receivers (AbortRaftConns closes the Raft
// ones). Safe to call more than once.
func (m *Mux) Close() error {
	var err error
	m.once.Do(func() {
		m.mu.Lock()
		close(m.closed)
		for c := range m.conns {
			_ = c.Close()
		}
		m.mu.Unlock()
		err = m.ln.Close()
		m.wg.Wait()
		m.httpLn.drain()
		m.mu.Lock()
		layers := make([]*Layer, 0, len(m.groups))
		for _, l := range m.groups {
			layers = append(layers, l)
		}
		m.mu.Unlock()
		for _, l := range layers { // not under mu: closing a queued raftConn takes it
			l.accept.drain()
		}
	})
	return err
}

// Layer is one group's raft.StreamLayer.
type Layer struct {
	mux    *Mux
	name   string
	header []byte
	accept *chanListener
}

var _ raft.StreamLayer = (*Layer)(nil)

// Accept returns the next inbound connection for this group.
func (l *Layer) Accept() (net.Conn, error) { return l.accept.Accept() }

// Close stops this layer's Accept; inbound connections for the group are
// then refused. It does not close the mux.
func (l *Layer) Close() error {
	err := l.accept.Close()
	l.accept.drain()
	return err
}

// Addr is the advertised address of the shared listener.
func (l *Layer) Addr() net.Addr { return l.accept.Addr() }

// Dial opens a connection to the group on the peer at address. It fails
// with ErrClosed once the mux is closed.
func (l *Layer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	select {
	case <-l.mux.closed:
		return nil, ErrClosed
	default:
	}
	var c, raw net.Conn
	var err error
	if t := l.mux.tls; t != nil {
		ctx := context.Background()
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		if c, err = t.Dial(ctx, "tcp", string(address)); err == nil {
			if tc, ok := c.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol != ALPN {
				_ = c.Close()
				return nil, fmt.Errorf("raftmux: %s did not accept ALPN %q", address, ALPN)
			}
		}
		if tc, ok := c.(*tls.Conn); ok {
			raw = tc.NetConn()
		}
	} else {
		d := net.Dialer{Timeout: timeout}
		c, err = d.Dial("tcp", string(address))
	}
	if err != nil {
		return nil, err
	}
	if raw == nil {
		raw = c
	}
	rc, ok := l.mux.track(c, raw)
	if !ok {
		_ = raw.Close()
		return nil, ErrClosed
	}
	c = rc
	if timeout > 0 {
		_ = c.SetWriteDeadline(time.Now().Add(timeout))
	}
	if _, err := c.Write(l.header); err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}

// raftConn is a tracked Raft connection; Close forgets it.
type raftConn struct {
	net.Conn
	mux *Mux
}

func (c *raftConn) Close() error {
	c.mux.untrack(c)
	return c.Conn.Close()
}

// chanListener is a net.Listener fed by the mux.
type chanListener struct {
	addr      net.Addr
	ch        chan net.Conn
	muxClosed <-chan struct{}
	closed    chan struct{}
	once      sync.Once
}

func newChanListener(addr net.Addr, muxClosed <-chan struct{}) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn, 64), muxClosed: muxClosed, closed: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case <-l.closed:
		return false
	case <-l.muxClosed:
		return false
	default:
	}
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
	case <-l.muxClosed:
	case <-time.After(DefaultSniffTimeout):
	}
	return false
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case <-l.closed:
		return nil, ErrClosed
	case <-l.muxClosed:
		return nil, ErrClosed
	default:
	}
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, ErrClosed
	case <-l.muxClosed:
		return nil, ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// drain closes connections queued but never accepted.
func (l *chanListener) drain() {
	for {
		select {
		case c := <-l.ch:
			_ = c.Close()
		default:
			return
		}
	}
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// prefixConn replays sniffed bytes before reading from the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// Addr is a TCP address given as host:port text (an advertise address).
type Addr string

// Network implements net.Addr.
func (a Addr) Network() string { return "tcp" }

// String implements net.Addr.
func (a Addr) String() string { return string(a) }

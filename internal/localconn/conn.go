package localconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Conn is an authenticated local connection: a Unix stream socket whose
// peer proved its certificate. Its bytes are the application's, unchanged.
// State gives servers the peer's identity as a TLS connection's would
// (connbuf.ConfigureServer sets r.TLS from it).
type Conn struct {
	*net.UnixConn
	state *tls.ConnectionState
}

// State is the connection's authentication state: HandshakeComplete, the
// peer's certificates (PeerCertificates; VerifiedChains as crypto/tls sets
// them for the same config) and the protocol the client declared
// (NegotiatedProtocol). Version and CipherSuite are zero: there is no TLS.
// The same pointer every time: treat it as read-only.
func (c *Conn) State() *tls.ConnectionState { return c.state }

// SocketPath is where a server listening on TCP address addr listens
// locally: dir/<addr escaped>.sock, every byte outside [A-Za-z0-9.-]
// written as %XX (so two addresses never share a path).
func SocketPath(dir, addr string) string {
	var b strings.Builder
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return filepath.Join(dir, b.String()+".sock")
}

// MaxPath is the longest socket path Linux accepts (sun_path less its NUL).
const MaxPath = 107

// socketBuffer is the send buffer asked for on every local connection
// (the kernel caps it at net.core.wmem_max): bulk writes move in fewer,
// larger steps (docs/performance.md, "Authenticated local sockets").
const socketBuffer = 1 << 20

func tuneBuffers(c *net.UnixConn) {
	_ = c.SetWriteBuffer(socketBuffer)
	_ = c.SetReadBuffer(socketBuffer)
}

// Dial connects to the local server at path and authenticates both ways
// with tc (tc.Certificates[0] is presented; the server is verified as
// crypto/tls would verify it with tc: RootCAs and ServerName, or
// VerifyConnection). proto is the protocol the client will speak ("h2",
// "http/1.1", or ""). The handshake is bounded by ctx and
// DefaultHandshakeTimeout. A missing or refusing socket is ErrUnavailable;
// anything after the connection was made is ErrHandshake or ErrPeerUID.
func Dial(ctx context.Context, path, proto string, tc *tls.Config) (*Conn, error) {
	cert, err := certOf(tc)
	if err != nil {
		return nil, err
	}
	if len(path) > MaxPath {
		return nil, fmt.Errorf("%w: socket path too long", ErrUnavailable)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTSOCK) {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	uc := nc.(*net.UnixConn)
	st, err := clientSide(ctx, uc, tc, cert, path, proto)
	if err != nil {
		_ = uc.Close()
		return nil, err
	}
	tuneBuffers(uc)
	return &Conn{UnixConn: uc, state: st}, nil
}

func clientSide(ctx context.Context, uc *net.UnixConn, tc *tls.Config, cert *tls.Certificate, path, proto string) (*tls.ConnectionState, error) {
	if err := checkPeerUID(uc); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(DefaultHandshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := uc.SetDeadline(deadline); err != nil {
		return nil, fail("deadline", err)
	}
	// ctx's cancellation breaks a blocked handshake through the deadline.
	stop := context.AfterFunc(ctx, func() { _ = uc.SetDeadline(time.Unix(1, 0)) })
	st, err := clientHandshake(uc, tc, cert, path, proto)
	if !stop() && err == nil {
		err = fail("cancelled", ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	if err := uc.SetDeadline(time.Time{}); err != nil {
		return nil, fail("deadline", err)
	}
	return st, nil
}

// checkPeerUID refuses a peer process of another user (SO_PEERCRED).
func checkPeerUID(uc *net.UnixConn) error {
	uid, err := peerUID(uc)
	if err != nil {
		return fail("peer credentials", err)
	}
	return checkUID(uid, os.Getuid())
}

// checkUID is the rule: the peer's uid must be ours.
func checkUID(peer, self int) error {
	if peer != self {
		return ErrPeerUID
	}
	return nil
}

// Listener accepts authenticated local connections on a socket path. It
// runs each handshake in its own goroutine (at most MaxPendingHandshakes at
// once) and hands out only connections whose handshake completed.
type Listener struct {
	ln      *net.UnixListener
	path    string
	tc      *tls.Config
	cert    *tls.Certificate
	onError func(error) // ListenConfig.OnError
	timeout time.Duration

	conns   chan *Conn
	done    chan struct{}
	sem     chan struct{}
	wg      sync.WaitGroup
	errMu   sync.Mutex
	err     error // the accept loop's fatal error
	closeMu sync.Once
}

// ListenConfig configures Listen.
type ListenConfig struct {
	// TLS is the server's tls.Config: Certificates[0] is presented;
	// ClientAuth must be RequireAndVerifyClientCert with ClientCAs; the
	// client's protocol must be one of NextProtos (when set);
	// VerifyPeerCertificate and VerifyConnection run as in crypto/tls.
	TLS *tls.Config
	// OnError is told of every refused connection (nil: nobody).
	OnError func(error)
	// HandshakeTimeout bounds each handshake (0: DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
}

// Listen listens on SocketPath(dir, addr), where addr is the TCP address
// the same server listens on (bind that first: owning the TCP address is
// what makes a leftover socket file of that name stale). dir is created
// 0700 if missing and must not be reachable by other users; the socket is
// 0600; a stale socket file (one nobody answers on) is replaced; Close
// removes the socket file.
func Listen(dir, addr string, cfg ListenConfig) (*Listener, error) {
	cert, err := checkServerConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: no socket folder", ErrConfig)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	path := SocketPath(dir, addr)
	if len(path) > MaxPath {
		return nil, fmt.Errorf("%w: socket path %q longer than %d bytes", ErrConfig, path, MaxPath)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("localconn: listen: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("localconn: %w", err)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	l := &Listener{ln: ln, path: path, tc: cfg.TLS, cert: cert, onError: cfg.OnError, timeout: cfg.HandshakeTimeout,
		conns: make(chan *Conn), done: make(chan struct{}), sem: make(chan struct{}, MaxPendingHandshakes)}
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// ensureDir creates dir 0700, or checks that an existing one is a
// folder of ours that no other user can enter or write.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("localconn: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("localconn: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%w: %s is not a folder owned by this user", ErrConfig, dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("localconn: %w", err)
		}
	}
	return nil
}

// removeStale removes a socket file nobody answers on. A live one is an
// error (another server owns the name); a file that is not a socket is
// left alone and is an error too.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("localconn: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%w: %s exists and is not a socket", ErrConfig, path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("%w: another server listens on %s", ErrConfig, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("localconn: %w", err)
	}
	return nil
}

// Path is the socket's path.
func (l *Listener) Path() string { return l.path }

// Addr is the socket's address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Accept returns the next authenticated connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		l.errMu.Lock()
		err := l.err
		l.errMu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return nil, err
	}
}

// Close stops accepting, breaks handshakes in progress, waits for them and
// removes the socket file. It is safe to call more than once.
func (l *Listener) Close() error {
	var err error
	l.closeMu.Do(func() {
		close(l.done)
		err = l.ln.Close()
		l.wg.Wait()
	})
	return err
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.ln.AcceptUnix()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
				case <-l.done:
					return
				}
				continue
			}
			l.errMu.Lock()
			l.err = err
			l.errMu.Unlock()
			l.closeMu.Do(func() { close(l.done); _ = l.ln.Close() })
			return
		}
		backoff = 0
		if err := checkPeerUID(c); err != nil {
			l.refuse(c, err)
			continue
		}
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			_ = c.Close()
			return
		}
		l.wg.Add(1)
		go l.handshake(c)
	}
}

func (l *Listener) refuse(c *net.UnixConn, err error) {
	_ = c.Close()
	if l.onError != nil {
		l.onError(err)
	}
}

// handshake authenticates one connection and hands it to Accept.
func (l *Listener) handshake(c *net.UnixConn) {
	defer l.wg.Done()
	defer func() { <-l.sem }()
	// Close breaks a handshake in progress.
	stop := make(chan struct{})
	go func() {
		select {
		case <-l.done:
			_ = c.SetDeadline(time.Unix(1, 0))
		case <-stop:
		}
	}()
	defer close(stop)
	if err := c.SetDeadline(time.Now().Add(l.timeout)); err != nil {
		l.refuse(c, fail("deadline", err))
		return
	}
	st, err := serverHandshake(c, l.tc, l.cert, l.path)
	if err == nil {
		err = c.SetDeadline(time.Time{})
	}
	if err != nil {
		l.refuse(c, err)
		return
	}
	tuneBuffers(c)
	select {
	case l.conns <- &Conn{UnixConn: c, state: st}:
	case <-l.done:
		_ = c.Close()
	}
}

// LogRefusals is a ListenConfig.OnError that logs refused connections at
// warning level, at most one a second (with the number left out since).
func LogRefusals(log *slog.Logger) func(error) {
	var mu sync.Mutex
	var last time.Time
	var skipped int
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= time.Second {
			log.Warn("local socket: connection refused", "err", err, "refused_since_last_log", skipped)
			last, skipped = now, 0
			return
		}
		skipped++
	}
}

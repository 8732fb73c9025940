package connbuf

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

var eof = io.EOF

// Options sizes the buffers.
type Options struct {
	// WriteBuffer is the most bytes of records gathered per write system
	// call (default 256 KiB). A Conn holds one only while a Write runs.
	WriteBuffer int
	// ReadBuffer is the most bytes one read system call fetches (default
	// 256 KiB). A Conn holds one only while fetched bytes wait.
	ReadBuffer int
	// MinGather: Writes shorter than this go straight to crypto/tls, whose
	// records are then written one per system call (default 1 KiB).
	MinGather int
}

// DefaultOptions are the sizes measured in docs/performance.md.
func DefaultOptions() Options {
	return Options{WriteBuffer: 256 << 10, ReadBuffer: 256 << 10, MinGather: 1 << 10}
}

// Validate checks the sizes.
func (o Options) Validate() error {
	if o.WriteBuffer < 1<<10 || o.ReadBuffer < 1<<10 || o.MinGather < 0 {
		return fmt.Errorf("connbuf: buffers must be ≥ 1 KiB (write %d, read %d), MinGather ≥ 0 (%d)", o.WriteBuffer, o.ReadBuffer, o.MinGather)
	}
	return nil
}

// Pool holds the buffers of every Conn made from it. It is safe for
// concurrent use; one per server or client is enough.
type Pool struct {
	opts Options
	// Two classes each: small (smallBuf, or the option if smaller) for
	// short writes and for the first fetch after a quiet spell, large (the
	// option) for bulk, so that a connection carrying little holds little.
	w, r           sync.Pool
	wSmall, rSmall sync.Pool

	wOut, rOut atomic.Int64 // buffers handed out and not returned
}

// NewPool returns a pool of buffers sized by opts.
func NewPool(opts Options) (*Pool, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	p := &Pool{opts: opts}
	p.w.New = func() any { b := make([]byte, 0, opts.WriteBuffer); return &b }
	p.r.New = func() any { b := make([]byte, opts.ReadBuffer); return &b }
	p.wSmall.New = func() any { b := make([]byte, 0, min(smallBuf, opts.WriteBuffer)); return &b }
	p.rSmall.New = func() any { b := make([]byte, min(smallBuf, opts.ReadBuffer)); return &b }
	return p, nil
}

// MustPool is NewPool for options known to be valid (DefaultOptions).
func MustPool(opts Options) *Pool {
	p, err := NewPool(opts)
	if err != nil {
		panic(err)
	}
	return p
}

// smallBuf is the small buffer class.
const smallBuf = 64 << 10

// getW returns an empty write buffer able to hold want bytes when the
// large class can.
func (p *Pool) getW(want int) *[]byte {
	p.wOut.Add(1)
	var b *[]byte
	if want <= smallBuf {
		b = p.wSmall.Get().(*[]byte)
	} else {
		b = p.w.Get().(*[]byte)
	}
	*b = (*b)[:0]
	return b
}

func (p *Pool) putW(b *[]byte) {
	p.wOut.Add(-1)
	if cap(*b) == p.opts.WriteBuffer {
		p.w.Put(b)
	} else {
		p.wSmall.Put(b)
	}
}

func (p *Pool) getR(large bool) *[]byte {
	p.rOut.Add(1)
	if large {
		return p.r.Get().(*[]byte)
	}
	return p.rSmall.Get().(*[]byte)
}

func (p *Pool) putR(b *[]byte) {
	p.rOut.Add(-1)
	if len(*b) == p.opts.ReadBuffer {
		p.r.Put(b)
	} else {
		p.rSmall.Put(b)
	}
}

// InUse is the number of write and read buffers held by Conns right now
// (a measure of the layer's memory: each is Options.WriteBuffer or
// ReadBuffer bytes).
func (p *Pool) InUse() (write, read int64) { return p.wOut.Load(), p.rOut.Load() }

// Conn is a TLS connection over the buffering layer. It is a net.Conn; the
// TLS state is State (not ConnectionState: net/http would then take the
// connection for TLS-negotiated HTTP/1.1 only, see ConfigureServer).
type Conn struct {
	tc     *tls.Conn
	raw    *raw
	pool   *Pool
	server bool

	wmu    sync.Mutex // one Write (and its gathering) at a time
	closed atomic.Bool

	hsDone atomic.Bool
	state  atomic.Pointer[tls.ConnectionState]
}

// Client returns a client-side Conn over c (the handshake runs on first
// use or by Handshake).
func (p *Pool) Client(c net.Conn, cfg *tls.Config) *Conn {
	r := newRaw(c, p)
	return &Conn{tc: tls.Client(r, cfg), raw: r, pool: p}
}

// Server returns a server-side Conn over c.
func (p *Pool) Server(c net.Conn, cfg *tls.Config) *Conn {
	r := newRaw(c, p)
	return &Conn{tc: tls.Server(r, cfg), raw: r, pool: p, server: true}
}

// Handshake runs the TLS handshake if it has not run yet.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext runs the TLS handshake, bounded by ctx and the
// connection's deadlines. A server answers a plain HTTP request with 400,
// as net/http does for a *tls.Conn.
func (c *Conn) HandshakeContext(ctx context.Context) error {
	if c.hsDone.Load() {
		return nil
	}
	err := c.tc.HandshakeContext(ctx)
	if err != nil {
		var re tls.RecordHeaderError
		if c.server && errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			_ = re.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
			_ = re.Conn.Close()
		}
		return err
	}
	st := c.tc.ConnectionState()
	c.state.Store(&st)
	c.hsDone.Store(true)
	return nil
}

func looksLikeHTTP(hdr [5]byte) bool {
	for _, m := range []string{"GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH"} {
		if bytes.Equal(hdr[:], []byte(m)) {
			return true
		}
	}
	return false
}

// State is the connection's TLS state once the handshake completed, nil
// before. The same pointer every time: treat it as read-only.
func (c *Conn) State() *tls.ConnectionState { return c.state.Load() }

// Stats counts the system calls under the TLS layer.
type Stats struct {
	WriteCalls int64 // write system calls
	ReadCalls  int64 // read system calls, including ones that found nothing
}

// Stats is the connection's system call count so far.
func (c *Conn) Stats() Stats {
	return Stats{WriteCalls: c.raw.writes.Load(), ReadCalls: c.raw.reads.Load()}
}

// TLS is the tls.Conn inside (for tests and diagnostics; reading or
// writing it directly bypasses the gathering).
func (c *Conn) TLS() *tls.Conn { return c.tc }

// NetConn is the connection under the TLS layer.
func (c *Conn) NetConn() net.Conn { return c.raw.Conn }

// Read reads decrypted bytes; record bytes come from the read buffer.
func (c *Conn) Read(b []byte) (int, error) {
	if !c.hsDone.Load() {
		if err := c.Handshake(); err != nil {
			return 0, err
		}
	}
	return c.tc.Read(b)
}

// Write encrypts b and writes its records, gathered into as few system
// calls as the write buffer allows; everything is on the socket (or has
// failed) when Write returns. After an error the connection is unusable;
// n is 0 when nothing of b reached the socket.
func (c *Conn) Write(b []byte) (int, error) {
	if !c.hsDone.Load() {
		if err := c.Handshake(); err != nil {
			return 0, err
		}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	if len(b) < c.pool.opts.MinGather {
		return c.tc.Write(b)
	}
	// What this Write puts on the wire: its bytes plus each record's
	// header, content type and tag (22 bytes in TLS 1.3), with room to spare.
	before := c.raw.startGather(len(b) + (len(b)/(16<<10)+1)*64)
	n, err := c.tc.Write(b)
	after, ferr := c.raw.endGather()
	if err == nil && ferr != nil {
		err = ferr
		if after == before {
			n = 0
		} else if n == len(b) {
			n-- // some of b was sent, not all of it
		}
	}
	return n, err
}

// CloseWrite sends the TLS close_notify alert (the peer reads EOF) without
// closing the connection.
func (c *Conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.tc.CloseWrite()
}

// Close closes the connection: with a close_notify alert when no Write is
// in flight, otherwise by closing the socket under it, which breaks the
// Write (as crypto/tls does).
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	if c.wmu.TryLock() {
		c.wmu.Unlock() // later Writes see closed
		return c.tc.Close()
	}
	return c.raw.Conn.Close()
}

// LocalAddr is the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// RemoteAddr is the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the socket.
func (c *Conn) SetDeadline(t time.Time) error { return c.tc.SetDeadline(t) }

// SetReadDeadline sets the socket's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.tc.SetReadDeadline(t) }

// SetWriteDeadline sets the socket's write deadline; it bounds every
// system call of a Write, including the final flush.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.tc.SetWriteDeadline(t) }

// Listener accepts Conns (server side, handshake on first use).
type Listener struct {
	net.Listener
	pool *Pool
	cfg  *tls.Config
}

// NewListener wraps inner: every accepted connection is a *Conn serving cfg.
func (p *Pool) NewListener(inner net.Listener, cfg *tls.Config) *Listener {
	return &Listener{Listener: inner, pool: p, cfg: cfg}
}

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.pool.Server(c, l.cfg), nil
}

// Dial connects to addr over TCP with d and completes the handshake as cfg
// (bounded by ctx).
func (p *Pool) Dial(ctx context.Context, d *net.Dialer, network, addr string, cfg *tls.Config) (*Conn, error) {
	rc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := p.Client(rc, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		_ = rc.Close()
		return nil, err
	}
	return c, nil
}

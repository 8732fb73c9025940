package connbuf

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// raw is the connection under the tls.Conn: it gathers the records of one
// Conn.Write and reads ahead through a pooled buffer.
type raw struct {
	net.Conn
	pool *Pool
	sc   syscall.RawConn // nil: reads go straight to Conn

	wmu       sync.Mutex
	gathering bool
	want      int     // bytes the current Conn.Write is expected to produce
	wbuf      *[]byte // pooled; non-nil only while gathering
	sent      int64   // bytes that reached the socket (for Conn.Write's n)
	writes    atomic.Int64
	reads     atomic.Int64
	werr      error // sticky

	// Read state. crypto/tls serializes reads (its input lock), so only
	// one goroutine touches these at a time.
	rbuf     *[]byte // pooled; non-nil only while it holds unread bytes
	rpos     int
	rn       int
	rerr     error
	bulk     bool                  // the last fetch filled its buffer: fetch with a large one
	readOnce func(fd uintptr) bool // rawRead bound once (no allocation per read)
}

func newRaw(c net.Conn, p *Pool) *raw {
	r := &raw{Conn: c, pool: p}
	if s, ok := c.(syscall.Conn); ok {
		if sc, err := s.SyscallConn(); err == nil {
			r.sc = sc
		}
	}
	r.readOnce = r.rawRead
	return r
}

// Write is called by crypto/tls with one record (or one handshake flight,
// or an alert). While a Conn.Write gathers, it is appended to the buffer,
// which goes to the socket whenever it is full and at the end of the
// Conn.Write; otherwise it is written through.
func (r *raw) Write(p []byte) (int, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.werr != nil {
		return 0, r.werr
	}
	if !r.gathering {
		return r.writeLocked(p)
	}
	total := len(p)
	for len(p) > 0 {
		if r.wbuf == nil {
			r.wbuf = r.pool.getW(r.want)
		}
		b := *r.wbuf
		if len(b) == cap(b) {
			if err := r.flushLocked(); err != nil {
				return total - len(p), err
			}
			continue
		}
		n := copy(b[len(b):cap(b)], p)
		*r.wbuf = b[:len(b)+n]
		p = p[n:]
	}
	return total, nil
}

// writeLocked writes p to the socket in full (retrying short writes of
// connections that return them without an error); errors stick.
func (r *raw) writeLocked(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := r.Conn.Write(p[done:])
		r.writes.Add(1)
		done += n
		r.sent += int64(n)
		if err != nil {
			r.werr = err
			return done, err
		}
		if n == 0 {
			r.werr = errors.New("connbuf: write made no progress")
			return done, r.werr
		}
	}
	return done, nil
}

// flushLocked writes the gathered bytes and keeps the buffer for more.
func (r *raw) flushLocked() error {
	if r.wbuf == nil || len(*r.wbuf) == 0 {
		return nil
	}
	_, err := r.writeLocked(*r.wbuf)
	*r.wbuf = (*r.wbuf)[:0]
	return err
}

// startGather begins gathering; it returns the socket byte count so that
// endGather can tell whether anything of this write reached the socket.
func (r *raw) startGather(want int) int64 {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.gathering, r.want = true, want
	return r.sent
}

// endGather writes what was gathered, stops gathering and returns the
// buffer to the pool.
func (r *raw) endGather() (sent int64, err error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.werr == nil {
		err = r.flushLocked()
	} else {
		err = r.werr
	}
	r.gathering = false
	if r.wbuf != nil {
		r.pool.putW(r.wbuf)
		r.wbuf = nil
	}
	return r.sent, err
}

// Read serves buffered bytes first; otherwise one read system call fills a
// pooled buffer (taken only once the socket is readable) or, when p is at
// least as large, p itself.
func (r *raw) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.rbuf != nil {
		n := copy(p, (*r.rbuf)[r.rpos:r.rn])
		r.rpos += n
		if r.rpos == r.rn {
			r.pool.putR(r.rbuf)
			r.rbuf = nil
		}
		return n, nil
	}
	if r.sc == nil || len(p) >= r.pool.opts.ReadBuffer {
		r.reads.Add(1)
		return r.Conn.Read(p)
	}
	r.rerr = nil
	if err := r.sc.Read(r.readOnce); err != nil {
		return 0, r.opError(err)
	}
	if r.rerr != nil {
		err := r.rerr
		r.rerr = nil
		return 0, r.opError(os.NewSyscallError("read", err))
	}
	if r.rbuf == nil { // orderly shutdown by the peer
		return 0, eof
	}
	n := copy(p, (*r.rbuf)[:r.rn])
	r.rpos = n
	if r.rpos == r.rn {
		r.pool.putR(r.rbuf)
		r.rbuf = nil
	}
	return n, nil
}

// rawRead is the syscall.RawConn callback: false asks the poller to wait
// for readability (the buffer goes back to the pool meanwhile).
func (r *raw) rawRead(fd uintptr) bool {
	b := r.pool.getR(r.bulk)
	for {
		n, err := syscall.Read(int(fd), (*b)[:cap(*b)])
		r.reads.Add(1)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			r.pool.putR(b)
			return false
		case err != nil:
			r.pool.putR(b)
			r.rerr = err
		case n == 0:
			r.pool.putR(b)
		default:
			r.rbuf, r.rn = b, n
			r.bulk = n == len(*b)
		}
		return true
	}
}

// opError gives an error of the raw read path the shape net.Conn.Read's
// errors have (net/http looks for *net.OpError with Op "read").
func (r *raw) opError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		c := *oe
		c.Op = "read"
		return &c
	}
	return &net.OpError{Op: "read", Net: r.LocalAddr().Network(), Source: r.LocalAddr(), Addr: r.RemoteAddr(), Err: err}
}

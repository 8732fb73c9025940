package latencyproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// dialTimeout bounds the dial of the target for one accepted connection.
const dialTimeout = 10 * time.Second

// chunk is one read of a TCP stream, or its end (EOF or reset).
type chunk struct {
	data  []byte
	due   time.Time
	end   bool // no more data: propagate FIN (or RST if reset)
	reset bool
}

// tcpConn is one proxied connection: the accepted client side and the
// dialled target side.
type tcpConn struct {
	client net.Conn
	done   chan struct{} // closed by shutdown

	mu     sync.Mutex
	up     net.Conn
	closed bool
	once   sync.Once
}

// setUp records the target side; it returns false (and closes up) if the
// connection was shut down meanwhile.
func (c *tcpConn) setUp(up net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		up.Close()
		return false
	}
	c.up = up
	return true
}

// shutdown closes both sides, with a reset (SO_LINGER 0) if reset is true,
// and wakes every goroutine of the connection. Safe to call more than once.
func (c *tcpConn) shutdown(reset bool) {
	c.once.Do(func() {
		close(c.done)
		c.mu.Lock()
		c.closed = true
		up := c.up
		c.mu.Unlock()
		for _, nc := range []net.Conn{c.client, up} {
			if nc == nil {
				continue
			}
			if tc, ok := nc.(*net.TCPConn); ok && reset {
				_ = tc.SetLinger(0)
			}
			_ = nc.Close()
		}
	})
}

// NewTCP starts a TCP proxy listening on cfg.Listen and forwarding every
// accepted connection to cfg.Target.
func NewTCP(cfg Config) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := newProxy(cfg)
	ln, err := net.Listen("tcp", p.cfg.Listen)
	if err != nil {
		p.cancel()
		return nil, err
	}
	p.ln = ln
	p.addr = ln.Addr().String()
	p.wg.Add(1)
	go p.acceptLoop()
	p.log.Debug("latencyproxy: tcp listening", "addr", p.addr, "target", p.cfg.Target, "delay", p.cfg.Delay)
	return p, nil
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Warn("latencyproxy: accept", "addr", p.addr, "err", err)
			select { // e.g. EMFILE: back off instead of spinning
			case <-time.After(10 * time.Millisecond):
			case <-p.ctx.Done():
				return
			}
			continue
		}
		if p.partitioned.Load() {
			p.refuse(nc)
			continue
		}
		c := &tcpConn{client: nc, done: make(chan struct{})}
		if !p.track(c) {
			p.refuse(nc)
			return
		}
		p.wg.Add(1)
		go p.serveTCP(c)
	}
}

func (p *Proxy) refuse(nc net.Conn) {
	p.refused.Add(1)
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = nc.Close()
}

func (p *Proxy) track(c *tcpConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	p.accepted.Add(1)
	p.active.Add(1)
	return true
}

func (p *Proxy) untrack(c *tcpConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.conns[c]; ok {
		delete(p.conns, c)
		p.active.Add(-1)
	}
}

// serveTCP dials the target and runs the two pipelines of one connection
// until both directions have ended, then closes it.
func (p *Proxy) serveTCP(c *tcpConn) {
	defer p.wg.Done()
	defer p.untrack(c)

	d := net.Dialer{Timeout: dialTimeout}
	up, err := d.DialContext(p.ctx, "tcp", p.cfg.Target)
	if err != nil {
		p.refused.Add(1)
		p.log.Warn("latencyproxy: dial target", "target", p.cfg.Target, "err", err)
		c.shutdown(true)
		return
	}
	if !c.setUp(up) {
		return
	}
	p.log.Debug("latencyproxy: tcp conn", "client", c.client.RemoteAddr(), "target", p.cfg.Target)

	var readers, writers sync.WaitGroup
	pipe := func(src, dst net.Conn, d direction) {
		q := make(chan chunk, p.cfg.QueueLen)
		readers.Add(1)
		writers.Add(1)
		go func() {
			defer readers.Done()
			p.tcpRead(c, src, q, d)
		}()
		go func() {
			defer writers.Done()
			p.tcpWrite(c, dst, q, d)
		}()
	}
	pipe(c.client, up, c2t)
	pipe(up, c.client, t2c)
	writers.Wait() // both directions delivered their end, or the conn was shut down
	c.shutdown(false)
	readers.Wait()
}

// tcpRead reads chunks from src, timestamps each one, and queues it for
// delivery at its due time. It paces itself at the link bandwidth, so a
// slow link pushes back on the sender instead of queueing without bound.
func (p *Proxy) tcpRead(c *tcpConn, src net.Conn, q chan<- chunk, d direction) {
	timer := newStoppedTimer()
	var prevDue time.Time
	send := func(ch chunk) bool {
		select {
		case q <- ch:
			return true
		case <-c.done:
			return false
		}
	}
	for {
		buf := make([]byte, p.cfg.MaxChunk)
		n, err := src.Read(buf)
		now := time.Now()
		if n > 0 {
			data := buf[:n]
			if n < len(buf)/2 {
				data = bytes.Clone(data) // do not pin a large buffer for a small read
			}
			sent, due := p.schedule(d, n, now, prevDue)
			prevDue = due
			if !send(chunk{data: data, due: due}) {
				return
			}
			if !sleepUntil(timer, sent, c.done) {
				return
			}
		}
		if err != nil {
			_, due := p.schedule(d, 0, now, prevDue)
			send(chunk{end: true, reset: !errors.Is(err, io.EOF), due: due})
			return
		}
	}
}

// tcpWrite delivers queued chunks to dst at their due times, holding them
// while the path is partitioned, and propagates the end of the stream: a
// FIN as CloseWrite, anything else as a reset of the whole connection.
func (p *Proxy) tcpWrite(c *tcpConn, dst net.Conn, q <-chan chunk, d direction) {
	timer := newStoppedTimer()
	for {
		var ch chunk
		select {
		case ch = <-q:
		case <-c.done:
			return
		}
		if !sleepUntil(timer, ch.due, c.done) || !p.waitHealed(c.done) {
			return
		}
		if ch.end {
			cw, ok := dst.(interface{ CloseWrite() error })
			if ch.reset || !ok || cw.CloseWrite() != nil {
				c.shutdown(true)
			}
			return
		}
		if _, err := dst.Write(ch.data); err != nil {
			c.shutdown(true)
			return
		}
		p.stats[d].delivered(len(ch.data))
	}
}

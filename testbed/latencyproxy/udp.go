package latencyproxy

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// datagram is one UDP payload and the time it is due at the far side.
type datagram struct {
	data []byte
	due  time.Time
}

// udpSession is the NAT entry of one client address: a connected upstream
// socket to the target and one delivery queue per direction.
type udpSession struct {
	client     netip.AddrPort
	up         *net.UDPConn
	c2t, t2c   chan datagram
	c2tPrevDue time.Time // touched only by the proxy's read loop
	lastActive atomic.Int64
	done       chan struct{}
	once       sync.Once
}

func (s *udpSession) touch(now time.Time) { s.lastActive.Store(now.UnixNano()) }

func (s *udpSession) shutdown() {
	s.once.Do(func() {
		close(s.done)
		_ = s.up.Close()
	})
}

// NewUDP starts a UDP proxy listening on cfg.Listen. Each client address
// gets its own upstream socket to cfg.Target (a NAT-like session), expired
// after cfg.UDPIdleTimeout without traffic.
func NewUDP(cfg Config) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := newProxy(cfg)
	target, err := net.ResolveUDPAddr("udp", p.cfg.Target)
	if err != nil {
		p.cancel()
		return nil, err
	}
	laddr, err := net.ResolveUDPAddr("udp", p.cfg.Listen)
	if err != nil {
		p.cancel()
		return nil, err
	}
	pc, err := net.ListenUDP("udp", laddr)
	if err != nil {
		p.cancel()
		return nil, err
	}
	p.sizeBuffers(pc)
	p.pc, p.target, p.addr = pc, target, pc.LocalAddr().String()
	p.wg.Add(2)
	go p.udpReadLoop()
	go p.udpJanitor()
	p.log.Debug("latencyproxy: udp listening", "addr", p.addr, "target", p.cfg.Target, "delay", p.cfg.Delay)
	return p, nil
}

// udpReadLoop reads datagrams from clients and queues each on its session.
// It never blocks on a queue: a full queue drops the datagram, like a
// router's tail drop.
func (p *Proxy) udpReadLoop() {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := p.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors surfaced on the listening socket
		}
		now := time.Now()
		if p.partitioned.Load() {
			p.stats[c2t].dropped.Add(1)
			continue
		}
		s := p.session(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
		if s == nil || len(s.c2t) == cap(s.c2t) {
			p.stats[c2t].dropped.Add(1)
			continue
		}
		s.touch(now)
		_, due := p.schedule(c2t, n, now, s.c2tPrevDue)
		s.c2tPrevDue = due
		s.c2t <- datagram{data: bytes.Clone(buf[:n]), due: due} // cannot block: one producer, checked above
	}
}

// session returns the session of client, creating it if needed; nil if the
// proxy is closing or the target cannot be reached.
func (p *Proxy) session(client netip.AddrPort) *udpSession {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sessions[client]; ok {
		return s
	}
	if p.closed {
		return nil
	}
	up, err := net.DialUDP("udp", nil, p.target)
	if err != nil {
		p.log.Warn("latencyproxy: dial target", "target", p.cfg.Target, "err", err)
		return nil
	}
	p.sizeBuffers(up)
	s := &udpSession{
		client: client,
		up:     up,
		c2t:    make(chan datagram, p.cfg.QueueLen),
		t2c:    make(chan datagram, p.cfg.QueueLen),
		done:   make(chan struct{}),
	}
	s.touch(time.Now())
	p.sessions[client] = s
	p.accepted.Add(1)
	p.active.Add(1)
	p.wg.Add(3)
	go p.udpUpstreamRead(s)
	go p.udpDeliver(s, c2t)
	go p.udpDeliver(s, t2c)
	p.log.Debug("latencyproxy: udp session", "client", client, "target", p.cfg.Target)
	return s
}

func (p *Proxy) removeSession(s *udpSession) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions[s.client] == s {
		delete(p.sessions, s.client)
		p.active.Add(-1)
	}
}

// udpUpstreamRead reads the target's replies for one session and queues
// them for delivery to the client.
func (p *Proxy) udpUpstreamRead(s *udpSession) {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	var prevDue time.Time
	for {
		n, err := s.up.Read(buf)
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue // target port not (yet) open: ICMP, keep the session
			}
			p.log.Warn("latencyproxy: udp upstream read", "client", s.client, "err", err)
			p.removeSession(s)
			s.shutdown()
			return
		}
		now := time.Now()
		if p.partitioned.Load() || len(s.t2c) == cap(s.t2c) {
			p.stats[t2c].dropped.Add(1)
			continue
		}
		s.touch(now)
		_, due := p.schedule(t2c, n, now, prevDue)
		prevDue = due
		s.t2c <- datagram{data: bytes.Clone(buf[:n]), due: due} // cannot block: one producer
	}
}

// udpDeliver sends one direction's queued datagrams at their due times,
// dropping those that fall due during a partition.
func (p *Proxy) udpDeliver(s *udpSession, d direction) {
	defer p.wg.Done()
	q := s.c2t
	if d == t2c {
		q = s.t2c
	}
	timer := newStoppedTimer()
	for {
		var dg datagram
		select {
		case dg = <-q:
		case <-s.done:
			return
		}
		if !sleepUntil(timer, dg.due, s.done) {
			return
		}
		if p.partitioned.Load() {
			p.stats[d].dropped.Add(1)
			continue
		}
		var err error
		if d == c2t {
			_, err = s.up.Write(dg.data)
		} else {
			_, err = p.pc.WriteToUDPAddrPort(dg.data, s.client)
		}
		if err != nil {
			// UDP is lossy; a failed send is a drop (e.g. ECONNREFUSED
			// from an earlier ICMP, or the socket closing under us).
			p.stats[d].dropped.Add(1)
			continue
		}
		p.stats[d].delivered(len(dg.data))
	}
}

// sizeBuffers gives c SocketBuffer bytes of receive and send buffer: past
// the kernel's caps where the process may, else as much as they allow
// (Linux: net.core.rmem_max and wmem_max).
func (p *Proxy) sizeBuffers(c *net.UDPConn) {
	if forceBuffers(c, p.cfg.SocketBuffer) {
		return
	}
	if err := c.SetReadBuffer(p.cfg.SocketBuffer); err != nil {
		p.log.Debug("latencyproxy: socket receive buffer", "size", p.cfg.SocketBuffer, "err", err)
	}
	if err := c.SetWriteBuffer(p.cfg.SocketBuffer); err != nil {
		p.log.Debug("latencyproxy: socket send buffer", "size", p.cfg.SocketBuffer, "err", err)
	}
}

// udpKernelDrops sums the kernel's drop counters (the last column of
// /proc/net/udp and udp6) of the listening socket and of the sessions'
// upstream sockets, matched by local port. Zero where the files do not
// exist.
func (p *Proxy) udpKernelDrops() (listening, upstream int64) {
	ports := map[int]bool{}
	p.mu.Lock()
	for _, s := range p.sessions {
		if a, ok := s.up.LocalAddr().(*net.UDPAddr); ok {
			ports[a.Port] = true
		}
	}
	p.mu.Unlock()
	lport := 0
	if a, ok := p.pc.LocalAddr().(*net.UDPAddr); ok {
		lport = a.Port
	}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			port, drops, ok := parseProcUDPLine(line)
			switch {
			case !ok:
			case port == lport:
				listening += drops
			case ports[port]:
				upstream += drops
			}
		}
	}
	return listening, upstream
}

// parseProcUDPLine reads the local port and the drops counter of one
// socket line of /proc/net/udp: "sl local_address rem_address st … drops",
// local_address being HEXIP:HEXPORT and drops the last field.
func parseProcUDPLine(line string) (port int, drops int64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 13 {
		return 0, 0, false
	}
	i := strings.LastIndexByte(f[1], ':')
	if i < 0 {
		return 0, 0, false
	}
	p, err := strconv.ParseUint(f[1][i+1:], 16, 16)
	if err != nil {
		return 0, 0, false
	}
	d, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return int(p), d, true
}

// udpJanitor expires sessions idle for longer than UDPIdleTimeout.
func (p *Proxy) udpJanitor() {
	defer p.wg.Done()
	idle := p.cfg.UDPIdleTimeout
	period := min(max(idle/4, 5*time.Millisecond), time.Second)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-tick.C:
			cutoff := now.Add(-idle).UnixNano()
			var expired []*udpSession
			p.mu.Lock()
			for _, s := range p.sessions {
				if s.lastActive.Load() < cutoff {
					expired = append(expired, s)
				}
			}
			p.mu.Unlock()
			for _, s := range expired {
				p.removeSession(s)
				s.shutdown()
				p.log.Debug("latencyproxy: udp session expired", "client", s.client)
			}
		}
	}
}

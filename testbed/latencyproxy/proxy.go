package latencyproxy

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// direction indexes the two halves of the path.
type direction int

const (
	c2t direction = iota // client → target
	t2c                  // target → client
)

func (d direction) String() string {
	if d == c2t {
		return "client->target"
	}
	return "target->client"
}

// DirectionStats counts what one direction delivered or dropped.
type DirectionStats struct {
	// Bytes delivered to the far side.
	Bytes int64
	// Packets delivered: TCP chunks (one read each) or UDP datagrams.
	Packets int64
	// Dropped UDP datagrams (partition or full queue). TCP never drops.
	Dropped int64
	// KernelDropped counts UDP datagrams the kernel dropped on the proxy's
	// sockets before the proxy read them (receive buffer full), as Linux
	// reports them in /proc/net/udp for the sockets open now: the listening
	// socket (client → target) and the sessions' upstream sockets (target →
	// client). Zero where the kernel does not report them.
	KernelDropped int64
}

// Stats is a snapshot of a proxy's counters.
type Stats struct {
	ClientToTarget DirectionStats
	TargetToClient DirectionStats
	// Accepted counts TCP connections proxied or UDP sessions created.
	Accepted int64
	// Refused counts TCP connections closed at once because of a partition
	// or a failed dial of the target.
	Refused int64
	// Active is the number of open TCP connections or UDP sessions.
	Active int64
}

type dirCounters struct {
	bytes, packets, dropped atomic.Int64
}

func (c *dirCounters) delivered(n int) {
	c.bytes.Add(int64(n))
	c.packets.Add(1)
}

func (c *dirCounters) snapshot() DirectionStats {
	return DirectionStats{Bytes: c.bytes.Load(), Packets: c.packets.Load(), Dropped: c.dropped.Load()}
}

// link models one direction of the wire: a serializer running at the
// configured bandwidth, followed by a propagation delay with jitter.
type link struct {
	mu   sync.Mutex
	free time.Time // when the serializer is done with everything accepted so far
	rng  *rand.Rand
}

// Proxy is a running TCP or UDP latency proxy. Build it with NewTCP or
// NewUDP; stop it with Close.
type Proxy struct {
	cfg   Config
	log   *slog.Logger
	addr  string
	delay atomic.Int64 // time.Duration

	links [2]link
	stats [2]dirCounters

	accepted, refused, active atomic.Int64

	partMu      sync.Mutex
	partitioned atomic.Bool
	healed      chan struct{} // closed while not partitioned

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // every goroutine the proxy started

	mu       sync.Mutex
	closed   bool
	conns    map[*tcpConn]struct{}          // TCP
	sessions map[netip.AddrPort]*udpSession // UDP

	ln     net.Listener // TCP
	pc     *net.UDPConn // UDP
	target *net.UDPAddr // UDP
}

func newProxy(cfg Config) *Proxy {
	cfg = cfg.withDefaults()
	healed := make(chan struct{})
	close(healed)
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		cfg:      cfg,
		log:      cfg.Logger,
		healed:   healed,
		ctx:      ctx,
		cancel:   cancel,
		conns:    make(map[*tcpConn]struct{}),
		sessions: make(map[netip.AddrPort]*udpSession),
	}
	p.delay.Store(int64(cfg.Delay))
	for d := range p.links {
		p.links[d].rng = rand.New(rand.NewPCG(cfg.Seed, uint64(d)))
	}
	return p
}

// Addr is the address clients should connect or send to.
func (p *Proxy) Addr() string { return p.addr }

// Delay returns the current one-way delay.
func (p *Proxy) Delay() time.Duration { return time.Duration(p.delay.Load()) }

// SetDelay changes the one-way delay for chunks and datagrams read from now
// on. Data already in flight keeps its delivery time; a shorter delay never
// lets new data overtake old data in the same direction.
func (p *Proxy) SetDelay(d time.Duration) {
	if d < 0 {
		d = 0
	}
	p.delay.Store(int64(d))
}

// Partition cuts (true) or heals (false) the path. While cut, new TCP
// connections are reset at once, established TCP connections stall (their
// data is held, as a real TCP would keep retransmitting it, and flows on
// after the heal), and every UDP datagram is dropped, including datagrams
// already in flight whose delivery time falls inside the partition.
func (p *Proxy) Partition(on bool) {
	p.partMu.Lock()
	defer p.partMu.Unlock()
	if on == p.partitioned.Load() {
		return
	}
	if on {
		p.healed = make(chan struct{})
	} else {
		close(p.healed)
	}
	p.partitioned.Store(on)
	p.log.Debug("latencyproxy: partition", "addr", p.addr, "on", on)
}

// Partitioned reports whether the path is cut.
func (p *Proxy) Partitioned() bool { return p.partitioned.Load() }

// waitHealed blocks while the path is partitioned. It returns false if done
// closes first.
func (p *Proxy) waitHealed(done <-chan struct{}) bool {
	if !p.partitioned.Load() {
		return true
	}
	p.partMu.Lock()
	healed := p.healed
	p.partMu.Unlock()
	select {
	case <-healed:
		return true
	case <-done:
		return false
	}
}

// schedule places n bytes read at now on direction d's link. It returns
// when the serializer has sent them (the reader paces itself on it) and when
// they are due at the far side; due is never before prevDue, so a direction
// never reorders.
func (p *Proxy) schedule(d direction, n int, now, prevDue time.Time) (sent, due time.Time) {
	l := &p.links[d]
	delay := time.Duration(p.delay.Load())
	l.mu.Lock()
	sent = now
	if bw := p.cfg.BandwidthBytesPerSec; bw > 0 {
		if l.free.After(sent) {
			sent = l.free
		}
		sent = sent.Add(time.Duration(int64(n) * int64(time.Second) / bw))
		l.free = sent
	}
	if j := p.cfg.Jitter; j > 0 {
		delay += time.Duration(l.rng.Int64N(2*int64(j)+1)) - j
		if delay < 0 {
			delay = 0
		}
	}
	l.mu.Unlock()
	due = sent.Add(delay)
	if due.Before(prevDue) {
		due = prevDue
	}
	return sent, due
}

// sleepUntil waits until t using timer. It returns false if done closes
// first.
func sleepUntil(timer *time.Timer, t time.Time, done <-chan struct{}) bool {
	wait := time.Until(t)
	if wait <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	timer.Reset(wait)
	select {
	case <-timer.C:
		return true
	case <-done:
		timer.Stop()
		return false
	}
}

func newStoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	st := Stats{
		ClientToTarget: p.stats[c2t].snapshot(),
		TargetToClient: p.stats[t2c].snapshot(),
		Accepted:       p.accepted.Load(),
		Refused:        p.refused.Load(),
		Active:         p.active.Load(),
	}
	if p.pc != nil {
		st.ClientToTarget.KernelDropped, st.TargetToClient.KernelDropped = p.udpKernelDrops()
	}
	return st
}

// DropConnections resets every open TCP connection or forgets every UDP
// session (its upstream socket is closed and queued datagrams are lost; the
// next datagram from the client opens a new one). The proxy keeps serving.
func (p *Proxy) DropConnections() {
	p.mu.Lock()
	conns := make([]*tcpConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	sessions := make([]*udpSession, 0, len(p.sessions))
	for _, s := range p.sessions {
		sessions = append(sessions, s)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.shutdown(true)
	}
	for _, s := range sessions {
		p.removeSession(s)
		s.shutdown()
	}
}

// Close stops accepting, closes every connection and session, and waits for
// every goroutine of the proxy to return. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		if p.ln != nil {
			p.closeErr = p.ln.Close()
		}
		if p.pc != nil {
			p.closeErr = p.pc.Close()
		}
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.DropConnections()
		p.wg.Wait()
		p.log.Debug("latencyproxy: closed", "addr", p.addr)
	})
	return p.closeErr
}

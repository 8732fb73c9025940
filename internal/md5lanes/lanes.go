package md5lanes

import (
	"crypto/md5"
	"errors"
	"sync"
	"sync/atomic"

	md5simd "github.com/minio/md5-simd"
	"golang.org/x/sys/cpu"
)

// Config says when a body is hashed on lanes.
type Config struct {
	// MinStreams is the number of bodies in flight (the new one included)
	// from which a new Hasher takes a lane; below it crypto/md5 is cheaper.
	// 0 means DefaultMinStreams; a negative value never uses lanes.
	MinStreams int
	// MinSize is the smallest declared body that takes a lane (a server
	// allocates 1.5 MiB of buffers, so tiny bodies must not cycle them).
	// 0 means DefaultMinSize.
	MinSize int64
	// StreamsPerServer is how many hashers one md5-simd server hands out
	// before the Pool starts another (the package comment says why).
	// 0 means DefaultStreamsPerServer.
	StreamsPerServer int
}

// Defaults, chosen by measurement (docs/performance.md, "Multi-buffer MD5").
const (
	DefaultMinStreams       = 3
	DefaultMinSize          = 256 << 10
	DefaultStreamsPerServer = 64
)

// ErrInvalidConfig reports a Config that cannot work.
var ErrInvalidConfig = errors.New("md5lanes: invalid config")

// Validate checks the fields' ranges.
func (c Config) Validate() error {
	if c.MinSize < 0 || c.StreamsPerServer < 0 {
		return ErrInvalidConfig
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.MinStreams == 0 {
		c.MinStreams = DefaultMinStreams
	}
	if c.MinSize == 0 {
		c.MinSize = DefaultMinSize
	}
	if c.StreamsPerServer == 0 {
		c.StreamsPerServer = DefaultStreamsPerServer
	}
	return c
}

// Pool hands out Hashers; one per gateway.
type Pool struct {
	cfg      Config
	lanes    bool         // AVX2 present and MinStreams ≥ 1
	inflight atomic.Int64 // Hashers not yet finished

	mu      sync.Mutex
	cur     *server // takes new lane hashers; nil until needed
	closed  bool
	servers int // running md5-simd servers (for tests)
}

// server is one md5-simd server and the hashers it handed out.
type server struct {
	srv     md5simd.Server
	issued  int // hashers handed out
	open    int // hashers not yet closed
	retired bool
}

// New returns a Pool; Close it when no Hasher will be asked for.
func New(cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Pool{cfg: cfg, lanes: cfg.MinStreams > 0 && cpu.X86.HasAVX2}, nil
}

// Hasher returns the MD5 of one body of the declared size (-1: unknown).
func (p *Pool) Hasher(size int64) *Hasher {
	n := p.inflight.Add(1)
	h := &Hasher{pool: p}
	if p.lanes && size >= p.cfg.MinSize && n >= int64(p.cfg.MinStreams) {
		if s, lane := p.lane(); lane != nil {
			h.srv, h.lane = s, lane
			return h
		}
	}
	h.async = newAsyncHash(md5.New())
	return h
}

// lane takes a lane of the current server, starting one when needed.
func (p *Pool) lane() (*server, md5simd.Hasher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil
	}
	if p.cur == nil || p.cur.issued >= p.cfg.StreamsPerServer {
		p.retireLocked()
		p.cur = &server{srv: md5simd.NewServer()}
		p.servers++
	}
	s := p.cur
	s.issued++
	s.open++
	return s, s.srv.NewHash()
}

// retireLocked stops handing out the current server's lanes and closes it
// if none is open.
func (p *Pool) retireLocked() {
	if p.cur == nil {
		return
	}
	p.cur.retired = true
	if p.cur.open == 0 {
		p.cur.srv.Close()
		p.servers--
	}
	p.cur = nil
}

// release returns a closed hasher's lane.
func (p *Pool) release(s *server) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.open--
	if s.retired && s.open == 0 {
		s.srv.Close()
		p.servers--
	}
}

// Close retires the current server; servers still lending lanes close
// when their last Hasher does. Later Hashers use crypto/md5.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.retireLocked()
}

// Stats is what the Pool holds now.
type Stats struct {
	InFlight int64 // Hashers not yet finished
	Servers  int   // md5-simd servers running
}

// Stats reports the Pool's current state.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{InFlight: p.inflight.Load(), Servers: p.servers}
}

// Hasher is the MD5 of one body. Write may be called from one goroutine;
// Sum and Close from any.
type Hasher struct {
	pool *Pool

	mu    sync.Mutex
	done  bool
	sum   []byte
	async *asyncHash     // crypto/md5 on its own goroutine, or
	lane  md5simd.Hasher // a lane of srv
	srv   *server
}

// Write hashes p. After Sum or Close it drops p: the digest is final.
func (h *Hasher) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return len(p), nil
	}
	if h.async != nil {
		return h.async.Write(p)
	}
	_, _ = h.lane.Write(p) // errors only after Close, which done excludes
	return len(p), nil
}

// Sum finishes the hash and returns the digest of what was written; later
// calls return the same digest. It frees the Hasher's goroutine or lane.
func (h *Hasher) Sum() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return h.sum
	}
	h.done = true
	if h.async != nil {
		h.sum = h.async.Sum()
	} else {
		h.sum = h.lane.Sum(nil)
		h.lane.Close()
		h.pool.release(h.srv)
		h.lane, h.srv = nil, nil
	}
	h.pool.inflight.Add(-1)
	return h.sum
}

// Close frees the Hasher (it finishes the digest, so that a Sum after a
// Close still returns the digest of what was written).
func (h *Hasher) Close() { _ = h.Sum() }

// Lane reports whether the Hasher runs on a multi-buffer lane (for tests).
func (h *Hasher) Lane() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lane != nil || (h.done && h.async == nil)
}

package storagesvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/meridian-s3/meridian/internal/connbuf"
	"github.com/meridian-s3/meridian/internal/localconn"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/storagesvc/shardstore"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is one storage node.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    *shardstore.Store
	ln       net.Listener // TLS only
	local    net.Listener // authenticated local socket (internal/localconn); nil when off
	addr     net.Addr
	http     *http.Server
	metrics  *metrics
	capacity int64
	started  time.Time

	ready    chan struct{} // closed once serving
	draining atomic.Bool

	mu       sync.Mutex
	ran      bool
	stop     chan struct{} // closed by Close
	runDone  chan struct{} // closed when Run returns
	closed   bool
	closeErr error
}

// New opens the store (recovering its index), binds the listener and
// returns a server ready to Run.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "storagesvc", "node", cfg.NodeID)
	capacity := cfg.CapacityBytes
	if capacity == 0 {
		// The folder may not exist yet on a first start: statfs needs it.
		_ = os.MkdirAll(cfg.DataDir, 0o750)
		var st syscall.Statfs_t
		if err := syscall.Statfs(cfg.DataDir, &st); err == nil {
			capacity = int64(st.Blocks) * st.Bsize
		}
	}
	opts := shardstore.DefaultOptions(cfg.DataDir)
	opts.MaxVolumeBytes = cfg.MaxVolumeBytes
	opts.CompactRatio = cfg.CompactRatio
	opts.CompactMinBytes = cfg.CompactMinBytes
	opts.CompactBytesPerSec = cfg.CompactBytesPerSec
	opts.CapacityBytes = cfg.CapacityBytes
	opts.BufferBytes = cfg.BufferBytes
	opts.UncachedWriteMinBytes = cfg.UncachedWriteMinBytes
	opts.DirectWriteMinBytes = cfg.DirectWriteMinBytes
	opts.Logger = log
	store, err := shardstore.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("storagesvc: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("storagesvc: listen: %w", err)
	}
	if cfg.Advertise == "" {
		cfg.Advertise = ln.Addr().String()
	}
	addr := ln.Addr()
	// TLS with records written and read in large batches (shard bodies are
	// bulk data; internal/connbuf).
	ln = connbuf.MustPool(connbuf.DefaultOptions()).NewListener(ln, cfg.TLS.ServerConfig())
	// The same server on the advertised address's local socket, when the
	// node's TLS material has a socket folder: clients on this host skip
	// TLS but not authentication (docs/security.md, "Local sockets").
	var local net.Listener
	if ll, err := cfg.TLS.ListenLocal(cfg.Advertise, []string{"http/1.1"}, localconn.LogRefusals(log)); err != nil {
		_ = ln.Close()
		_ = store.Close()
		return nil, fmt.Errorf("storagesvc: local socket: %w", err)
	} else if ll != nil {
		local = ll
	}
	s := &Server{
		addr:     addr,
		cfg:      cfg,
		log:      log,
		store:    store,
		ln:       ln,
		local:    local,
		capacity: capacity,
		started:  time.Now().UTC(),
		ready:    make(chan struct{}),
		stop:     make(chan struct{}),
		runDone:  make(chan struct{}),
	}
	s.metrics = newMetrics(cfg.Registry, cfg.NodeID, store)
	mux := http.NewServeMux()
	s.routes(mux)
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	connbuf.ConfigureServer(s.http) // r.TLS from the connbuf.Conn
	return s, nil
}

// Access is who may call each route (docs/security.md): shard operations
// only the region's gateways and background services.
var Access = map[string][]mtls.Role{
	"PUT /v1/shards/{id}":         shardRoles,
	"GET /v1/shards/{id}":         shardRoles, // GET and HEAD
	"DELETE /v1/shards/{id}":      shardRoles,
	"GET /v1/shards":              shardRoles,
	"POST /v1/shards/{id}/verify": shardRoles,
	"GET /v1/status":              {mtls.RoleGateway, mtls.RoleBackground, mtls.RoleAdmin},
	"GET /healthz":                anyInternal,
	"GET /readyz":                 anyInternal,
	"GET /metrics":                anyInternal,
}

var (
	shardRoles  = []mtls.Role{mtls.RoleGateway, mtls.RoleBackground}
	anyInternal = []mtls.Role{mtls.RoleGateway, mtls.RoleBackground, mtls.RoleAdmin, mtls.RoleStorage, mtls.RoleMeta}
)

func (s *Server) routes(mux *http.ServeMux) {
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, mtls.Allow(mtls.Policy{Region: s.cfg.TLS.Identity.Region, Roles: Access[pattern]}, h))
	}
	handle("PUT /v1/shards/{id}", http.HandlerFunc(s.handlePut))
	handle("GET /v1/shards/{id}", http.HandlerFunc(s.handleGet))
	handle("DELETE /v1/shards/{id}", http.HandlerFunc(s.handleDelete))
	handle("GET /v1/shards", http.HandlerFunc(s.handleList))
	handle("POST /v1/shards/{id}/verify", http.HandlerFunc(s.handleVerify))
	handle("GET /v1/status", http.HandlerFunc(s.handleStatus))
	handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	handle("GET /readyz", http.HandlerFunc(s.handleReady))
	if s.cfg.Registry != nil {
		handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	}
}

// Addr is the actual listen address.
func (s *Server) Addr() string { return s.addr.String() }

// LocalAddr is the local socket's path, "" when local sockets are off.
func (s *Server) LocalAddr() string {
	if s.local == nil {
		return ""
	}
	return s.local.Addr().String()
}

// AdvertiseAddr is the address sent in heartbeats.
func (s *Server) AdvertiseAddr() string { return s.cfg.Advertise }

// Ready is closed once the server is serving.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Store exposes the shard store (for in-process tools and tests).
func (s *Server) Store() *shardstore.Store { return s.store }

// Run serves until ctx is done or Close is called, then stops accepting,
// drains requests in flight (up to ShutdownTimeout), stops its background
// work and closes the store.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran || s.closed {
		s.mu.Unlock()
		if s.closed {
			return ErrClosed
		}
		return ErrAlreadyRun
	}
	s.ran = true
	s.mu.Unlock()
	defer close(s.runDone)

	bgCtx, cancelBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	}()
	if s.local != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.http.Serve(s.local); err != nil && !errors.Is(err, http.ErrServerClosed) {
				select {
				case serveErr <- err:
				default:
				}
			}
		}()
	}
	if s.cfg.Registrar != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.heartbeatLoop(bgCtx) }()
	}
	if s.cfg.CompactInterval > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); s.compactLoop(bgCtx) }()
	}
	close(s.ready)
	s.log.Info("storage node serving", "addr", s.Addr(), "advertise", s.cfg.Advertise, "az", s.cfg.AZ, "local", s.LocalAddr())

	var runErr error
	select {
	case <-ctx.Done():
	case <-s.stop:
	case runErr = <-serveErr:
	}
	s.draining.Store(true)
	shutCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	if err := s.http.Shutdown(shutCtx); err != nil {
		s.log.Warn("storage node: drain incomplete, closing connections", "err", err)
		_ = s.http.Close()
	}
	cancel()
	cancelBG()
	wg.Wait()
	if err := s.store.Close(); err != nil && runErr == nil {
		runErr = err
	}
	s.log.Info("storage node stopped")
	return runErr
}

// Close stops the server (waiting for Run to return) and releases
// everything. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		ran, err := s.ran, s.closeErr
		s.mu.Unlock()
		if ran {
			<-s.runDone
		}
		return err
	}
	s.closed = true
	close(s.stop)
	ran := s.ran
	s.mu.Unlock()
	if ran {
		<-s.runDone
		return nil
	}
	var lerr error
	if s.local != nil {
		lerr = s.local.Close()
	}
	err := errors.Join(s.ln.Close(), lerr, s.store.Close())
	s.mu.Lock()
	s.closeErr = err
	s.mu.Unlock()
	return err
}

func (s *Server) nodeInfo() metapb.StorageNode {
	st := s.store.Stats()
	return metapb.StorageNode{
		ID:            s.cfg.NodeID,
		AZ:            s.cfg.AZ,
		Addr:          s.cfg.Advertise,
		CapacityBytes: s.capacity,
		UsedBytes:     st.UsedBytes,
		Registered:    s.started,
	}
}

// heartbeatLoop sends a heartbeat now and every HeartbeatInterval. Failures
// are logged at most once per 30 s (with the number suppressed) and never
// stop the node.
func (s *Server) heartbeatLoop(ctx context.Context) {
	const logEvery = 30 * time.Second
	var lastLog time.Time
	failures, suppressed := 0, 0
	t := time.NewTicker(s.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, max(s.cfg.HeartbeatInterval, time.Second))
		err := s.cfg.Registrar.Heartbeat(hctx, s.nodeInfo())
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			s.metrics.heartbeatErr.Inc()
			failures++
			if time.Since(lastLog) >= logEvery {
				s.log.Warn("heartbeat failed", "err", err, "consecutive_failures", failures, "suppressed_logs", suppressed)
				lastLog, suppressed = time.Now(), 0
			} else {
				suppressed++
			}
		case err == nil && failures > 0:
			s.log.Info("heartbeat recovered", "after_failures", failures)
			failures, suppressed, lastLog = 0, 0, time.Time{}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) compactLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.CompactInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := s.store.Compact(ctx)
		if res.BytesFreed > 0 {
			s.metrics.compacted.Add(float64(res.BytesFreed))
		}
		if err != nil && ctx.Err() == nil {
			s.log.Error("compaction failed", "err", err)
		}
	}
}

package background

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/internal/s3lifecycle"
)

// Server is one background process of a region.
type Server struct {
	cfg     Config
	m       *metrics
	leases  *leaser
	workers []*worker
	scrub   *scrubber  // nil without Config.Shards
	nodes   *nodeWatch // nil without Config.Shards

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	startOnce sync.Once
	closeOnce sync.Once
	ready     chan struct{}
	// release: Close gives the leases back (false only for tests that
	// simulate a crash).
	release bool
}

// New builds a server from cfg (which it validates); Run starts it.
func New(cfg Config) (*Server, error) {
	if cfg.ID == "" {
		cfg.ID = defaultID()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.LifecycleDay == 0 {
		cfg.LifecycleDay = s3lifecycle.Day
	}
	if cfg.LifecycleInterval == 0 {
		cfg.LifecycleInterval = cfg.LifecycleDay / 24
	}
	cfg.Logger = cfg.Logger.With("background", cfg.ID)
	s := &Server{cfg: cfg, ready: make(chan struct{}), release: true}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.m = newMetrics(cfg.Registry, s)
	s.leases = newLeaser(&s.cfg, s.m)
	s.workers = []*worker{
		newWorker(&janitor{cfg: &s.cfg, m: s.m, now: time.Now, orphans: newOrphanScan(&s.cfg, s.m)}, &s.cfg, s.leases, s.m),
	}
	if cfg.Shards != nil {
		s.nodes = newNodeWatch(&s.cfg)
		s.scrub = newScrubber(&s.cfg, s.m, s.nodes)
		w := newWorker(s.scrub, &s.cfg, s.leases, s.m)
		s.nodes.onDead = func(string) { w.kick(true) } // queue the dead node's shards now
		dw := newWorker(newDrainer(s.scrub), &s.cfg, s.leases, s.m)
		s.nodes.onDrain = func(string) { dw.kick(true) } // move the node's shards now
		s.workers = append(s.workers, w, newWorker(newHealer(s.scrub), &s.cfg, s.leases, s.m), dw)
	}
	if cfg.Links != nil {
		s.workers = append(s.workers, newWorker(newReplicator(&s.cfg, newReplMetrics(cfg.Registry)), &s.cfg, s.leases, s.m),
			newWorker(newResyncer(&s.cfg), &s.cfg, s.leases, s.m)) // existing-object replication (resyncworker.go)
	}
	s.leases.onAcquire = func() {
		for _, w := range s.workers {
			w.kick(false)
		}
	}
	return s, nil
}

// ID is the name this process holds leases under.
func (s *Server) ID() string { return s.cfg.ID }

// Ready is closed once the server has started its workers.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run starts the lease keeper and the workers and returns when ctx is
// cancelled or Close is called (after closing).
func (s *Server) Run(ctx context.Context) error {
	s.startOnce.Do(func() {
		if s.ctx.Err() != nil {
			return // closed before Run
		}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.leases.run(s.ctx) }()
		if s.nodes != nil {
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.nodes.run(s.ctx) }()
		}
		for _, w := range s.workers {
			s.wg.Add(1)
			go func() { defer s.wg.Done(); w.run(s.ctx) }()
		}
		close(s.ready)
		s.cfg.Logger.Info("background server running", "region", s.cfg.Region, "partitions", s.cfg.Meta.Partitions(),
			"lease_ttl", s.cfg.LeaseTTL, "prepare_timeout", s.cfg.PrepareTimeout)
	})
	select {
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	return s.Close()
}

// Close stops the workers (a step in progress finishes its current call),
// waits for them, then releases the leases so other background servers
// take the partitions at once. Safe to call twice.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		if s.release {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.leases.releaseAll(ctx)
			cancel()
		}
	})
	return nil
}

// Workers returns every worker's status.
func (s *Server) Workers() []Status {
	out := make([]Status, 0, len(s.workers))
	for _, w := range s.workers {
		out = append(out, w.status())
	}
	return out
}

// ScrubReports returns the scrubber's reports of the partitions this
// server holds (nil without a scrubber).
func (s *Server) ScrubReports() map[int]PartitionReport {
	if s.scrub == nil {
		return nil
	}
	return s.scrub.Reports(s.leases.Held())
}

// Held returns the partitions this server holds valid leases on.
func (s *Server) Held() []int { return s.leases.Held() }

// Pause stops worker name after its current step; Resume restarts it.
func (s *Server) Pause(name string) error { return s.setPaused(name, true) }

// Resume restarts a paused worker.
func (s *Server) Resume(name string) error { return s.setPaused(name, false) }

func (s *Server) setPaused(name string, p bool) error {
	for _, w := range s.workers {
		if w.task.Name() == name {
			w.setPaused(p)
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrNoSuchWorker, name)
}

package metasvc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/controlplane"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metastate"
	"github.com/meridian-s3/meridian/metasvc/raftmux"
)

// CtlGroup is the name of the control-plane Raft group.
const CtlGroup = "ctl"

// PartitionGroup is the Raft group name of partition p.
func PartitionGroup(p int) string { return "p" + strconv.Itoa(p) }

// Server is one meta node: the Raft groups it hosts, their shared listener
// and the HTTP RPC API.
type Server struct {
	cfg       Config
	log       *slog.Logger
	advertise string
	peers     map[raft.ServerAddress]string // raft address → node id

	mux     *raftmux.Mux
	ctl     *group
	ctlFSM  *controlplane.FSM
	health  *controlplane.Health
	parts   []*group
	metrics *metrics
	http    *http.Server

	closing atomic.Bool
	started atomic.Bool

	mu        sync.Mutex
	running   bool
	cancelRun context.CancelFunc
	runDone   chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

// group is one hosted Raft group.
type group struct {
	name  string
	part  int // -1 for ctl
	fsm   raft.FSM
	state *metastate.State // partitions only
	store *raftboltdb.BoltStore
	logs  raft.LogStore // store, behind a LogCache when Config.LogCache > 0
	snaps *raft.FileSnapshotStore
	trans *raft.NetworkTransport
	raft  *raft.Raft
	gate  *readGate
}

// New validates cfg, opens the listener and every group's stores. Raft
// starts in Run.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		if cfg.Listener != nil {
			_ = cfg.Listener.Close()
		}
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("node", cfg.NodeID)
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		if cfg.Listener != nil {
			_ = cfg.Listener.Close()
		}
		return nil, fmt.Errorf("metasvc: metrics: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		log:     log,
		peers:   map[raft.ServerAddress]string{},
		ctlFSM:  controlplane.NewFSM(),
		health:  controlplane.NewHealth(cfg.HealthTimeout),
		metrics: m,
	}
	for _, p := range cfg.Peers {
		s.peers[raft.ServerAddress(p.Addr)] = p.ID
		if p.ID == cfg.NodeID {
			s.advertise = p.Addr
		}
	}
	if cfg.Advertise != "" {
		s.advertise = cfg.Advertise
	}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("metasvc: listen: %w", err)
		}
	}
	raftPeers := mtls.Policy{Region: cfg.Region, Roles: []mtls.Role{mtls.RoleMeta}}
	s.mux = raftmux.NewTLS(ln, raftmux.Addr(s.advertise), log, raftmux.TLS{
		Server: cfg.TLS.ServerConfig(),
		Dial:   cfg.TLS.Dialer(2*time.Second, []string{raftmux.ALPN}, mtls.RoleMeta),
		AuthorizeRaft: func(cs *tls.ConnectionState) error {
			id, err := mtls.PeerIdentity(cs)
			if err != nil {
				return err
			}
			return raftPeers.Check(id)
		},
	})
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		_ = s.mux.Close()
		return nil, fmt.Errorf("metasvc: %w", err)
	}
	fail := func(err error) (*Server, error) {
		s.closeResources(nil)
		return nil, err
	}
	if s.ctl, err = s.openGroup(CtlGroup, -1, s.ctlFSM, nil); err != nil {
		return fail(err)
	}
	for p := 0; p < cfg.Partitions; p++ {
		st := metastate.New()
		g, err := s.openGroup(PartitionGroup(p), p, &partitionFSM{st: st, metrics: m, group: PartitionGroup(p)}, st)
		if err != nil {
			return fail(err)
		}
		s.parts = append(s.parts, g)
	}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

func (s *Server) openGroup(name string, part int, fsm raft.FSM, st *metastate.State) (*group, error) {
	dir := filepath.Join(s.cfg.DataDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("metasvc: group %s: %w", name, err)
	}
	g := &group{name: name, part: part, fsm: fsm, state: st}
	var err error
	g.store, err = raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dir, "raft.db"),
		BoltOptions: &bbolt.Options{Timeout: 2 * time.Second},
	})
	if err != nil {
		return nil, fmt.Errorf("metasvc: group %s: log store: %w", name, err)
	}
	g.logs = g.store
	if s.cfg.LogCache > 0 {
		if g.logs, err = raft.NewLogCache(s.cfg.LogCache, g.store); err != nil {
			_ = g.store.Close()
			return nil, fmt.Errorf("metasvc: group %s: log cache: %w", name, err)
		}
	}
	hl := hclogFor(s.log, "raft."+name, s.cfg.RaftLogLevel)
	g.snaps, err = raft.NewFileSnapshotStoreWithLogger(dir, s.cfg.SnapshotRetain, hl)
	if err != nil {
		_ = g.store.Close()
		return nil, fmt.Errorf("metasvc: group %s: snapshot store: %w", name, err)
	}
	layer, err := s.mux.Group(name)
	if err != nil {
		_ = g.store.Close()
		return nil, err
	}
	g.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: 3,
		Timeout: 2 * time.Second,
		Logger:  hl,
	})
	return g, nil
}

// transport is what a group's Raft is given: its NetworkTransport, whose
// pipelines leave out AppendEntries that carry nothing new (quietpipe.go).
func (s *Server) transport(g *group) raft.Transport {
	return quietTransport{NetworkTransport: g.trans, skipped: s.metrics.appendsSkipped.Inc}
}

func (s *Server) raftConfig(name string) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.NodeID)
	rc.HeartbeatTimeout = s.cfg.HeartbeatTimeout
	rc.ElectionTimeout = s.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = s.cfg.LeaderLease
	rc.CommitTimeout = s.cfg.CommitTimeout
	rc.SnapshotInterval = s.cfg.SnapshotInterval
	rc.SnapshotThreshold = s.cfg.SnapshotThreshold
	rc.TrailingLogs = s.cfg.TrailingLogs
	rc.BatchApplyCh = true
	rc.Logger = hclogFor(s.log, "raft."+name, s.cfg.RaftLogLevel)
	return rc
}

func (s *Server) startGroup(g *group) error {
	rc := s.raftConfig(g.name)
	has, err := raft.HasExistingState(g.logs, g.store, g.snaps)
	if err != nil {
		return fmt.Errorf("metasvc: group %s: %w", g.name, err)
	}
	if !has && s.cfg.Bootstrap {
		var conf raft.Configuration
		for _, p := range s.cfg.Peers {
			conf.Servers = append(conf.Servers, raft.Server{
				Suffrage: raft.Voter,
				ID:       raft.ServerID(p.ID),
				Address:  raft.ServerAddress(p.Addr),
			})
		}
		if err := raft.BootstrapCluster(rc, g.logs, g.store, g.snaps, s.transport(g), conf); err != nil {
			return fmt.Errorf("metasvc: group %s: bootstrap: %w", g.name, err)
		}
	}
	r, err := raft.NewRaft(rc, g.fsm, g.logs, g.store, g.snaps, s.transport(g))
	if err != nil {
		return fmt.Errorf("metasvc: group %s: %w", g.name, err)
	}
	g.raft = r
	g.gate = newReadGate(r, s.cfg.ApplyTimeout, s.metrics.verifyRounds.Inc)
	return nil
}

// Addr is the listener's address.
func (s *Server) Addr() string { return s.mux.Addr().String() }

// Advertise is the address peers and clients use for this node.
func (s *Server) Advertise() string { return s.advertise }

// Ready reports whether Run is serving and every group knows a leader.
func (s *Server) Ready() bool {
	if !s.started.Load() || s.closing.Load() {
		return false
	}
	for _, g := range s.groups() {
		if addr, _ := g.raft.LeaderWithID(); addr == "" {
			return false
		}
	}
	return true
}

func (s *Server) groups() []*group {
	return append([]*group{s.ctl}, s.parts...)
}

// Run starts every Raft group and serves until ctx is done or Close is
// called; then it shuts down (stop accepting, drain HTTP, stop Raft, close
// stores) and returns. It may be called once.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.running || s.runDone != nil {
		s.mu.Unlock()
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	s.running = true
	s.cancelRun = cancel
	s.runDone = make(chan struct{})
	s.mu.Unlock()
	defer close(s.runDone)
	defer cancel()

	for _, g := range s.groups() {
		if err := s.startGroup(g); err != nil {
			s.shutdown()
			return err
		}
	}
	errc := make(chan error, 2)
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		if err := s.mux.Serve(); err != nil {
			errc <- err
		}
	}()
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(s.mux.HTTPListener()); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, raftmux.ErrClosed) {
			errc <- err
		}
	}()
	go func() {
		defer s.wg.Done()
		s.ctlLoop(ctx)
	}()
	s.started.Store(true)
	s.log.Info("meta node running", "addr", s.Addr(), "advertise", s.advertise, "partitions", len(s.parts))

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		s.log.Error("meta node serve failed", "err", err)
	}
	cancel()
	s.shutdown()
	return err
}

// shutdown stops the node. Every wait is bounded by ShutdownTimeout, so a
// stalled or vanished peer cannot keep the process from exiting:
//
//  1. closing is set: Ready turns false and RPCs are refused.
//  2. HTTP drains (at most ShutdownTimeout), then is closed hard.
//  3. Every group's raft.Shutdown runs in parallel; wait at most
//     ShutdownTimeout for all of them.
//  4. If a group is still stopping, its goroutines are stuck in transport
//     I/O: hashicorp/raft's main goroutine reads an inbound InstallSnapshot
//     stream with no deadline (the follower side, forever if the sending
//     peer stalls without closing), and an outbound snapshot's deadline is
//     Timeout × size/256 KiB (minutes for a big snapshot). So the mux is
//     closed (no connection in or out any more) and the socket under every
//     Raft connection is closed (raftmux.AbortRaftConns), which fails those
//     reads and writes at once; to Raft this is a network failure, which it
//     tolerates by design (an interrupted install cancels its snapshot sink;
//     the log is untouched). Then wait at most ShutdownTimeout again.
//  5. Transports and the mux are closed; the log store of each group whose
//     Raft has stopped is closed. A group still running after both waits is
//     logged and its store is left open rather than closed under a running
//     Raft: bolt commits are atomic, so the file is consistent whatever
//     moment the process exits, and the OS drops the file lock then.
//  6. The node's own goroutines (accept loops, ctlLoop) are awaited, bounded.
func (s *Server) shutdown() {
	s.closing.Store(true)
	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	if err := s.http.Shutdown(dctx); err != nil {
		_ = s.http.Close()
	}
	cancel()

	var stops []groupStop
	for _, g := range s.groups() {
		if g.raft == nil {
			continue
		}
		st := groupStop{g: g, done: make(chan struct{})}
		go func() {
			defer close(st.done)
			if err := g.raft.Shutdown().Error(); err != nil {
				s.log.Warn("raft shutdown", "group", g.name, "err", err)
			}
		}()
		stops = append(stops, st)
	}
	left := waitStopped(stops, s.cfg.ShutdownTimeout)
	if len(left) > 0 {
		_ = s.mux.Close()
		n := s.mux.AbortRaftConns()
		s.log.Warn("raft groups did not stop in time; aborted their connections",
			"groups", groupNames(left), "aborted_conns", n, "timeout", s.cfg.ShutdownTimeout)
		left = waitStopped(left, s.cfg.ShutdownTimeout)
	}
	running := map[*group]bool{}
	for _, st := range left {
		running[st.g] = true
	}
	if len(left) > 0 {
		s.log.Error("raft groups still running after shutdown timeout; leaving their log stores open",
			"groups", groupNames(left), "timeout", 2*s.cfg.ShutdownTimeout)
	}
	s.closeResources(running)

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(s.cfg.ShutdownTimeout):
		s.log.Error("meta node goroutines still running after shutdown timeout", "timeout", s.cfg.ShutdownTimeout)
	}
}

// groupStop is one group's raft.Shutdown in progress; done closes when it
// has returned.
type groupStop struct {
	g    *group
	done chan struct{}
}

// waitStopped waits at most d for every stop and returns those not done.
func waitStopped(stops []groupStop, d time.Duration) (left []groupStop) {
	t := time.NewTimer(d)
	defer t.Stop()
	expired := false
	for _, st := range stops {
		if !expired {
			select {
			case <-st.done:
				continue
			case <-t.C:
				expired = true
			}
		}
		select {
		case <-st.done:
		default:
			left = append(left, st)
		}
	}
	return left
}

func groupNames(stops []groupStop) []string {
	names := make([]string, len(stops))
	for i, st := range stops {
		names[i] = st.g.name
	}
	return names
}

// closeResources closes transports, the mux, every Raft connection and the
// log stores, except the stores of the groups in running (whose Raft may
// still use them).
func (s *Server) closeResources(running map[*group]bool) {
	s.closing.Store(true)
	for _, g := range s.groups() {
		if g == nil {
			continue
		}
		if g.trans != nil {
			_ = g.trans.Close()
		}
	}
	_ = s.mux.Close()
	// Raft no longer uses its connections (or was already cut off): release
	// the sockets, so the transports' inbound handlers end too.
	s.mux.AbortRaftConns()
	for _, g := range s.groups() {
		if g == nil || running[g] {
			continue
		}
		if g.store != nil {
			if err := g.store.Close(); err != nil {
				s.log.Warn("close log store", "group", g.name, "err", err)
			}
		}
	}
}

// Close stops the node: it cancels Run and waits for it, or, if Run was
// never called, releases what New opened. Safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		cancel, done := s.cancelRun, s.runDone
		s.closing.Store(true)
		if done == nil {
			s.runDone = make(chan struct{}) // make a later Run fail
			close(s.runDone)
		}
		s.mu.Unlock()
		if done != nil {
			cancel()
			<-done
			return
		}
		s.closeResources(nil)
	})
	return s.closeErr
}

// GroupStats returns hashicorp/raft's statistics of a hosted group
// ("ctl", "p0", …), for operators and tests.
func (s *Server) GroupStats(name string) (map[string]string, error) {
	g := s.group(name)
	if g == nil || g.raft == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownGroup, name)
	}
	return g.raft.Stats(), nil
}

// Leader returns the leader (id, address) of a hosted group as this node
// knows it; empty when unknown.
func (s *Server) Leader(name string) (id, addr string) {
	g := s.group(name)
	if g == nil || g.raft == nil {
		return "", ""
	}
	a, i := g.raft.LeaderWithID()
	return string(i), string(a)
}

// Snapshot asks a group to take a snapshot now (operators and tests).
func (s *Server) Snapshot(name string) error {
	g := s.group(name)
	if g == nil || g.raft == nil {
		return fmt.Errorf("%w: %q", ErrUnknownGroup, name)
	}
	return g.raft.Snapshot().Error()
}

func (s *Server) group(name string) *group {
	for _, g := range s.groups() {
		if g != nil && g.name == name {
			return g
		}
	}
	return nil
}

// ctlLoop does the control-plane leader's periodic work: barrier and Init
// after gaining leadership, forgetting heartbeats after losing it, and the
// AZ-tolerance gauge.
func (s *Server) ctlLoop(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	wasLeader := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		leader := s.ctl.raft.State() == raft.Leader
		if !leader {
			if wasLeader {
				s.health.Reset()
				s.metrics.azLossTolerant.Set(0)
				s.metrics.ctlLeader.Set(0)
			}
			wasLeader = false
			continue
		}
		wasLeader = true
		s.metrics.ctlLeader.Set(1)
		if _, err := s.ctl.gate.ensureBarrier(); err != nil {
			continue
		}
		if !s.ctlFSM.View().Initialized() {
			if err := s.ctlInit(); err != nil {
				s.log.Warn("control plane init", "err", err)
				continue
			}
		}
		st := s.regionStatus()
		if st.AZLossTolerant {
			s.metrics.azLossTolerant.Set(1)
		} else {
			s.metrics.azLossTolerant.Set(0)
		}
	}
}

func (s *Server) ctlInit() error {
	_, err := s.ctlApply(controlplane.Command{
		Type: controlplane.CmdInit,
		Init: &controlplane.InitRequest{Region: s.cfg.Region, MetaNodes: s.cfg.Peers, Partitions: s.cfg.Partitions},
	})
	if err != nil {
		return err
	}
	if st := s.ctlFSM.View(); st.Region != s.cfg.Region || len(st.Partitions) != s.cfg.Partitions {
		s.log.Error("control plane was created with a different region or partition count than this node's config",
			"region", st.Region, "partitions", len(st.Partitions), "config_region", s.cfg.Region, "config_partitions", s.cfg.Partitions)
	}
	return nil
}

func (s *Server) ctlApply(c controlplane.Command) (controlplane.ApplyResult, error) {
	c.Time = time.Now()
	b, err := controlplane.Encode(c)
	if err != nil {
		return controlplane.ApplyResult{}, err
	}
	f := s.ctl.raft.Apply(b, s.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		return controlplane.ApplyResult{}, err
	}
	res, _ := f.Response().(controlplane.ApplyResult)
	return res, res.Err
}

// regionStatus is the control plane's view; meaningful on the ctl leader.
func (s *Server) regionStatus() metapb.RegionStatus {
	st := s.ctlFSM.View()
	nodes := s.health.Annotate(st.Storage, time.Now())
	leaders := map[int]string{}
	for _, g := range s.parts {
		if _, id := g.raft.LeaderWithID(); id != "" {
			leaders[g.part] = string(id)
		}
	}
	return controlplane.Status(st, nodes, leaders, s.cfg.Scheme)
}

// LocalState returns this node's replica of partition p, which may lag the
// leader. For tests and diagnostics only: serving clients from it would
// break linearizability.
func (s *Server) LocalState(p int) *metastate.State {
	if p < 0 || p >= len(s.parts) {
		return nil
	}
	return s.parts[p].state
}

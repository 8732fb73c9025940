package metasvc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Config configures one meta node.
type Config struct {
	// NodeID is this node's Raft server id; it must appear in Peers.
	NodeID string
	// AZ is this node's availability zone.
	AZ string
	// DataDir holds one folder per Raft group: DataDir/<group>/{raft.db,snapshots/}.
	DataDir string
	// Listen is the TCP address of the node's only listener (Raft of every
	// group and the HTTP RPC API). Ignored when Listener is set.
	Listen string
	// Listener, if set, is used instead of listening on Listen (tests and
	// embedding pre-open listeners to learn their ports). The server owns it.
	Listener net.Listener
	// Advertise is the address peers and clients dial; default: the
	// listener's address. It must equal this node's Addr in Peers.
	Advertise string
	// Region is the region's name, written into the control plane at creation.
	Region string
	// Partitions is the fixed number of metadata partitions (default 8).
	Partitions int
	// Peers are the initial meta nodes (3, one per AZ), this node included.
	// Every group has all of them as voters.
	Peers []metapb.MetaNode
	// Bootstrap makes a node with no Raft state bootstrap every group with
	// Peers. All initial nodes may set it; a node with state ignores it.
	Bootstrap bool

	// TLS is the node's certificate, key and region CA (required): the
	// listener accepts only mutual TLS, Raft peers must be meta nodes of the
	// region, and every RPC is authorized by the caller's role
	// (docs/security.md). Its identity must be {meta, NodeID, Region, AZ}.
	TLS *mtls.Node

	// Logger receives the node's logs (default: discard).
	Logger *slog.Logger
	// RaftLogLevel is the minimum level of hashicorp/raft's own log lines
	// forwarded to Logger.
	RaftLogLevel slog.Level
	// Registry, if set, receives the node's metrics.
	Registry prometheus.Registerer

	// Raft timing, tuned for loopback/one region by default.
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	LeaderLease      time.Duration
	// CommitTimeout: when writes stop, a follower learns the last commit
	// index (and applies it) within CommitTimeout–2×CommitTimeout. It
	// does not delay commits or leader reads (reads are served by the
	// leader only, readgate.go). While a pipeline is open hashicorp/raft
	// wakes each follower's replication loop this often even when idle;
	// quietpipe.go keeps those wake-ups off the wire, and the 50 ms
	// default (hashicorp/raft's own; 20 ms before 2026-12-01) cuts the
	// wake-ups themselves: −9 ms/s of idle CPU (docs/performance.md).
	CommitTimeout time.Duration
	// ApplyTimeout bounds how long a write may wait to be enqueued to Raft,
	// and a read's barrier after an election.
	ApplyTimeout time.Duration

	// Snapshots: a group snapshots when SnapshotThreshold entries have been
	// applied since the last one, checked every SnapshotInterval (raft adds
	// jitter); TrailingLogs entries are kept after a snapshot so a slightly
	// lagging follower catches up from the log; further behind, it receives
	// the snapshot. SnapshotRetain snapshots are kept on disk.
	SnapshotInterval  time.Duration
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotRetain    int
	// LogCache is the number of most recent Raft log entries each group
	// keeps in memory in front of its bbolt log store (hashicorp/raft's
	// LogCache); 0: none. Replication reads the entry before the next one
	// it sends, and the entries it sends, from the log store: with the
	// cache these are memory reads instead of bbolt transactions and
	// decodes (docs/performance.md "Idle CPU"). Memory: at most LogCache
	// entries per group, each up to the largest record (inline objects).
	LogCache int

	// Scheme is the region's default erasure scheme, used to decide AZ-loss
	// tolerance (invariant 5).
	Scheme metapb.Scheme
	// HealthTimeout: a storage node is healthy while its last heartbeat is
	// younger than this.
	HealthTimeout time.Duration
	// CapacityDelta is the relative capacity change that makes a heartbeat
	// re-register its node through Raft.
	CapacityDelta float64
	// MaxBodyBytes bounds RPC request bodies.
	MaxBodyBytes int64
	// ShutdownTimeout bounds each wait of shutdown: the HTTP drain, the wait
	// for the Raft groups to stop before their connections are aborted, the
	// wait after, and the wait for the node's goroutines (see Server.shutdown).
	ShutdownTimeout time.Duration

	// TracerProvider receives a server span per RPC and a span around each
	// Raft Apply wait (tracing.go); nil: no tracing.
	TracerProvider trace.TracerProvider
}

// DefaultConfig returns a configuration with every tunable set; NodeID, AZ,
// DataDir, Listen, Region and Peers still need values.
func DefaultConfig() Config {
	return Config{
		Listen:            "127.0.0.1:7100",
		Partitions:        8,
		RaftLogLevel:      slog.LevelWarn,
		HeartbeatTimeout:  500 * time.Millisecond,
		ElectionTimeout:   500 * time.Millisecond,
		LeaderLease:       250 * time.Millisecond,
		CommitTimeout:     50 * time.Millisecond,
		ApplyTimeout:      5 * time.Second,
		SnapshotInterval:  30 * time.Second,
		SnapshotThreshold: 8192,
		TrailingLogs:      10240,
		SnapshotRetain:    2,
		LogCache:          64,
		Scheme:            metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 1 << 20},
		HealthTimeout:     3 * time.Second,
		CapacityDelta:     0.05,
		MaxBodyBytes:      8 << 20,
		ShutdownTimeout:   5 * time.Second,
	}
}

// ErrConfig wraps every validation failure.
var ErrConfig = errors.New("metasvc: invalid config")

// Validate checks the configuration, cross-field rules included.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case c.NodeID == "":
		return bad("NodeID is empty")
	case c.AZ == "":
		return bad("AZ is empty")
	case c.DataDir == "":
		return bad("DataDir is empty")
	case c.Listener == nil && c.Listen == "":
		return bad("Listen is empty")
	case c.Region == "":
		return bad("Region is empty")
	case c.Partitions <= 0 || c.Partitions > 4096:
		return bad("Partitions %d out of 1..4096", c.Partitions)
	case len(c.Peers) == 0:
		return bad("Peers is empty")
	case c.HeartbeatTimeout < 5*time.Millisecond:
		return bad("HeartbeatTimeout %v too small", c.HeartbeatTimeout)
	case c.ElectionTimeout < c.HeartbeatTimeout:
		return bad("ElectionTimeout %v < HeartbeatTimeout %v", c.ElectionTimeout, c.HeartbeatTimeout)
	case c.LeaderLease <= 0 || c.LeaderLease > c.HeartbeatTimeout:
		return bad("LeaderLease %v must be in (0, HeartbeatTimeout]", c.LeaderLease)
	case c.CommitTimeout <= 0:
		return bad("CommitTimeout must be positive")
	case c.ApplyTimeout <= 0:
		return bad("ApplyTimeout must be positive")
	case c.SnapshotInterval <= 0 || c.SnapshotThreshold == 0:
		return bad("SnapshotInterval and SnapshotThreshold must be positive")
	case c.SnapshotRetain < 1:
		return bad("SnapshotRetain must be ≥ 1")
	case c.LogCache < 0:
		return bad("LogCache must be ≥ 0")
	case c.Scheme.Data <= 0 || c.Scheme.Parity < 0:
		return bad("Scheme %d+%d invalid", c.Scheme.Data, c.Scheme.Parity)
	case c.HealthTimeout <= 0:
		return bad("HealthTimeout must be positive")
	case c.CapacityDelta < 0:
		return bad("CapacityDelta must be ≥ 0")
	case c.MaxBodyBytes < 1<<10:
		return bad("MaxBodyBytes %d too small", c.MaxBodyBytes)
	case c.ShutdownTimeout <= 0:
		return bad("ShutdownTimeout must be positive")
	}
	if c.TLS == nil {
		return bad("TLS is required (a meta node serves only mutual TLS)")
	}
	if want := (mtls.Identity{Role: mtls.RoleMeta, ID: c.NodeID, Region: c.Region, AZ: c.AZ}); c.TLS.Identity != want {
		return bad("the certificate names %s, want %s", c.TLS.Identity, want)
	}
	ids, addrs, self := map[string]bool{}, map[string]bool{}, false
	for _, p := range c.Peers {
		if p.ID == "" || p.Addr == "" || p.AZ == "" {
			return bad("peer %+v needs ID, AZ and Addr", p)
		}
		if ids[p.ID] || addrs[p.Addr] {
			return bad("duplicate peer %+v", p)
		}
		ids[p.ID], addrs[p.Addr] = true, true
		if p.ID == c.NodeID {
			self = true
			if p.AZ != c.AZ {
				return bad("peer %s has AZ %q but this node's AZ is %q", p.ID, p.AZ, c.AZ)
			}
			if c.Advertise != "" && p.Addr != c.Advertise {
				return bad("peer %s has Addr %q but Advertise is %q", p.ID, p.Addr, c.Advertise)
			}
		}
	}
	if !self {
		return bad("NodeID %q is not among Peers", c.NodeID)
	}
	return nil
}

package objectio

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/erasure"
	"github.com/meridian-s3/meridian/storagesvc/storagepb"
)

// ShardClient is what the engine needs from the storage nodes
// (storagesvc/storageclient implements it; objectiotest fakes it).
type ShardClient interface {
	Put(ctx context.Context, addr, id string, body io.Reader, size int64, crc32c uint32) (storagepb.ShardInfo, error)
	Get(ctx context.Context, addr, id string, off, length int64) (io.ReadCloser, error)
	Delete(ctx context.Context, addr, id string) error
}

// Config configures an Engine.
type Config struct {
	// Scheme for new writes. Default 10+4 with 64 KiB chunks (measured: the
	// pipeline encodes fastest at 64 KiB; see docs/erasure.md).
	Scheme metapb.Scheme
	// SegmentSize is the object bytes per segment (each segment has its own
	// placement). Default 64 MiB (102.4 stripes of 640 KiB: the last stripe
	// of a full segment is short, like an object's last stripe).
	SegmentSize int64
	// Client talks to storage nodes.
	Client ShardClient
	// Nodes returns the control plane's current view of the storage nodes
	// (Healthy set from heartbeats). Called once per operation.
	Nodes func() []metapb.StorageNode
	// FreshNodes, if set, reads the control plane's view now (a cached
	// Nodes may be up to its refresh interval old; regional/nodeview's
	// Fresh). Plan calls it (once per call) before it would place two
	// shards of a segment on one node because Nodes offers fewer usable
	// nodes than shards: that placement lowers the object's fault tolerance
	// for good, so it is decided only on a current view (nodes that joined
	// or came back since the last refresh are then used).
	FreshNodes func(ctx context.Context) []metapb.StorageNode
	// WriteQuorum is the number of shards of every segment that must be
	// durably stored before Write succeeds. Default Data+Parity; never less
	// than Data+1 (invariant 1).
	WriteQuorum int
	// WriteQueue is the number of chunks buffered per shard stream.
	WriteQueue int
	// WriteStall: a shard stream that accepts no chunk for this long is
	// abandoned and its shard rebuilt on a replacement node.
	WriteStall time.Duration
	// WriteFinish bounds the wait for a Put's acknowledgement (fsync) after
	// its last byte was handed over.
	WriteFinish time.Duration
	// RebuildAttempts is the number of replacement nodes tried per failed
	// shard of a write.
	RebuildAttempts int
	// ReadWindow is the shard bytes fetched per shard request (rounded down
	// to whole chunks, at least one). Memory of one Read is at most
	// (Data+Parity) windows.
	ReadWindow int64
	// ReadTimeout bounds one shard request of a read.
	ReadTimeout time.Duration
	// ReadHedge: when a window's Data shards have not all arrived after this
	// long, another shard is requested (and again every ReadHedge).
	ReadHedge time.Duration
	// SuspectFor: a node whose shard write failed is treated as unhealthy
	// by this engine for this long (0 disables), bridging the time until
	// the control plane's heartbeats declare it dead.
	SuspectFor time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the defaults; Client and Nodes must still be set.
func DefaultConfig() Config {
	return Config{
		Scheme:          metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 64 << 10},
		SegmentSize:     64 << 20,
		WriteQueue:      8,
		WriteStall:      3 * time.Second,
		WriteFinish:     30 * time.Second,
		RebuildAttempts: 3,
		ReadWindow:      512 << 10,
		ReadTimeout:     10 * time.Second,
		ReadHedge:       150 * time.Millisecond,
		SuspectFor:      5 * time.Second,
	}
}

// Validate checks c, filling WriteQuorum if zero.
func (c *Config) Validate() error {
	l, err := erasure.NewLayout(c.Scheme)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	switch {
	case c.Client == nil || c.Nodes == nil:
		return fmt.Errorf("%w: Client and Nodes are required", ErrConfig)
	case c.SegmentSize <= 0:
		return fmt.Errorf("%w: segment size %d", ErrConfig, c.SegmentSize)
	case c.WriteQueue < 1 || c.RebuildAttempts < 1:
		return fmt.Errorf("%w: WriteQueue and RebuildAttempts must be >= 1", ErrConfig)
	case c.WriteStall <= 0 || c.WriteFinish <= 0 || c.ReadTimeout <= 0 || c.ReadHedge <= 0:
		return fmt.Errorf("%w: timeouts must be positive", ErrConfig)
	case c.ReadWindow < 1:
		return fmt.Errorf("%w: ReadWindow must be positive", ErrConfig)
	}
	if c.WriteQuorum == 0 {
		c.WriteQuorum = l.N()
	}
	if c.WriteQuorum < l.K+1 || c.WriteQuorum > l.N() {
		return fmt.Errorf("%w: write quorum %d outside [%d,%d] (invariant 1: never fewer than k+1)", ErrConfig, c.WriteQuorum, l.K+1, l.N())
	}
	return nil
}

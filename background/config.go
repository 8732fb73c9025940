package background

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Meta is what the background server needs from the metadata service
// (metaclient.Client implements it).
type Meta interface {
	Partitions() int
	Lease(ctx context.Context, partition int, r metapb.LeaseRequest) (metapb.Result, error)
	Checkpoint(ctx context.Context, partition int, r metapb.CheckpointRequest) (metapb.Result, error)
	Background(ctx context.Context, partition int) ([]metapb.Lease, []metapb.Checkpoint, error)

	ScanPreparing(ctx context.Context, partition int, olderThan time.Time, max int) ([]metapb.ObjectVersion, error)
	ScanPreparingParts(ctx context.Context, partition int, olderThan time.Time, max int) ([]metapb.Part, error)
	Abort(ctx context.Context, r metapb.AbortRequest) (metapb.Result, error)
	AbortPart(ctx context.Context, r metapb.AbortPartRequest) (metapb.Result, error)
	ListGarbage(ctx context.Context, partition int, max int) ([]metapb.Garbage, error)
	AckGarbage(ctx context.Context, partition int, ids []uint64) (metapb.Result, error)

	// Scrubber (scrub.go).
	ScanShards(ctx context.Context, partition int, c metapb.ShardCursor, max int) (metapb.ShardScanResponse, error)
	ReplaceShards(ctx context.Context, r metapb.ReplaceShardsRequest) (metapb.Result, error)
	// Healer (healer.go): versions readers found damaged.
	Suspects(ctx context.Context, partition int, max int) ([]metapb.Suspect, error)
	AckSuspects(ctx context.Context, partition int, sps []metapb.Suspect) error
	GetVersion(ctx context.Context, bucket, key, versionID string) (metapb.ObjectVersion, error)

	// Lifecycle rules (lifecycle.go).
	ListVersionsPartition(ctx context.Context, partition int, q metapb.ListVersionsRequest) (metapb.ListVersionsResponse, error)
	ListUploadsPartition(ctx context.Context, partition int, q metapb.ListUploadsRequest) (metapb.ListUploadsResponse, error)
	DeleteObject(ctx context.Context, r metapb.DeleteRequest) (metapb.Result, error)
	AbortUpload(ctx context.Context, r metapb.AbortUploadRequest) (metapb.Result, error)
}

// Data deletes stored shards (objectio.Engine implements it). Deleting a
// shard that is already gone succeeds.
type Data interface {
	Delete(ctx context.Context, segs []metapb.Segment) error
}

// LeaseName is the name of the partition lease background servers take.
const LeaseName = "background"

// Config configures a Server.
type Config struct {
	Region string
	// ID names this process in lease records; unique per process
	// (default: host-pid-start time).
	ID string

	Meta Meta
	Data Data
	// Catalog supplies the buckets' lifecycle rules; nil disables the
	// janitor's lifecycle phase (docs/lifecycle.md).
	Catalog Catalog
	// LifecycleDay is the length of a lifecycle day (0: 24 h); tests
	// shorten it (MERIDIAN_TEST_DAY). The gateways must use the same.
	LifecycleDay time.Duration
	// LifecycleInterval is the least time between two lifecycle walks of a
	// partition (0: LifecycleDay/24, i.e. hourly): how late after its
	// midnight an expiration may run.
	LifecycleInterval time.Duration
	// Orphans, if set, turns on the janitor's orphan scan (orphans.go,
	// docs/gc-safety.md); Meta must then implement OrphanMeta.
	Orphans ShardNodes

	// LeaseTTL is how long a partition lease lasts without renewal: the
	// time a crashed server's partitions wait before being taken over.
	LeaseTTL time.Duration
	// RenewInterval is how often held leases are renewed and free ones
	// sought (< LeaseTTL − ClockMargin).
	RenewInterval time.Duration
	// ClockMargin is subtracted from a lease's local validity: the largest
	// amount by which a meta node's clock may run ahead of this process's
	// (docs/background.md, "Clock assumption").
	ClockMargin time.Duration

	// Interval is the pause between two passes of a worker over the
	// partitions it holds.
	Interval time.Duration
	// PrepareTimeout is the deadline of a PREPARE: a PREPARING record (or
	// part attempt) older than this is aborted by the janitor. It must
	// exceed the longest PUT the gateways allow (their body deadlines).
	PrepareTimeout time.Duration
	// GarbageGrace is how long a garbage entry waits (from when its record
	// was replaced or removed, by leader time) before its shards are
	// deleted: a GET that read the old record just before an overwrite or
	// delete may still be streaming those shards. Safety does not depend
	// on it (nothing referenced is ever queued); reads in flight do.
	GarbageGrace time.Duration
	// Batch bounds the records handled per step (garbage entries, scans).
	Batch int
	// OrphanMinAge: the orphan scan deletes an unreferenced shard only
	// once the node has held it this long (by the node's monotonic
	// clock). It must exceed PrepareTimeout + GarbageGrace, the longest a
	// PREPARE's shards are protected by record state, and bounds how long
	// a writer that writes before it references (the healer's rebuild
	// before its swap) may take (docs/gc-safety.md).
	OrphanMinAge time.Duration
	// OrphanInterval is how often each storage node is scanned for orphans.
	OrphanInterval time.Duration

	// Scrubber and healer (scrub.go). Shards nil: no scrubber runs.
	Shards Shards
	// Nodes returns the control plane's storage nodes with their health
	// (a cached view; required with Shards).
	Nodes func() []metapb.StorageNode
	// ScrubInterval is the pause between two scrub passes over a
	// partition (a node declared dead starts one at once).
	ScrubInterval time.Duration
	// ScrubRate bounds the shard bytes verified per second per storage
	// node (the node reads and checksums them locally); ≤ 0: unlimited.
	ScrubRate int64
	// HealRate bounds the shard bytes rebuilt per second per storage node
	// (written to it, or read from it as a source); ≤ 0: unlimited.
	HealRate int64
	// ScrubParallel is the number of records verified at once.
	ScrubParallel int
	// DeadAfter: a storage node seen without heartbeats for this long is
	// dead and its shards are rebuilt elsewhere.
	DeadAfter time.Duration
	// DrainInterval is the pause between two drainer passes over a
	// partition while some node drains (a new drain starts one at once).
	DrainInterval time.Duration
	// VerifyTimeout bounds one shard verify call; HealTimeout one rebuild
	// (plus the time its bytes take at HealRate).
	VerifyTimeout time.Duration
	HealTimeout   time.Duration

	// Replicator (replicator.go, docs/replication.md). Links nil: no
	// replicator runs; else Catalog is required, Meta must implement
	// ReplMeta and Data ObjectReader.
	Links ReplicaLinks
	// ReplicationInterval is the pause between two feed polls of a
	// partition when it is caught up.
	ReplicationInterval time.Duration
	// ReplicationBatch is the feed entries read per step; ReplicationParallel
	// the copies in flight at once over all partitions.
	ReplicationBatch    int
	ReplicationParallel int
	// ReplicationTimeout bounds a copy's stall: it fails when this long
	// passes without a body byte taken by the link or, after the body,
	// without an answer (replstall.go; a copy that keeps moving is never
	// cut, however long its share of the link makes it).
	ReplicationTimeout time.Duration
	// ReplicationBackoffMax caps the wait before a partition's failed copies
	// are retried (1 s, doubling); ReplicationRegionBackoff is how long
	// copies to a region whose link failed fail fast.
	ReplicationBackoffMax    time.Duration
	ReplicationRegionBackoff time.Duration
	// ReplicationRetryMax bounds each partition's retry list (replretry.go):
	// failing copies parked there so the feed position passes them. When
	// it is full, a new failure holds the feed position instead (nothing
	// is dropped).
	ReplicationRetryMax int
	// SSEKeys and KMS open this region's SSE-S3 and SSE-KMS data keys, so
	// the replicator sends those versions' plaintext to the destination
	// region, which encrypts it under its own keys (replsse.go). nil: such
	// versions' copies fail (FAILED, logged, retried).
	SSEKeys ReplSSEKeys
	KMS     ReplKMS

	Logger   *slog.Logger
	Registry *prometheus.Registry // nil: no metrics registered
}

// DefaultConfig returns a Config with the defaults filled in.
func DefaultConfig() Config {
	return Config{
		LeaseTTL:       15 * time.Second,
		RenewInterval:  3 * time.Second,
		ClockMargin:    2 * time.Second,
		Interval:       2 * time.Second,
		PrepareTimeout: time.Hour,
		GarbageGrace:   30 * time.Second,
		Batch:          64,
		ScrubInterval:  time.Hour,
		ScrubRate:      256 << 20,
		HealRate:       64 << 20,
		ScrubParallel:  4,
		DeadAfter:      10 * time.Minute,
		DrainInterval:  10 * time.Second,
		VerifyTimeout:  time.Minute,
		HealTimeout:    2 * time.Minute,
		OrphanMinAge:   time.Hour + 15*time.Minute,
		OrphanInterval: time.Hour,

		ReplicationInterval:      500 * time.Millisecond,
		ReplicationBatch:         256,
		ReplicationParallel:      16,
		ReplicationTimeout:       30 * time.Second,
		ReplicationBackoffMax:    30 * time.Second,
		ReplicationRegionBackoff: 2 * time.Second,
		ReplicationRetryMax:      1000,
	}
}

// Validate checks the config, cross-field rules included.
func (c *Config) Validate() error {
	var errs []error
	if c.Meta == nil {
		errs = append(errs, errors.New("background: Meta is required"))
	}
	if c.Data == nil {
		errs = append(errs, errors.New("background: Data is required"))
	}
	if c.LeaseTTL <= 0 || c.LeaseTTL > metapb.MaxLeaseTTL {
		errs = append(errs, fmt.Errorf("background: LeaseTTL %v out of (0, %v]", c.LeaseTTL, metapb.MaxLeaseTTL))
	}
	if c.ClockMargin < 0 || c.ClockMargin >= c.LeaseTTL {
		errs = append(errs, fmt.Errorf("background: ClockMargin %v must be in [0, LeaseTTL)", c.ClockMargin))
	}
	if c.RenewInterval <= 0 || c.RenewInterval >= c.LeaseTTL-c.ClockMargin {
		errs = append(errs, fmt.Errorf("background: RenewInterval %v must be in (0, LeaseTTL-ClockMargin = %v)", c.RenewInterval, c.LeaseTTL-c.ClockMargin))
	}
	if c.Interval <= 0 {
		errs = append(errs, errors.New("background: Interval must be positive"))
	}
	if c.PrepareTimeout <= 0 {
		errs = append(errs, errors.New("background: PrepareTimeout must be positive"))
	}
	if c.GarbageGrace < 0 {
		errs = append(errs, errors.New("background: GarbageGrace must not be negative"))
	}
	if c.LifecycleInterval < 0 {
		errs = append(errs, errors.New("background: LifecycleInterval must not be negative"))
	}
	if c.LifecycleDay < 0 {
		errs = append(errs, errors.New("background: LifecycleDay must not be negative"))
	}
	if c.Orphans != nil {
		if _, ok := c.Meta.(OrphanMeta); !ok && c.Meta != nil {
			errs = append(errs, errors.New("background: Orphans is set but Meta cannot check references (OrphanMeta)"))
		}
		if c.Shards != nil && c.OrphanMinAge <= 2*c.HealTimeout {
			// gc-safety.md R5: a rebuilt shard is unreferenced until its
			// swap, which the healer does within HealTimeout.
			errs = append(errs, fmt.Errorf("background: OrphanMinAge %v must exceed twice HealTimeout %v", c.OrphanMinAge, c.HealTimeout))
		}
		if c.OrphanMinAge <= c.PrepareTimeout+c.GarbageGrace {
			errs = append(errs, fmt.Errorf("background: OrphanMinAge %v must exceed PrepareTimeout + GarbageGrace = %v", c.OrphanMinAge, c.PrepareTimeout+c.GarbageGrace))
		}
		if c.OrphanInterval <= 0 {
			errs = append(errs, errors.New("background: OrphanInterval must be positive"))
		}
	}
	if c.Batch <= 0 || c.Batch > 1000 {
		errs = append(errs, fmt.Errorf("background: Batch %d out of [1, 1000]", c.Batch))
	}
	if c.Shards != nil {
		if c.Nodes == nil {
			errs = append(errs, errors.New("background: Nodes is required with Shards"))
		}
		if c.ScrubInterval <= 0 || c.DeadAfter <= 0 || c.VerifyTimeout <= 0 || c.HealTimeout <= 0 || c.DrainInterval <= 0 {
			errs = append(errs, errors.New("background: ScrubInterval, DeadAfter, VerifyTimeout, HealTimeout and DrainInterval must be positive"))
		}
		if c.ScrubParallel < 1 || c.ScrubParallel > 256 {
			errs = append(errs, fmt.Errorf("background: ScrubParallel %d out of [1, 256]", c.ScrubParallel))
		}
	}
	if c.Links != nil {
		if c.Catalog == nil {
			errs = append(errs, errors.New("background: the replicator (Links) needs Catalog"))
		}
		if _, ok := c.Meta.(ReplMeta); !ok && c.Meta != nil {
			errs = append(errs, errors.New("background: the replicator (Links) needs a Meta that reads and acknowledges the feed (ReplMeta)"))
		}
		if _, ok := c.Data.(ObjectReader); !ok && c.Data != nil {
			errs = append(errs, errors.New("background: the replicator (Links) needs a Data that reads objects (ObjectReader)"))
		}
		if c.ReplicationInterval <= 0 || c.ReplicationTimeout <= 0 ||
			c.ReplicationBackoffMax < time.Second || c.ReplicationRegionBackoff < 0 {
			errs = append(errs, errors.New("background: ReplicationInterval and ReplicationTimeout must be positive, ReplicationBackoffMax at least 1s"))
		}
		if c.ReplicationRetryMax < 0 || c.ReplicationRetryMax > 10000 {
			errs = append(errs, fmt.Errorf("background: ReplicationRetryMax %d not in [0, 10000]", c.ReplicationRetryMax))
		}
		if c.ReplicationBatch < 1 || c.ReplicationBatch > 1000 || c.ReplicationParallel < 1 || c.ReplicationParallel > 256 {
			errs = append(errs, fmt.Errorf("background: ReplicationBatch %d not in [1, 1000] or ReplicationParallel %d not in [1, 256]", c.ReplicationBatch, c.ReplicationParallel))
		}
	}
	return errors.Join(errs...)
}

func defaultID() string {
	h, _ := os.Hostname()
	if h == "" {
		h = "host"
	}
	return h + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}

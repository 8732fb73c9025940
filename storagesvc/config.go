package storagesvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/prometheus/client_golang/prometheus"
)

// Registrar receives the node's heartbeats (the control plane).
type Registrar interface {
	Heartbeat(ctx context.Context, n metapb.StorageNode) error
}

// Config configures a storage node.
type Config struct {
	NodeID  string
	AZ      string
	DataDir string
	// Listen is the host:port to listen on (port 0 picks one; see Addr).
	Listen string
	// Advertise is the host:port others use to reach the node; empty means
	// the actual listen address.
	Advertise string
	// CapacityBytes bounds stored bytes; 0 means the size of the file system
	// holding DataDir.
	CapacityBytes int64
	// MaxVolumeBytes is the size at which a log volume is sealed.
	MaxVolumeBytes int64
	// CompactRatio and CompactInterval drive background compaction of
	// sealed volumes whose live fraction is under the ratio. Interval 0
	// disables background compaction.
	CompactRatio    float64
	CompactInterval time.Duration
	// CompactMinBytes: the active volume is sealed for compaction once it
	// holds this many dead bytes with its live fraction under CompactRatio
	// (0: only full volumes are sealed). CompactBytesPerSec paces the
	// copying (0: unlimited). docs/storage-format.md, "Compaction".
	CompactMinBytes    int64
	CompactBytesPerSec int64
	// BufferBytes caps the node's shard I/O buffers in use at once (each
	// shard read or write holds 64 KiB–1 MiB); requests past it wait.
	BufferBytes int64
	// UncachedWriteMinBytes: shards of at least this many bytes are dropped
	// from the page cache once durable (shardstore.Options); 0 keeps all.
	UncachedWriteMinBytes int64
	// DirectWriteMinBytes: shards of at least this many bytes are written
	// with O_DIRECT (shardstore.Options); 0 writes all through the cache.
	DirectWriteMinBytes int64
	// TLS is the node's certificate, key and region CA (required): the
	// listener speaks only mutual TLS and each route admits the roles of
	// docs/security.md from the certificate's region. Its identity must be
	// {storage, NodeID, AZ}.
	TLS *mtls.Node
	// Registrar, if not nil, is sent a heartbeat every HeartbeatInterval.
	Registrar         Registrar
	HeartbeatInterval time.Duration
	// ShutdownTimeout bounds draining of requests in flight.
	ShutdownTimeout time.Duration
	// Registry, if not nil, gets the node's metrics and is served at /metrics.
	Registry *prometheus.Registry
	Logger   *slog.Logger
}

// DefaultConfig returns a configuration with production defaults; NodeID,
// AZ and DataDir must still be set.
func DefaultConfig() Config {
	return Config{
		Listen:             "127.0.0.1:7400",
		MaxVolumeBytes:     1 << 30,
		CompactRatio:       0.5,
		CompactInterval:    10 * time.Second,
		CompactMinBytes:    64 << 20,
		CompactBytesPerSec: 64 << 20,
		BufferBytes:        32 << 20,
		HeartbeatInterval:  time.Second,
		ShutdownTimeout:    10 * time.Second,
	}
}

// Validate checks the configuration, including cross-field rules.
func (c Config) Validate() error {
	var errs []error
	if c.NodeID == "" {
		errs = append(errs, errors.New("NodeID is empty"))
	}
	if c.AZ == "" {
		errs = append(errs, errors.New("AZ is empty"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("DataDir is empty"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("Listen %q: %v", c.Listen, err))
	}
	if c.Advertise != "" {
		if _, port, err := net.SplitHostPort(c.Advertise); err != nil || port == "0" || port == "" {
			errs = append(errs, fmt.Errorf("Advertise %q must be host:port with a fixed port", c.Advertise))
		}
	}
	if c.TLS == nil {
		errs = append(errs, errors.New("TLS is required (a storage node serves only mutual TLS)"))
	} else if id := c.TLS.Identity; id.Role != mtls.RoleStorage || id.ID != c.NodeID || id.AZ != c.AZ {
		errs = append(errs, fmt.Errorf("the certificate names %s, want role storage, id %q, AZ %q", id, c.NodeID, c.AZ))
	}
	if c.CapacityBytes < 0 {
		errs = append(errs, errors.New("CapacityBytes is negative"))
	}
	if c.MaxVolumeBytes < 1<<20 {
		errs = append(errs, errors.New("MaxVolumeBytes must be at least 1 MiB"))
	}
	if c.CompactRatio < 0 || c.CompactRatio > 1 {
		errs = append(errs, errors.New("CompactRatio must be within [0,1]"))
	}
	if c.CompactInterval < 0 {
		errs = append(errs, errors.New("CompactInterval is negative"))
	}
	if c.CompactMinBytes < 0 || c.CompactBytesPerSec < 0 {
		errs = append(errs, errors.New("CompactMinBytes and CompactBytesPerSec must not be negative"))
	}
	if c.Registrar != nil && c.HeartbeatInterval <= 0 {
		errs = append(errs, errors.New("HeartbeatInterval must be positive with a Registrar"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("ShutdownTimeout must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Sentinel errors.
var (
	ErrInvalidConfig = errors.New("storagesvc: invalid config")
	ErrAlreadyRun    = errors.New("storagesvc: Run called twice")
	ErrClosed        = errors.New("storagesvc: server closed")
)

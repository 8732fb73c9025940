package latencyproxy

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Sentinel errors.
var (
	// ErrInvalidConfig wraps every Config.Validate failure.
	ErrInvalidConfig = errors.New("latencyproxy: invalid config")
)

// Default values used by DefaultConfig and for zero fields.
const (
	DefaultListen         = "127.0.0.1:0"
	DefaultUDPIdleTimeout = 30 * time.Second
	// DefaultMaxChunk is the largest chunk one TCP read takes off the wire.
	DefaultMaxChunk = 64 << 10
	// DefaultQueueLen is the number of chunks (TCP) or datagrams (UDP) a
	// direction holds in flight before back-pressure (TCP) or tail drop (UDP).
	DefaultQueueLen = 1024
	// DefaultSocketBuffer is the receive and send buffer asked for on every
	// UDP socket of the proxy. The kernel's default (about 208 KiB, some 90
	// full-size datagrams) is a hidden queue far shorter than QueueLen: a
	// QUIC sender's slow-start burst overflowed it while the read loop
	// waited for a CPU, and the kernel dropped datagrams the proxy never
	// saw (docs/replication.md, "Measured"). 8 MiB holds a burst of a
	// window of several MiB; Linux caps it at net.core.rmem_max/wmem_max
	// and reports the drops it still makes in Stats (KernelDropped).
	DefaultSocketBuffer = 8 << 20
)

// Config describes one proxy. Listen and Target are host:port strings.
type Config struct {
	// Listen is the local address to listen on ("127.0.0.1:0" if empty).
	Listen string
	// Target is the host:port every connection or datagram is forwarded to.
	Target string
	// Delay is the one-way delay, applied in each direction: a round trip
	// through the proxy gains 2×Delay. It can be changed with SetDelay.
	Delay time.Duration
	// Jitter, if non-zero, adds a uniformly distributed offset in
	// [-Jitter, +Jitter] to each chunk's or datagram's delay (never below
	// zero, and never reordering a direction).
	Jitter time.Duration
	// Seed seeds the jitter generator, so a run is reproducible.
	Seed uint64
	// BandwidthBytesPerSec limits each direction to this rate, shared by
	// every connection or session of the proxy (0 = unlimited).
	BandwidthBytesPerSec int64
	// UDPIdleTimeout expires a UDP session (its upstream socket) after this
	// long without a datagram in either direction (30 s if zero).
	UDPIdleTimeout time.Duration
	// MaxChunk is the TCP read size (64 KiB if zero).
	MaxChunk int
	// QueueLen is the per-direction in-flight limit in chunks or datagrams
	// (1024 if zero).
	QueueLen int
	// SocketBuffer is the receive and send buffer size asked for on each
	// UDP socket (DefaultSocketBuffer if zero), so the proxy's own queue,
	// not the kernel's, is where a burst waits or is dropped.
	SocketBuffer int
	// Logger receives connection-level events at Debug and errors at Warn;
	// nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns a Config listening on an ephemeral loopback port
// with no delay. Set Target before use.
func DefaultConfig() Config {
	return Config{
		Listen:         DefaultListen,
		UDPIdleTimeout: DefaultUDPIdleTimeout,
		MaxChunk:       DefaultMaxChunk,
		QueueLen:       DefaultQueueLen,
		SocketBuffer:   DefaultSocketBuffer,
	}
}

// Validate reports the first problem with c, wrapped in ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.Target == "":
		return fmt.Errorf("%w: Target is required", ErrInvalidConfig)
	case c.Delay < 0:
		return fmt.Errorf("%w: Delay %v is negative", ErrInvalidConfig, c.Delay)
	case c.Jitter < 0:
		return fmt.Errorf("%w: Jitter %v is negative", ErrInvalidConfig, c.Jitter)
	case c.BandwidthBytesPerSec < 0:
		return fmt.Errorf("%w: BandwidthBytesPerSec %d is negative", ErrInvalidConfig, c.BandwidthBytesPerSec)
	case c.UDPIdleTimeout < 0:
		return fmt.Errorf("%w: UDPIdleTimeout %v is negative", ErrInvalidConfig, c.UDPIdleTimeout)
	case c.MaxChunk < 0:
		return fmt.Errorf("%w: MaxChunk %d is negative", ErrInvalidConfig, c.MaxChunk)
	case c.QueueLen < 0:
		return fmt.Errorf("%w: QueueLen %d is negative", ErrInvalidConfig, c.QueueLen)
	case c.SocketBuffer < 0:
		return fmt.Errorf("%w: SocketBuffer %d is negative", ErrInvalidConfig, c.SocketBuffer)
	}
	return nil
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.UDPIdleTimeout == 0 {
		c.UDPIdleTimeout = DefaultUDPIdleTimeout
	}
	if c.MaxChunk == 0 {
		c.MaxChunk = DefaultMaxChunk
	}
	if c.QueueLen == 0 {
		c.QueueLen = DefaultQueueLen
	}
	if c.SocketBuffer == 0 {
		c.SocketBuffer = DefaultSocketBuffer
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

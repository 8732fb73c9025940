package latencyproxy

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{Target: "127.0.0.1:1"}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr bool
	}{
		{"minimal", func(*Config) {}, false},
		{"defaults", func(c *Config) { d := DefaultConfig(); d.Target = c.Target; *c = d }, false},
		{"no target", func(c *Config) { c.Target = "" }, true},
		{"negative delay", func(c *Config) { c.Delay = -time.Millisecond }, true},
		{"negative jitter", func(c *Config) { c.Jitter = -time.Millisecond }, true},
		{"negative bandwidth", func(c *Config) { c.BandwidthBytesPerSec = -1 }, true},
		{"negative idle", func(c *Config) { c.UDPIdleTimeout = -1 }, true},
		{"negative chunk", func(c *Config) { c.MaxChunk = -1 }, true},
		{"negative queue", func(c *Config) { c.QueueLen = -1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
			if _, nerr := NewTCP(c); tt.wantErr && !errors.Is(nerr, ErrInvalidConfig) {
				t.Fatalf("NewTCP accepted an invalid config: %v", nerr)
			}
		})
	}
}

// TestSchedule checks the link model without sockets: delay, jitter bounds,
// order, determinism of the seed, and bandwidth serialization.
func TestSchedule(t *testing.T) {
	const delay, jitter = 50 * time.Millisecond, 20 * time.Millisecond
	run := func(seed uint64) []time.Duration {
		p := newProxy(Config{Target: "x:1", Delay: delay, Jitter: jitter, Seed: seed})
		defer p.cancel()
		now := time.Now()
		var prev time.Time
		var out []time.Duration
		for i := 0; i < 500; i++ {
			at := now.Add(time.Duration(i) * time.Millisecond)
			_, due := p.schedule(c2t, 100, at, prev)
			if due.Before(prev) {
				t.Fatalf("unit %d due %v before previous %v: reordered", i, due, prev)
			}
			if d := due.Sub(at); d < delay-jitter || (d > delay+jitter && !due.Equal(prev)) {
				t.Fatalf("unit %d delayed %v, outside %v±%v", i, d, delay, jitter)
			}
			prev = due
			out = append(out, due.Sub(at))
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	distinct := map[time.Duration]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, unit %d: %v vs %v", i, a[i], b[i])
		}
		distinct[a[i]] = true
	}
	if len(distinct) < 100 {
		t.Fatalf("jitter produced only %d distinct delays", len(distinct))
	}
	if equal := func() bool {
		for i := range a {
			if a[i] != c[i] {
				return false
			}
		}
		return true
	}(); equal {
		t.Fatal("different seeds produced the same jitter")
	}

	// Bandwidth: 10 units of 1000 bytes at 1 MB/s, all read at once, leave
	// the serializer 1 ms apart.
	p := newProxy(Config{Target: "x:1", Delay: delay, BandwidthBytesPerSec: 1_000_000})
	defer p.cancel()
	now := time.Now()
	var prev time.Time
	for i := 1; i <= 10; i++ {
		sent, due := p.schedule(t2c, 1000, now, prev)
		prev = due
		if want := now.Add(time.Duration(i) * time.Millisecond); !sent.Equal(want) {
			t.Fatalf("unit %d sent at +%v, want +%v", i, sent.Sub(now), want.Sub(now))
		}
		if due.Sub(sent) != delay {
			t.Fatalf("unit %d: due-sent = %v, want %v", i, due.Sub(sent), delay)
		}
	}
}

func TestTCPRoundTripAndSetDelay(t *testing.T) {
	const delay = 50 * time.Millisecond
	p := newTCP(t, Config{Target: startTCPEcho(t), Delay: delay})
	c := dialTCP(t, p.Addr())

	var rtts []time.Duration
	for i := 0; i < 5; i++ {
		rtt := pingRTT(t, c, byte(i))
		if rtt < 2*delay-5*time.Millisecond {
			t.Fatalf("ping %d: RTT %v < 2×%v", i, rtt, delay)
		}
		rtts = append(rtts, rtt)
	}
	med := median(rtts)
	t.Logf("delay %v: RTTs %v, median %v", delay, rtts, med)
	if med >= 400*time.Millisecond {
		t.Fatalf("median RTT %v, want < 400ms", med)
	}

	steps := []struct {
		delay    time.Duration
		min, max time.Duration
	}{
		{0, 0, 40 * time.Millisecond},
		{100 * time.Millisecond, 195 * time.Millisecond, 600 * time.Millisecond},
	}
	for _, s := range steps {
		p.SetDelay(s.delay)
		rtt := median([]time.Duration{pingRTT(t, c, 1), pingRTT(t, c, 2), pingRTT(t, c, 3)})
		t.Logf("SetDelay(%v): median RTT %v", s.delay, rtt)
		if rtt < s.min || rtt >= s.max {
			t.Fatalf("SetDelay(%v): RTT %v, want in [%v, %v)", s.delay, rtt, s.min, s.max)
		}
	}
	st := p.Stats()
	if st.Accepted != 1 || st.Active != 1 || st.ClientToTarget.Bytes != 11 || st.TargetToClient.Packets == 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestTCPBulk sends 8 MiB through a 50 ms proxy to an echo server and back.
// It must arrive intact, the echo server's FIN must come back after the
// client's half-close, and the whole exchange must take about one RTT plus
// transfer time: a proxy that delayed every 64 KiB chunk by a full RTT
// would need 128 chunks × 100 ms ≈ 13 s.
func TestTCPBulk(t *testing.T) {
	const delay = 50 * time.Millisecond
	const size = 8 << 20
	p := newTCP(t, Config{Target: startTCPEcho(t), Delay: delay})
	c := dialTCP(t, p.Addr())
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	if err := c.SetReadDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c) // returns at the FIN relayed from the echo server
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes, differ from the %d sent", len(got), len(data))
	}
	t.Logf("8 MiB echo through %v proxy: %v (%.0f MiB/s each way)", delay, elapsed, float64(size)/(1<<20)/elapsed.Seconds())
	if elapsed < 2*delay {
		t.Fatalf("took %v, less than one RTT (%v)", elapsed, 2*delay)
	}
	if elapsed > 3*time.Second {
		t.Fatalf("took %v: delay looks per-chunk, not pipelined", elapsed)
	}
	eventually(t, 2*time.Second, "stats to count every byte", func() bool {
		st := p.Stats()
		return st.ClientToTarget.Bytes == size && st.TargetToClient.Bytes == size
	})
}

func TestTCPBandwidth(t *testing.T) {
	const rate = 4 << 20 // bytes/s
	const size = 1 << 20
	p := newTCP(t, Config{Target: startTCPEcho(t), BandwidthBytesPerSec: rate})
	c := dialTCP(t, p.Addr())
	data := bytes.Repeat([]byte("meridian"), size/8)
	start := time.Now()
	go func() {
		_, _ = c.Write(data)
		_ = c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	elapsed := time.Since(start)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("echo: %d bytes, err %v", len(got), err)
	}
	min := time.Duration(size) * time.Second / rate
	t.Logf("1 MiB at 4 MiB/s each way: %v (serialization alone %v)", elapsed, min)
	if elapsed < min-10*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("took %v, want about %v", elapsed, min)
	}
}

func TestTCPPartition(t *testing.T) {
	p := newTCP(t, Config{Target: startTCPEcho(t), Delay: 10 * time.Millisecond})
	c := dialTCP(t, p.Addr())
	pingRTT(t, c, 1)

	p.Partition(true)
	// A new connection is refused: the kernel completes the handshake, the
	// proxy resets it at once.
	expectRefused(t, p.Addr())
	eventually(t, time.Second, "refused count", func() bool { return p.Stats().Refused == 1 })

	// The established connection stalls.
	if _, err := c.Write([]byte{42}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("read during partition: %v, want timeout", err)
	}

	// And flows again after the heal, with the held byte.
	p.Partition(false)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 42 {
		t.Fatalf("after heal: %v %v", b[0], err)
	}
	pingRTT(t, dialTCP(t, p.Addr()), 7) // new connections work again
}

func TestTCPDropConnectionsAndDeadTarget(t *testing.T) {
	p := newTCP(t, Config{Target: startTCPEcho(t)})
	c := dialTCP(t, p.Addr())
	pingRTT(t, c, 1)
	p.DropConnections()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read after DropConnections: %v, want EOF or reset", err)
	}
	eventually(t, time.Second, "no active conns", func() bool { return p.Stats().Active == 0 })

	// A target that refuses: the client's connection is reset.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	pd := newTCP(t, Config{Target: dead})
	expectRefused(t, pd.Addr())
	if st := pd.Stats(); st.Refused != 1 {
		t.Fatalf("stats = %+v, want Refused 1", st)
	}
}

// expectRefused connects to addr and expects the connection to be reset or
// closed at once: the kernel completes the handshake, then the proxy resets
// it, sometimes before the dial has even returned.
func expectRefused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if isTimeout(err) {
			t.Fatalf("dial %s: %v, want a reset", addr, err)
		}
		return
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read on a refused connection: %v, want EOF or reset", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

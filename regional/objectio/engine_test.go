package objectio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/objectio/objectiotest"
	"github.com/meridian-s3/meridian/regional/placement"
)

const (
	tChunk  = 4 << 10
	tStripe = 10 * tChunk
	tSeg    = 4 * tStripe
)

type env struct {
	e     *Engine
	store *objectiotest.Store
	mu    sync.Mutex
	nodes []metapb.StorageNode
}

func (v *env) Nodes() []metapb.StorageNode {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]metapb.StorageNode(nil), v.nodes...)
}

func (v *env) addr(nodeID string) string {
	for _, n := range v.Nodes() {
		if n.ID == nodeID {
			return n.Addr
		}
	}
	return ""
}

// newEnv: 4 AZs x 4 nodes, small chunks and segments unless mod changes them.
func newEnv(t testing.TB, discard bool, mod func(*Config)) *env {
	t.Helper()
	v := &env{store: objectiotest.New(discard)}
	for a := 0; a < 4; a++ {
		for j := 0; j < 4; j++ {
			v.nodes = append(v.nodes, metapb.StorageNode{
				ID: fmt.Sprintf("node-%c%d", 'a'+a, j), AZ: fmt.Sprintf("az-%c", 'a'+a),
				Addr: fmt.Sprintf("10.0.%d.%d:7000", a, j), Healthy: true, CapacityBytes: 1 << 40,
			})
		}
	}
	cfg := DefaultConfig()
	cfg.Scheme = metapb.Scheme{Data: 10, Parity: 4, ChunkSize: tChunk}
	cfg.SegmentSize = tSeg
	cfg.ReadWindow = 2 * tChunk
	cfg.Client = v.store
	cfg.Nodes = v.Nodes
	cfg.WriteStall = 200 * time.Millisecond
	cfg.WriteFinish = 2 * time.Second
	cfg.ReadTimeout = 2 * time.Second
	cfg.ReadHedge = 50 * time.Millisecond
	cfg.Logger = slog.New(slog.DiscardHandler)
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v.e = e
	return v
}

func randData(seed uint64, n int64) []byte {
	r := rand.New(rand.NewPCG(seed, 99))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

var vidCounter struct {
	sync.Mutex
	n int
}

func newVID() string {
	vidCounter.Lock()
	defer vidCounter.Unlock()
	vidCounter.n++
	return fmt.Sprintf("v%08d-test", vidCounter.n)
}

func (v *env) put(t testing.TB, data []byte) []metapb.Segment {
	t.Helper()
	segs, err := v.e.Plan(context.Background(), newVID(), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := v.e.Write(context.Background(), segs, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("write %d bytes: %v", len(data), err)
	}
	return out
}

func (v *env) get(t testing.TB, segs []metapb.Segment, off, length int64) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	err := v.e.Read(context.Background(), segs, v.e.Scheme(), off, length, &buf)
	return buf.Bytes(), err
}

// checkStored verifies every ref with a node is stored with its size and CRC.
func (v *env) checkStored(t testing.TB, segs []metapb.Segment) {
	t.Helper()
	for _, s := range segs {
		for _, r := range s.Shards {
			info, ok := v.store.Info(v.addr(r.Node), r.ID)
			if !ok || info.Size != r.Size || info.CRC32C != r.CRC32C || r.CRC32C == 0 && r.Size > 0 {
				t.Fatalf("shard %s on %s: stored=%v info=%+v ref=%+v", r.ID, r.Node, ok, info, r)
			}
		}
	}
}

func TestPlan(t *testing.T) {
	v := newEnv(t, false, nil)
	segs, err := v.e.Plan(context.Background(), "vid_1.x-Y", 2*tSeg+5)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 3 || segs[2].Offset != 2*tSeg || segs[2].Size != 5 {
		t.Fatalf("segments %+v", segs)
	}
	for si, s := range segs {
		seen := map[string]bool{}
		for i, r := range s.Shards {
			if want := fmt.Sprintf("vid_1.x-Y.%d.%d", si, i); r.ID != want || r.Index != i {
				t.Fatalf("shard id %q index %d, want %q", r.ID, r.Index, want)
			}
			if seen[r.Node] {
				t.Fatalf("node %s used twice", r.Node)
			}
			seen[r.Node] = true
		}
		if !placement.Tolerant(s.Shards, 4) {
			t.Fatalf("segment %d not AZ tolerant", si)
		}
	}
	if segs[0].Shards[0].Size != tChunk*4 || segs[2].Shards[0].Size != 1 {
		t.Fatalf("shard sizes %d %d", segs[0].Shards[0].Size, segs[2].Shards[0].Size)
	}
	if s, err := v.e.Plan(context.Background(), "v", 0); err != nil || len(s) != 0 {
		t.Fatalf("empty: %v %v", s, err)
	}
	for _, bad := range []string{"", "a/b", "a b", "ä"} {
		if _, err := v.e.Plan(context.Background(), bad, 10); !errors.Is(err, ErrVersionID) {
			t.Errorf("Plan(%q) err=%v", bad, err)
		}
	}
	// Health is advisory: with 10 of 16 reported healthy (e.g. a new
	// control-plane leader that has not heard every heartbeat yet) the plan
	// uses every registered node and lets the writes find out.
	v.mu.Lock()
	for i := 0; i < 6; i++ {
		v.nodes[i].Healthy = false
	}
	v.mu.Unlock()
	if s, err := v.e.Plan(context.Background(), "v", 10); err != nil || len(s[0].Shards) != 14 {
		t.Fatalf("10 of 16 healthy: %v, err=%v", s, err)
	}
	// Fewer than k+1 registered nodes at all: refused.
	v.mu.Lock()
	v.nodes = v.nodes[:10]
	v.mu.Unlock()
	if _, err := v.e.Plan(context.Background(), "v", 10); !errors.Is(err, placement.ErrNotEnoughNodes) {
		t.Fatalf("10 registered nodes: err=%v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	base := newEnv(t, false, nil).e.cfg
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"default", func(*Config) {}, true},
		{"quorum k+1", func(c *Config) { c.WriteQuorum = 11 }, true},
		{"quorum k", func(c *Config) { c.WriteQuorum = 10 }, false},
		{"quorum > n", func(c *Config) { c.WriteQuorum = 15 }, false},
		{"segment not stripes", func(c *Config) { c.SegmentSize = tStripe + 1 }, true},
		{"segment zero", func(c *Config) { c.SegmentSize = 0 }, false},
		{"no client", func(c *Config) { c.Client = nil }, false},
		{"bad scheme", func(c *Config) { c.Scheme.Parity = 0 }, false},
		{"zero stall", func(c *Config) { c.WriteStall = 0 }, false},
	}
	for _, tt := range tests {
		c := base
		c.WriteQuorum = 0
		tt.mod(&c)
		err := c.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%s: err=%v", tt.name, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	v := newEnv(t, false, nil)
	r := rand.New(rand.NewPCG(5, 5))
	sizes := []int64{1, tChunk - 1, tChunk, tStripe - 1, tStripe, tStripe + 1, tSeg - 1, tSeg, tSeg + 1, 3*tSeg + 12345}
	for i := 0; i < 6; i++ {
		sizes = append(sizes, 1+r.Int64N(5*tSeg))
	}
	for _, size := range sizes {
		data := randData(uint64(size), size)
		segs := v.put(t, data)
		v.checkStored(t, segs)
		got, err := v.get(t, segs, 0, size)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: full read err=%v equal=%v", size, err, bytes.Equal(got, data))
		}
		for k := 0; k < 20; k++ {
			off := r.Int64N(size)
			l := r.Int64N(size - off + 1)
			got, err := v.get(t, segs, off, l)
			if err != nil || !bytes.Equal(got, data[off:off+l]) {
				t.Fatalf("size %d range [%d,+%d): err=%v", size, off, l, err)
			}
		}
	}
	if _, err := v.get(t, nil, 0, 1); !errors.Is(err, ErrRange) {
		t.Fatalf("read past end: %v", err)
	}
}

// Any 4 shards failing at write (in several ways) → the write succeeds via
// replacement nodes and reads back.
func TestWriteFailuresReplaced(t *testing.T) {
	faults := []struct {
		name string
		f    objectiotest.Fault
	}{
		{"down", objectiotest.Fault{Down: true}},
		{"fail at once", objectiotest.Fault{PutFail: true}},
		{"fail midway", objectiotest.Fault{PutFail: true, PutFailAfter: tChunk + 100}},
		{"hang", objectiotest.Fault{PutHang: true}},
		{"bad crc ack", objectiotest.Fault{PutBadCRC: true}},
		{"slow ack", objectiotest.Fault{PutDelay: time.Hour}},
	}
	combos := [][]int{{0, 1, 2, 3}, {10, 11, 12, 13}, {0, 5, 9, 13}, {4}}
	r := rand.New(rand.NewPCG(9, 9))
	for _, ft := range faults {
		for ci, combo := range combos {
			t.Run(fmt.Sprintf("%s/%v", ft.name, combo), func(t *testing.T) {
				v := newEnv(t, false, func(c *Config) {
					switch ft.name {
					case "slow ack":
						c.WriteFinish = 300 * time.Millisecond
					case "hang":
						// A 2-chunk queue fills before the segment ends: the
						// stall detector (200ms), not WriteFinish, must fire.
						c.WriteQueue = 2
						c.WriteFinish = 5 * time.Second
					}
				})
				t0 := time.Now()
				size := int64(tSeg + 1 + r.Int64N(tSeg))
				data := randData(uint64(ci), size)
				segs, err := v.e.Plan(context.Background(), newVID(), size)
				if err != nil {
					t.Fatal(err)
				}
				failedNodes := map[string]bool{}
				for _, idx := range combo {
					n := segs[0].Shards[idx].Node
					failedNodes[n] = true
					v.store.SetFault(v.addr(n), ft.f)
				}
				out, err := v.e.Write(context.Background(), segs, bytes.NewReader(data))
				if err != nil {
					t.Fatalf("write: %v", err)
				}
				if d := time.Since(t0); d > 3*time.Second {
					t.Fatalf("write took %v", d)
				}
				for _, s := range out {
					for _, ref := range s.Shards {
						if ref.Node == "" || failedNodes[ref.Node] {
							t.Fatalf("shard %s left on %q", ref.ID, ref.Node)
						}
					}
				}
				// Heal the faulty nodes so checkStored can inspect them.
				for n := range failedNodes {
					v.store.SetFault(v.addr(n), objectiotest.Fault{})
				}
				v.checkStored(t, out)
				got, err := v.get(t, out, 0, size)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("read back: err=%v equal=%v", err, bytes.Equal(got, data))
				}
				if st := v.e.Stats(); st.ShardsRebuilt < int64(len(combo)) {
					t.Fatalf("rebuilt %d shards, want >= %d", st.ShardsRebuilt, len(combo))
				}
				// Failed attempts left nothing behind on the faulty nodes.
				for n := range failedNodes {
					for _, s := range out {
						for _, ref := range s.Shards {
							if v.store.Has(v.addr(n), ref.ID) {
								t.Fatalf("garbage %s left on failed node %s", ref.ID, n)
							}
						}
					}
				}
			})
		}
	}
}

func TestWriteTooManyFailures(t *testing.T) {
	v := newEnv(t, false, nil)
	size := int64(tSeg - 7)
	segs, _ := v.e.Plan(context.Background(), newVID(), size)
	for _, idx := range []int{1, 3, 5, 7, 9} {
		v.store.SetFault(v.addr(segs[0].Shards[idx].Node), objectiotest.Fault{PutFail: true, PutFailAfter: 10})
	}
	_, err := v.e.Write(context.Background(), segs, bytes.NewReader(randData(1, size)))
	if !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("err=%v, want ErrWriteQuorum", err)
	}
	if n := v.store.Count(); n != 0 {
		t.Fatalf("%d shards left behind after a failed write", n)
	}
}

func TestWriteQuorumWithoutSpares(t *testing.T) {
	// Exactly 14 nodes and one fails: with WriteQuorum 13 the write is
	// acknowledged with the shard missing... unless a node can be shared,
	// which Replacement allows as a last resort; so all 14 get stored.
	v := newEnv(t, false, nil)
	v.mu.Lock()
	v.nodes = v.nodes[:14]
	v.mu.Unlock()
	segs, _ := v.e.Plan(context.Background(), newVID(), 1000)
	v.store.SetFault(v.addr(segs[0].Shards[3].Node), objectiotest.Fault{Down: true})
	out, err := v.e.Write(context.Background(), segs, bytes.NewReader(randData(2, 1000)))
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Shards[3].Node == "" || out[0].Shards[3].Node == segs[0].Shards[3].Node {
		t.Fatalf("shard 3 on %q", out[0].Shards[3].Node)
	}
	if placement.Tolerant(out[0].Shards, 4) {
		t.Fatalf("shared node reported tolerant")
	}
}

func TestWriteShortBody(t *testing.T) {
	v := newEnv(t, false, nil)
	size := int64(3*tSeg + 100)
	for _, have := range []int64{0, 10, tSeg, 2*tSeg + tStripe + 1, size - 1} {
		segs, _ := v.e.Plan(context.Background(), newVID(), size)
		_, err := v.e.Write(context.Background(), segs, bytes.NewReader(randData(3, have)))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("body of %d/%d: err=%v", have, size, err)
		}
		if n := v.store.Count(); n != 0 {
			t.Fatalf("body of %d/%d: %d shards left behind", have, size, n)
		}
	}
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}

func TestWriteCancelled(t *testing.T) {
	v := newEnv(t, false, nil)
	segs, _ := v.e.Plan(context.Background(), newVID(), 1000*tSeg)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { _, err := v.e.Write(ctx, segs, endless{}); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err=%v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write did not return after cancel")
	}
	if n := v.store.Count(); n != 0 {
		t.Fatalf("%d shards left", n)
	}
}

func TestWriteAvoidsUnhealthy(t *testing.T) {
	v := newEnv(t, false, nil)
	segs, _ := v.e.Plan(context.Background(), newVID(), 3*tSeg)
	down := segs[0].Shards[6].Node
	v.mu.Lock()
	for i := range v.nodes {
		if v.nodes[i].ID == down {
			v.nodes[i].Healthy = false
		}
	}
	v.mu.Unlock()
	out, err := v.e.Write(context.Background(), segs, bytes.NewReader(randData(5, 3*tSeg)))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out {
		for _, r := range s.Shards {
			if r.Node == down {
				t.Fatalf("wrote %s to unhealthy node", r.ID)
			}
		}
	}
	if v.e.Stats().ShardPutFailures != 0 {
		t.Fatalf("unhealthy node was tried")
	}
}

func TestReadFaults(t *testing.T) {
	v := newEnv(t, false, nil)
	size := int64(2*tSeg + 3*tStripe + 17)
	data := randData(6, size)
	segs := v.put(t, data)
	small := randData(7, 5000) // whole shard fits one window: CRC check applies
	smallSegs := v.put(t, small)
	faults := []struct {
		name   string
		f      objectiotest.Fault
		remove bool
	}{
		{"missing", objectiotest.Fault{}, true},
		{"down", objectiotest.Fault{Down: true}, false},
		{"corrupt", objectiotest.Fault{GetCorrupt: true}, false},
		{"fail midway", objectiotest.Fault{GetFailMidway: true}, false},
		{"fail", objectiotest.Fault{GetFail: true}, false},
	}
	combos := [][]int{{0, 1, 2, 3}, {6, 7, 8, 9}, {10, 11, 12, 13}, {0, 4, 9, 12}, {2}}
	for _, ft := range faults {
		for _, combo := range combos {
			for oi := range 2 {
				obj, data := segs, data
				if oi == 1 {
					obj, data = smallSegs, small
				}
				// One segment at a time: each segment loses at most len(combo) shards.
				for si, s := range obj {
					var touched []string
					for _, idx := range combo {
						ref := s.Shards[idx]
						if ft.remove {
							v.store.Remove(v.addr(ref.Node), ref.ID)
						} else {
							v.store.SetFault(v.addr(ref.Node), ft.f)
							touched = append(touched, ref.Node)
						}
					}
					got, err := v.get(t, obj, 0, int64(len(data)))
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("%s %v obj %d seg %d: err=%v equal=%v", ft.name, combo, oi, si, err, bytes.Equal(got, data))
					}
					for _, n := range touched {
						v.store.SetFault(v.addr(n), objectiotest.Fault{})
					}
				}
				if ft.remove { // rewrite for the next combination
					if oi == 0 {
						segs = v.put(t, data)
					} else {
						smallSegs = v.put(t, data)
					}
				}
			}
		}
	}
	// Silent corruption of a whole-shard read is caught by the recorded CRC.
	for _, idx := range []int{0, 3, 9, 12} {
		v.store.SetFault(v.addr(smallSegs[0].Shards[idx].Node), objectiotest.Fault{CorruptSilently: true})
	}
	got, err := v.get(t, smallSegs, 0, int64(len(small)))
	if err != nil || !bytes.Equal(got, small) {
		t.Fatalf("silent corruption: err=%v equal=%v", err, bytes.Equal(got, small))
	}
}

func TestReadFiveMissing(t *testing.T) {
	v := newEnv(t, false, nil)
	size := int64(tSeg + 5)
	segs := v.put(t, randData(8, size))
	for _, idx := range []int{0, 2, 4, 11, 13} {
		v.store.Remove(v.addr(segs[1].Shards[idx].Node), segs[1].Shards[idx].ID)
	}
	var buf bytes.Buffer
	err := v.e.Read(context.Background(), segs, v.e.Scheme(), 0, size, &buf)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err=%v, want ErrUnavailable", err)
	}
	if int64(buf.Len()) != tSeg {
		t.Fatalf("wrote %d bytes before the broken segment, want %d", buf.Len(), tSeg)
	}
	// The intact segment still reads.
	if _, err := v.get(t, segs, 0, tSeg); err != nil {
		t.Fatal(err)
	}
}

func TestReadHedged(t *testing.T) {
	v := newEnv(t, false, func(c *Config) { c.ReadTimeout = 10 * time.Second })
	size := int64(3 * tStripe)
	data := randData(9, size)
	segs := v.put(t, data)
	v.store.SetFault(v.addr(segs[0].Shards[4].Node), objectiotest.Fault{GetDelay: 5 * time.Second})
	t0 := time.Now()
	got, err := v.get(t, segs, 0, size)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("err=%v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("hedged read took %v", d)
	}
	if st := v.e.Stats(); st.Hedged == 0 || st.Reconstructed == 0 {
		t.Fatalf("stats %+v: no hedge", st)
	}
}

func TestRangeReadFetchesOnlyNeeded(t *testing.T) {
	v := newEnv(t, false, func(c *Config) { c.ReadWindow = 2 * tChunk; c.ReadHedge = time.Minute })
	size := int64(tSeg) // 4 stripes
	data := randData(10, size)
	segs := v.put(t, data)
	tests := []struct {
		name      string
		off, l    int64
		wantBytes int64
	}{
		{"one byte", tStripe + 5, 1, tChunk},
		{"two chunks in a stripe", 2*tStripe + tChunk - 1, 2, 2 * tChunk},
		{"whole stripe", tStripe, tStripe, 10 * tChunk},
		{"across two stripes", tStripe + tChunk, tStripe, 2 * 10 * tChunk},
		{"whole object", 0, size, 4 * 10 * tChunk},
	}
	for _, tt := range tests {
		before := v.store.GetBytes.Load()
		got, err := v.get(t, segs, tt.off, tt.l)
		if err != nil || !bytes.Equal(got, data[tt.off:tt.off+tt.l]) {
			t.Fatalf("%s: err=%v", tt.name, err)
		}
		if fetched := v.store.GetBytes.Load() - before; fetched != tt.wantBytes {
			t.Errorf("%s: fetched %d shard bytes, want %d", tt.name, fetched, tt.wantBytes)
		}
	}
}

func TestDelete(t *testing.T) {
	v := newEnv(t, false, nil)
	segs := v.put(t, randData(11, 2*tSeg+1))
	if v.store.Count() != 3*14 {
		t.Fatalf("%d shards", v.store.Count())
	}
	down := segs[0].Shards[0].Node
	onDown := 0
	for _, r := range allRefs(segs) {
		if r.Node == down {
			onDown++
		}
	}
	v.store.SetFault(v.addr(down), objectiotest.Fault{Down: true})
	if err := v.e.Delete(context.Background(), segs); !errors.Is(err, objectiotest.ErrDown) {
		t.Fatalf("err=%v, want the down node's error", err)
	}
	if v.store.Count() != onDown {
		t.Fatalf("%d shards left, want %d (on the down node)", v.store.Count(), onDown)
	}
	v.store.SetFault(v.addr(segs[0].Shards[0].Node), objectiotest.Fault{})
	if err := v.e.Delete(context.Background(), segs); err != nil || v.store.Count() != 0 {
		t.Fatalf("err=%v left=%d", err, v.store.Count())
	}
}

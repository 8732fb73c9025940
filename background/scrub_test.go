package background

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/regional/objectio/objectiotest"
)

// fakeRegion is 16 in-memory storage nodes in 4 AZs (objectiotest) with a
// controllable health view, the real engine over them, and a Shards
// adapter with a fault hook before each rebuild's result is returned.
type fakeRegion struct {
	store  *objectiotest.Store
	engine *objectio.Engine

	mu    sync.Mutex
	nodes []metapb.StorageNode

	// beforeSwap, if set, runs after a rebuild stored its shards and
	// before the scrubber swaps them in (e.g. overwrite the object).
	beforeSwap func(src metapb.Segment)
	rebuilds   atomic.Int64
}

func newFakeRegion(t *testing.T) *fakeRegion {
	f := &fakeRegion{store: objectiotest.New(false)}
	for az := 0; az < 4; az++ {
		for i := 0; i < 4; i++ {
			id := fmt.Sprintf("n%c%d", 'a'+az, i)
			f.nodes = append(f.nodes, metapb.StorageNode{ID: id, AZ: string(rune('a' + az)), Addr: id + ":1", Healthy: true})
		}
	}
	oc := objectio.DefaultConfig()
	oc.Scheme = metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 4 << 10}
	oc.Client = f.store
	oc.Nodes = f.Nodes
	oc.ReadHedge = time.Second
	oc.SuspectFor = 0
	e, err := objectio.New(oc)
	if err != nil {
		t.Fatal(err)
	}
	f.engine = e
	return f
}

func (f *fakeRegion) Nodes() []metapb.StorageNode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]metapb.StorageNode(nil), f.nodes...)
}

func (f *fakeRegion) setHealthy(id string, h bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.nodes {
		if f.nodes[i].ID == id {
			f.nodes[i].Healthy = h
		}
	}
}

func (f *fakeRegion) Verify(ctx context.Context, addr, id string) (ShardHealth, error) {
	r, err := f.store.Verify(ctx, addr, id)
	switch {
	case errors.Is(err, objectiotest.ErrNotFound):
		return ShardMissing, nil
	case err != nil:
		return 0, err
	case !r.OK:
		return ShardCorrupt, nil
	}
	return ShardOK, nil
}

func (f *fakeRegion) RebuildShards(ctx context.Context, scheme metapb.Scheme, src metapb.Segment, targets []metapb.ShardRef) ([]metapb.ShardRef, error) {
	out, err := f.engine.RebuildShards(ctx, scheme, src, targets)
	f.rebuilds.Add(1)
	if err == nil && f.beforeSwap != nil {
		f.beforeSwap(src)
	}
	return out, err
}

// put writes an object through the engine and commits it (the commit
// coordinator's steps, without the gateway).
func (f *fakeRegion) put(t *testing.T, meta *metaclient.Client, bucket, key, vid string, data []byte) metapb.ObjectVersion {
	t.Helper()
	ctx := context.Background()
	plan, err := f.engine.Plan(context.Background(), vid, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	v := metapb.ObjectVersion{Bucket: bucket, Key: key, VersionID: vid, Size: int64(len(data)), Scheme: f.engine.Scheme(), Segments: plan}
	if _, err := meta.Prepare(ctx, v); err != nil {
		t.Fatal(err)
	}
	final, err := f.engine.Write(ctx, plan, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r, err := meta.Commit(ctx, metapb.CommitRequest{Bucket: bucket, Key: key, VersionID: vid,
		Final: metapb.ObjectVersion{Size: int64(len(data)), ETag: "e", Segments: final}})
	if err != nil {
		t.Fatal(err)
	}
	return *r.Version
}

func (f *fakeRegion) read(t *testing.T, v metapb.ObjectVersion) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.engine.Read(context.Background(), v.Segments, v.Scheme, 0, v.Size, &b); err != nil {
		t.Fatalf("read %s: %v", v.Key, err)
	}
	return b.Bytes()
}

func scrubConfig(id string, meta Meta, f *fakeRegion, t *testing.T) Config {
	c := testConfig(id, meta, &fakeData{}, testLogger(t))
	c.Shards, c.Nodes = f, f.Nodes
	c.ScrubInterval = 100 * time.Millisecond
	c.DeadAfter = 500 * time.Millisecond
	c.ScrubRate, c.HealRate = 0, 0
	c.GarbageGrace = time.Hour // keep the replaced shards visible in the queue
	return c
}

func sumReports(s *Server) (found PassStats, passes int) {
	for _, r := range s.ScrubReports() {
		if r.Last != nil {
			passes++
			found.add(r.Last)
		}
	}
	return found, passes
}

// TestScrubFindsAndHeals: rotted and deleted shards (data and parity) are
// all found in one pass, counted exactly, rebuilt (a rotted shard on a
// healthy node stays on its node under a new id), swapped in, and the old
// copies queued as garbage; every object reads back intact from its
// healed record alone, and the report ends all full.
func TestScrubFindsAndHeals(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	f := newFakeRegion(t)
	rng := rand.New(rand.NewSource(7))
	const objects = 12
	data := map[string][]byte{}
	vers := map[string]metapb.ObjectVersion{}
	for i := 0; i < objects; i++ {
		b := make([]byte, 1000+rng.Intn(200<<10))
		rng.Read(b)
		k := fmt.Sprintf("obj-%02d", i)
		data[k] = b
		vers[k] = f.put(t, meta, "bk/1", k, fmt.Sprintf("v%02d", i), b)
	}
	// Damage: object i gets shard (i % 14) rotted, object i+1 loses two.
	injCorrupt, injMissing := 0, 0
	addr := func(node string) string { return node + ":1" }
	for i := 0; i < objects; i += 2 {
		v := vers[fmt.Sprintf("obj-%02d", i)]
		sh := v.Segments[0].Shards[i%14]
		if !f.store.Rot(addr(sh.Node), sh.ID) {
			t.Fatalf("no shard %s", sh.ID)
		}
		injCorrupt++
		w := vers[fmt.Sprintf("obj-%02d", i+1)]
		for _, j := range []int{(i + 3) % 14, (i + 8) % 14} {
			s2 := w.Segments[0].Shards[j]
			f.store.Remove(addr(s2.Node), s2.ID)
			injMissing++
		}
	}
	reg := prometheus.NewRegistry()
	cfg := scrubConfig("bg-S", meta, f, t)
	cfg.Registry = reg
	s := start(t, cfg)
	waitFor(t, "a complete scrub pass on both partitions", 20*time.Second, func() bool { _, n := sumReports(s); return n == 2 })
	// Counters over every pass so far (a partition may already be in its
	// second pass, which finds nothing more).
	corrupt := metricValue(t, reg, "meridian_scrub_shards_damaged_total", map[string]string{"kind": "corrupt"})
	missing := metricValue(t, reg, "meridian_scrub_shards_damaged_total", map[string]string{"kind": "missing"})
	if corrupt != float64(injCorrupt) || missing != float64(injMissing) {
		t.Fatalf("scrub found %v corrupt, %v missing; injected %d, %d", corrupt, missing, injCorrupt, injMissing)
	}
	found, _ := sumReports(s)
	if got := metricValue(t, reg, "meridian_heal_shards_rebuilt_total", nil); got != float64(injCorrupt+injMissing) {
		t.Fatalf("healed %v of %d (last passes: %+v)", got, injCorrupt+injMissing, found)
	}
	// The records now name healthy shards only: read each object with
	// every rotted shard's node down-rated is not needed — the record no
	// longer names them.
	ctx := context.Background()
	for k, b := range data {
		v, err := meta.Get(ctx, "bk/1", k)
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range v.Segments[0].Shards {
			if r, err := f.store.Verify(ctx, addr(sh.Node), sh.ID); err != nil || !r.OK {
				t.Fatalf("%s: shard %s on %s after heal: %+v %v", k, sh.ID, sh.Node, r, err)
			}
		}
		if got := f.read(t, v); !bytes.Equal(got, b) {
			t.Fatalf("%s: bytes differ after heal", k)
		}
	}
	// Rotted shards stayed on their (healthy) node under a new id.
	v0, _ := meta.Get(ctx, "bk/1", "obj-00")
	if old, now := vers["obj-00"].Segments[0].Shards[0], v0.Segments[0].Shards[0]; now.Node != old.Node || now.ID == old.ID {
		t.Fatalf("rotted shard healed to %s/%s, want same node %s new id", now.Node, now.ID, old.Node)
	}
	healedGarbage := 0
	for p := 0; p < meta.Partitions(); p++ {
		g, _ := meta.ListGarbage(ctx, p, 1000)
		for _, e := range g {
			if e.Reason == "healed" {
				for _, sg := range e.Segments {
					healedGarbage += len(sg.Shards)
				}
			}
		}
	}
	if healedGarbage != injCorrupt+injMissing {
		t.Fatalf("%d replaced shards queued as garbage, want %d", healedGarbage, injCorrupt+injMissing)
	}
	// The next pass finds nothing and reports everything full.
	waitFor(t, "a clean pass", 20*time.Second, func() bool {
		st, n := sumReports(s)
		return n == 2 && st.Missing == 0 && st.Corrupt == 0 && st.Records == objects
	})
	d, err := ReadDurability(ctx, meta, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Buckets["bk"].Objects.Count[ClassFull]; got != objects || d.Scanned != 2 {
		t.Fatalf("durability: %d full of %d, %d partitions scanned: %+v", got, objects, d.Scanned, d.Buckets["bk"])
	}
	if got := metricValue(t, reg, "meridian_durability_objects", map[string]string{"bucket": "bk", "class": "full"}); got != objects {
		t.Fatalf("meridian_durability_objects{full} = %v", got)
	}
}

// TestScrubDeadNode: a node without heartbeats for DeadAfter is dead; every
// shard it held is rebuilt onto other nodes with the AZ cap kept, and the
// report goes degraded → full.
func TestScrubDeadNode(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	f := newFakeRegion(t)
	const objects = 10
	vers := map[string]metapb.ObjectVersion{}
	data := map[string][]byte{}
	for i := 0; i < objects; i++ {
		b := bytes.Repeat([]byte{byte(i)}, 50<<10)
		k := fmt.Sprintf("o%d", i)
		data[k] = b
		vers[k] = f.put(t, meta, "bk/1", k, fmt.Sprintf("v%d", i), b)
	}
	dead := vers["o0"].Segments[0].Shards[3].Node
	f.store.SetFault(dead+":1", objectiotest.Fault{Down: true})
	f.store.Drop(dead + ":1")
	f.setHealthy(dead, false)
	cfg := scrubConfig("bg-D", meta, f, t)
	cfg.ScrubInterval = time.Hour // only the dead-node trigger starts the second pass
	s := start(t, cfg)
	waitFor(t, "the dead node's shards to be rebuilt", 20*time.Second, func() bool {
		for k := range vers {
			v, err := meta.Get(context.Background(), "bk/1", k)
			if err != nil {
				return false
			}
			for _, sh := range v.Segments[0].Shards {
				if sh.Node == dead {
					return false
				}
			}
		}
		return true
	})
	for k, b := range data {
		v, _ := meta.Get(context.Background(), "bk/1", k)
		az := map[string]int{}
		nodes := map[string]bool{}
		for _, sh := range v.Segments[0].Shards {
			az[sh.AZ]++
			if nodes[sh.Node] {
				t.Fatalf("%s: two shards on %s", k, sh.Node)
			}
			nodes[sh.Node] = true
		}
		for a, n := range az {
			if n > 4 {
				t.Fatalf("%s: AZ %s holds %d shards after healing (cap 4)", k, a, n)
			}
		}
		if got := f.read(t, v); !bytes.Equal(got, b) {
			t.Fatalf("%s: bytes differ", k)
		}
	}
	_ = s
}

// TestScrubHealSupersededByOverwrite: an object overwritten while its
// shard is being rebuilt keeps the new version untouched; the rebuilt
// shard is queued as garbage by the refused swap.
func TestScrubHealSupersededByOverwrite(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 1})
	meta := cl.Client()
	f := newFakeRegion(t)
	v := f.put(t, meta, "bk/1", "k", "v1", bytes.Repeat([]byte("x"), 30<<10))
	sh := v.Segments[0].Shards[5]
	f.store.Remove(sh.Node+":1", sh.ID)
	var once sync.Once
	f.beforeSwap = func(metapb.Segment) {
		once.Do(func() { f.put(t, meta, "bk/1", "k", "v2", []byte("new bytes, another version of k, long enough")) })
	}
	s := start(t, scrubConfig("bg-O", meta, f, t))
	waitFor(t, "a pass", 20*time.Second, func() bool { _, n := sumReports(s); return n == 1 })
	st, _ := sumReports(s)
	if st.Superseded != 1 || st.Healed != 0 {
		t.Fatalf("superseded %d healed %d, want 1, 0", st.Superseded, st.Healed)
	}
	cur, _ := meta.Get(context.Background(), "bk/1", "k")
	if cur.VersionID != "v2" {
		t.Fatalf("current %s", cur.VersionID)
	}
	g, _ := meta.ListGarbage(context.Background(), 0, 100)
	found := false
	for _, e := range g {
		if e.Reason == "heal superseded" && len(e.Segments) == 1 && len(e.Segments[0].Shards) == 1 &&
			e.Segments[0].Shards[0].Index == 5 && e.Segments[0].Shards[0].ID != sh.ID {
			found = true
		}
	}
	if !found {
		t.Fatalf("rebuilt shard not queued as garbage: %+v", g)
	}
}

// TestHealerSuspect: a version reported by a reader (metapb.Suspect) is
// healed by the healer within its short interval while the scrubber is
// idle between passes, and the suspect is acknowledged.
func TestHealerSuspect(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	f := newFakeRegion(t)
	v := f.put(t, meta, "bk/1", "k", "v1", bytes.Repeat([]byte("s"), 60<<10))
	cfg := scrubConfig("bg-H", meta, f, t)
	cfg.ScrubInterval = time.Hour
	reg := prometheus.NewRegistry()
	cfg.Registry = reg
	s := start(t, cfg)
	waitFor(t, "the first scrub pass", 20*time.Second, func() bool { _, n := sumReports(s); return n == 2 })
	sh := v.Segments[0].Shards[2]
	f.store.Rot(sh.Node+":1", sh.ID)
	if err := meta.Suspect(context.Background(), metapb.Suspect{Bucket: "bk/1", Key: "k", VersionID: "v1", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, "the suspect healed", 10*time.Second, func() bool {
		cur, err := meta.Get(context.Background(), "bk/1", "k")
		return err == nil && cur.Segments[0].Shards[2].ID != sh.ID
	})
	waitFor(t, "the suspect acknowledged", 5*time.Second, func() bool {
		n := 0
		for p := 0; p < meta.Partitions(); p++ {
			sps, _ := meta.Suspects(context.Background(), p, 10)
			n += len(sps)
		}
		return n == 0
	})
	if _, n := sumReports(s); n != 2 {
		t.Fatalf("scrub passes %d", n)
	}
	if got := metricValue(t, reg, "meridian_scrub_shards_damaged_total", map[string]string{"kind": "corrupt"}); got != 1 {
		t.Fatalf("corrupt found %v, want 1 (by the healer, not a scrub pass)", got)
	}
	t.Logf("suspect healed %v after it was reported", took)
}

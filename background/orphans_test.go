package background

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
	"github.com/meridian-s3/meridian/storagesvc/storagepb"
)

// fakeNodes is a set of storage nodes in memory (addr = node id), with
// each shard's age settable, and a fault hook that fails one node's list.
type fakeNodes struct {
	mu      sync.Mutex
	shards  map[string]map[string]time.Duration // node → id → age
	failOn  string
	deleted []string // "node/id"
}

func (f *fakeNodes) add(node, id string, age time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.shards == nil {
		f.shards = map[string]map[string]time.Duration{}
	}
	if f.shards[node] == nil {
		f.shards[node] = map[string]time.Duration{}
	}
	f.shards[node][id] = age
}

func (f *fakeNodes) has(node, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.shards[node][id]
	return ok
}

func (f *fakeNodes) List(_ context.Context, addr, prefix, after string, limit int) (storagepb.ListResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if addr == f.failOn {
		return storagepb.ListResponse{}, errors.New("fakeNodes: injected list failure")
	}
	var ids []string
	for id := range f.shards[addr] {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var out storagepb.ListResponse
	for _, id := range ids {
		if len(out.Shards) == limit {
			out.Truncated = true
			break
		}
		out.Shards = append(out.Shards, storagepb.ShardInfo{ID: id, Size: 100, AgeNanos: int64(f.shards[addr][id])})
	}
	return out, nil
}

func (f *fakeNodes) Delete(_ context.Context, addr, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.shards[addr], id)
	f.deleted = append(f.deleted, addr+"/"+id)
	return nil
}

// nodesMeta is the real metadata client with a fixed storage node list.
type nodesMeta struct {
	*metaclient.Client
	nodes []metapb.StorageNode
}

func (m *nodesMeta) StorageNodes(context.Context) ([]metapb.StorageNode, error) { return m.nodes, nil }

// TestOrphanScan: the janitor's orphan phase deletes exactly the shards
// that no record references and that are older than OrphanMinAge: a stale
// copy of a committed shard on a node the record does not name, shards no
// record names. It keeps committed shards, a PREPARING version's shards
// on any node (a replacement write), garbage not yet drained, a PREPARING
// part's shards, and young unreferenced shards until they age.
func TestOrphanScan(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	ctx := context.Background()
	seg := func(shards ...metapb.ShardRef) []metapb.Segment {
		return []metapb.Segment{{Size: 10, Shards: shards}}
	}
	ref := func(node, id string) metapb.ShardRef { return metapb.ShardRef{Node: node, ID: id, Size: 10} }
	// A committed object: A on n1, B on n2.
	if _, err := meta.Prepare(ctx, metapb.ObjectVersion{Bucket: "b", Key: "committed", VersionID: "vA", Segments: seg(ref("n1", "A"), ref("n2", "B"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.Commit(ctx, metapb.CommitRequest{Bucket: "b", Key: "committed", VersionID: "vA",
		Final: metapb.ObjectVersion{Size: 10, ETag: "e", Segments: seg(ref("n1", "A"), ref("n2", "B"))}}); err != nil {
		t.Fatal(err)
	}
	// A PREPARING object planning C on n1 (its writer put C on n3 instead).
	if _, err := meta.Prepare(ctx, metapb.ObjectVersion{Bucket: "b", Key: "preparing", VersionID: "vC", Segments: seg(ref("n1", "C"))}); err != nil {
		t.Fatal(err)
	}
	// Garbage: D on n1, from an aborted PREPARE (the grace keeps it queued).
	if _, err := meta.Prepare(ctx, metapb.ObjectVersion{Bucket: "b", Key: "aborted", VersionID: "vD", Segments: seg(ref("n1", "D"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.Abort(ctx, metapb.AbortRequest{Bucket: "b", Key: "aborted", VersionID: "vD"}); err != nil {
		t.Fatal(err)
	}
	// A PREPARING part attempt planning P on n2.
	if _, err := meta.CreateUpload(ctx, metapb.Upload{Bucket: "b", Key: "mp", UploadID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.PreparePart(ctx, metapb.Part{Bucket: "b", Key: "mp", UploadID: "u1", Number: 1, Attempt: "a1", Segments: seg(ref("n2", "P")), Created: time.Now()}); err != nil {
		t.Fatal(err)
	}

	const old, young = 10 * time.Hour, time.Minute
	nodes := &fakeNodes{}
	keep := [][2]string{{"n1", "A"}, {"n2", "B"}, {"n1", "C"}, {"n3", "C"}, {"n1", "D"}, {"n4", "D"}, {"n2", "P"}, {"n4", "P"}, {"n1", "Y"}}
	orphans := [][2]string{{"n2", "A"}, {"n1", "X"}, {"n3", "Z"}}
	for _, s := range append(append([][2]string{}, keep...), orphans...) {
		age := old
		if s[1] == "Y" {
			age = young
		}
		nodes.add(s[0], s[1], age)
	}
	// Many old orphans on n4, to page through (orphanPage per step).
	for i := range orphanPage + 10 {
		nodes.add("n4", fmt.Sprintf("Q%05d", i), old)
	}
	nodes.add("n5", "KEEP-UNSCANNED", old) // n5's list fails: left alone, others go on
	nodes.failOn = "n5"
	var sn []metapb.StorageNode
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("n%d", i)
		sn = append(sn, metapb.StorageNode{ID: id, Addr: id, Healthy: true})
	}
	om := &nodesMeta{Client: meta, nodes: sn}
	cfg := testConfig("bg-O", om, &fakeData{}, testLogger(t))
	cfg.GarbageGrace = time.Hour // D stays queued: garbage protects it
	cfg.PrepareTimeout = time.Hour
	cfg.OrphanMinAge = 2*time.Hour + time.Second
	cfg.OrphanInterval = 300 * time.Millisecond
	cfg.Orphans = nodes
	reg := prometheus.NewRegistry()
	cfg.Registry = reg
	start(t, cfg)

	waitFor(t, "every orphan to be deleted", 20*time.Second, func() bool {
		for _, s := range orphans {
			if nodes.has(s[0], s[1]) {
				return false
			}
		}
		return !nodes.has("n4", fmt.Sprintf("Q%05d", orphanPage+9))
	})
	// Several more scans of every node: nothing referenced goes.
	waitFor(t, "more node scans", 20*time.Second, func() bool {
		return metricValue(t, reg, "meridian_background_janitor_orphan_node_scans_total", nil) >= 15
	})
	for _, s := range keep {
		if !nodes.has(s[0], s[1]) {
			t.Errorf("%s on %s deleted: it is referenced or young", s[1], s[0])
		}
	}
	if !nodes.has("n5", "KEEP-UNSCANNED") {
		t.Error("a shard of the node whose list failed was deleted")
	}
	if got, want := metricValue(t, reg, "meridian_background_janitor_orphans_deleted_total", nil), float64(len(orphans)+orphanPage+10); got != want {
		t.Errorf("orphans deleted counter %v, want %v (deleted: %d)", got, want, len(nodes.deleted))
	}
	// Y ages past the minimum: now it goes.
	nodes.add("n1", "Y", old)
	waitFor(t, "the aged orphan to be deleted", 10*time.Second, func() bool { return !nodes.has("n1", "Y") })
	// The aborted version's garbage, once acknowledged, is no longer a
	// reference: its copy on n4 goes too.
	g, err := meta.ListGarbage(ctx, meta.PartitionOf("b", "aborted"), 10)
	if err != nil || len(g) != 1 {
		t.Fatalf("garbage %v %v", g, err)
	}
	if _, err := meta.AckGarbage(ctx, meta.PartitionOf("b", "aborted"), []uint64{g[0].ID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "drained garbage's stray copy to be deleted", 10*time.Second, func() bool { return !nodes.has("n4", "D") && !nodes.has("n1", "D") })
	for _, s := range keep {
		if s[1] != "D" && s[1] != "Y" && !nodes.has(s[0], s[1]) {
			t.Errorf("%s on %s deleted", s[1], s[0])
		}
	}
}

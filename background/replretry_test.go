package background

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3replication"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
	"github.com/meridian-s3/meridian/regional/regionalclient"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// regionLinks is several destination regions, each idempotent by version
// id, with a fault hook per region: a down region answers 503 (its copies
// fail and are counted per version).
type regionLinks struct {
	mu       sync.Mutex
	down     map[string]bool           // region → answers 503
	created  map[string]map[string]int // region → Ver → creations (never more than 1)
	exists   map[string]int            // region → "exists" answers (re-sends)
	attempts map[string]map[string]int // region → Ver → requests
	nulls    map[string]bool           // Ver → sent as a null version
}

func newRegionLinks() *regionLinks {
	return &regionLinks{down: map[string]bool{}, created: map[string]map[string]int{}, exists: map[string]int{}, attempts: map[string]map[string]int{}, nulls: map[string]bool{}}
}

func (l *regionLinks) Do(req *http.Request, region string) (*http.Response, error) {
	rep, err := regionalclient.DecodeReplica(req.Header.Get(regionalclient.HeaderReplica))
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, req.Body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.attempts[region] == nil {
		l.attempts[region], l.created[region] = map[string]int{}, map[string]int{}
	}
	l.attempts[region][rep.Ver]++
	l.nulls[rep.Ver] = rep.Null
	if l.down[region] {
		return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("SlowDown"))}, nil
	}
	res := regionalclient.ReplicaCreated
	if l.created[region][rep.Ver] > 0 {
		res = regionalclient.ReplicaExists
		l.exists[region]++
	} else {
		l.created[region][rep.Ver]++
	}
	h := http.Header{}
	h.Set(regionalclient.HeaderReplicaResult, res)
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(""))}, nil
}

func (l *regionLinks) setDown(region string, down bool) {
	l.mu.Lock()
	l.down[region] = down
	l.mu.Unlock()
}

func (l *regionLinks) count(region string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.created[region])
}

// twoDestinations is one partition whose keys a/… replicate to bucket
// dsta (region eu) and b/… to dstb (region ap), n versions alternating.
func twoDestinations(t *testing.T, n int) (*fakeReplMeta, *regionLinks, *Config, func(int) string) {
	t.Helper()
	ver := func(i int) string { return fmt.Sprintf("%016d", i) }
	meta := &fakeReplMeta{status: map[string][]string{}, vers: map[string]metapb.ObjectVersion{}}
	for i := 1; i <= n; i++ {
		key := fmt.Sprintf("a/%d", i)
		if i%2 == 0 {
			key = fmt.Sprintf("b/%d", i)
		}
		meta.vers[ver(i)] = metapb.ObjectVersion{Bucket: "src/1", Key: key, Ver: ver(i), Replication: metapb.ReplPending,
			Inline: []byte("x"), Size: 1, State: metapb.StateCommitted, CommittedAt: time.Now()}
		meta.feed = append(meta.feed, metapb.FeedEntry{Seq: uint64(i), Op: metapb.FeedPut, Bucket: "src/1", Key: key, Ver: ver(i), Time: time.Now()})
	}
	links := newRegionLinks()
	cfg := DefaultConfig()
	cfg.Region, cfg.Links, cfg.Logger = "us", links, slog.New(slog.DiscardHandler)
	cfg.ReplicationBatch = 8
	cfg.ReplicationRegionBackoff = 0
	cfg.Catalog = oneBucketCatalog{bs: []bucketsvc.Bucket{
		{Name: "src", Incarnation: "1", Region: "us", Replication: &s3replication.Configuration{Rules: []s3replication.Rule{
			{ID: "to-a", Priority: 2, Enabled: true, Filter: s3replication.Filter{Prefix: "a/"}, Destination: s3replication.Destination{Bucket: "dsta"}},
			{ID: "to-b", Priority: 1, Enabled: true, Filter: s3replication.Filter{Prefix: "b/"}, Destination: s3replication.Destination{Bucket: "dstb"}}}}},
		{Name: "dsta", Incarnation: "2", Region: "eu"},
		{Name: "dstb", Incarnation: "3", Region: "ap"},
	}}
	return meta, links, &cfg, ver
}

// store is the partition's checkpoint as metasvc holds it: the report
// the last successful flush wrote, with a fault hook.
type store struct {
	mu     sync.Mutex
	report string
	writes int
	fail   error
}

func newTestReplicator(cfg *Config, meta ReplMeta, st *store) *replicator {
	r := &replicator{cfg: cfg, meta: meta, m: newReplMetrics(nil), parts: map[int]*replPart{}, down: map[string]time.Time{},
		slots: make(chan struct{}, 4), reports: map[int]*ReplPartitionReport{}}
	if st != nil {
		r.setFlush(func(_ context.Context, p int) error {
			st.mu.Lock()
			defer st.mu.Unlock()
			if st.fail != nil {
				return st.fail
			}
			st.report = r.report(p)
			st.writes++
			return nil
		})
	}
	return r
}

// step runs one step of partition 0 without waiting out any backoff
// (the partition's, and, with expire, every parked copy's).
func replStep(t *testing.T, r *replicator, expire bool) {
	t.Helper()
	r.part(0).retryAt = time.Time{}
	if expire {
		r.mu.Lock()
		for _, x := range r.partReport(0).Retry {
			x.Next = time.Time{}
		}
		r.mu.Unlock()
	}
	if _, _, _, err := r.Step(context.Background(), 0, "", func() bool { return true }); err != nil {
		t.Fatal(err)
	}
}

func oneMetric(c prometheus.Metric) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

func retryLen(r *replicator) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.partReport(0).Retry)
}

func bucketStatus(t *testing.T, r *replicator) ReplBucketStatus {
	t.Helper()
	rep, err := DecodeReplReport(r.report(0))
	if err != nil {
		t.Fatal(err)
	}
	st := ReplicationStatus([]ReplPartitionReport{rep}, time.Now())
	if len(st) != 1 {
		t.Fatalf("status %+v, want one bucket", st)
	}
	return st[0]
}

// A destination that stays down does not hold up another destination's
// copies from the same partition, beyond any batch: the failing copies
// wait in the retry list, the feed is acknowledged to its end, and they
// are copied once the destination answers — each exactly once.
func TestReplicatorRetryListNoHeadOfLine(t *testing.T) {
	const n = 40 // five batches of 8
	meta, links, cfg, ver := twoDestinations(t, n)
	links.setDown("eu", true)
	st := &store{}
	r := newTestReplicator(cfg, meta, st)
	for i := 0; i < n/cfg.ReplicationBatch+1; i++ {
		replStep(t, r, false)
	}
	if meta.acked != n {
		t.Fatalf("acked %d with dsta down, want %d (the feed passes failing copies)", meta.acked, n)
	}
	if got := links.count("ap"); got != n/2 {
		t.Fatalf("dstb holds %d copies while dsta is down, want %d", got, n/2)
	}
	if got := links.count("eu"); got != 0 {
		t.Fatalf("dsta (down) holds %d", got)
	}
	if got := retryLen(r); got != n/2 {
		t.Fatalf("retry list holds %d, want %d", got, n/2)
	}
	// What was acknowledged is in the durable checkpoint.
	saved, err := DecodeReplReport(st.report)
	if err != nil || len(saved.Retry) != n/2 {
		t.Fatalf("checkpoint holds %d retry entries (%v), want %d", len(saved.Retry), err, n/2)
	}
	if s := bucketStatus(t, r); s.Pending != n/2 || s.Retrying != n/2 || s.Held != 0 || s.Completed != n/2 || s.LastError == "" || s.Behind <= 0 {
		t.Fatalf("status with dsta down: %+v", s)
	}
	for i := 1; i <= n; i += 2 { // a destination down is a temporary failure: PENDING, as S3 shows it
		if got := meta.vers[ver(i)].Replication; got != metapb.ReplPending {
			t.Fatalf("version %d to dsta shows %q, want PENDING", i, got)
		}
	}
	if got := oneMetric(r.m.pending.WithLabelValues("src")); got != n/2 {
		t.Fatalf("pending gauge %v, want %d", got, n/2)
	}
	// Parked copies wait out their backoff: a step now sends nothing.
	links.setDown("eu", false)
	before := links.attempts["eu"][ver(1)]
	replStep(t, r, false)
	if links.attempts["eu"][ver(1)] != before {
		t.Fatal("a parked copy was retried before its backoff ended")
	}
	// Once due, they are copied (a batch per step) and leave the list.
	for i := 0; i < n/2/cfg.ReplicationBatch+1; i++ {
		replStep(t, r, true)
	}
	if got := links.count("eu"); got != n/2 {
		t.Fatalf("dsta holds %d after recovery, want %d", got, n/2)
	}
	if retryLen(r) != 0 || links.exists["eu"] != 0 || links.exists["ap"] != 0 {
		t.Fatalf("retry list %d, re-sends eu %d ap %d", retryLen(r), links.exists["eu"], links.exists["ap"])
	}
	for i := 1; i <= n; i++ {
		if got := meta.vers[ver(i)].Replication; got != metapb.ReplCompleted {
			t.Fatalf("version %d: %q, want COMPLETED", i, got)
		}
	}
	if s := bucketStatus(t, r); s.Pending != 0 || s.Completed != n || s.LastError != "" {
		t.Fatalf("status after recovery: %+v", s)
	}
}

// A replicator that dies with copies in its retry list, and another that
// takes the partition over from the checkpoint: nothing lost, nothing
// doubled. A flush that fails keeps the position before the copy, and a
// re-read copy is parked once.
func TestReplicatorRetryListTakeover(t *testing.T) {
	const n = 16
	meta, links, cfg, ver := twoDestinations(t, n)
	links.setDown("eu", true)
	st := &store{fail: errors.New("checkpoint refused")}
	a := newTestReplicator(cfg, meta, st)
	replStep(t, a, false)
	// Version 1 (to dsta) failed first and could not be saved: the
	// position stays before it.
	if meta.acked != 0 {
		t.Fatalf("acked %d without a saved retry list, want 0", meta.acked)
	}
	if s := bucketStatus(t, a); s.Held != cfg.ReplicationBatch/2 || s.Retrying != 0 || s.Pending != cfg.ReplicationBatch/2 {
		t.Fatalf("status %+v: want %d held copies (the first batch's), none in the retry list", s, cfg.ReplicationBatch/2)
	}
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	for range 4 {
		replStep(t, a, false)
	}
	if meta.acked != n || retryLen(a) != n/2 {
		t.Fatalf("acked %d, retry list %d; want %d, %d (each failing copy parked once)", meta.acked, retryLen(a), n, n/2)
	}
	// a dies. b takes the partition over: its worker restores the
	// checkpoint's report before the first step.
	resent := links.exists["ap"] // dstb's copies of the first, unsaved step were sent again (no-ops)
	b := newTestReplicator(cfg, meta, st)
	b.restore(0, st.report)
	if retryLen(b) != n/2 {
		t.Fatalf("takeover restored %d retry entries, want %d", retryLen(b), n/2)
	}
	links.setDown("eu", false)
	for range 4 {
		replStep(t, b, true)
	}
	if got := links.count("eu"); got != n/2 {
		t.Fatalf("dsta holds %d, want %d", got, n/2)
	}
	for _, reg := range []string{"eu", "ap"} {
		for v, c := range links.created[reg] {
			if c != 1 {
				t.Fatalf("%s: version %s created %d times", reg, v, c)
			}
		}
	}
	if retryLen(b) != 0 || links.exists["ap"] != resent || links.exists["eu"] != 0 {
		t.Fatalf("retry list %d, re-sends after the takeover: dstb %d, dsta %d", retryLen(b), links.exists["ap"]-resent, links.exists["eu"])
	}
	for i := 1; i <= n; i++ {
		if got := meta.vers[ver(i)].Replication; got != metapb.ReplCompleted {
			t.Fatalf("version %d: %q, want COMPLETED", i, got)
		}
	}
	// The emptied list reaches the checkpoint with the next write.
	if err := b.flush(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if saved, _ := DecodeReplReport(st.report); len(saved.Retry) != 0 {
		t.Fatalf("checkpoint still holds %d retry entries", len(saved.Retry))
	}
}

// Each parked copy waits 1 s, doubling to ReplicationBackoffMax, and is
// retried forever.
func TestReplicatorRetryBackoffCapped(t *testing.T) {
	meta, links, cfg, _ := twoDestinations(t, 1)
	cfg.ReplicationBackoffMax = 4 * time.Second
	links.setDown("eu", true)
	r := newTestReplicator(cfg, meta, &store{})
	want := []time.Duration{1, 2, 4, 4, 4, 4, 4, 4}
	for i, w := range want {
		replStep(t, r, i > 0)
		r.mu.Lock()
		x := *r.partReport(0).Retry[0]
		r.mu.Unlock()
		wait := time.Until(x.Next)
		if x.Attempts != i+1 || wait > w*time.Second || wait < w*time.Second-time.Second {
			t.Fatalf("attempt %d: %d attempts, next in %v, want %d and ≈%v", i+1, x.Attempts, wait, i+1, w*time.Second)
		}
	}
	if meta.acked != 1 {
		t.Fatalf("acked %d", meta.acked)
	}
}

// A full retry list holds the feed position (nothing dropped), counts it,
// and drains once the destination answers.
func TestReplicatorRetryListFull(t *testing.T) {
	const n = 12 // 6 to dsta
	meta, links, cfg, _ := twoDestinations(t, n)
	cfg.ReplicationRetryMax = 3
	links.setDown("eu", true)
	r := newTestReplicator(cfg, meta, &store{})
	for range 4 {
		replStep(t, r, false)
	}
	// Versions 1, 3, 5 are parked; 7 (to dsta) holds the position.
	if meta.acked != 6 || retryLen(r) != 3 {
		t.Fatalf("acked %d, retry list %d; want 6, 3", meta.acked, retryLen(r))
	}
	if oneMetric(r.m.retryFull) == 0 {
		t.Fatal("a full retry list was not counted")
	}
	if s := bucketStatus(t, r); s.Held == 0 || s.Retrying != 3 {
		t.Fatalf("status with a full list: %+v", s)
	}
	links.setDown("eu", false)
	for range 6 {
		replStep(t, r, true)
	}
	if meta.acked != n || retryLen(r) != 0 || links.count("eu") != n/2 || links.count("ap") != n/2 {
		t.Fatalf("acked %d, retry %d, dsta %d, dstb %d", meta.acked, retryLen(r), links.count("eu"), links.count("ap"))
	}
}

// readerData is a Data that also reads objects (the replicator's
// ObjectReader); the tests' versions are inline, so Read is never called.
type readerData struct{ fakeData }

func (d *readerData) Read(context.Context, []metapb.Segment, metapb.Scheme, int64, int64, io.Writer) error {
	return errors.New("readerData: no shards")
}

func replicatorOf(t *testing.T, s *Server) *replicator {
	t.Helper()
	for _, w := range s.workers {
		if r, ok := w.task.(*replicator); ok {
			return r
		}
	}
	t.Fatal("no replicator")
	return nil
}

// The same through real background servers and a real metadata service's
// leases and checkpoints: server A parks the copies to the down
// destination in its checkpoint and acknowledges the feed; A crashes
// (leases not given back); B takes the partition over, restores the retry
// list from the checkpoint and copies them once dsta answers.
func TestReplicatorRetryListSurvivesCrash(t *testing.T) {
	const n = 12
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 1})
	meta := cl.Client()
	feed, links, rcfg, _ := twoDestinations(t, n)
	links.setDown("eu", true)
	server := func(id string) *Server {
		cfg := testConfig(id, meta, &readerData{}, testLogger(t))
		cfg.Links, cfg.Catalog, cfg.Region = links, rcfg.Catalog, "us"
		cfg.ReplicationBatch, cfg.ReplicationInterval, cfg.ReplicationRegionBackoff = 8, 50*time.Millisecond, 0
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		replicatorOf(t, s).meta = feed // the feed and records of the fake; leases and checkpoints in metasvc
		go func() { _ = s.Run(context.Background()) }()
		return s
	}
	saved := func() []*ReplRetry {
		_, cps, err := meta.Background(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cps {
			if c.Worker == FeedConsumer {
				rep, _ := DecodeReplReport(c.Report)
				return rep.Retry
			}
		}
		return nil
	}
	a := server("bg-A")
	waitFor(t, "A to pass the failing copies", 10*time.Second, func() bool {
		feed.mu.Lock()
		defer feed.mu.Unlock()
		return feed.acked == n && len(saved()) == n/2
	})
	if got := links.count("ap"); got != n/2 {
		t.Fatalf("dstb holds %d while dsta is down, want %d", got, n/2)
	}
	a.release = false // a crash: the lease is not given back
	_ = a.Close()
	links.setDown("eu", false)
	b := server("bg-B")
	t.Cleanup(func() { _ = b.Close() })
	// B waits for A's lease to expire (2 s), restores the list and retries
	// each entry after its backoff (1 s after A's attempt, doubling).
	waitFor(t, "B to copy the parked versions", 20*time.Second, func() bool { return links.count("eu") == n/2 })
	waitFor(t, "B's checkpoint to drop them", 10*time.Second, func() bool { return len(saved()) == 0 })
	links.mu.Lock()
	defer links.mu.Unlock()
	for _, reg := range []string{"eu", "ap"} {
		for v, c := range links.created[reg] {
			if c != 1 {
				t.Fatalf("%s: version %s created %d times", reg, v, c)
			}
		}
	}
}

// A null version (written before versioning was enabled) that a resync
// marked PENDING is copied as the destination's null version (same id),
// and so is a null delete marker.
func TestReplicatorNullVersion(t *testing.T) {
	meta, links, cfg, ver := twoDestinations(t, 4)
	for i := 1; i <= 2; i++ {
		v := meta.vers[ver(i)]
		v.Null = true
		if i == 2 {
			v.State, v.Inline, v.Size = metapb.StateDeleteMarker, nil, 0
			meta.feed[i-1].Op = metapb.FeedMarker
		}
		meta.vers[ver(i)] = v
		meta.feed[i-1].Null = true
	}
	cfg.Catalog.(oneBucketCatalog).bs[0].Replication.Rules[1].DeleteMarkers = true
	r := newTestReplicator(cfg, meta, &store{})
	replStep(t, r, false)
	if meta.acked != 4 || links.count("eu") != 2 || links.count("ap") != 2 {
		t.Fatalf("acked %d, dsta %d, dstb %d", meta.acked, links.count("eu"), links.count("ap"))
	}
	for i := 1; i <= 4; i++ {
		if links.nulls[ver(i)] != (i <= 2) {
			t.Fatalf("version %d sent with null=%v", i, links.nulls[ver(i)])
		}
		if got := meta.vers[ver(i)].Replication; got != metapb.ReplCompleted {
			t.Fatalf("version %d: %q", i, got)
		}
	}
}

// The list is bounded by its encoded size too: long keys fill it before
// the count does, and the checkpoint stays well under a metasvc request.
func TestReplicatorRetryListBytesBound(t *testing.T) {
	const n = 6000
	meta, links, cfg, ver := twoDestinations(t, n)
	for i := 1; i <= n; i++ {
		key := fmt.Sprintf("a/%s%d", strings.Repeat("x", 1000), i) // all to dsta
		v := meta.vers[ver(i)]
		v.Key = key
		meta.vers[ver(i)] = v
		meta.feed[i-1].Key = key
	}
	cfg.ReplicationBatch, cfg.ReplicationRetryMax = 1000, 10000
	links.setDown("eu", true)
	st := &store{}
	r := newTestReplicator(cfg, meta, st)
	for range 4 {
		replStep(t, r, false)
	}
	got := retryLen(r)
	if got >= n || got < 1000 || meta.acked != uint64(got) {
		t.Fatalf("retry list %d, acked %d: want the list full by size, the position just past it", got, meta.acked)
	}
	t.Logf("retry list %d entries, checkpoint report %d bytes", got, len(st.report))
	if len(st.report) > 3<<20 {
		t.Fatalf("checkpoint report %d bytes", len(st.report))
	}
}

// countingMeta counts the checkpoint writes that reach metasvc.
type countingMeta struct {
	*metaclient.Client
	checkpoints atomic.Int64
}

func (m *countingMeta) Checkpoint(ctx context.Context, p int, r metapb.CheckpointRequest) (metapb.Result, error) {
	m.checkpoints.Add(1)
	return m.Client.Checkpoint(ctx, p, r)
}

// The replicator's checkpoint after a step is a status, written at most
// every reportChangeRefresh (its report holds the retry list, up to
// megabytes): a feed of 50 batches, all copied, costs a few writes, not one
// per step.
func TestReplicatorCheckpointsLazily(t *testing.T) {
	const n = 400
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 1})
	meta := &countingMeta{Client: cl.Client()}
	feed, links, rcfg, _ := twoDestinations(t, n)
	cfg := testConfig("bg-lazy", meta, &readerData{}, testLogger(t))
	cfg.Links, cfg.Catalog, cfg.Region = links, rcfg.Catalog, "us"
	cfg.ReplicationBatch, cfg.ReplicationInterval = 8, 50*time.Millisecond
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	replicatorOf(t, s).meta = feed
	steps := 0
	var mu sync.Mutex
	for _, w := range s.workers {
		if _, ok := w.task.(*replicator); ok {
			w.onStep = func(int, time.Time, time.Time) { mu.Lock(); steps++; mu.Unlock() }
		}
	}
	go func() { _ = s.Run(context.Background()) }()
	t.Cleanup(func() { _ = s.Close() })
	waitFor(t, "the feed to be copied", 20*time.Second, func() bool {
		feed.mu.Lock()
		defer feed.mu.Unlock()
		return feed.acked == n
	})
	mu.Lock()
	defer mu.Unlock()
	// Every worker of the server checkpoints; the replicator's share is a
	// few writes for ≥ 50 steps.
	if got := meta.checkpoints.Load(); steps < n/8 || got > 20 {
		t.Fatalf("%d checkpoint writes for %d replicator steps", got, steps)
	}
	t.Logf("%d checkpoint writes (all workers) for %d replicator steps", meta.checkpoints.Load(), steps)
}

// A destination that accepts a write again wakes its parked copies: they
// are sent at the next step, not at the end of their backoff; those to
// another destination still wait theirs.
func TestReplicatorRetryWokenByDelivery(t *testing.T) {
	const n = 8
	meta, links, cfg, ver := twoDestinations(t, n)
	links.setDown("eu", true)
	links.setDown("ap", true)
	r := newTestReplicator(cfg, meta, &store{})
	replStep(t, r, false)
	if retryLen(r) != n {
		t.Fatalf("retry list %d, want %d", retryLen(r), n)
	}
	links.setDown("eu", false)
	links.setDown("ap", false)
	// A new version to dsta arrives and is copied: dsta is back.
	meta.mu.Lock()
	meta.vers[ver(n+1)] = metapb.ObjectVersion{Bucket: "src/1", Key: "a/new", Ver: ver(n + 1), Replication: metapb.ReplPending,
		Inline: []byte("x"), Size: 1, State: metapb.StateCommitted}
	meta.feed = append(meta.feed, metapb.FeedEntry{Seq: n + 1, Op: metapb.FeedPut, Bucket: "src/1", Key: "a/new", Ver: ver(n + 1)})
	meta.mu.Unlock()
	replStep(t, r, false)
	replStep(t, r, false)
	if got := links.count("eu"); got != n/2+1 {
		t.Fatalf("dsta holds %d after a write reached it, want %d (its parked copies woken)", got, n/2+1)
	}
	if got := links.count("ap"); got != 0 || retryLen(r) != n/2 {
		t.Fatalf("dstb holds %d, retry list %d: dstb's copies must wait their backoff", got, retryLen(r))
	}
}

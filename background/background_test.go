package background

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
)

// fakeData records deleted shard ids; delay slows every Delete (a fault hook).
type fakeData struct {
	delay time.Duration
	fail  atomic.Bool
	// down: a delete of a shard on this node fails (a node that is gone).
	down string

	mu      sync.Mutex
	deleted map[string]int
}

func (d *fakeData) Delete(ctx context.Context, segs []metapb.Segment) error {
	if d.fail.Load() {
		return errors.New("fakeData: injected delete failure")
	}
	for _, sg := range segs {
		for _, sh := range sg.Shards {
			if d.down != "" && sh.Node == d.down {
				return fmt.Errorf("fakeData: node %s is gone", sh.Node)
			}
		}
	}
	if d.delay > 0 {
		select {
		case <-time.After(d.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.deleted == nil {
		d.deleted = map[string]int{}
	}
	for _, s := range segs {
		for _, sh := range s.Shards {
			d.deleted[sh.ID]++
		}
	}
	return nil
}

func (d *fakeData) has(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deleted[id] > 0
}

// faultMeta is the real client with a fault hook: while leaseDown is set,
// lease requests fail as if the meta service were unreachable.
type faultMeta struct {
	*metaclient.Client
	leaseDown atomic.Bool
}

func (m *faultMeta) Lease(ctx context.Context, p int, r metapb.LeaseRequest) (metapb.Result, error) {
	if m.leaseDown.Load() {
		return metapb.Result{}, errors.New("faultMeta: injected: meta unreachable")
	}
	return m.Client.Lease(ctx, p, r)
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("BACKGROUND_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testConfig(id string, meta Meta, data Data, log *slog.Logger) Config {
	c := DefaultConfig()
	c.ID = id
	c.Meta, c.Data, c.Logger = meta, data, log
	c.LeaseTTL = 2 * time.Second
	c.RenewInterval = 300 * time.Millisecond
	c.ClockMargin = 400 * time.Millisecond
	c.Interval = 100 * time.Millisecond
	c.Batch = 8
	c.GarbageGrace = 0
	return c
}

// stepLog records every step's partition, holder and local time span.
type stepLog struct {
	mu    sync.Mutex
	steps []step
}

type step struct {
	holder     string
	p          int
	start, end time.Time
}

func (l *stepLog) hook(s *Server) {
	for _, w := range s.workers {
		w.onStep = func(p int, start, end time.Time) {
			l.mu.Lock()
			l.steps = append(l.steps, step{s.ID(), p, start, end})
			l.mu.Unlock()
		}
	}
}

func (l *stepLog) count(holder string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.steps {
		if s.holder == holder {
			n++
		}
	}
	return n
}

// checkNoOverlap fails if two holders' steps on one partition overlap in time.
func (l *stepLog) checkNoOverlap(t *testing.T) (perHolder map[string]int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	perHolder = map[string]int{}
	byPart := map[int][]step{}
	for _, s := range l.steps {
		byPart[s.p] = append(byPart[s.p], s)
		perHolder[s.holder]++
	}
	for p, ss := range byPart {
		sort.Slice(ss, func(i, j int) bool { return ss[i].start.Before(ss[j].start) })
		var lastEnd time.Time
		lastHolder := ""
		for _, s := range ss {
			if s.holder != lastHolder && lastHolder != "" && s.start.Before(lastEnd) {
				t.Errorf("partition %d: %s started a step at %v while %s's step ran until %v", p, s.holder, s.start, lastHolder, lastEnd)
			}
			if s.end.After(lastEnd) || s.holder != lastHolder {
				lastEnd, lastHolder = s.end, s.holder
			}
		}
	}
	return perHolder
}

// leaseWatch polls every partition's lease record and keeps each distinct
// (epoch) version seen.
type leaseWatch struct {
	mu     sync.Mutex
	epochs map[int]map[uint64]metapb.Lease
	stop   chan struct{}
	done   chan struct{}
}

func watchLeases(meta *metaclient.Client) *leaseWatch {
	w := &leaseWatch{epochs: map[int]map[uint64]metapb.Lease{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			for p := 0; p < meta.Partitions(); p++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				ls, _, err := meta.Background(ctx, p)
				cancel()
				if err != nil {
					continue
				}
				w.mu.Lock()
				for _, l := range ls {
					if w.epochs[p] == nil {
						w.epochs[p] = map[uint64]metapb.Lease{}
					}
					// Keep the latest view of each epoch (renewals move Expires).
					if old, ok := w.epochs[p][l.Epoch]; !ok || l.Expires.After(old.Expires) || (l.Holder == "" && old.Holder != "") {
						w.epochs[p][l.Epoch] = l
					}
				}
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return w
}

// check stops the watch and asserts the lease records never show two
// holders at once: each epoch begins no earlier than the previous one ended.
func (w *leaseWatch) check(t *testing.T) map[int][]metapb.Lease {
	t.Helper()
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[int][]metapb.Lease{}
	for p, m := range w.epochs {
		var ls []metapb.Lease
		for _, l := range m {
			ls = append(ls, l)
		}
		sort.Slice(ls, func(i, j int) bool { return ls[i].Epoch < ls[j].Epoch })
		for i := 1; i < len(ls); i++ {
			prev, cur := ls[i-1], ls[i]
			if cur.Epoch != prev.Epoch+1 {
				continue
			}
			// prev ended at cur.PrevEnded (its expiry or its release; the
			// watch may have missed prev's last renewals), and cur began
			// no earlier.
			if cur.PrevEnded.Before(prev.Acquired) || cur.Acquired.Before(cur.PrevEnded) {
				t.Errorf("partition %d: epoch %d (%s, %v..%v) and epoch %d (%s, from %v, previous ended %v) overlap",
					p, prev.Epoch, prev.Holder, prev.Acquired, prev.Expires, cur.Epoch, cur.Holder, cur.Acquired, cur.PrevEnded)
			}
		}
		out[p] = ls
	}
	return out
}

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Run(context.Background()) }()
	<-s.Ready()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	begin := time.Now()
	for !cond() {
		if time.Since(begin) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(begin)
}

// fillGarbage queues n garbage entries in every partition (PREPARE then
// ABORT of versions with one fake shard each) and returns their shard ids.
func fillGarbage(t *testing.T, meta *metaclient.Client, perPartition int) []string {
	t.Helper()
	ctx := context.Background()
	count := make([]int, meta.Partitions())
	var ids []string
	for i := 0; ; i++ {
		key := fmt.Sprintf("k%05d", i)
		p := meta.PartitionOf("b", key)
		if count[p] >= perPartition {
			done := true
			for _, c := range count {
				done = done && c >= perPartition
			}
			if done {
				return ids
			}
			continue
		}
		count[p]++
		id := "shard-" + key
		v := metapb.ObjectVersion{Bucket: "b", Key: key, VersionID: "v" + key,
			Segments: []metapb.Segment{{Size: 10, Shards: []metapb.ShardRef{{Node: "n1", ID: id, Size: 10}}}}}
		if _, err := meta.Prepare(ctx, v); err != nil {
			t.Fatal(err)
		}
		if _, err := meta.Abort(ctx, metapb.AbortRequest{Bucket: "b", Key: key, VersionID: v.VersionID}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
}

func garbageLeft(t *testing.T, meta *metaclient.Client) int {
	n := 0
	for p := 0; p < meta.Partitions(); p++ {
		g, err := meta.ListGarbage(context.Background(), p, 1000)
		if err != nil {
			return -1
		}
		n += len(g)
	}
	return n
}

// TestLeaseTakeoverAfterCrash: two background servers on one region. A
// takes every partition; when B arrives, A gives half back between steps
// (balancing). A is then killed mid-drain (no lease release) and B takes
// A's partitions only after the leases expire, resumes from A's
// checkpoints and completes the pass. No partition is ever worked by both.
func TestLeaseTakeoverAfterCrash(t *testing.T) {
	const perPartition = 40
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 4})
	meta := cl.Client()
	ids := fillGarbage(t, meta, perPartition)
	watch := watchLeases(meta)
	log := testLogger(t)
	var steps stepLog

	dataA := &fakeData{delay: 30 * time.Millisecond}
	a, err := New(testConfig("bg-A", meta, dataA, log))
	if err != nil {
		t.Fatal(err)
	}
	steps.hook(a)
	go func() { _ = a.Run(context.Background()) }()
	waitFor(t, "A to lease all partitions", 10*time.Second, func() bool { return len(a.Held()) == 4 })

	dataB := &fakeData{delay: 30 * time.Millisecond}
	b, err := New(testConfig("bg-B", meta, dataB, log))
	if err != nil {
		t.Fatal(err)
	}
	steps.hook(b)
	go func() { _ = b.Run(context.Background()) }()
	t.Cleanup(func() { _ = b.Close() })
	waitFor(t, "A and B to share the partitions", 10*time.Second, func() bool { return len(a.Held()) == 2 && len(b.Held()) == 2 })
	aParts := a.Held()
	left := func(ps []int) int {
		n := 0
		for _, p := range ps {
			g, err := meta.ListGarbage(context.Background(), p, 1000)
			if err != nil {
				return 1 << 30
			}
			n += len(g)
		}
		return n
	}
	waitFor(t, "A to reclaim some garbage", 10*time.Second, func() bool { return left(aParts) < 2*perPartition-10 })
	a.release = false // a crash: the leases are not given back
	_ = a.Close()
	if left(aParts) == 0 {
		t.Fatal("A finished before the kill: the test proves nothing")
	}

	took := waitFor(t, "B to take every partition", 10*time.Second, func() bool { return len(b.Held()) == 4 })
	cfg := testConfig("", nil, nil, nil)
	if took < cfg.LeaseTTL-cfg.ClockMargin-cfg.RenewInterval {
		t.Fatalf("B took over %v after the kill: before the lease TTL %v", took, cfg.LeaseTTL)
	}
	t.Logf("takeover %v after kill (lease TTL %v)", took.Round(10*time.Millisecond), cfg.LeaseTTL)
	waitFor(t, "the garbage queue to drain", 20*time.Second, func() bool { return garbageLeft(t, meta) == 0 })

	for _, id := range ids {
		if !dataA.has(id) && !dataB.has(id) {
			t.Errorf("shard %s never deleted", id)
		}
	}
	// B resumed from A's checkpoints: on A's partitions, the done counts
	// carry A's progress beyond what B itself handled there. (Not an exact
	// count: work acknowledged under a lease lost before its checkpoint
	// write is not counted.)
	waitFor(t, "B's checkpoints", 10*time.Second, func() bool {
		for p := 0; p < 4; p++ {
			_, cps, err := meta.Background(context.Background(), p)
			if err != nil || len(cps) != 1 || cps[0].Holder != "bg-B" || cps[0].Pass == 0 {
				return false
			}
		}
		return true
	})
	byB := map[int]uint64{}
	for _, id := range ids {
		if dataB.has(id) {
			byB[meta.PartitionOf("b", strings.TrimPrefix(id, "shard-"))]++
		}
	}
	var done, handledB uint64
	for _, p := range aParts {
		_, cps, _ := meta.Background(context.Background(), p)
		done += cps[0].Done
		handledB += byB[p]
	}
	if done <= handledB {
		t.Errorf("A's partitions %v: checkpoints count %d done, B handled %d there: A's progress was not carried over", aParts, done, handledB)
	}
	hs := watch.check(t)
	for _, p := range aParts {
		ls := hs[p]
		if len(ls) < 2 || ls[len(ls)-1].Holder != "bg-B" {
			t.Errorf("partition %d lease history %+v: want A then B", p, ls)
		}
	}
	per := steps.checkNoOverlap(t)
	if per["bg-A"] == 0 || per["bg-B"] == 0 {
		t.Errorf("steps per holder %v: both must have worked", per)
	}
}

// TestLeaseLostWhileRunning: A keeps running but can no longer renew (meta
// unreachable for leases). It must stop working each partition before its
// lease expires at the state machine, and B takes over only after that.
func TestLeaseLostWhileRunning(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 4})
	meta := cl.Client()
	watch := watchLeases(meta)
	log := testLogger(t)
	var steps stepLog
	fm := &faultMeta{Client: meta}
	dataA := &fakeData{delay: 5 * time.Millisecond}
	ca := testConfig("bg-A", fm, dataA, log)
	a, err := New(ca)
	if err != nil {
		t.Fatal(err)
	}
	steps.hook(a)
	go func() { _ = a.Run(context.Background()) }()
	t.Cleanup(func() { _ = a.Close() })
	waitFor(t, "A to lease all partitions", 10*time.Second, func() bool { return len(a.Held()) == 4 })
	b := start(t, testConfig("bg-B", meta, &fakeData{}, log))
	steps.hook(b)
	// Keep both busy: garbage keeps arriving.
	stopFill := make(chan struct{})
	fillDone := make(chan struct{})
	go func() {
		defer close(fillDone)
		for i := 0; ; i++ {
			select {
			case <-stopFill:
				return
			default:
			}
			key := fmt.Sprintf("x%05d", i)
			v := metapb.ObjectVersion{Bucket: "b", Key: key, VersionID: "v" + key,
				Segments: []metapb.Segment{{Size: 10, Shards: []metapb.ShardRef{{Node: "n1", ID: "s-" + key, Size: 10}}}}}
			if _, err := meta.Prepare(context.Background(), v); err == nil {
				_, _ = meta.Abort(context.Background(), metapb.AbortRequest{Bucket: "b", Key: key, VersionID: v.VersionID})
			}
		}
	}()
	waitFor(t, "A to work", 10*time.Second, func() bool { return steps.count("bg-A") > 0 })
	fm.leaseDown.Store(true)
	waitFor(t, "A to give up its partitions", 5*time.Second, func() bool { return len(a.Held()) == 0 })
	waitFor(t, "B to take every partition", 10*time.Second, func() bool { return len(b.Held()) == 4 })
	time.Sleep(500 * time.Millisecond)
	close(stopFill)
	<-fillDone
	watch.check(t)
	per := steps.checkNoOverlap(t)
	if per["bg-A"] == 0 || per["bg-B"] == 0 {
		t.Errorf("steps per holder %v: both must have worked", per)
	}
}

// TestJanitorAbortsAbandonedPrepare: a PREPARE never committed is aborted
// through Raft once past its deadline, its shards are deleted through the
// garbage queue, and a COMMIT arriving after the fence is refused. A fresh
// PREPARE is left alone and commits.
func TestJanitorAbortsAbandonedPrepare(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	ctx := context.Background()
	seg := func(id string) []metapb.Segment {
		return []metapb.Segment{{Size: 10, Shards: []metapb.ShardRef{{Node: "n1", ID: id, Size: 10}}}}
	}
	data := &fakeData{}
	cfg := testConfig("bg-J", meta, data, testLogger(t))
	const timeout = 3 * time.Second
	cfg.PrepareTimeout = timeout
	reg := prometheus.NewRegistry()
	cfg.Registry = reg
	start(t, cfg)

	// The PREPAREs are made after the janitor runs, so that a slow start
	// (a loaded machine) cannot eat into the deadline the check below uses.
	prepStart := time.Now() // the versions' deadlines are ≥ prepStart + timeout
	old := metapb.ObjectVersion{Bucket: "b", Key: "abandoned", VersionID: "v1", Segments: seg("shard-abandoned")}
	if _, err := meta.Prepare(ctx, old); err != nil {
		t.Fatal(err)
	}
	// An abandoned part attempt of a multipart upload, too.
	if _, err := meta.CreateUpload(ctx, metapb.Upload{Bucket: "b", Key: "mp", UploadID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.PreparePart(ctx, metapb.Part{Bucket: "b", Key: "mp", UploadID: "u1", Number: 1, Attempt: "a1", Segments: seg("shard-part"), Created: time.Now()}); err != nil {
		t.Fatal(err)
	}

	// Not before the deadline: a read that starts before prepStart+timeout
	// must still find the version PREPARING. (If the machine is so slow
	// that the read starts after it, there is nothing to check: say so.)
	time.Sleep(time.Until(prepStart.Add(timeout / 3)))
	readAt := time.Since(prepStart)
	v, err := meta.GetVersion(ctx, "b", "abandoned", "v1")
	switch {
	case readAt >= timeout:
		t.Logf("the early read started %v after the PREPARE, past its %v deadline: not checked", readAt, timeout)
	case err != nil || v.State != metapb.StatePreparing:
		t.Fatalf("aborted before its deadline (read %v after the PREPARE, deadline %v): %+v %v", readAt, timeout, v, err)
	}
	waitFor(t, "the abandoned PREPARE to be aborted", 15*time.Second, func() bool {
		_, err := meta.GetVersion(ctx, "b", "abandoned", "v1")
		return errors.Is(err, metaclient.ErrNotFound)
	})
	fresh := metapb.ObjectVersion{Bucket: "b", Key: "fresh", VersionID: "v2", Segments: seg("shard-fresh")}
	if _, err := meta.Prepare(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	// The late COMMIT is refused: the client would get an error.
	_, err = meta.Commit(ctx, metapb.CommitRequest{Bucket: "b", Key: "abandoned", VersionID: "v1",
		Final: metapb.ObjectVersion{Size: 10, ETag: "e", Segments: seg("shard-abandoned")}})
	if !errors.Is(err, metaclient.ErrConflict) {
		t.Fatalf("late commit after the fence: %v, want ErrConflict", err)
	}
	if _, err := meta.Get(ctx, "b", "abandoned"); !errors.Is(err, metaclient.ErrNotFound) {
		t.Fatalf("abandoned object visible after a refused commit: %v", err)
	}
	waitFor(t, "the abandoned shards to be deleted", 10*time.Second, func() bool { return data.has("shard-abandoned") && data.has("shard-part") })
	if _, err := meta.GetPartAttempt(ctx, "b", "mp", "u1", 1, "a1"); !errors.Is(err, metaclient.ErrNotFound) {
		t.Fatalf("abandoned part attempt still there: %v", err)
	}
	if _, err := meta.CommitPart(ctx, metapb.CommitPartRequest{Bucket: "b", Key: "mp", UploadID: "u1", Number: 1, Attempt: "a1",
		Final: metapb.Part{Size: 10, ETag: "e", Segments: seg("shard-part")}}); err == nil {
		t.Fatal("late part commit after the fence succeeded")
	}
	if _, err := meta.Commit(ctx, metapb.CommitRequest{Bucket: "b", Key: "fresh", VersionID: "v2",
		Final: metapb.ObjectVersion{Size: 10, ETag: "e", Segments: seg("shard-fresh")}}); err != nil {
		t.Fatalf("fresh commit: %v", err)
	}
	if data.has("shard-fresh") {
		t.Fatal("a committed shard was deleted")
	}
	if got := metricValue(t, reg, "meridian_background_janitor_aborted_total", nil); got != 2 {
		t.Errorf("aborted counter %v, want 2 (a version and a part attempt)", got)
	}
}

// TestPauseResumeAndMetrics: a paused janitor leaves the garbage queue
// alone and says so in its status and metrics; resumed, it drains it. A
// failing delete shows as state failed with the error, and recovers.
func TestPauseResumeAndMetrics(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	data := &fakeData{}
	cfg := testConfig("bg-P", meta, data, testLogger(t))
	reg := prometheus.NewRegistry()
	cfg.Registry = reg
	s := start(t, cfg)
	if err := s.Pause("nope"); !errors.Is(err, ErrNoSuchWorker) {
		t.Fatalf("pause of an unknown worker: %v", err)
	}
	if err := s.Pause("janitor"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "paused", 5*time.Second, func() bool { return s.Workers()[0].State == StatePaused })
	ids := fillGarbage(t, meta, 5)
	time.Sleep(500 * time.Millisecond)
	if n := garbageLeft(t, meta); n != len(ids) {
		t.Fatalf("paused janitor reclaimed: %d of %d left", n, len(ids))
	}
	if v := metricValue(t, reg, "meridian_background_worker_state", map[string]string{"worker": "janitor", "state": "paused"}); v != 1 {
		t.Fatalf("paused gauge %v", v)
	}
	data.fail.Store(true)
	if err := s.Resume("janitor"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed state", 5*time.Second, func() bool {
		st := s.Workers()[0]
		return st.State == StateFailed && strings.Contains(st.LastError, "injected")
	})
	data.fail.Store(false)
	waitFor(t, "drained", 10*time.Second, func() bool { return garbageLeft(t, meta) == 0 })
	waitFor(t, "idle again", 5*time.Second, func() bool {
		st := s.Workers()[0]
		return st.State != StateFailed && st.Passes > 0 && st.Done >= uint64(len(ids))
	})
	st := s.Workers()[0]
	if len(st.Partitions) != 2 || st.LastError != "" {
		t.Fatalf("status %+v", st)
	}
	if v := metricValue(t, reg, "meridian_background_worker_done", map[string]string{"worker": "janitor"}); v < float64(len(ids)) {
		t.Errorf("worker_done gauge %v, want ≥ %d", v, len(ids))
	}
	if v := metricValue(t, reg, "meridian_background_leases_held", nil); v != 2 {
		t.Errorf("leases_held gauge %v, want 2", v)
	}
	if v := metricValue(t, reg, "meridian_background_worker_state", map[string]string{"worker": "janitor", "state": "paused"}); v != 0 {
		t.Errorf("paused gauge %v after resume", v)
	}
}

// metricValue returns the value of the gathered series name with labels.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			match := true
			for _, l := range m.Label {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					match = false
				}
			}
			if !match {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// TestGarbageGrace: garbage waits GarbageGrace after it was queued before
// its shards are deleted (a read of the old record may still stream them).
func TestGarbageGrace(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	data := &fakeData{}
	cfg := testConfig("bg-G", meta, data, testLogger(t))
	cfg.GarbageGrace = 2 * time.Second
	start(t, cfg)
	ids := fillGarbage(t, meta, 3)
	queued := time.Now()
	time.Sleep(time.Second)
	for _, id := range ids {
		if data.has(id) {
			t.Fatalf("shard %s deleted %v after queueing, inside the %v grace", id, time.Since(queued), cfg.GarbageGrace)
		}
	}
	waitFor(t, "reclaim after the grace", 10*time.Second, func() bool { return garbageLeft(t, meta) == 0 })
	if d := time.Since(queued); d < cfg.GarbageGrace-200*time.Millisecond {
		t.Fatalf("reclaimed after %v, inside the grace", d)
	}
}

func TestConfigValidate(t *testing.T) {
	base := testConfig("x", &faultMeta{}, &fakeData{}, nil)
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"default", func(*Config) {}, true},
		{"no meta", func(c *Config) { c.Meta = nil }, false},
		{"no data", func(c *Config) { c.Data = nil }, false},
		{"ttl too long", func(c *Config) { c.LeaseTTL = time.Hour }, false},
		{"margin ≥ ttl", func(c *Config) { c.ClockMargin = c.LeaseTTL }, false},
		{"renew too slow", func(c *Config) { c.RenewInterval = c.LeaseTTL - c.ClockMargin }, false},
		{"zero interval", func(c *Config) { c.Interval = 0 }, false},
		{"zero prepare timeout", func(c *Config) { c.PrepareTimeout = 0 }, false},
		{"batch too big", func(c *Config) { c.Batch = 5000 }, false},
		{"negative grace", func(c *Config) { c.GarbageGrace = -time.Second }, false},
		{"orphan scan", func(c *Config) { c.Orphans = &fakeNodes{} }, true},
		{"orphan min age inside the PREPARE window", func(c *Config) { c.Orphans = &fakeNodes{}; c.OrphanMinAge = c.PrepareTimeout }, false},
		{"orphan interval 0", func(c *Config) { c.Orphans = &fakeNodes{}; c.OrphanInterval = 0 }, false},
	}
	for _, tc := range tests {
		c := base
		tc.edit(&c)
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	d := DefaultConfig()
	d.Meta, d.Data = &faultMeta{}, &fakeData{}
	if err := d.Validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
}

func TestCloseTwiceAndBeforeRun(t *testing.T) {
	s, err := New(testConfig("c", &faultMeta{}, &fakeData{}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run after Close did not return")
	}
}

// TestGarbageOnRemovedNode: garbage shards on a node the control plane no
// longer knows (removed) are dropped from the entry instead of failing its
// delete forever; shards on known nodes are still deleted.
func TestGarbageOnRemovedNode(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	data := &fakeData{down: "n1"} // fillGarbage's shards are on n1
	cfg := testConfig("bg-R", meta, data, testLogger(t))
	cfg.GarbageGrace = 0
	var mu sync.Mutex
	nodes := []metapb.StorageNode{{ID: "n1"}, {ID: "n2"}}
	cfg.Nodes = func() []metapb.StorageNode {
		mu.Lock()
		defer mu.Unlock()
		return append([]metapb.StorageNode(nil), nodes...)
	}
	start(t, cfg)
	ids := fillGarbage(t, meta, 2)
	time.Sleep(time.Second)
	if n := garbageLeft(t, meta); n != len(ids) {
		t.Fatalf("%d garbage entries left while n1 is registered but down, want %d (retried)", n, len(ids))
	}
	mu.Lock()
	nodes = nodes[1:] // n1 removed from the control plane
	mu.Unlock()
	waitFor(t, "the entries on the removed node to be dropped", 10*time.Second, func() bool { return garbageLeft(t, meta) == 0 })
	for _, id := range ids {
		if data.has(id) {
			t.Fatalf("%s deleted on a removed node", id)
		}
	}
}

// TestIdlePassesWriteNoCheckpoints: a janitor with nothing to do passes
// over its partitions every Interval without writing a checkpoint each
// time (an idle pass once wrote "running" then "idle": two Raft entries
// per partition per pass); only lease renewals reach the log. Work still
// gets a checkpoint.
func TestIdlePassesWriteNoCheckpoints(t *testing.T) {
	cl := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	meta := cl.Client()
	cfg := testConfig("bg-I", meta, &fakeData{}, testLogger(t))
	cfg.RenewInterval = time.Second
	cfg.LeaseTTL = 4 * time.Second
	s := start(t, cfg)
	waitFor(t, "a few passes", 10*time.Second, func() bool { return s.Workers()[0].Passes >= 3 })
	leader := cl.LeaderOf("p0", 5*time.Second)
	applied := func() uint64 { return cl.Node(leader).Server.LocalState(0).LastApplied() }
	passes, before := s.Workers()[0].Passes, applied()
	time.Sleep(2 * time.Second)
	passes, entries := s.Workers()[0].Passes-passes, applied()-before
	t.Logf("idle 2 s: %d janitor passes, %d log entries in partition 0", passes, entries)
	if passes < 5 {
		t.Fatalf("only %d passes in 2 s at Interval %v", passes, cfg.Interval)
	}
	// Two or three lease renewals (RenewInterval 1 s), nothing per pass.
	if entries > 4 {
		t.Fatalf("%d log entries in partition 0 over %d idle passes, want only lease renewals", entries, passes)
	}
	ids := fillGarbage(t, meta, 3)
	waitFor(t, "drained", 10*time.Second, func() bool { return garbageLeft(t, meta) == 0 })
	var done uint64
	waitFor(t, "the work's checkpoint", 5*time.Second, func() bool {
		done = 0
		for p := 0; p < 2; p++ {
			_, cps, err := meta.Background(context.Background(), p)
			if err != nil {
				return false
			}
			for _, c := range cps {
				if c.Worker == "janitor" {
					done += c.Done
				}
			}
		}
		return done >= uint64(len(ids))
	})
}

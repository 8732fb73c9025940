package background

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3replication"
	"github.com/meridian-s3/meridian/internal/sse"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// The production types fit the replicator's interfaces.
var (
	_ ReplMeta     = (*metaclient.Client)(nil)
	_ ObjectReader = (*objectio.Engine)(nil)
	_ ReplicaLinks = (*regionalclient.Client)(nil)
	_ ReportMeta   = (*metaclient.Client)(nil)
)

// fakeReplMeta is one partition's feed and records.
type fakeReplMeta struct {
	mu     sync.Mutex
	feed   []metapb.FeedEntry
	vers   map[string]metapb.ObjectVersion // by Ver
	acked  uint64
	acks   []uint64
	status map[string][]string // Ver → statuses set, in order
}

func (f *fakeReplMeta) ReadFeed(_ context.Context, _ int, after uint64, max int) ([]metapb.FeedEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []metapb.FeedEntry
	for _, e := range f.feed {
		if e.Seq > after && len(out) < max {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeReplMeta) AckFeed(_ context.Context, _ int, _ string, seq uint64) (metapb.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if seq > f.acked {
		f.acked = seq
		f.acks = append(f.acks, seq)
	}
	return metapb.Result{Seq: f.acked}, nil
}

func (f *fakeReplMeta) GetVer(_ context.Context, _, _, ver string) (metapb.ObjectVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vers[ver]
	if !ok {
		return v, metaclient.ErrNotFound
	}
	return v, nil
}

func (f *fakeReplMeta) SetReplStatus(_ context.Context, r metapb.ReplStatusRequest) (metapb.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[r.Ver] = append(f.status[r.Ver], r.Status)
	v := f.vers[r.Ver]
	if v.Replication == metapb.ReplPending || v.Replication == metapb.ReplFailed {
		v.Replication = r.Status
		f.vers[r.Ver] = v
	}
	return metapb.Result{}, nil
}

// fakeLinks is the destination region: it records what arrived and fails
// while down (with a fault hook per version id).
type fakeLinks struct {
	mu       sync.Mutex
	failVer  map[string]int // Ver → answers to fail with 503 (temporary: the version stays PENDING)
	refuse   map[string]int // Ver → answers to refuse with 400, after failVer's (the version shows FAILED)
	got      map[string]string
	acls     map[string]*metapb.ObjectACL  // Ver → the ACL the replica carried (when any)
	locks    map[string]*metapb.ObjectLock // Ver → the Object Lock state the replica carried (when any)
	requests int
	tags     []map[string]string // TagsOnly replicas, in arrival order
}

func (l *fakeLinks) Do(req *http.Request, region string) (*http.Response, error) {
	rep, err := regionalclient.DecodeReplica(req.Header.Get(regionalclient.HeaderReplica))
	if err != nil || region != "eu" || !strings.HasPrefix(req.URL.Path, "/dst/") {
		return nil, errors.New("bad request")
	}
	body, _ := io.ReadAll(req.Body)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if l.failVer[rep.Ver] > 0 {
		l.failVer[rep.Ver]--
		return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("SlowDown"))}, nil
	}
	if l.refuse[rep.Ver] > 0 {
		l.refuse[rep.Ver]--
		return &http.Response{StatusCode: 400, Body: io.NopCloser(strings.NewReader("BadDigest"))}, nil
	}
	res := regionalclient.ReplicaCreated
	if rep.TagsOnly {
		if _, ok := l.got[rep.Ver]; !ok || len(body) != 0 {
			return nil, errors.New("a tag change for a version the destination lacks, or with a body")
		}
		l.tags = append(l.tags, rep.Tags)
		res = regionalclient.ReplicaTags
	} else if _, ok := l.got[rep.Ver]; ok {
		res = regionalclient.ReplicaExists
	} else {
		l.got[rep.Ver] = string(body)
		if rep.ACL != nil {
			if l.acls == nil {
				l.acls = map[string]*metapb.ObjectACL{}
			}
			l.acls[rep.Ver] = rep.ACL
		}
		if rep.Lock != nil {
			if l.locks == nil {
				l.locks = map[string]*metapb.ObjectLock{}
			}
			l.locks[rep.Ver] = rep.Lock
		}
	}
	h := http.Header{}
	h.Set(regionalclient.HeaderReplicaResult, res)
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(""))}, nil
}

type oneBucketCatalog struct{ bs []bucketsvc.Bucket }

func (c oneBucketCatalog) ListBuckets(context.Context, string) ([]bucketsvc.Bucket, error) {
	return c.bs, nil
}

func TestReplicatorAcksOnlyWhatArrived(t *testing.T) {
	ver := func(i int) string { return strings.Repeat("A", 15) + string(rune('a'+i)) }
	v := func(i int, st string, marker bool) metapb.ObjectVersion {
		o := metapb.ObjectVersion{Bucket: "src/1", Key: "k", Ver: ver(i), Replication: st, Inline: []byte("body-" + ver(i)),
			Size: int64(len("body-" + ver(i))), ETag: "e", State: metapb.StateCommitted, CommittedAt: time.Now()}
		if marker {
			o.State, o.Inline, o.Size = metapb.StateDeleteMarker, nil, 0
		}
		return o
	}
	meta := &fakeReplMeta{status: map[string][]string{}, vers: map[string]metapb.ObjectVersion{
		ver(1): v(1, metapb.ReplPending, false),
		ver(2): v(2, metapb.ReplPending, false),
		ver(3): v(3, metapb.ReplReplica, false), // a replica: never sent again
		ver(4): v(4, metapb.ReplPending, true),  // a delete marker
		ver(6): v(6, "", false),                 // written before the rule
	}}
	// Version 1 carries an ACL: the replica gets it.
	pub := &metapb.ObjectACL{Grants: []metapb.Grant{{Type: "Group", URI: "http://acs.amazonaws.com/groups/global/AllUsers", Permission: "READ"}}}
	v1 := meta.vers[ver(1)]
	v1.ACL = pub
	meta.vers[ver(1)] = v1
	// Version 2 is under Object Lock: the replica carries its retention and hold.
	lock := &metapb.ObjectLock{Mode: "COMPLIANCE", Until: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), LegalHold: true}
	v2 := meta.vers[ver(2)]
	v2.Lock = lock
	meta.vers[ver(2)] = v2
	committed2 := time.Now().Add(-time.Minute)
	meta.feed = []metapb.FeedEntry{
		{Seq: 1, Op: metapb.FeedPut, Bucket: "src/1", Key: "k", Ver: ver(1)},
		{Seq: 2, Op: metapb.FeedPut, Bucket: "src/1", Key: "k", Ver: ver(2), Time: committed2},
		{Seq: 3, Op: metapb.FeedPut, Bucket: "src/1", Key: "k", Ver: ver(3)},
		{Seq: 4, Op: metapb.FeedMarker, Bucket: "src/1", Key: "k", Ver: ver(4)},
		{Seq: 5, Op: metapb.FeedDelete, Bucket: "src/1", Key: "k", Ver: ver(5)}, // permanent delete: not replicated
		{Seq: 6, Op: metapb.FeedPut, Bucket: "src/1", Key: "k", Ver: ver(6)},
	}
	links := &fakeLinks{failVer: map[string]int{ver(2): 1}, refuse: map[string]int{ver(2): 1}, got: map[string]string{}}
	cfg := DefaultConfig()
	cfg.Region, cfg.Links, cfg.Logger = "us", links, slog.New(slog.DiscardHandler)
	cfg.Catalog = oneBucketCatalog{bs: []bucketsvc.Bucket{
		{Name: "src", Incarnation: "1", Region: "us", Replication: &s3replication.Configuration{Rules: []s3replication.Rule{
			{ID: "r", Enabled: true, DeleteMarkers: true, Destination: s3replication.Destination{Bucket: "dst"}}}}},
		{Name: "dst", Incarnation: "2", Region: "eu"},
	}}
	r := &replicator{cfg: &cfg, meta: meta, m: newReplMetrics(nil), parts: map[int]*replPart{}, down: map[string]time.Time{}, slots: make(chan struct{}, 4), reports: map[int]*ReplPartitionReport{}}
	ctx := context.Background()
	valid := func() bool { return true }
	step := func() {
		t.Helper()
		r.part(0).retryAt = time.Time{} // no waiting out the backoff in a test
		if _, _, _, err := r.Step(ctx, 0, "", valid); err != nil {
			t.Fatal(err)
		}
	}
	// Step 1: ver 2 fails (503: temporary) → ack stops before it; 1 and 4
	// arrive anyway; ver 2 stays PENDING, as S3 shows a copy waiting for an
	// unavailable destination.
	step()
	if meta.acked != 1 {
		t.Fatalf("acked %d after a failed copy of seq 2, want 1", meta.acked)
	}
	if got := meta.vers[ver(2)].Replication; got != metapb.ReplPending || len(meta.status[ver(2)]) != 0 {
		t.Fatalf("a copy failing for a temporary reason shows %q (statuses set %v), want PENDING", got, meta.status[ver(2)])
	}
	// The partition's report (kept in its checkpoint, read by `meridian
	// status`): two copies done, the failing one pending (1 and 4 arrived; 3, 5, 6 need nothing).
	lag := func() ReplBucketStatus {
		t.Helper()
		rep, err := DecodeReplReport(r.report(0))
		if err != nil {
			t.Fatal(err)
		}
		st := ReplicationStatus([]ReplPartitionReport{rep}, time.Now())
		if len(st) != 1 || st[0].Bucket != "src" || len(st[0].Destinations) != 1 || st[0].Destinations[0] != "dst" {
			t.Fatalf("replication status %+v, want one line for src → dst", st)
		}
		return st[0]
	}
	if st := lag(); st.Completed != 2 || st.Pending != 1 || st.Behind < time.Minute || st.LastError == "" || st.LagSamples != 2 {
		t.Fatalf("report after a failed copy: %+v (want 2 copied, 1 pending behind ≥ 1m, an error, 2 lag samples)", st)
	}
	// Step 2: the destination refuses it (400): nothing more acked, FAILED set once.
	step()
	if meta.acked != 1 || len(meta.status[ver(2)]) != 1 || meta.vers[ver(2)].Replication != metapb.ReplFailed {
		t.Fatalf("acked %d, statuses of ver 2 %v, want FAILED once", meta.acked, meta.status[ver(2)])
	}
	// Step 3: the destination recovers: everything acknowledged.
	step()
	if meta.acked != 6 {
		t.Fatalf("acked %d after recovery, want 6", meta.acked)
	}
	if st := lag(); st.Completed != 3 || st.Pending != 0 || st.Behind != 0 || st.LastError != "" {
		t.Fatalf("report after recovery: %+v (want 3 copied, caught up)", st)
	}
	for i, want := range map[int]string{1: metapb.ReplCompleted, 2: metapb.ReplCompleted, 3: metapb.ReplReplica, 4: metapb.ReplCompleted, 6: ""} {
		if got := meta.vers[ver(i)].Replication; got != want {
			t.Errorf("version %d: status %q, want %q", i, got, want)
		}
	}
	if len(links.got) != 3 || links.got[ver(1)] != "body-"+ver(1) || links.got[ver(4)] != "" {
		t.Fatalf("destination holds %v", links.got)
	}
	if _, ok := links.got[ver(3)]; ok {
		t.Fatal("a replica was replicated again")
	}
	if len(links.acls) != 1 || !reflect.DeepEqual(links.acls[ver(1)], pub) {
		t.Fatalf("ACLs carried: %+v, want version 1's", links.acls)
	}
	if len(links.locks) != 1 || !reflect.DeepEqual(links.locks[ver(2)], lock) {
		t.Fatalf("locks carried: %+v, want version 2's", links.locks)
	}
	// Nothing left: a step reads an empty feed and sends nothing.
	n := links.requests
	step()
	if links.requests != n {
		t.Fatalf("%d requests after the feed was drained", links.requests-n)
	}
}

// A tag change after a copy reaches the destination as one TagsOnly
// replica with the record's current tags, after the copy in the same
// batch; a tag change of a version never copied (not selected, or a
// REPLICA) sends nothing.
func TestReplicatorTagChanges(t *testing.T) {
	ver := func(i int) string { return strings.Repeat("B", 15) + string(rune('a'+i)) }
	meta := &fakeReplMeta{status: map[string][]string{}, vers: map[string]metapb.ObjectVersion{
		ver(1): {Bucket: "src/1", Key: "k", Ver: ver(1), Replication: metapb.ReplPending, Inline: []byte("one"), Size: 3, State: metapb.StateCommitted, Tags: map[string]string{"v": "3"}},
		ver(2): {Bucket: "src/1", Key: "k", Ver: ver(2), Replication: metapb.ReplReplica, Inline: []byte("two"), Size: 3, State: metapb.StateCommitted},
		ver(3): {Bucket: "src/1", Key: "k", Ver: ver(3), Inline: []byte("three"), Size: 5, State: metapb.StateCommitted},
	}}
	meta.feed = []metapb.FeedEntry{
		{Seq: 1, Op: metapb.FeedPut, Bucket: "src/1", Key: "k", Ver: ver(1)},
		{Seq: 2, Op: metapb.FeedTags, Bucket: "src/1", Key: "k", Ver: ver(1)},
		{Seq: 3, Op: metapb.FeedTags, Bucket: "src/1", Key: "k", Ver: ver(2)}, // a replica's tags: not sent back
		{Seq: 4, Op: metapb.FeedTags, Bucket: "src/1", Key: "k", Ver: ver(1)}, // the same version again: one send
		{Seq: 5, Op: metapb.FeedTags, Bucket: "src/1", Key: "k", Ver: ver(3)}, // never replicated
	}
	links := &fakeLinks{failVer: map[string]int{}, got: map[string]string{}}
	cfg := DefaultConfig()
	cfg.Region, cfg.Links, cfg.Logger = "us", links, slog.New(slog.DiscardHandler)
	cfg.Catalog = oneBucketCatalog{bs: []bucketsvc.Bucket{
		{Name: "src", Incarnation: "1", Region: "us", Replication: &s3replication.Configuration{Rules: []s3replication.Rule{
			{ID: "r", Enabled: true, Destination: s3replication.Destination{Bucket: "dst"}}}}},
		{Name: "dst", Incarnation: "2", Region: "eu"},
	}}
	r := &replicator{cfg: &cfg, meta: meta, m: newReplMetrics(nil), parts: map[int]*replPart{}, down: map[string]time.Time{}, slots: make(chan struct{}, 4), reports: map[int]*ReplPartitionReport{}}
	if _, _, _, err := r.Step(context.Background(), 0, "", func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	if meta.acked != 5 {
		t.Fatalf("acked %d, want 5", meta.acked)
	}
	if links.got[ver(1)] != "one" || len(links.got) != 1 {
		t.Fatalf("destination holds %v", links.got)
	}
	if len(links.tags) != 1 || links.tags[0]["v"] != "3" {
		t.Fatalf("tag changes sent: %v, want one with the current tags", links.tags)
	}
}

// Which copy failures show FAILED (replfail.go): the destination's
// refusals; a temporary failure leaves the version PENDING.
func TestRefusedCopy(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&destRefusal{Region: "eu", Status: 400, Body: []byte("BadDigest")}, true},
		{fmt.Errorf("src/k v: %w", &destRefusal{Region: "eu", Status: 404}), true},
		{&destRefusal{Region: "eu", Status: 403}, true},
		{&destRefusal{Region: "eu", Status: 503}, false},
		{&destRefusal{Region: "eu", Status: 500}, false},
		{fmt.Errorf("%w: dst", errNoDestination), true},
		{fmt.Errorf("%w: eu", errRegionDown), false},
		{fmt.Errorf("link to eu: %w", context.DeadlineExceeded), false},
		{errors.New("read shards: not enough shards"), false},
		{fmt.Errorf("open SSE-S3 data key (master key 9): %w", sse.ErrUnwrap), true},
		{fmt.Errorf("read: %w", sse.ErrAuth), true},
		{fmt.Errorf("open SSE-KMS data key: %w", &sse.KeyNotFoundError{Msg: "Invalid arn"}), true},
		{errNoKeyService, true},
	} {
		if got := refusedCopy(c.err); got != c.want {
			t.Errorf("refusedCopy(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

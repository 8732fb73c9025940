package background

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3replication"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

var _ ResyncMeta = (*metaclient.Client)(nil)

// fakeResyncMeta is one partition's versions of one bucket, in list order.
type fakeResyncMeta struct {
	mu    sync.Mutex
	vers  []metapb.ObjectVersion
	marks int
	lists int
	// failList, when > 0, fails that many list calls (a metadata outage).
	failList int
}

func (f *fakeResyncMeta) Partitions() int { return 1 }

func (f *fakeResyncMeta) ListVersionsPartition(_ context.Context, _ int, q metapb.ListVersionsRequest) (metapb.ListVersionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.failList > 0 {
		f.failList--
		return metapb.ListVersionsResponse{}, fmt.Errorf("injected: metadata unavailable")
	}
	var res metapb.ListVersionsResponse
	past := q.KeyMarker == ""
	for i := range f.vers {
		v := f.vers[i]
		if !past {
			past = v.Key == q.KeyMarker && v.S3VersionID() == q.VersionMarker
			continue
		}
		if len(res.Entries) == q.MaxKeys {
			res.Truncated = true
			break
		}
		res.Entries = append(res.Entries, metapb.VersionEntry{Version: &v})
	}
	return res, nil
}

func (f *fakeResyncMeta) SetReplStatus(_ context.Context, r metapb.ReplStatusRequest) (metapb.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.vers {
		if f.vers[i].Ver == r.Ver {
			if f.vers[i].Replication == r.Status {
				return metapb.Result{Existed: true, Version: &f.vers[i]}, nil
			}
			f.vers[i].Replication = r.Status
			f.marks++
			return metapb.Result{Version: &f.vers[i]}, nil
		}
	}
	return metapb.Result{}, nil
}

func TestResyncWorker(t *testing.T) {
	meta := &fakeResyncMeta{}
	for i := range 1234 {
		v := metapb.ObjectVersion{Bucket: "src/1", Key: fmt.Sprintf("k%05d", i), Ver: fmt.Sprintf("v%05d", i), Size: 10, State: metapb.StateCommitted}
		switch {
		case i%10 == 1:
			v.Replication = metapb.ReplCompleted // copied already
		case i%10 == 2:
			v.Replication = metapb.ReplFailed // retried by the resync
		case i%10 == 3:
			v.Key = "other/" + v.Key // no rule selects it
		case i%10 == 4:
			v.Null = true // written before versioning was enabled: resynced too
		}
		meta.vers = append(meta.vers, v)
	}
	rule := s3replication.Rule{ID: "r", Enabled: true, Filter: s3replication.Filter{Prefix: "k"}, Destination: s3replication.Destination{Bucket: "dst"}}
	bucket := bucketsvc.Bucket{Name: "src", Incarnation: "1", Region: "us", Replication: &s3replication.Configuration{Rules: []s3replication.Rule{rule}}}
	cat := &oneBucketCatalog{bs: []bucketsvc.Bucket{bucket}}
	cfg := DefaultConfig()
	cfg.Region, cfg.Logger, cfg.Catalog, cfg.Meta = "us", slog.New(slog.DiscardHandler), cat, nil
	r := &resyncer{cfg: &cfg, meta: meta, reports: map[int]*ResyncReport{}}
	ctx := context.Background()
	valid := func() bool { return true }
	// pass runs steps until the worker says the pass is done.
	pass := func() (steps int) {
		t.Helper()
		cursor := ""
		for steps = 1; steps < 100; steps++ {
			next, _, done, err := r.Step(ctx, 0, cursor, valid)
			if err != nil {
				t.Fatalf("step %d: %v", steps, err)
			}
			if done {
				return steps
			}
			cursor = next
		}
		t.Fatal("a pass never ends")
		return
	}
	// No rule enables ExistingObjectReplication and nobody asked: nothing.
	if n := pass(); n != 1 || meta.marks != 0 || meta.lists != 0 {
		t.Fatalf("without a request: %d steps, %d marks, %d lists", n, meta.marks, meta.lists)
	}
	// ExistingObjectReplication Enabled: the bucket is walked a page per step.
	rule.Existing = true
	bucket.Replication = &s3replication.Configuration{Rules: []s3replication.Rule{rule}}
	cat.bs[0] = bucket
	r.fetched = time.Time{}
	want := 0
	for i := range 1234 {
		if i%10 != 1 && i%10 != 3 {
			want++
		}
	}
	if n := pass(); meta.marks != want || n != 4 { // pages of 500, 500 and 234, then a step that finds nothing left
		t.Fatalf("existing-object resync: %d steps, %d marks, want %d", n, meta.marks, want)
	}
	rep, err := DecodeResyncReport(r.report(0))
	if err != nil {
		t.Fatal(err)
	}
	st := SumResync([]ResyncReport{rep}, "src", bucket.Replication.ResyncToken())
	if st.Finished != 1 || st.Scanned != 1234 || st.Marked != int64(want) {
		t.Fatalf("report %+v", st)
	}
	// Done for this configuration: the next pass walks nothing.
	lists := meta.lists
	if pass(); meta.lists != lists {
		t.Fatalf("a finished resync was walked again (%d lists)", meta.lists-lists)
	}
	// An operator's request is a new resync: walked again (a takeover in
	// the middle resumes from the checkpointed cursor), nothing marked
	// twice. A failed list is retried from the same cursor.
	bucket.Replication.ResyncRequested = time.Now()
	cat.bs[0] = bucket
	r.fetched = time.Time{}
	marks := meta.marks
	cursor, _, done, err := r.Step(ctx, 0, "", valid)
	if err != nil || done || cursor == "" {
		t.Fatalf("first step of a new resync: %q %v %v", cursor, done, err)
	}
	saved := r.report(0)
	r2 := &resyncer{cfg: &cfg, meta: meta, reports: map[int]*ResyncReport{}}
	r2.restore(0, saved)
	meta.failList = 1
	if next, _, _, err := r2.Step(ctx, 0, cursor, valid); err == nil || next != cursor {
		t.Fatalf("a failed list: cursor %q err %v", next, err)
	}
	for !done {
		if cursor, _, done, err = r2.Step(ctx, 0, cursor, valid); err != nil {
			t.Fatal(err)
		}
	}
	if meta.marks != marks {
		t.Fatalf("a second resync marked %d versions again", meta.marks-marks)
	}
	rep, _ = DecodeResyncReport(r2.report(0))
	if st := SumResync([]ResyncReport{rep}, "src", bucket.Replication.ResyncToken()); st.Finished != 1 || st.Scanned != 1234 || st.Marked != 0 {
		t.Fatalf("report after the takeover %+v", st)
	}
}

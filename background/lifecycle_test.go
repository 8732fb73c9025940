package background

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3lifecycle"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

type noBuckets struct{}

func (noBuckets) ListBuckets(context.Context, string) ([]bucketsvc.Bucket, error) { return nil, nil }

// TestLifecycleInterval: a partition's lifecycle walk runs again only
// LifecycleInterval after its last complete walk; without a catalog never.
func TestLifecycleInterval(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	j := &janitor{cfg: &Config{Catalog: noBuckets{}, LifecycleInterval: time.Hour}, now: func() time.Time { return now }}
	if got := j.afterPrepares(3); got != phaseLifecycle {
		t.Fatalf("first pass: %q", got)
	}
	j.lifecycleDone(3)
	now = now.Add(59 * time.Minute)
	if got := j.afterPrepares(3); got != phaseGarbage {
		t.Fatalf("59 min later: %q", got)
	}
	if got := j.afterPrepares(4); got != phaseLifecycle {
		t.Fatalf("another partition: %q", got)
	}
	now = now.Add(time.Minute)
	if got := j.afterPrepares(3); got != phaseLifecycle {
		t.Fatalf("an hour later: %q", got)
	}
	j.cfg.Catalog = nil
	if got := j.afterPrepares(5); got != phaseGarbage {
		t.Fatalf("no catalog: %q", got)
	}
}

// TestLifecycleCursor: the lifecycle phase's checkpoint cursor round-trips
// (keys may hold the separator), and other phases' cursors are not read
// as one.
func TestLifecycleCursor(t *testing.T) {
	for _, c := range []lcCursor{
		{},
		{bucket: "photos"},
		{bucket: "photos", key: "a|b|c"},
		{bucket: "photos", uploads: true, uploadID: "0123abcd", key: "up/|x"},
		{bucket: "photos", key: "k;|", ver: "0123456789ABCDEF", seen: 3, lastCreated: time.Unix(1700000000, 123456789).UTC()},
		{bucket: "photos", key: "m", ver: "null", seen: 1, lastCreated: time.Unix(1, 0).UTC(), marker: true},
	} {
		got, ok := parseLCCursor(c.String())
		if !ok || got != c {
			t.Errorf("%q parsed as %+v (%v), want %+v", c.String(), got, ok, c)
		}
	}
	if c, ok := parseLCCursor(phaseLifecycle); !ok || c != (lcCursor{}) {
		t.Errorf("bare phase name: %+v %v", c, ok)
	}
	for _, other := range []string{phasePrepares, phaseGarbage, "lifecycles|x", "orphans|lifecycle"} {
		if _, ok := parseLCCursor(other); ok {
			t.Errorf("%q read as a lifecycle cursor", other)
		}
	}
}

// fakeVersionsMeta serves one partition's version listing from a fixed
// list (key ascending, newest first) and records the deletes asked for.
// Methods the lifecycle walk does not use are the nil embedded Meta's.
type fakeVersionsMeta struct {
	Meta
	entries []metapb.VersionEntry
	deletes []string
	// refuse is a fault hook: deletes of these keys fail as the metadata
	// service answers them (e.g. metaclient.ErrObjectLocked).
	refuse map[string]error
}

func (f *fakeVersionsMeta) ListVersionsPartition(_ context.Context, _ int, q metapb.ListVersionsRequest) (metapb.ListVersionsResponse, error) {
	start := 0
	for i, e := range f.entries {
		v := e.Version
		if v.Key < q.KeyMarker || (v.Key == q.KeyMarker && q.VersionMarker == "") {
			start = i + 1
		} else if v.Key == q.KeyMarker && v.S3VersionID() == q.VersionMarker {
			start = i + 1
			break
		}
	}
	end := min(len(f.entries), start+q.MaxKeys)
	return metapb.ListVersionsResponse{Entries: f.entries[start:end], Truncated: end < len(f.entries)}, nil
}

func (f *fakeVersionsMeta) DeleteObject(_ context.Context, r metapb.DeleteRequest) (metapb.Result, error) {
	if err := f.refuse[r.Key]; err != nil {
		return metapb.Result{}, err
	}
	f.deletes = append(f.deletes, fmt.Sprintf("%s@%s ifmatch=%s mode=%d", r.Key, r.Version, r.IfMatch, r.Versioning))
	return metapb.Result{}, nil
}

// TestLifecycleVersionWalkPages: the versions walk takes the same actions
// whatever the page size, i.e. a key's noncurrent count, noncurrent time
// and only-marker state survive a page boundary in the cursor.
func TestLifecycleVersionWalkPages(t *testing.T) {
	day := time.Second
	t0 := time.Unix(1_700_000_000, 0).UTC()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ver := func(key, id string, created time.Time, marker, latest bool) metapb.VersionEntry {
		v := &metapb.ObjectVersion{Bucket: "b/inc", Key: key, Ver: id, Created: created, ETag: "e-" + id, State: metapb.StateCommitted}
		if marker {
			v.State = metapb.StateDeleteMarker
		}
		return metapb.VersionEntry{Version: v, Latest: latest}
	}
	entries := []metapb.VersionEntry{
		ver("a", "a4", at(40), false, true), // current, young
		ver("a", "a3", at(30), false, false),
		ver("a", "a2", at(20), false, false),
		ver("a", "a1", at(10), false, false),
		ver("b", "b1", at(0), true, true),  // lone marker: removed
		ver("c", "c2", at(50), true, true), // marker over a version: kept
		ver("c", "c1", at(5), false, false),
		ver("d", "d1", at(1), false, true), // old current: expired
	}
	rules := []s3lifecycle.Rule{{ID: "all", Enabled: true, Filter: s3lifecycle.Filter{Form: s3lifecycle.FormEmpty},
		Expiration: &s3lifecycle.Expiration{Days: 30}},
		{ID: "nc", Enabled: true, Filter: s3lifecycle.Filter{Form: s3lifecycle.FormEmpty},
			Noncurrent: &s3lifecycle.NoncurrentExpiration{NoncurrentDays: 5, NewerNoncurrentVersions: 1}},
		{ID: "markers", Enabled: true, Filter: s3lifecycle.Filter{Form: s3lifecycle.FormEmpty},
			Expiration: &s3lifecycle.Expiration{ExpiredObjectDeleteMarker: true}}}
	b := bucketsvc.Bucket{Name: "b", Incarnation: "inc", Versioning: bucketsvc.VersioningEnabled,
		Lifecycle: &s3lifecycle.Configuration{Rules: rules}}
	now := at(45)
	var want []string
	for _, batch := range []int{100, 1, 2, 3} {
		f := &fakeVersionsMeta{entries: entries}
		m := newMetrics(nil, nil)
		j := &janitor{cfg: &Config{Meta: f, Batch: batch, LifecycleDay: day, Logger: slog.New(slog.DiscardHandler)}, m: m,
			now: func() time.Time { return now }}
		cur := lcCursor{bucket: "b"}
		for steps := 0; ; steps++ {
			if steps > 100 {
				t.Fatalf("batch %d: no end after 100 steps", batch)
			}
			_, more, next, err := j.expireVersions(context.Background(), 0, b, rules, cur, now, func() bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			// The cursor survives its string form (a checkpoint).
			if back, _ := parseLCCursor(next.String()); back != next {
				t.Fatalf("cursor %+v read back as %+v", next, back)
			}
			if !more {
				break
			}
			cur = next
		}
		if batch == 100 {
			want = f.deletes
			// a3 is the newest noncurrent version, kept; a2 (one newer,
			// noncurrent since a3's 30 s, +5 days = 35 s) and a1 go; b's lone
			// marker goes; c1 (noncurrent since 50 s) is too young; d1
			// (1 s + 30 days = 31 s) expires on its ETag.
			exp := []string{"a@a2 ifmatch= mode=1", "a@a1 ifmatch= mode=1", "b@b1 ifmatch= mode=1", "d@ ifmatch=e-d1 mode=1"}
			if fmt.Sprint(want) != fmt.Sprint(exp) {
				t.Fatalf("deletes %q, want %q", want, exp)
			}
			continue
		}
		if fmt.Sprint(f.deletes) != fmt.Sprint(want) {
			t.Errorf("batch %d: deletes %q, want %q (as with one page)", batch, f.deletes, want)
		}
	}
}

// TestLifecycleSkipsLockedVersions: noncurrent versions under an active
// retention or a legal hold are not expired (not even asked for); a
// retention past its date no longer protects; a refusal by the metadata
// service (its clock behind ours) is a skip, not a failed pass.
func TestLifecycleSkipsLockedVersions(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	now := at(100)
	ver := func(key, id string, created time.Time, latest bool, l *metapb.ObjectLock) metapb.VersionEntry {
		return metapb.VersionEntry{Version: &metapb.ObjectVersion{Bucket: "b/inc", Key: key, Ver: id, Created: created,
			ETag: "e-" + id, State: metapb.StateCommitted, Lock: l}, Latest: latest}
	}
	entries := []metapb.VersionEntry{
		ver("a", "a4", at(50), true, nil),
		ver("a", "a3", at(40), false, &metapb.ObjectLock{Mode: "COMPLIANCE", Until: now.Add(time.Hour)}),
		ver("a", "a2", at(30), false, &metapb.ObjectLock{LegalHold: true}),
		ver("a", "a1", at(20), false, &metapb.ObjectLock{Mode: "GOVERNANCE", Until: now.Add(-time.Second)}),
		ver("a", "a0", at(10), false, &metapb.ObjectLock{Mode: "GOVERNANCE", Until: now}),
		ver("e", "e2", at(50), true, nil),
		ver("e", "e1", at(10), false, nil),
	}
	rules := []s3lifecycle.Rule{{ID: "nc", Enabled: true, Filter: s3lifecycle.Filter{Form: s3lifecycle.FormEmpty},
		Noncurrent: &s3lifecycle.NoncurrentExpiration{NoncurrentDays: 1}}}
	b := bucketsvc.Bucket{Name: "b", Incarnation: "inc", Versioning: bucketsvc.VersioningEnabled,
		Lifecycle: &s3lifecycle.Configuration{Rules: rules}}
	f := &fakeVersionsMeta{entries: entries, refuse: map[string]error{"e": &metaclient.ResultError{Code: metapb.ErrObjectLocked}}}
	j := &janitor{cfg: &Config{Meta: f, Batch: 100, LifecycleDay: time.Second, Logger: slog.New(slog.DiscardHandler)},
		m: newMetrics(nil, nil), now: func() time.Time { return now }}
	n, _, _, err := j.expireVersions(context.Background(), 0, b, rules, lcCursor{bucket: "b"}, now, func() bool { return true })
	if err != nil {
		t.Fatalf("a refused delete failed the pass: %v", err)
	}
	if want := []string{"a@a1 ifmatch= mode=1", "a@a0 ifmatch= mode=1"}; fmt.Sprint(f.deletes) != fmt.Sprint(want) || n != 2 {
		t.Fatalf("deletes %q (n=%d), want %q", f.deletes, n, want)
	}
}

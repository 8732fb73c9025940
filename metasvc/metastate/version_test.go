package metastate

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func TestVerEncoding(t *testing.T) {
	prev := ""
	for i, ns := range []int64{0, 1, 2, 1 << 20, t0.UnixNano(), t0.UnixNano() + 1, 1<<62 + 5} {
		v := EncodeVer(ns, "eu-1")
		if len(v) != metapb.VerLen || strings.Trim(v, verAlphabet) != "" {
			t.Fatalf("%d: %q is not %d URL-safe characters", ns, v, metapb.VerLen)
		}
		if i > 0 && v <= prev {
			t.Fatalf("ids do not sort by time: %q after %q", v, prev)
		}
		if at, ok := DecodeVer(v); !ok || at.UnixNano() != ns {
			t.Fatalf("decode %q: %v %v", v, at, ok)
		}
		prev = v
	}
	if EncodeVer(5, "eu-1") == EncodeVer(5, "us-1") {
		t.Fatal("two regions give the same id for the same time")
	}
	for _, bad := range []string{"", "nul", "NULL", "0123456789abcde", "0123456789abcdef0", "0123456789abcde+", "0123456789abcde/"} {
		if ValidVersionID(bad) {
			t.Fatalf("%q accepted", bad)
		}
	}
	if !ValidVersionID("null") || !ValidVersionID(EncodeVer(1, "")) {
		t.Fatal("valid ids refused")
	}
}

// putV prepares and commits a 1-segment version under a versioning mode.
func (h *harness) putV(key, vid string, mode metapb.Versioning) *metapb.ObjectVersion {
	h.t.Helper()
	sg := segs(vid, 1)
	if r := h.prepare("b", key, vid, "", sg); r.Err != "" {
		h.t.Fatalf("prepare %s: %s", vid, r.ErrMsg)
	}
	r := h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: key, VersionID: vid,
		Final: metapb.ObjectVersion{Size: 100, ETag: "e-" + vid, Segments: sg}, Versioning: mode}})
	if r.Err != "" {
		h.t.Fatalf("commit %s: %s", vid, r.ErrMsg)
	}
	return r.Version
}

func (h *harness) del(key, version string, mode metapb.Versioning) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: key, Version: version, Versioning: mode, Owner: "o"}})
}

// history describes a key's versions newest first: the record id of each
// object version, "DM" for a delete marker, with "(null)" for the null one.
func history(s *State, key string) string {
	var out []string
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.t.keyVersions("b", key, func(v *metapb.ObjectVersion) bool {
		n := v.VersionID
		if v.IsDeleteMarker() {
			n = "DM"
		}
		if v.Null {
			n += "(null)"
		}
		out = append(out, n)
		return true
	})
	return strings.Join(out, " ")
}

func TestVersioningSemantics(t *testing.T) {
	const (
		off = metapb.VersioningOff
		on  = metapb.VersioningEnabled
		sus = metapb.VersioningSuspended
	)
	type step struct {
		name    string
		do      func(h *harness) metapb.Result
		history string         // the key's records, newest first
		current string         // record id of the current version ("" none)
		garbage map[string]int // garbage entries by reason, cumulative
	}
	put := func(vid string, mode metapb.Versioning) func(h *harness) metapb.Result {
		return func(h *harness) metapb.Result { return metapb.Result{Version: h.putV("k", vid, mode)} }
	}
	del := func(version string, mode metapb.Versioning) func(h *harness) metapb.Result {
		return func(h *harness) metapb.Result { return h.del("k", version, mode) }
	}
	var markerID string // the S3 id of the last delete marker, for a later step
	keepMarker := func(f func(h *harness) metapb.Result) func(h *harness) metapb.Result {
		return func(h *harness) metapb.Result {
			r := f(h)
			if r.Version != nil && r.Version.IsDeleteMarker() {
				markerID = r.Version.Ver
			}
			return r
		}
	}
	g := func(kv ...any) map[string]int {
		m := map[string]int{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(int)
		}
		return m
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"unversioned: one null version, replaced and deleted", []step{
			{"put", put("v1", off), "v1(null)", "v1", g()},
			{"overwrite", put("v2", off), "v2(null)", "v2", g("overwritten", 1)},
			{"delete", del("", off), "", "", g("overwritten", 1, "deleted", 1)},
			{"delete absent", del("", off), "", "", g("overwritten", 1, "deleted", 1)},
		}},
		{"enabled: overwrites keep versions, markers hide, permanent deletes uncover", []step{
			{"null first", put("v0", off), "v0(null)", "v0", g()},
			{"v1", put("v1", on), "v1 v0(null)", "v1", g()},
			{"v2", put("v2", on), "v2 v1 v0(null)", "v2", g()},
			{"marker", keepMarker(del("", on)), "DM v2 v1 v0(null)", "", g()},
			{"second marker", del("", on), "DM DM v2 v1 v0(null)", "", g()},
			{"remove newest marker", func(h *harness) metapb.Result {
				return h.del("k", h.s.t.latest("b", "k").Ver, on)
			}, "DM v2 v1 v0(null)", "", g()},
			{"remove the other marker", func(h *harness) metapb.Result { return h.del("k", markerID, on) }, "v2 v1 v0(null)", "v2", g()},
			{"remove current: previous becomes current", func(h *harness) metapb.Result {
				return h.del("k", h.s.t.latest("b", "k").Ver, on)
			}, "v1 v0(null)", "v1", g("deleted", 1)},
			{"remove null", del("null", on), "v1", "v1", g("deleted", 2)},
			{"remove absent null", del("null", on), "v1", "v1", g("deleted", 2)},
			{"remove unknown id", del(EncodeVer(1, "x"), on), "v1", "v1", g("deleted", 2)},
		}},
		{"suspended: writes replace the null version only", []step{
			{"a1", put("a1", on), "a1", "a1", g()},
			{"s1", put("s1", sus), "s1(null) a1", "s1", g()},
			{"s2 replaces s1", put("s2", sus), "s2(null) a1", "s2", g("overwritten", 1)},
			{"a2", put("a2", on), "a2 s2(null) a1", "a2", g("overwritten", 1)},
			{"s3 replaces the older null", put("s3", sus), "s3(null) a2 a1", "s3", g("overwritten", 2)},
			{"delete: null marker replaces s3", del("", sus), "DM(null) a2 a1", "", g("overwritten", 2, "deleted", 1)},
			{"delete again: replaces the null marker", del("", sus), "DM(null) a2 a1", "", g("overwritten", 2, "deleted", 1)},
			{"enabled again", put("e1", on), "e1 DM(null) a2 a1", "e1", g("overwritten", 2, "deleted", 1)},
			{"remove the null marker under e1", del("null", on), "e1 a2 a1", "e1", g("overwritten", 2, "deleted", 1)},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for _, st := range tc.steps {
				r := st.do(h)
				if r.Err != "" {
					t.Fatalf("%s: %s %s", st.name, r.Err, r.ErrMsg)
				}
				if got := history(h.s, "k"); got != st.history {
					t.Fatalf("%s: history %q, want %q", st.name, got, st.history)
				}
				cur, ok := h.s.Get("b", "k")
				if ok != (st.current != "") || (ok && cur.VersionID != st.current) {
					t.Fatalf("%s: current %v %q, want %q", st.name, ok, cur.VersionID, st.current)
				}
				// GET without a version id when the newest record is a
				// marker: Latest names it.
				if l, ok := h.s.Latest("b", "k"); ok && !l.IsDeleteMarker() && l.VersionID != st.current {
					t.Fatalf("%s: latest %q", st.name, l.VersionID)
				}
				if got := garbageByReason(h.s); !reflect.DeepEqual(got, st.garbage) {
					t.Fatalf("%s: garbage %v, want %v", st.name, got, st.garbage)
				}
				// Every version reads back by its S3 id, and ListObjects
				// shows only the current non-marker version.
				for _, e := range h.s.ListVersions(metapb.ListVersionsRequest{Bucket: "b"}).Entries {
					v, ok := h.s.GetVer("b", "k", e.Version.S3VersionID())
					if !ok || v.Ver != e.Version.Ver {
						t.Fatalf("%s: GetVer(%s): %v", st.name, e.Version.S3VersionID(), ok)
					}
				}
				if l := h.s.List(metapb.ListRequest{Bucket: "b"}); len(l.Entries) != map[bool]int{true: 1, false: 0}[st.current != ""] {
					t.Fatalf("%s: ListObjects shows %d entries", st.name, len(l.Entries))
				}
				h.s.mu.RLock()
				checkVersionIndexes(t, h.s.t)
				h.s.mu.RUnlock()
			}
			checkNoLeakedShards(t, h.s)
			// The versions survive a snapshot exactly.
			data := snapBytes(t, h.s)
			s2 := New()
			if err := s2.Restore(bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			if history(s2, "k") != history(h.s, "k") || !bytes.Equal(snapBytes(t, s2), data) {
				t.Fatalf("snapshot: %q vs %q", history(s2, "k"), history(h.s, "k"))
			}
		})
	}
}

func TestVersionIDsAndMarkers(t *testing.T) {
	h := newHarness(t)
	v1 := h.putV("k", "v1", metapb.VersioningEnabled)
	// A leader whose clock is behind still assigns a newer id.
	h.now = h.now.Add(-time.Hour)
	v2 := h.putV("k", "v2", metapb.VersioningEnabled)
	if v2.Ver <= v1.Ver || v1.Null || v2.Null {
		t.Fatalf("ids %q then %q", v1.Ver, v2.Ver)
	}
	// A retried commit of a noncurrent version answers Existed, adds nothing.
	r := h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: "k", VersionID: "v1",
		Final: metapb.ObjectVersion{Size: 100, ETag: "e-v1", Segments: segs("v1", 1)}, Versioning: metapb.VersioningEnabled}})
	if !r.Existed || r.Version.Ver != v1.Ver || h.s.Stats().Versions != 2 {
		t.Fatalf("retry: %+v, %d versions", r, h.s.Stats().Versions)
	}
	// A marker: owner, time, its own record id; the key reads as absent.
	m := h.del("k", "", metapb.VersioningEnabled)
	if m.Err != "" || !m.Version.IsDeleteMarker() || m.Version.Owner != "o" || m.Version.Ver <= v2.Ver || m.Version.VersionID == "" {
		t.Fatalf("marker: %+v", m)
	}
	if _, ok := h.s.Get("b", "k"); ok {
		t.Fatal("GET sees through a delete marker")
	}
	if l, ok := h.s.Latest("b", "k"); !ok || l.Ver != m.Version.Ver {
		t.Fatal("Latest does not name the marker")
	}
	if f := h.s.ReadFeed(0, 0); f[len(f)-1].Op != metapb.FeedMarker || f[len(f)-1].Ver != m.Version.Ver {
		t.Fatalf("feed: %+v", f[len(f)-1])
	}
	// A marker on a key that never existed is created too (S3 does).
	if r := h.del("nokey", "", metapb.VersioningEnabled); r.Err != "" || r.Version == nil || !r.Version.IsDeleteMarker() {
		t.Fatalf("marker on absent key: %+v", r)
	}
	// A bucket holding only delete markers is not empty.
	if r := h.seal(metapb.CmdSealBucket, "b"); r.Err != metapb.ErrBucketNotEmpty {
		t.Fatalf("seal with markers: %+v", r)
	}
	// Markers are writes: refused once the bucket is sealed.
	h.putV("x", "x1", metapb.VersioningEnabled)
	h.del("x", h.s.t.latest("b", "x").Ver, metapb.VersioningEnabled)
	if r := h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "c", Key: "x", Versioning: metapb.VersioningEnabled}}); r.Err != "" {
		t.Fatal(r)
	}
	h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "c", Key: "x", Version: h.s.t.latest("c", "x").Ver}})
	if r := h.seal(metapb.CmdSealBucket, "c"); r.Err != "" {
		t.Fatalf("seal empty: %+v", r)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "c", Key: "x", Versioning: metapb.VersioningEnabled}}); r.Err != metapb.ErrBucketSealed {
		t.Fatalf("marker in a sealed bucket: %+v", r)
	}
	if r := h.del("k", "bogus", metapb.VersioningEnabled); r.Err != metapb.ErrBadRequest {
		t.Fatalf("malformed id: %+v", r)
	}
	checkNoLeakedShards(t, h.s)
}

// TestListVersionsPagination walks every page size with key and version
// markers and compares the concatenation with the one-page listing.
func TestListVersionsPagination(t *testing.T) {
	h := newHarness(t)
	mode := metapb.VersioningEnabled
	for i, k := range []string{"a", "a/1", "a/2", "b", "c/x/1", "c/y", "d", "é"} {
		for j := 0; j <= i%3; j++ {
			h.putV(k, fmt.Sprintf("%s-%d", k, j), mode)
		}
		if i%2 == 0 {
			h.del(k, "", mode)
		}
		if i == 5 {
			h.putV(k, k+"-null", metapb.VersioningSuspended)
		}
	}
	h.putV("zz", "zz-0", mode) // another key after the listed prefix
	name := func(e metapb.VersionEntry) string {
		if e.Version == nil {
			return "P:" + e.Prefix
		}
		return fmt.Sprintf("%s@%s/%v", e.Version.Key, e.Version.S3VersionID(), e.Latest)
	}
	for _, q := range []struct{ prefix, delim string }{{"", ""}, {"", "/"}, {"a", "/"}, {"c/", "/"}, {"c", ""}} {
		full := h.s.ListVersions(metapb.ListVersionsRequest{Bucket: "b", Prefix: q.prefix, Delimiter: q.delim})
		if full.Truncated {
			t.Fatal("full listing truncated")
		}
		var want []string
		for _, e := range full.Entries {
			want = append(want, name(e))
		}
		for max := 1; max <= len(full.Entries)+1; max++ {
			var got []string
			req := metapb.ListVersionsRequest{Bucket: "b", Prefix: q.prefix, Delimiter: q.delim, MaxKeys: max}
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("pagination does not end")
				}
				p := h.s.ListVersions(req)
				for _, e := range p.Entries {
					got = append(got, name(e))
				}
				if !p.Truncated {
					break
				}
				last := p.Entries[len(p.Entries)-1]
				req.KeyMarker, req.VersionMarker = last.Name(), ""
				if last.Version != nil {
					req.VersionMarker = last.Version.S3VersionID()
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v max %d:\n got %v\nwant %v", q, max, got, want)
			}
		}
		if q.prefix == "" && q.delim == "" {
			// Each key's first record, and only it, is the latest.
			seen := map[string]bool{}
			for _, e := range full.Entries {
				if e.Latest == seen[e.Version.Key] {
					t.Fatalf("IsLatest wrong on %s", name(e))
				}
				seen[e.Version.Key] = true
			}
			if len(full.Entries) != h.s.Stats().Versions {
				t.Fatalf("listed %d of %d versions", len(full.Entries), h.s.Stats().Versions)
			}
		}
	}
	want := "P:a/ P:c/"
	var got []string
	for _, e := range h.s.ListVersions(metapb.ListVersionsRequest{Bucket: "b", Delimiter: "/", MaxKeys: 1000}).Entries {
		if e.Version == nil {
			got = append(got, name(e))
		}
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("prefixes %v", got)
	}
}

// TestVersionsHealAndScan: the scrubber's walk covers noncurrent versions,
// and a shard swap into a noncurrent (or null) version keeps the indexes and
// the garbage accounting.
func TestVersionsHealAndScan(t *testing.T) {
	h := newHarness(t)
	h.putV("k", "v0", metapb.VersioningSuspended) // null
	h.putV("k", "v1", metapb.VersioningEnabled)
	h.putV("k", "v2", metapb.VersioningEnabled)
	h.del("k", "", metapb.VersioningEnabled)
	h.putV("l", "w1", metapb.VersioningEnabled)
	var got []string
	c := metapb.ShardCursor{}
	for i := 0; i < 20; i++ {
		sc := h.s.ScanShards(c, 1)
		for _, r := range sc.Records {
			got = append(got, r.Key+"/"+r.VersionID)
		}
		if sc.Done {
			break
		}
		c = sc.Next
	}
	if strings.Join(got, " ") != "k/v2 k/v1 k/v0 l/w1" {
		t.Fatalf("scan: %v", got)
	}
	for _, vid := range []string{"v1", "v0"} {
		old := segs(vid, 1)[0].Shards[0]
		nw := old
		nw.Node, nw.ID = "n9", old.ID+"-healed"
		r := h.apply(metapb.Command{Type: metapb.CmdReplaceShards, ReplaceShards: &metapb.ReplaceShardsRequest{
			Bucket: "b", Key: "k", VersionID: vid, Segment: 0, Swaps: []metapb.ShardSwap{{Old: old, New: nw}}}})
		if r.Err != "" {
			t.Fatalf("heal %s: %s", vid, r.ErrMsg)
		}
		v, _ := h.s.GetVersion("b", "k", vid)
		if v.Segments[0].Shards[0].Node != "n9" {
			t.Fatalf("heal %s not applied: %+v", vid, v.Segments[0].Shards[0])
		}
	}
	if got := history(h.s, "k"); got != "DM v2 v1 v0(null)" {
		t.Fatalf("history after heal: %q", got)
	}
	// The healed null version is the one a suspended write replaces.
	h.putV("k", "v3", metapb.VersioningSuspended)
	if got := history(h.s, "k"); got != "v3(null) DM v2 v1" {
		t.Fatalf("history: %q", got)
	}
	checkNoLeakedShards(t, h.s)
	// A delete that does not name the mode (unversioned) never removes a
	// version of a key that has versions.
	if r := h.del("l", "", metapb.VersioningOff); r.Err != metapb.ErrConflict {
		t.Fatalf("unversioned delete of a versioned key: %+v", r)
	}
}

// TestVersionedRetry: a retried PUT (same idempotency token) answers the
// version the first attempt created — same id — whether it is current,
// noncurrent or deleted since, and never adds a version (invariant 3).
func TestVersionedRetry(t *testing.T) {
	h := newHarness(t)
	commit := func(vid, tok string) metapb.Result {
		return h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: "k", VersionID: vid,
			Final: metapb.ObjectVersion{Inline: []byte(vid), ETag: "e-" + vid, Token: tok}, Versioning: metapb.VersioningEnabled}})
	}
	first := commit("r1", "tok")
	if first.Err != "" || first.Existed {
		t.Fatal(first)
	}
	check := func(when string) {
		t.Helper()
		n := h.s.Stats().Versions
		r := commit("r1-retry", "tok") // a retry carries a new record id, the same token
		if r.Err != "" || !r.Existed || r.Version.Ver != first.Version.Ver || r.Version.S3VersionID() != first.Version.Ver {
			t.Fatalf("%s: retry answered %+v", when, r)
		}
		if h.s.Stats().Versions != n {
			t.Fatalf("%s: a retry added a version", when)
		}
	}
	check("current")
	if r := commit("r2", ""); r.Err != "" {
		t.Fatal(r)
	}
	check("noncurrent")
	h.del("k", first.Version.Ver, metapb.VersioningEnabled)
	check("deleted")
}

// TestRestoreV3AsNullVersions: a snapshot from before versions (format 3,
// current records only) restores each record as its key's null version,
// with an id from its commit time, and versioning works on top of it.
func TestRestoreV3AsNullVersions(t *testing.T) {
	h := newHarness(t)
	h.put("b", "k", "old", 1)
	h.put("b", "j", "inl", 0)
	var v3 bytes.Buffer
	if _, err := h.s.Snapshot().writeFormat(&v3, SnapshotFormatV3); err != nil {
		t.Fatal(err)
	}
	s := New()
	if err := s.Restore(bytes.NewReader(v3.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := history(s, "k"); got != "old(null)" {
		t.Fatalf("restored history %q", got)
	}
	v, ok := s.GetVer("b", "k", "null")
	if at, _ := DecodeVer(v.Ver); !ok || !at.Equal(v.CommittedAt) {
		t.Fatalf("null version %+v: id %q not from its commit time", ok, v.Ver)
	}
	h2 := &harness{t: t, s: s, index: h.index, now: h.now}
	h2.putV("k", "new", metapb.VersioningEnabled)
	if got := history(s, "k"); got != "new old(null)" {
		t.Fatalf("history after a versioned PUT: %q", got)
	}
	checkNoLeakedShards(t, s)
}

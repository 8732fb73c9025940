package metastate

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// harness applies commands with increasing indexes and a controllable clock.
type harness struct {
	t     testing.TB
	s     *State
	index uint64
	now   time.Time
}

func newHarness(t testing.TB) *harness {
	return &harness{t: t, s: New(), now: t0}
}

func (h *harness) apply(cmd metapb.Command) metapb.Result {
	h.index++
	h.now = h.now.Add(time.Millisecond)
	cmd.Time = h.now
	return h.s.Apply(h.index, &cmd)
}

func segs(tag string, n int) []metapb.Segment {
	var out []metapb.Segment
	for i := 0; i < n; i++ {
		out = append(out, metapb.Segment{Offset: int64(i) * 100, Size: 100, Shards: []metapb.ShardRef{
			{Index: 0, Node: "n1", AZ: "a", ID: fmt.Sprintf("%s-%d-0", tag, i), Size: 50},
			{Index: 1, Node: "n2", AZ: "b", ID: fmt.Sprintf("%s-%d-1", tag, i), Size: 50},
		}})
	}
	return out
}

func withCRC(in []metapb.Segment) []metapb.Segment {
	out := cloneSegments(in)
	for i := range out {
		for j := range out[i].Shards {
			out[i].Shards[j].CRC32C = uint32(1000*i + j + 1)
		}
	}
	return out
}

func (h *harness) prepare(bucket, key, vid, tok string, sg []metapb.Segment) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdPrepare, Prepare: &metapb.PrepareRequest{Version: metapb.ObjectVersion{
		Bucket: bucket, Key: key, VersionID: vid, Token: tok, Segments: sg, ContentType: "text/plain",
		UserMeta: map[string]string{"a": "1"}, Scheme: metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 1 << 20},
	}}})
}

func (h *harness) commit(bucket, key, vid string, final metapb.ObjectVersion) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: bucket, Key: key, VersionID: vid, Final: final}})
}

// put prepares and commits a version with n segments (inline when n == 0).
func (h *harness) put(bucket, key, vid string, n int) metapb.Result {
	h.t.Helper()
	if n == 0 {
		r := h.commit(bucket, key, vid, metapb.ObjectVersion{Inline: []byte("data-" + vid), ETag: "e-" + vid, Token: "tok-" + vid})
		if r.Err != "" {
			h.t.Fatalf("inline put %s/%s: %s %s", bucket, key, r.Err, r.ErrMsg)
		}
		return r
	}
	sg := segs(vid, n)
	if r := h.prepare(bucket, key, vid, "tok-"+vid, sg); r.Err != "" {
		h.t.Fatalf("prepare %s/%s: %s %s", bucket, key, r.Err, r.ErrMsg)
	}
	r := h.commit(bucket, key, vid, metapb.ObjectVersion{Size: int64(100 * n), ETag: "e-" + vid, Segments: withCRC(sg)})
	if r.Err != "" {
		h.t.Fatalf("commit %s/%s: %s %s", bucket, key, r.Err, r.ErrMsg)
	}
	return r
}

func garbageByReason(s *State) map[string]int {
	m := map[string]int{}
	for _, g := range s.ListGarbage(0) {
		m[g.Reason]++
	}
	return m
}

func TestPrepareCommitVisibility(t *testing.T) {
	h := newHarness(t)
	sg := segs("v1", 2)
	r := h.prepare("b", "k", "v1", "tok1", sg)
	if r.Err != "" || r.Existed || r.Version.State != metapb.StatePreparing || !r.Version.PreparedAt.Equal(h.now) {
		t.Fatalf("prepare: %+v", r)
	}
	// Visible iff committed.
	if _, ok := h.s.Get("b", "k"); ok {
		t.Fatal("PREPARING version visible to Get")
	}
	if l := h.s.List(metapb.ListRequest{Bucket: "b"}); len(l.Entries) != 0 {
		t.Fatalf("PREPARING version listed: %+v", l)
	}
	if v, ok := h.s.GetVersion("b", "k", "v1"); !ok || v.State != metapb.StatePreparing {
		t.Fatalf("GetVersion of PREPARING: %v %+v", ok, v)
	}
	r = h.commit("b", "k", "v1", metapb.ObjectVersion{Size: 200, ETag: "etag1", Segments: withCRC(sg), Checksums: map[string]string{"CRC32C": "x"}})
	if r.Err != "" || r.Existed || r.Seq != 1 || r.Replaced != nil {
		t.Fatalf("commit: %+v", r)
	}
	v, ok := h.s.Get("b", "k")
	if !ok || v.State != metapb.StateCommitted || v.ETag != "etag1" || v.Size != 200 || v.Segments[1].Shards[1].CRC32C != 1002 ||
		v.ContentType != "text/plain" || v.UserMeta["a"] != "1" || v.Token != "tok1" || v.Scheme.Data != 10 || v.CommittedAt.IsZero() {
		t.Fatalf("Get after commit: %v %+v", ok, v)
	}
	// Returned records are copies: mutating one does not change the state.
	v.UserMeta["a"] = "changed"
	v.Segments[0].Shards[0].ID = "changed"
	if v2, _ := h.s.Get("b", "k"); v2.UserMeta["a"] != "1" || v2.Segments[0].Shards[0].ID == "changed" {
		t.Fatal("Get shares memory with the state")
	}
	if st := h.s.Stats(); st.Objects != 1 || st.Preparing != 0 || st.Bytes != 200 || st.FeedLen != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPrepareIdempotent(t *testing.T) {
	h := newHarness(t)
	sg := segs("v1", 1)
	h.prepare("b", "k", "v1", "tok", sg)
	// Retry with the same token but a fresh version id returns the first.
	r := h.prepare("b", "k", "v2", "tok", segs("v2", 1))
	if r.Err != "" || !r.Existed || r.Version.VersionID != "v1" || r.Version.State != metapb.StatePreparing {
		t.Fatalf("retried prepare: %+v", r)
	}
	if st := h.s.Stats(); st.Preparing != 1 {
		t.Fatalf("retry created a record: %+v", st)
	}
	h.commit("b", "k", "v1", metapb.ObjectVersion{ETag: "e", Segments: sg})
	r = h.prepare("b", "k", "v3", "tok", segs("v3", 1))
	if !r.Existed || r.Version.VersionID != "v1" || r.Version.State != metapb.StateCommitted || len(r.Version.Segments) != 1 {
		t.Fatalf("prepare after commit: %+v", r)
	}
	// Overwritten by another PUT: the retry still answers the original
	// outcome (summary) and creates nothing.
	h.put("b", "k", "other", 1)
	r = h.prepare("b", "k", "v4", "tok", segs("v4", 1))
	if !r.Existed || r.Version.VersionID != "v1" || r.Version.ETag != "e" || r.Version.State != metapb.StateCommitted {
		t.Fatalf("prepare after overwrite: %+v", r)
	}
	if cur, _ := h.s.Get("b", "k"); cur.VersionID != "other" {
		t.Fatalf("retry changed the current version: %+v", cur)
	}
	// A retry whose PREPARE was aborted starts afresh.
	h.prepare("b", "k2", "a1", "tok2", segs("a1", 1))
	h.apply(metapb.Command{Type: metapb.CmdAbort, Abort: &metapb.AbortRequest{Bucket: "b", Key: "k2", VersionID: "a1"}})
	r = h.prepare("b", "k2", "a2", "tok2", segs("a2", 1))
	if r.Existed || r.Version.VersionID != "a2" {
		t.Fatalf("prepare after abort: %+v", r)
	}
	// Same version id without token: Existed.
	r = h.prepare("b", "k2", "a2", "", nil)
	if !r.Existed || r.Version.VersionID != "a2" {
		t.Fatalf("prepare same vid: %+v", r)
	}
}

func TestCommitCases(t *testing.T) {
	type step func(h *harness) metapb.Result
	cases := []struct {
		name    string
		setup   func(h *harness)
		do      step
		wantErr string
		check   func(t *testing.T, h *harness, r metapb.Result)
	}{
		{
			name:  "twice is idempotent",
			setup: func(h *harness) { h.put("b", "k", "v1", 2) },
			do: func(h *harness) metapb.Result {
				return h.commit("b", "k", "v1", metapb.ObjectVersion{Segments: segs("v1", 2)})
			},
			check: func(t *testing.T, h *harness, r metapb.Result) {
				if !r.Existed || r.Version.ETag != "e-v1" || h.s.Stats().FeedLen != 1 || h.s.Stats().Garbage != 0 {
					t.Fatalf("%+v %+v", r, h.s.Stats())
				}
			},
		},
		{
			name: "unknown version with segments is fenced",
			do: func(h *harness) metapb.Result {
				return h.commit("b", "k", "nope", metapb.ObjectVersion{Segments: segs("nope", 1)})
			},
			wantErr: metapb.ErrConflict,
		},
		{
			name: "aborted version is fenced",
			setup: func(h *harness) {
				h.prepare("b", "k", "v1", "t", segs("v1", 1))
				h.apply(metapb.Command{Type: metapb.CmdAbort, Abort: &metapb.AbortRequest{Bucket: "b", Key: "k", VersionID: "v1"}})
			},
			do: func(h *harness) metapb.Result {
				return h.commit("b", "k", "v1", metapb.ObjectVersion{Segments: segs("v1", 1)})
			},
			wantErr: metapb.ErrConflict,
			check: func(t *testing.T, h *harness, r metapb.Result) {
				if _, ok := h.s.Get("b", "k"); ok {
					t.Fatal("fenced commit became visible")
				}
			},
		},
		{
			name:  "shards not planned",
			setup: func(h *harness) { h.prepare("b", "k", "v1", "t", segs("v1", 1)) },
			do: func(h *harness) metapb.Result {
				return h.commit("b", "k", "v1", metapb.ObjectVersion{Segments: segs("other", 1)})
			},
			wantErr: metapb.ErrBadRequest,
		},
		{
			name: "inline create and commit",
			do: func(h *harness) metapb.Result {
				return h.commit("b", "k", "v1", metapb.ObjectVersion{Inline: []byte("hello"), ETag: "x"})
			},
			check: func(t *testing.T, h *harness, r metapb.Result) {
				v, ok := h.s.Get("b", "k")
				if !ok || string(v.Inline) != "hello" || v.Size != 5 || r.Seq != 1 {
					t.Fatalf("%+v", v)
				}
				if l := h.s.List(metapb.ListRequest{Bucket: "b"}); len(l.Entries) != 1 || l.Entries[0].Version.Inline != nil {
					t.Fatalf("list shows inline bytes: %+v", l)
				}
			},
		},
		{
			name:  "inline retry by token with a new version id",
			setup: func(h *harness) { h.commit("b", "k", "v1", metapb.ObjectVersion{Inline: []byte("a"), Token: "T"}) },
			do: func(h *harness) metapb.Result {
				return h.commit("b", "k", "v2", metapb.ObjectVersion{Inline: []byte("a"), Token: "T"})
			},
			check: func(t *testing.T, h *harness, r metapb.Result) {
				if !r.Existed || r.Version.VersionID != "v1" || h.s.Stats().FeedLen != 1 {
					t.Fatalf("%+v", r)
				}
			},
		},
		{
			name:  "overwrite queues garbage",
			setup: func(h *harness) { h.put("b", "k", "v1", 2) },
			do:    func(h *harness) metapb.Result { return h.put("b", "k", "v2", 1) },
			check: func(t *testing.T, h *harness, r metapb.Result) {
				if r.Replaced == nil || r.Replaced.VersionID != "v1" {
					t.Fatalf("replaced %+v", r.Replaced)
				}
				g := h.s.ListGarbage(0)
				if len(g) != 1 || g[0].Reason != "overwritten" || len(g[0].Segments) != 2 || g[0].Segments[0].Shards[0].ID != "v1-0-0" {
					t.Fatalf("garbage %+v", g)
				}
				if st := h.s.Stats(); st.Bytes != 100 || st.Objects != 1 {
					t.Fatalf("stats %+v", st)
				}
			},
		},
		{
			name:  "overwrite of inline queues nothing",
			setup: func(h *harness) { h.put("b", "k", "v1", 0) },
			do:    func(h *harness) metapb.Result { return h.put("b", "k", "v2", 0) },
			check: func(t *testing.T, h *harness, r metapb.Result) {
				if r.Replaced == nil || h.s.Stats().Garbage != 0 {
					t.Fatalf("%+v %+v", r, h.s.Stats())
				}
			},
		},
		{
			name:  "unused planned shards become garbage",
			setup: func(h *harness) { h.prepare("b", "k", "v1", "t", segs("v1", 3)) },
			do: func(h *harness) metapb.Result {
				return h.commit("b", "k", "v1", metapb.ObjectVersion{Segments: segs("v1", 3)[:1]})
			},
			check: func(t *testing.T, h *harness, r metapb.Result) {
				g := h.s.ListGarbage(0)
				if len(g) != 1 || g[0].Reason != "unused" || len(g[0].Segments) != 2 {
					t.Fatalf("garbage %+v", g)
				}
			},
		},
		{
			name:  "small object committed inline after a sharded prepare",
			setup: func(h *harness) { h.prepare("b", "k", "v1", "t", segs("v1", 1)) },
			do: func(h *harness) metapb.Result {
				return h.commit("b", "k", "v1", metapb.ObjectVersion{Inline: []byte("tiny")})
			},
			check: func(t *testing.T, h *harness, r metapb.Result) {
				if g := garbageByReason(h.s); g["unused"] != 1 {
					t.Fatalf("garbage %+v", g)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			r := tc.do(h)
			if r.Err != tc.wantErr {
				t.Fatalf("err %q (%s), want %q", r.Err, r.ErrMsg, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, h, r)
			}
		})
	}
}

func TestConditionalCommit(t *testing.T) {
	cases := []struct {
		name        string
		existing    bool
		ifMatch     string
		ifNoneMatch string
		want        string
	}{
		{"if-none-match * on absent", false, "", "*", ""},
		{"if-none-match * on present", true, "", "*", metapb.ErrPrecondition},
		{"if-none-match other etag", true, "", `"zzz"`, ""},
		{"if-none-match same etag", true, "", `"e-old"`, metapb.ErrPrecondition},
		{"if-match same etag", true, `"e-old"`, "", ""},
		{"if-match list", true, `"a", "e-old"`, "", ""},
		{"if-match other", true, `"zzz"`, "", metapb.ErrPrecondition},
		{"if-match on absent", false, `"e-old"`, "", metapb.ErrNotFound}, // S3: 404 NoSuchKey
		{"if-match * on absent", false, "*", "", metapb.ErrNotFound},
		{"if-match * on present", true, "*", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.existing {
				h.put("b", "k", "old", 1)
			}
			sg := segs("new", 1)
			h.prepare("b", "k", "new", "t", sg)
			r := h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: "k", VersionID: "new",
				Final: metapb.ObjectVersion{ETag: "e-new", Segments: sg}, IfMatch: tc.ifMatch, IfNoneMatch: tc.ifNoneMatch}})
			if r.Err != tc.want {
				t.Fatalf("err %q, want %q", r.Err, tc.want)
			}
			cur, ok := h.s.Get("b", "k")
			switch {
			case tc.want == "" && cur.VersionID != "new":
				t.Fatalf("current %+v", cur)
			case tc.want != "" && tc.existing && cur.VersionID != "old":
				t.Fatalf("failed commit changed current: %+v", cur)
			case tc.want != "" && !tc.existing && ok:
				t.Fatalf("failed commit visible: %+v", cur)
			}
			if tc.want != "" {
				// The version stays PREPARING for the gateway to abort;
				// a retried conditional commit after success is Existed.
				if v, ok := h.s.GetVersion("b", "k", "new"); !ok || v.State != metapb.StatePreparing {
					t.Fatalf("prepared version after failed condition: %v %+v", ok, v)
				}
			} else {
				r := h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: "k", VersionID: "new",
					Final: metapb.ObjectVersion{ETag: "e-new", Segments: sg}, IfMatch: tc.ifMatch, IfNoneMatch: tc.ifNoneMatch}})
				if r.Err != "" || !r.Existed {
					t.Fatalf("retried conditional commit: %+v", r)
				}
			}
		})
	}
}

func TestAbortAndDelete(t *testing.T) {
	h := newHarness(t)
	h.prepare("b", "k", "p1", "t1", segs("p1", 2))
	r := h.apply(metapb.Command{Type: metapb.CmdAbort, Abort: &metapb.AbortRequest{Bucket: "b", Key: "k", VersionID: "p1"}})
	if r.Err != "" || r.Version == nil {
		t.Fatalf("abort: %+v", r)
	}
	if g := h.s.ListGarbage(0); len(g) != 1 || g[0].Reason != "aborted" || len(g[0].Segments) != 2 {
		t.Fatalf("garbage %+v", g)
	}
	// Abort again / of an unknown version: idempotent success.
	if r := h.apply(metapb.Command{Type: metapb.CmdAbort, Abort: &metapb.AbortRequest{Bucket: "b", Key: "k", VersionID: "p1"}}); r.Err != "" {
		t.Fatalf("abort twice: %+v", r)
	}
	if h.s.Stats().Garbage != 1 {
		t.Fatal("second abort queued garbage")
	}
	// Abort of a committed version: conflict, nothing changes.
	h.put("b", "k", "c1", 1)
	if r := h.apply(metapb.Command{Type: metapb.CmdAbort, Abort: &metapb.AbortRequest{Bucket: "b", Key: "k", VersionID: "c1"}}); r.Err != metapb.ErrConflict {
		t.Fatalf("abort committed: %+v", r)
	}
	if _, ok := h.s.Get("b", "k"); !ok {
		t.Fatal("abort removed a committed version")
	}
	// Delete.
	r = h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: "k"}})
	if r.Err != "" || r.Version == nil || r.Version.VersionID != "c1" || r.Seq != 2 {
		t.Fatalf("delete: %+v", r)
	}
	if _, ok := h.s.Get("b", "k"); ok {
		t.Fatal("deleted key visible")
	}
	if g := garbageByReason(h.s); g["deleted"] != 1 {
		t.Fatalf("garbage %+v", g)
	}
	feed := h.s.ReadFeed(0, 0)
	if len(feed) != 2 || feed[1].Op != metapb.FeedDelete || feed[1].VersionID != "c1" {
		t.Fatalf("feed %+v", feed)
	}
	// Delete of an absent key: success, no feed entry.
	r = h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: "k"}})
	if r.Err != "" || r.Version != nil || r.Seq != 0 || h.s.Stats().FeedLen != 2 {
		t.Fatalf("delete absent: %+v", r)
	}
	// Delete of an inline object queues no garbage.
	h.put("b", "i", "i1", 0)
	before := h.s.Stats().Garbage
	h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: "i"}})
	if h.s.Stats().Garbage != before {
		t.Fatal("inline delete queued garbage")
	}
	// AckGarbage removes entries.
	var ids []uint64
	for _, g := range h.s.ListGarbage(0) {
		ids = append(ids, g.ID)
	}
	if ids[0] >= ids[1] {
		t.Fatalf("garbage ids not increasing: %v", ids)
	}
	h.apply(metapb.Command{Type: metapb.CmdAckGarbage, AckGarbage: &metapb.AckGarbageRequest{IDs: []uint64{ids[0], 999}}})
	if g := h.s.ListGarbage(0); len(g) != len(ids)-1 || g[0].ID != ids[1] {
		t.Fatalf("after ack: %+v", g)
	}
}

func TestBadCommands(t *testing.T) {
	cmds := []*metapb.Command{
		nil,
		{},
		{Type: 200},
		{Type: metapb.CmdPrepare},
		{Type: metapb.CmdCommit},
		{Type: metapb.CmdAbort},
		{Type: metapb.CmdDelete},
		{Type: metapb.CmdCreateUpload},
		{Type: metapb.CmdPreparePart},
		{Type: metapb.CmdCommitPart},
		{Type: metapb.CmdAbortPart},
		{Type: metapb.CmdCompleteUpload},
		{Type: metapb.CmdAbortUpload},
		{Type: metapb.CmdAckFeed},
		{Type: metapb.CmdAckGarbage, Prepare: &metapb.PrepareRequest{}},
		{Type: metapb.CmdPrepare, Prepare: &metapb.PrepareRequest{}},
		{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{}},
		{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b"}},
		{Type: metapb.CmdAckFeed, AckFeed: &metapb.AckFeedRequest{}},
		{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{Bucket: "b", Key: "k", UploadID: "u", Attempt: "a", Number: 0}}},
	}
	s := New()
	for i, c := range cmds {
		r := s.Apply(uint64(i+1), c)
		if r.Err != metapb.ErrBadRequest {
			t.Errorf("command %d (%+v): err %q, want BadRequest", i, c, r.Err)
		}
	}
	if s.LastApplied() != uint64(len(cmds)) {
		t.Fatalf("last applied %d", s.LastApplied())
	}
	if st := s.Stats(); st.Objects+st.Preparing+st.Uploads+st.Parts+st.Garbage+st.FeedLen != 0 {
		t.Fatalf("bad commands changed state: %+v", st)
	}
}

func TestTokenPruning(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 40; i++ {
		h.put("b", fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), 0)
	}
	if n := h.s.Stats().Tokens; n != 40 {
		t.Fatalf("tokens %d", n)
	}
	// 23h later the tokens still hold.
	h.now = h.now.Add(23 * time.Hour)
	if r := h.commit("b", "k0", "again", metapb.ObjectVersion{Inline: []byte("x"), Token: "tok-v0"}); !r.Existed {
		t.Fatalf("token forgotten early: %+v", r)
	}
	// Past 24h every Apply prunes a bounded batch.
	h.now = h.now.Add(2 * time.Hour)
	h.apply(metapb.Command{Type: metapb.CmdAckGarbage, AckGarbage: &metapb.AckGarbageRequest{}})
	if n := h.s.Stats().Tokens; n != 40-prunePerApply {
		t.Fatalf("after one apply: %d tokens", n)
	}
	for i := 0; i < 3; i++ {
		h.apply(metapb.Command{Type: metapb.CmdAckGarbage, AckGarbage: &metapb.AckGarbageRequest{}})
	}
	if n := h.s.Stats().Tokens; n != 0 {
		t.Fatalf("tokens left %d", n)
	}
}

// TestVisibleIffCommittedRandom drives random PUT/abort/delete histories
// and checks, after every step, that readers see exactly the model's
// committed versions.
func TestVisibleIffCommittedRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	h := newHarness(t)
	model := map[string]string{} // key → committed vid
	pending := map[string]string{}
	keys := []string{"a", "b/c", "b/d", "é/x", "z"}
	for step := 0; step < 3000; step++ {
		k := keys[rng.Intn(len(keys))]
		vid := fmt.Sprintf("v%05d", step)
		switch rng.Intn(5) {
		case 0:
			if pending[k] == "" {
				h.prepare("b", k, vid, "t"+vid, segs(vid, 1))
				pending[k] = vid
			}
		case 1:
			if p := pending[k]; p != "" {
				if r := h.commit("b", k, p, metapb.ObjectVersion{Segments: segs(p, 1)}); r.Err != "" {
					t.Fatal(r)
				}
				model[k], pending[k] = p, ""
			}
		case 2:
			if p := pending[k]; p != "" {
				h.apply(metapb.Command{Type: metapb.CmdAbort, Abort: &metapb.AbortRequest{Bucket: "b", Key: k, VersionID: p}})
				pending[k] = ""
			}
		case 3:
			h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: k}})
			delete(model, k)
		case 4:
			h.put("b", k, vid, 0)
			model[k] = vid
		}
		for _, k := range keys {
			v, ok := h.s.Get("b", k)
			if ok != (model[k] != "") || (ok && (v.VersionID != model[k] || v.State != metapb.StateCommitted)) {
				t.Fatalf("step %d key %q: got %v %+v, model %q", step, k, ok, v, model[k])
			}
		}
		l := h.s.List(metapb.ListRequest{Bucket: "b"})
		if len(l.Entries) != len(model) {
			t.Fatalf("step %d: list %d entries, model %d", step, len(l.Entries), len(model))
		}
		for _, e := range l.Entries {
			if e.Version.State != metapb.StateCommitted || model[e.Version.Key] != e.Version.VersionID {
				t.Fatalf("step %d: listed %+v", step, e.Version)
			}
		}
	}
	checkNoLeakedShards(t, h.s)
}

// checkNoLeakedShards asserts the GC accounting: every shard ever planned
// is referenced by exactly one of: a committed version (current or
// noncurrent), a PREPARING version, a part attempt, or a garbage entry —
// never by two (no referenced shard is garbage) and never by none (no
// leak). It also checks the version indexes (checkVersionIndexes).
func checkNoLeakedShards(t *testing.T, s *State) {
	t.Helper()
	owner := map[shardID]string{}
	claim := func(what string, sg []metapb.Segment) {
		for _, seg := range sg {
			for _, sh := range seg.Shards {
				id := shardID{sh.Node, sh.ID}
				if prev, ok := owner[id]; ok {
					t.Fatalf("shard %v held by %s and %s", id, prev, what)
				}
				owner[id] = what
			}
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	checkVersionIndexes(t, s.t)
	s.t.vers.Ascend(func(v *metapb.ObjectVersion) bool { claim("version "+v.Key+"@"+v.Ver, v.Segments); return true })
	s.t.prep.Ascend(func(v *metapb.ObjectVersion) bool { claim("preparing "+v.Key, v.Segments); return true })
	s.t.parts.Ascend(func(p *metapb.Part) bool { claim("part", p.Segments); return true })
	s.t.garbage.Ascend(func(g *metapb.Garbage) bool { claim("garbage "+g.Reason, g.Segments); return true })
	// The orphan scan's view (refs.go) visits exactly these shards: a
	// record kind added above must be added to eachShardHolder too, or
	// the scan would delete its shards.
	seen := map[shardID]bool{}
	s.t.eachShardHolder(func(_ bool, sg []metapb.Segment) {
		for _, seg := range sg {
			for _, sh := range seg.Shards {
				seen[shardID{sh.Node, sh.ID}] = true
			}
		}
	})
	if len(seen) != len(owner) {
		t.Fatalf("eachShardHolder visits %d shards, the accounting counts %d", len(seen), len(owner))
	}
	var all []metapb.ShardRef
	for id := range owner {
		if !seen[id] {
			t.Fatalf("eachShardHolder misses %v (%s)", id, owner[id])
		}
		all = append(all, metapb.ShardRef{Node: id.node, ID: id.id})
	}
	s.mu.RUnlock()
	defer s.mu.RLock()
	for lo := 0; lo < len(all); lo += MaxRefCheck {
		if un := s.Unreferenced(all[lo:min(lo+MaxRefCheck, len(all))]); len(un) != 0 {
			t.Fatalf("Unreferenced calls referenced shards orphans: %v", un)
		}
	}
}

// checkVersionIndexes: cur holds exactly each key's newest record when it is
// not a delete marker (the same pointer), nulls exactly each key's null
// record, ids are unique and not after the version clock, and markers carry
// no data. The caller holds the lock.
func checkVersionIndexes(t *testing.T, tr *trees) {
	t.Helper()
	curs, nulls := 0, 0
	var bytes int64
	prevB, prevK, first := "", "", true
	tr.vers.Ascend(func(v *metapb.ObjectVersion) bool {
		newest := first || v.Bucket != prevB || v.Key != prevK
		first, prevB, prevK = false, v.Bucket, v.Key
		c := tr.current(v.Bucket, v.Key)
		if newest && !v.IsDeleteMarker() {
			if c != v {
				t.Fatalf("%s/%s: cur %p is not the newest record %p", v.Bucket, v.Key, c, v)
			}
			curs++
			bytes += v.Size
		}
		if newest && v.IsDeleteMarker() && c != nil {
			t.Fatalf("%s/%s: cur set while the newest record is a delete marker", v.Bucket, v.Key)
		}
		if v.Null {
			nulls++
			if tr.nullOf(v.Bucket, v.Key) != v {
				t.Fatalf("%s/%s: null index misses %s", v.Bucket, v.Key, v.Ver)
			}
		}
		if at, ok := DecodeVer(v.Ver); !ok || at.UnixNano() > tr.verClock {
			t.Fatalf("%s/%s: bad version id %q", v.Bucket, v.Key, v.Ver)
		}
		if v.IsDeleteMarker() && (len(v.Segments) > 0 || len(v.Inline) > 0 || v.Size != 0) {
			t.Fatalf("%s/%s: delete marker with data", v.Bucket, v.Key)
		}
		return true
	})
	if curs != tr.cur.Len() || nulls != tr.nulls.Len() || bytes != tr.bytes {
		t.Fatalf("indexes: cur %d/%d, nulls %d/%d, bytes %d/%d", curs, tr.cur.Len(), nulls, tr.nulls.Len(), bytes, tr.bytes)
	}
}

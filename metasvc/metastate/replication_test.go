package metastate

import (
	"bytes"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// replica commits a replicated version of key with the source's id ver
// (inline, or with one segment after a PREPARE when vid is not "").
func (h *harness) replica(key, vid, ver string, withShards bool) metapb.Result {
	h.t.Helper()
	final := metapb.ObjectVersion{Ver: ver, ETag: "e-" + ver, Size: 100, Created: t0, UserMeta: map[string]string{"m": ver}}
	if withShards {
		sg := segs(vid, 1)
		if r := h.prepare("b", key, vid, "", sg); r.Err != "" {
			h.t.Fatalf("prepare: %s", r.ErrMsg)
		}
		final.Segments = sg
	} else {
		final.Inline = []byte("data-" + ver)
	}
	return h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: key, VersionID: vid,
		Final: final, Versioning: metapb.VersioningEnabled, Replica: true}})
}

// replicaNull commits a replica of a source's null version (inline).
func (h *harness) replicaNull(key, vid, ver string) metapb.Result {
	h.t.Helper()
	return h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: key, VersionID: vid,
		Final:      metapb.ObjectVersion{Ver: ver, Null: true, ETag: "e-" + ver, Size: 4, Created: t0, Inline: []byte("null")},
		Versioning: metapb.VersioningEnabled, Replica: true}})
}

func (h *harness) nullVer(key string) string {
	v, ok := h.s.GetVer("b", key, metapb.NullVersion)
	if !ok {
		return ""
	}
	return v.Ver
}

func (h *harness) replicaMarker(key, ver string) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: key,
		Replica: &metapb.ReplicaMarker{Ver: ver, Created: t0}}})
}

func (h *harness) latestVer(key string) string {
	v, ok := h.s.Latest("b", key)
	if !ok {
		return ""
	}
	return v.Ver
}

func TestReplicaWrites(t *testing.T) {
	v1, v2, v3 := EncodeVer(t0.UnixNano()+1, "src"), EncodeVer(t0.UnixNano()+2, "src"), EncodeVer(t0.UnixNano()+3, "src")
	for _, tc := range []struct {
		name string
		run  func(h *harness)
		// want: the key's versions newest first, and which is current ("" none)
		want []string
		cur  string
	}{
		{"in order", func(h *harness) { h.replica("k", "r1", v1, false); h.replica("k", "r2", v2, true) }, []string{v2, v1}, v2},
		{"older after newer stays noncurrent", func(h *harness) {
			h.replica("k", "r2", v2, true)
			if r := h.replica("k", "r1", v1, false); r.Err != "" || r.Replaced != nil {
				t.Fatalf("older replica: %+v", r)
			}
		}, []string{v2, v1}, v2},
		{"same id twice is a no-op", func(h *harness) {
			h.replica("k", "r1", v1, false)
			r := h.replica("k", "r1b", v1, true) // a second attempt with its own shards
			if r.Err != "" || !r.Existed || r.Version.VersionID != "r1" {
				t.Fatalf("second replica of one version: %+v", r)
			}
			if g := h.s.ListGarbage(100); len(g) != 1 || g[0].Reason != "replica exists" {
				t.Fatalf("the second attempt's shards are not garbage: %+v", g)
			}
		}, []string{v1}, v1},
		{"marker newest hides the key", func(h *harness) { h.replica("k", "r1", v1, false); h.replicaMarker("k", v2) }, []string{v2, v1}, ""},
		{"marker older than a version does not hide it", func(h *harness) {
			h.replica("k", "r3", v3, false)
			h.replicaMarker("k", v2)
			if r := h.replicaMarker("k", v2); !r.Existed {
				t.Fatalf("marker twice: %+v", r)
			}
		}, []string{v3, v2}, v3},
		{"null replica is the key's null version", func(h *harness) {
			h.replicaNull("k", "n1", v1)
			if h.nullVer("k") != v1 {
				t.Fatalf("null version %q, want %s", h.nullVer("k"), v1)
			}
		}, []string{v1}, v1},
		{"newer null replica replaces the older null version", func(h *harness) {
			h.replicaNull("k", "n1", v1)
			h.replica("k", "r2", v2, false)
			if r := h.replicaNull("k", "n3", v3); r.Err != "" || r.Existed {
				t.Fatalf("newer null replica: %+v", r)
			}
			if h.nullVer("k") != v3 {
				t.Fatalf("null version %q, want %s", h.nullVer("k"), v3)
			}
		}, []string{v3, v2}, v3},
		{"older null replica after a newer null version is a no-op", func(h *harness) {
			h.replicaNull("k", "n2", v2)
			if r := h.replicaNull("k", "n1", v1); r.Err != "" || !r.Existed || r.Version.Ver != v2 {
				t.Fatalf("older null replica: %+v", r)
			}
			if h.nullVer("k") != v2 {
				t.Fatalf("null version %q, want %s", h.nullVer("k"), v2)
			}
		}, []string{v2}, v2},
		{"null replica older than a version stays noncurrent", func(h *harness) {
			h.replica("k", "r3", v3, false)
			h.replicaNull("k", "n1", v1)
			if h.nullVer("k") != v1 {
				t.Fatalf("null version %q, want %s", h.nullVer("k"), v1)
			}
		}, []string{v3, v1}, v3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.run(h)
			var got []string
			h.s.mu.RLock()
			h.s.t.keyVersions("b", "k", func(v *metapb.ObjectVersion) bool {
				got = append(got, v.Ver)
				if v.Replication != metapb.ReplReplica {
					t.Errorf("version %s has status %q, want REPLICA", v.Ver, v.Replication)
				}
				return true
			})
			h.s.mu.RUnlock()
			if len(got) != len(tc.want) {
				t.Fatalf("versions %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("versions %v, want %v", got, tc.want)
				}
			}
			cur, ok := h.s.Get("b", "k")
			if (tc.cur == "") == ok || (ok && cur.Ver != tc.cur) {
				t.Fatalf("current %q (%v), want %q", cur.Ver, ok, tc.cur)
			}
		})
	}
}

// A local write after a replica from a clock ahead of this partition's
// still gets a greater id and becomes current.
func TestReplicaMovesVersionClock(t *testing.T) {
	h := newHarness(t)
	future := EncodeVer(t0.Add(time.Hour).UnixNano(), "src")
	h.replica("k", "r1", future, false)
	v := h.putV("k", "local", metapb.VersioningEnabled)
	if v.Ver <= future {
		t.Fatalf("local version %s not after the replica's %s", v.Ver, future)
	}
	if cur, _ := h.s.Get("b", "k"); cur.Ver != v.Ver {
		t.Fatalf("current %s, want the local write %s", cur.Ver, v.Ver)
	}
	// and the clock survives a snapshot
	var buf bytes.Buffer
	if _, err := h.s.Snapshot().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	r := New()
	if err := r.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	h2 := &harness{t: t, s: r, index: h.index, now: t0}
	if v2 := h2.putV("k", "local2", metapb.VersioningEnabled); v2.Ver <= v.Ver {
		t.Fatalf("after restore: %s not after %s", v2.Ver, v.Ver)
	}
}

func TestReplicaBadInput(t *testing.T) {
	h := newHarness(t)
	for _, ver := range []string{"", "null", "short"} {
		if r := h.replica("k", "r", ver, false); r.Err != metapb.ErrBadRequest {
			t.Fatalf("replica with id %q: %+v", ver, r)
		}
		if r := h.replicaMarker("k", ver); r.Err != metapb.ErrBadRequest {
			t.Fatalf("replica marker with id %q: %+v", ver, r)
		}
	}
	if r := h.seal(metapb.CmdSealBucket, "b"); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	if r := h.replica("k", "r", EncodeVer(1, "x"), false); r.Err != metapb.ErrBucketSealed {
		t.Fatalf("replica into a sealed bucket: %+v", r)
	}
}

func TestReplStatus(t *testing.T) {
	h := newHarness(t)
	sg := segs("v", 1)
	h.prepare("b", "k", "v", "", sg)
	r := h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: "k", VersionID: "v",
		Final: metapb.ObjectVersion{Size: 100, ETag: "e", Segments: sg, Replication: metapb.ReplPending}, Versioning: metapb.VersioningEnabled}})
	ver := r.Version.Ver
	set := func(st string) metapb.Result {
		return h.apply(metapb.Command{Type: metapb.CmdReplStatus, ReplStatus: &metapb.ReplStatusRequest{Bucket: "b", Key: "k", Ver: ver, Status: st}})
	}
	status := func() string { v, _ := h.s.GetVer("b", "k", ver); return v.Replication }
	if status() != metapb.ReplPending {
		t.Fatalf("committed as %q", status())
	}
	for _, step := range []struct{ set, want string }{
		{metapb.ReplFailed, metapb.ReplFailed},
		{metapb.ReplCompleted, metapb.ReplCompleted},
		{metapb.ReplFailed, metapb.ReplCompleted}, // COMPLETED is final
	} {
		if r := set(step.set); r.Err != "" {
			t.Fatal(r.ErrMsg)
		}
		if got := status(); got != step.want {
			t.Fatalf("after %s: %s, want %s", step.set, got, step.want)
		}
	}
	if cur, _ := h.s.Get("b", "k"); cur.Replication != metapb.ReplCompleted {
		t.Fatalf("current record not replaced: %q", cur.Replication)
	}
	if r := set("DONE"); r.Err != metapb.ErrBadRequest {
		t.Fatalf("set DONE: %+v", r)
	}
	// A resync marks a version written before the rule PENDING and feeds it again.
	old := h.putV("old", "o1", metapb.VersioningEnabled)
	before := h.s.ReadFeed(0, 1000)
	r = h.apply(metapb.Command{Type: metapb.CmdReplStatus, ReplStatus: &metapb.ReplStatusRequest{Bucket: "b", Key: "old", Ver: old.Ver, Status: metapb.ReplPending}})
	if r.Err != "" || r.Version.Replication != metapb.ReplPending || r.Seq == 0 {
		t.Fatalf("resync: %+v", r)
	}
	if after := h.s.ReadFeed(0, 1000); len(after) != len(before)+1 || after[len(after)-1].Ver != old.Ver {
		t.Fatalf("resync wrote no feed entry for %s", old.Ver)
	}
	// Null versions (written before versioning was enabled) too.
	null := h.putV("nullkey", "n1", metapb.VersioningOff)
	r = h.apply(metapb.Command{Type: metapb.CmdReplStatus, ReplStatus: &metapb.ReplStatusRequest{Bucket: "b", Key: "nullkey", Ver: null.Ver, Status: metapb.ReplPending}})
	if r.Err != "" || r.Version.Replication != metapb.ReplPending || !r.Version.Null || r.Seq == 0 {
		t.Fatalf("resync of a null version: %+v", r)
	}
	if after := h.s.ReadFeed(0, 1000); !after[len(after)-1].Null {
		t.Fatalf("the null version's feed entry is not marked null: %+v", after[len(after)-1])
	}
	if r := set(metapb.ReplPending); !r.Existed || r.Version.Replication != metapb.ReplCompleted {
		t.Fatalf("resync of a COMPLETED version: %+v", r)
	}
	// A delete marker written with a status keeps it.
	m := h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: "k",
		Versioning: metapb.VersioningEnabled, Replication: metapb.ReplPending}})
	if m.Version.Replication != metapb.ReplPending {
		t.Fatalf("marker status %q", m.Version.Replication)
	}
}

package metastate

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// applyAt applies cmd with Time at (the harness clock jumps there).
func (h *harness) applyAt(at time.Time, cmd metapb.Command) metapb.Result {
	h.index++
	h.now = at
	cmd.Time = at
	return h.s.Apply(h.index, &cmd)
}

// putLocked commits a 1-segment version under mode with lock l.
func (h *harness) putLocked(key, vid string, mode metapb.Versioning, l *metapb.ObjectLock) metapb.Result {
	h.t.Helper()
	sg := segs(vid, 1)
	if r := h.prepare("b", key, vid, "", sg); r.Err != "" {
		h.t.Fatalf("prepare %s: %s", vid, r.ErrMsg)
	}
	return h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: key, VersionID: vid,
		Final: metapb.ObjectVersion{Size: 100, ETag: "e-" + vid, Segments: sg, Lock: l}, Versioning: mode}})
}

func (h *harness) delBypass(key, version string, mode metapb.Versioning, bypass bool) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: key, Version: version,
		Versioning: mode, Owner: "o", BypassGovernance: bypass}})
}

func (h *harness) putLock(r metapb.PutLockRequest) metapb.Result {
	r.Bucket = "b"
	return h.apply(metapb.Command{Type: metapb.CmdPutLock, PutLock: &r})
}

func boolp(b bool) *bool { return &b }

// TestObjectLockRefusesRemoval: a version under COMPLIANCE retention, under
// GOVERNANCE retention without the bypass, or under a legal hold cannot be
// removed by a delete naming it; nothing changes (no garbage, still
// readable); a delete without a version id still adds a marker.
func TestObjectLockRefusesRemoval(t *testing.T) {
	h := newHarness(t)
	until := t0.Add(time.Hour)
	en := metapb.VersioningEnabled
	comp := h.putLocked("k", "c", en, &metapb.ObjectLock{Mode: "COMPLIANCE", Until: until}).Version
	gov := h.putLocked("k", "g", en, &metapb.ObjectLock{Mode: "GOVERNANCE", Until: until}).Version
	hold := h.putLocked("k", "h", en, &metapb.ObjectLock{LegalHold: true}).Version
	free := h.putLocked("k", "f", en, nil).Version
	garbage := len(h.s.ListGarbage(0))

	for _, c := range []struct {
		name   string
		ver    string
		bypass bool
	}{{"compliance", comp.Ver, false}, {"compliance with bypass", comp.Ver, true}, {"governance", gov.Ver, false},
		{"legal hold", hold.Ver, false}, {"legal hold with bypass", hold.Ver, true}} {
		r := h.delBypass("k", c.ver, en, c.bypass)
		if r.Err != metapb.ErrObjectLocked {
			t.Fatalf("%s: %+v, want ObjectLocked", c.name, r)
		}
		if _, ok := h.s.GetVer("b", "k", c.ver); !ok {
			t.Fatalf("%s: version gone", c.name)
		}
	}
	if n := len(h.s.ListGarbage(0)); n != garbage {
		t.Fatalf("refused deletes queued garbage: %d → %d", garbage, n)
	}
	// A plain delete adds a marker: allowed, every version stays.
	if r := h.delBypass("k", "", en, false); r.Err != "" || !r.Version.IsDeleteMarker() {
		t.Fatalf("marker: %+v", r)
	}
	if got := history(h.s, "k"); got != "DM f h g c" {
		t.Fatalf("history %q", got)
	}
	// Unprotected and bypassed GOVERNANCE versions go.
	if r := h.delBypass("k", free.Ver, en, false); r.Err != "" {
		t.Fatalf("free: %+v", r)
	}
	if r := h.delBypass("k", gov.Ver, en, true); r.Err != "" || r.Version.Ver != gov.Ver {
		t.Fatalf("governance bypass: %+v", r)
	}
	// The legal hold released, the version goes.
	if r := h.putLock(metapb.PutLockRequest{Key: "k", Ver: hold.Ver, LegalHold: boolp(false)}); r.Err != "" || r.Version.Lock != nil {
		t.Fatalf("release hold: %+v", r)
	}
	if r := h.delBypass("k", hold.Ver, en, false); r.Err != "" {
		t.Fatalf("released: %+v", r)
	}
	if got := history(h.s, "k"); got != "DM c" {
		t.Fatalf("history %q", got)
	}
	checkNoLeakedShards(t, h.s)
}

// TestObjectLockClockEdge: retention ends exactly at Until, by the
// command's time: 1 ns before it the delete is refused, at it allowed.
func TestObjectLockClockEdge(t *testing.T) {
	h := newHarness(t)
	until := t0.Add(time.Minute)
	v := h.putLocked("k", "v", metapb.VersioningEnabled, &metapb.ObjectLock{Mode: "COMPLIANCE", Until: until}).Version
	del := metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: "k", Version: v.Ver, BypassGovernance: true}}
	if r := h.applyAt(until.Add(-time.Nanosecond), del); r.Err != metapb.ErrObjectLocked {
		t.Fatalf("1 ns before: %+v", r)
	}
	// A command from a leader whose clock is behind (an earlier Time after
	// a later one) is judged by its own Time: still protected.
	if r := h.applyAt(t0, del); r.Err != metapb.ErrObjectLocked {
		t.Fatalf("clock behind: %+v", r)
	}
	if r := h.applyAt(until, del); r.Err != "" || r.Version == nil {
		t.Fatalf("at until: %+v", r)
	}
}

// TestObjectLockNullVersion: a protected null version (written while
// versioning was off or suspended) is neither overwritten, deleted, nor
// replaced by a suspended bucket's null marker; the overwrite's PREPARE
// stays for the writer to abort.
func TestObjectLockNullVersion(t *testing.T) {
	h := newHarness(t)
	until := t0.Add(time.Hour)
	n := h.putLocked("k", "n", metapb.VersioningOff, &metapb.ObjectLock{Mode: "GOVERNANCE", Until: until})
	if n.Err != "" || !n.Version.Null {
		t.Fatalf("null put: %+v", n)
	}
	for _, mode := range []metapb.Versioning{metapb.VersioningOff, metapb.VersioningSuspended} {
		r := h.putLocked("k", fmt.Sprintf("over%d", mode), mode, nil)
		if r.Err != metapb.ErrObjectLocked {
			t.Fatalf("overwrite under %d: %+v", mode, r)
		}
		if r := h.delBypass("k", "", mode, false); r.Err != metapb.ErrObjectLocked {
			t.Fatalf("delete under %d: %+v", mode, r)
		}
	}
	if got := history(h.s, "k"); got != "n(null)" {
		t.Fatalf("history %q", got)
	}
	// Versioning enabled: a new version is added, the null one kept.
	if r := h.putLocked("k", "v2", metapb.VersioningEnabled, nil); r.Err != "" {
		t.Fatalf("versioned put: %+v", r)
	}
	if r := h.delBypass("k", "null", metapb.VersioningEnabled, false); r.Err != metapb.ErrObjectLocked {
		t.Fatalf("named null: %+v", r)
	}
	if r := h.delBypass("k", "null", metapb.VersioningEnabled, true); r.Err != "" {
		t.Fatalf("named null with bypass: %+v", r)
	}
	// The refused overwrites' PREPAREs are still there for their writers.
	for _, vid := range []string{"over0", "over2"} {
		if r := h.apply(metapb.Command{Type: metapb.CmdAbort, Abort: &metapb.AbortRequest{Bucket: "b", Key: "k", VersionID: vid}}); r.Err != "" || r.Version == nil {
			t.Fatalf("abort %s: %+v", vid, r)
		}
	}
	checkNoLeakedShards(t, h.s)
}

// TestObjectLockMultipart: an upload's lock goes to its object; the
// bucket default applies only when the upload has no retention.
func TestObjectLockMultipart(t *testing.T) {
	h := newHarness(t)
	until := t0.Add(time.Hour)
	def := &metapb.ObjectLock{Mode: "GOVERNANCE", Until: t0.Add(24 * time.Hour)}
	for i, c := range []struct {
		upload *metapb.ObjectLock
		want   metapb.ObjectLock
	}{
		{nil, *def},
		{&metapb.ObjectLock{Mode: "COMPLIANCE", Until: until}, metapb.ObjectLock{Mode: "COMPLIANCE", Until: until}},
		{&metapb.ObjectLock{LegalHold: true}, metapb.ObjectLock{Mode: "GOVERNANCE", Until: def.Until, LegalHold: true}},
	} {
		key, uid := fmt.Sprintf("mp%d", i), fmt.Sprintf("u%d", i)
		if r := h.apply(metapb.Command{Type: metapb.CmdCreateUpload, CreateUpload: &metapb.CreateUploadRequest{Upload: metapb.Upload{
			Bucket: "b", Key: key, UploadID: uid, Lock: c.upload}}}); r.Err != "" {
			t.Fatal(r)
		}
		if r := h.uploadPart(key, uid, 1, "a", 10, "e1", 1, nil); r.Err != "" {
			t.Fatal(r)
		}
		r := h.apply(metapb.Command{Type: metapb.CmdCompleteUpload, CompleteUpload: &metapb.CompleteUploadRequest{
			Bucket: "b", Key: key, UploadID: uid, VersionID: "v" + uid, Parts: []metapb.CompletePart{{Number: 1, ETag: "e1"}},
			Versioning: metapb.VersioningEnabled, DefaultLock: def}})
		if r.Err != "" || r.Version.Lock == nil || *r.Version.Lock != c.want {
			t.Fatalf("case %d: %+v lock %+v, want %+v", i, r, r.Version.Lock, c.want)
		}
		if d := h.delBypass(key, r.Version.Ver, metapb.VersioningEnabled, false); d.Err != metapb.ErrObjectLocked {
			t.Fatalf("case %d: delete %+v", i, d)
		}
	}
}

// TestPutLockRules: retention changes follow s3lock.RetentionChange; a
// delete marker and an absent version are refused; the record keeps its
// data; the lock survives a snapshot.
func TestPutLockRules(t *testing.T) {
	h := newHarness(t)
	en := metapb.VersioningEnabled
	until := t0.Add(time.Hour)
	v := h.putLocked("k", "v", en, nil).Version
	ret := func(mode string, d time.Duration) *metapb.ObjectLock {
		if mode == "" {
			return &metapb.ObjectLock{}
		}
		return &metapb.ObjectLock{Mode: mode, Until: until.Add(d)}
	}
	steps := []struct {
		name   string
		r      *metapb.ObjectLock
		bypass bool
		code   string
	}{
		{"set governance", ret("GOVERNANCE", 0), false, ""},
		{"shorten governance", ret("GOVERNANCE", -time.Minute), false, metapb.ErrObjectLocked},
		{"shorten governance bypass", ret("GOVERNANCE", -time.Minute), true, ""},
		{"remove governance", ret("", 0), false, metapb.ErrObjectLocked},
		{"extend governance", ret("GOVERNANCE", time.Minute), false, ""},
		{"to compliance", ret("COMPLIANCE", time.Minute), false, ""},
		{"shorten compliance", ret("COMPLIANCE", 0), true, metapb.ErrObjectLocked},
		{"to governance", ret("GOVERNANCE", 2*time.Minute), true, metapb.ErrObjectLocked},
		{"remove compliance", ret("", 0), true, metapb.ErrObjectLocked},
		{"extend compliance", ret("COMPLIANCE", 2*time.Minute), false, ""},
		{"bad mode", &metapb.ObjectLock{Mode: "FOREVER", Until: until}, false, metapb.ErrBadRequest},
	}
	for _, s := range steps {
		r := h.putLock(metapb.PutLockRequest{Key: "k", Ver: v.Ver, Retention: s.r, BypassGovernance: s.bypass})
		if r.Err != s.code {
			t.Fatalf("%s: %+v, want %q", s.name, r, s.code)
		}
	}
	got, _ := h.s.GetVer("b", "k", v.Ver)
	if got.Lock == nil || got.Lock.Mode != "COMPLIANCE" || !got.Lock.Until.Equal(until.Add(2*time.Minute)) || got.ETag != v.ETag || len(got.Segments) != 1 {
		t.Fatalf("after changes: %+v", got)
	}
	if r := h.putLock(metapb.PutLockRequest{Key: "k", Ver: v.Ver, LegalHold: boolp(true)}); r.Err != "" || !r.Version.Lock.LegalHold || r.Version.Lock.Mode != "COMPLIANCE" {
		t.Fatalf("hold on: %+v", r)
	}
	m := h.delBypass("k", "", en, false).Version
	if r := h.putLock(metapb.PutLockRequest{Key: "k", Ver: m.Ver, LegalHold: boolp(true)}); r.Err != metapb.ErrMethodNotAllowed {
		t.Fatalf("marker: %+v", r)
	}
	if r := h.putLock(metapb.PutLockRequest{Key: "k", Ver: "AAAAAAAAAAAAAAAA", LegalHold: boolp(true)}); r.Err != metapb.ErrNotFound {
		t.Fatalf("absent: %+v", r)
	}
	// Snapshot round trip keeps the lock (and so the protection).
	var buf bytes.Buffer
	if _, err := h.s.Snapshot().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	s2 := New()
	if err := s2.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	r := s2.Apply(h.index+1, &metapb.Command{Type: metapb.CmdDelete, Time: until.Add(time.Hour),
		Delete: &metapb.DeleteRequest{Bucket: "b", Key: "k", Version: v.Ver, BypassGovernance: true}})
	if r.Err != metapb.ErrObjectLocked {
		t.Fatalf("restored state let a held version go: %+v", r)
	}
}

// TestObjectLockRandom: random puts (locked or not), deletes by version
// (with or without bypass), plain deletes and lock changes, the clock
// moving forward by random steps: a version the rule protects at a
// command's time is never removed by it, an unprotected one named by a
// delete always is, and the shard accounting holds.
func TestObjectLockRandom(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		h := newHarness(t)
		var vers []string
		keys := []string{"a", "b", "c"}
		for i := 0; i < 300; i++ {
			key := keys[rng.Intn(len(keys))]
			at := h.now.Add(time.Duration(rng.Intn(int(20 * time.Second))))
			switch op := rng.Intn(10); {
			case op < 4:
				var l *metapb.ObjectLock
				switch rng.Intn(4) {
				case 0:
					l = &metapb.ObjectLock{Mode: "COMPLIANCE", Until: at.Add(time.Duration(rng.Intn(int(time.Minute))))}
				case 1:
					l = &metapb.ObjectLock{Mode: "GOVERNANCE", Until: at.Add(time.Duration(rng.Intn(int(time.Minute))))}
				case 2:
					l = &metapb.ObjectLock{LegalHold: true}
				}
				vid := fmt.Sprintf("v%d", i)
				h.now = at
				r := h.putLocked(key, vid, metapb.VersioningEnabled, l)
				if r.Err != "" {
					t.Fatalf("seed %d: put: %+v", seed, r)
				}
				vers = append(vers, key+"/"+r.Version.Ver)
			case op < 8 && len(vers) > 0:
				kv := vers[rng.Intn(len(vers))]
				k, ver := kv[:1], kv[2:]
				before, existed := h.s.GetVer("b", k, ver)
				bypass := rng.Intn(2) == 0
				r := h.applyAt(at, metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: k, Version: ver, BypassGovernance: bypass}})
				_, exists := h.s.GetVer("b", k, ver)
				if !existed {
					continue
				}
				if protected(&before, at, bypass) {
					if r.Err != metapb.ErrObjectLocked || !exists {
						t.Fatalf("seed %d op %d: protected version %s removed (%+v)", seed, i, kv, r)
					}
				} else if r.Err != "" || exists {
					t.Fatalf("seed %d op %d: unprotected version %s not removed (%+v)", seed, i, kv, r)
				}
			case op < 9:
				h.applyAt(at, metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: key, Versioning: metapb.VersioningEnabled}})
			case len(vers) > 0:
				kv := vers[rng.Intn(len(vers))]
				req := &metapb.PutLockRequest{Bucket: "b", Key: kv[:1], Ver: kv[2:], BypassGovernance: rng.Intn(2) == 0}
				if rng.Intn(2) == 0 {
					req.LegalHold = boolp(rng.Intn(2) == 0)
				} else {
					req.Retention = &metapb.ObjectLock{}
					if rng.Intn(3) > 0 {
						req.Retention = &metapb.ObjectLock{Mode: []string{"GOVERNANCE", "COMPLIANCE"}[rng.Intn(2)], Until: at.Add(time.Duration(rng.Intn(int(time.Minute))))}
					}
				}
				h.applyAt(at, metapb.Command{Type: metapb.CmdPutLock, PutLock: req})
			}
		}
		checkNoLeakedShards(t, h.s)
		h.s.mu.RLock()
		checkVersionIndexes(t, h.s.t)
		h.s.mu.RUnlock()
	}
}

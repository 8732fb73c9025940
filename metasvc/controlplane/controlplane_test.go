package controlplane

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

var scheme104 = metapb.Scheme{Data: 10, Parity: 4}

func TestMinAZs(t *testing.T) {
	for _, tc := range []struct {
		s    metapb.Scheme
		want int
	}{
		{metapb.Scheme{Data: 10, Parity: 4}, 4},
		{metapb.Scheme{Data: 4, Parity: 2}, 3},
		{metapb.Scheme{Data: 6, Parity: 3}, 3},
		{metapb.Scheme{Data: 1, Parity: 1}, 2},
		{metapb.Scheme{Data: 12, Parity: 4}, 4},
		{metapb.Scheme{Data: 13, Parity: 4}, 5},
	} {
		if got := MinAZs(tc.s); got != tc.want {
			t.Errorf("MinAZs(%+v)=%d want %d", tc.s, got, tc.want)
		}
	}
}

func nodesIn(healthy map[string]int, unhealthyAZ ...string) []metapb.StorageNode {
	var out []metapb.StorageNode
	for az, n := range healthy {
		for i := 0; i < n; i++ {
			out = append(out, metapb.StorageNode{ID: az + string(rune('0'+i)), AZ: az, Healthy: true})
		}
	}
	for _, az := range unhealthyAZ {
		out = append(out, metapb.StorageNode{ID: az + "x", AZ: az})
	}
	return out
}

func TestTolerance(t *testing.T) {
	for _, tc := range []struct {
		name     string
		nodes    []metapb.StorageNode
		wantAZs  int
		tolerant bool
	}{
		{"four AZs", nodesIn(map[string]int{"a": 4, "b": 4, "c": 4, "d": 4}), 4, true},
		{"five AZs", nodesIn(map[string]int{"a": 1, "b": 1, "c": 1, "d": 1, "e": 1}), 5, true},
		{"three AZs", nodesIn(map[string]int{"a": 6, "b": 6, "c": 6}), 3, false},
		{"fourth AZ unhealthy", nodesIn(map[string]int{"a": 4, "b": 4, "c": 4}, "d"), 3, false},
		{"none", nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			azs, ok, note := Tolerance(tc.nodes, scheme104)
			if azs != tc.wantAZs || ok != tc.tolerant {
				t.Fatalf("got azs=%d tolerant=%v, want %d %v", azs, ok, tc.wantAZs, tc.tolerant)
			}
			if ok != (note == "") {
				t.Fatalf("note %q with tolerant=%v", note, ok)
			}
			if !ok && !strings.Contains(note, "at least 4") {
				t.Fatalf("note does not say why: %q", note)
			}
		})
	}
}

func TestHealthAnnotate(t *testing.T) {
	h := NewHealth(3 * time.Second)
	now := time.Unix(1000, 0)
	reg := map[string]metapb.StorageNode{
		"s1": {ID: "s1", AZ: "a"},
		"s2": {ID: "s2", AZ: "b"},
		"s3": {ID: "s3", AZ: "c"},
	}
	h.Beat("s1", 7, now.Add(-time.Second))
	h.Beat("s2", 8, now.Add(-3*time.Second)) // exactly at the timeout: stale
	got := h.Annotate(reg, now)
	want := map[string]bool{"s1": true, "s2": false, "s3": false}
	if len(got) != 3 || got[0].ID != "s1" || got[2].ID != "s3" {
		t.Fatalf("not sorted: %+v", got)
	}
	for _, n := range got {
		if n.Healthy != want[n.ID] {
			t.Errorf("%s healthy=%v", n.ID, n.Healthy)
		}
	}
	if got[0].UsedBytes != 7 {
		t.Errorf("used bytes not taken from heartbeat: %d", got[0].UsedBytes)
	}
	h.Reset()
	for _, n := range h.Annotate(reg, now) {
		if n.Healthy {
			t.Errorf("%s healthy after Reset", n.ID)
		}
	}
}

func TestNeedsRegister(t *testing.T) {
	cur := metapb.StorageNode{ID: "s", AZ: "a", Addr: "h:1", CapacityBytes: 1000}
	for _, tc := range []struct {
		name  string
		known bool
		hb    metapb.StorageNode
		want  bool
	}{
		{"unknown", false, cur, true},
		{"same", true, cur, false},
		{"used changes only", true, metapb.StorageNode{ID: "s", AZ: "a", Addr: "h:1", CapacityBytes: 1000, UsedBytes: 999}, false},
		{"small capacity change", true, metapb.StorageNode{ID: "s", AZ: "a", Addr: "h:1", CapacityBytes: 1040}, false},
		{"large capacity change", true, metapb.StorageNode{ID: "s", AZ: "a", Addr: "h:1", CapacityBytes: 1200}, true},
		{"new addr", true, metapb.StorageNode{ID: "s", AZ: "a", Addr: "h:2", CapacityBytes: 1000}, true},
		{"new az", true, metapb.StorageNode{ID: "s", AZ: "b", Addr: "h:1", CapacityBytes: 1000}, true},
	} {
		if got := NeedsRegister(cur, tc.known, tc.hb, 0.05); got != tc.want {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
	}
}

func apply(t *testing.T, f *FSM, i uint64, c Command) ApplyResult {
	t.Helper()
	b, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	return f.Apply(&raft.Log{Index: i, Data: b}).(ApplyResult)
}

type memSink struct {
	bytes.Buffer
	closed, canceled bool
}

func (s *memSink) ID() string    { return "x" }
func (s *memSink) Cancel() error { s.canceled = true; return nil }
func (s *memSink) Close() error  { s.closed = true; return nil }

func TestFSMApplySnapshotRestore(t *testing.T) {
	f := NewFSM()
	t0 := time.Unix(100, 0).UTC()
	meta := []metapb.MetaNode{{ID: "m1", AZ: "a"}, {ID: "m2", AZ: "b"}, {ID: "m3", AZ: "c"}}
	if r := apply(t, f, 1, Command{Type: CmdInit, Time: t0, Init: &InitRequest{Region: "r1", MetaNodes: meta, Partitions: 4}}); r.Err != nil || !r.Changed {
		t.Fatalf("init: %+v", r)
	}
	// A second Init (another node's proposal) does not change anything.
	if r := apply(t, f, 2, Command{Type: CmdInit, Time: t0, Init: &InitRequest{Region: "other", Partitions: 9}}); r.Err != nil || r.Changed {
		t.Fatalf("second init: %+v", r)
	}
	if r := apply(t, f, 3, Command{Type: CmdRegister, Time: t0, Register: &metapb.StorageNode{ID: "s1", AZ: "a", Addr: "h:1", CapacityBytes: 5, Healthy: true}}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := apply(t, f, 4, Command{Type: CmdRegister, Time: t0, Register: &metapb.StorageNode{ID: "", AZ: "a"}}); !errors.Is(r.Err, ErrBadCommand) {
		t.Fatalf("bad register: %+v", r)
	}
	if r := f.Apply(&raft.Log{Index: 5, Data: []byte("{")}).(ApplyResult); !errors.Is(r.Err, ErrBadCommand) {
		t.Fatalf("garbage: %+v", r)
	}
	v := f.View()
	if v.Region != "r1" || len(v.Partitions) != 4 || len(v.Partitions[3].Replicas) != 3 {
		t.Fatalf("state: %+v", v)
	}
	if n := v.Storage["s1"]; n.Healthy || !n.Registered.Equal(t0) {
		t.Fatalf("registered node: %+v", n)
	}

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil || !sink.closed {
		t.Fatalf("persist: %v closed=%v", err, sink.closed)
	}
	g := NewFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	w := g.View()
	if w.Region != "r1" || len(w.Partitions) != 4 || w.Storage["s1"].Addr != "h:1" {
		t.Fatalf("restored: %+v", w)
	}
	if err := g.Restore(io.NopCloser(strings.NewReader(`{"fmt":99}`))); !errors.Is(err, ErrBadFormat) {
		t.Fatalf("future format: %v", err)
	}

	st := Status(w, []metapb.StorageNode{{ID: "s1", AZ: "a", Healthy: true}}, map[int]string{2: "m2"}, scheme104)
	if st.Partitions[2].Leader != "m2" || st.Partitions[0].Leader != "" || st.AZs != 1 || st.AZLossTolerant || st.Note == "" {
		t.Fatalf("status: %+v", st)
	}
}

// TestDrainRemove: a drain survives re-registration; remove applies only to
// a node draining for at least MinDrained; a removed id cannot register
// again; the tombstone survives a snapshot.
func TestDrainRemove(t *testing.T) {
	f := NewFSM()
	t0 := time.Unix(100, 0).UTC()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	reg := func(id string) *metapb.StorageNode { return &metapb.StorageNode{ID: id, AZ: "a", Addr: "h:" + id} }
	if r := apply(t, f, 1, Command{Type: CmdInit, Time: t0, Init: &InitRequest{Region: "r1", Partitions: 1}}); r.Err != nil {
		t.Fatal(r.Err)
	}
	apply(t, f, 2, Command{Type: CmdRegister, Time: t0, Register: reg("s1")})
	apply(t, f, 3, Command{Type: CmdRegister, Time: t0, Register: reg("s2")})
	steps := []struct {
		name    string
		c       Command
		wantErr error
		changed bool
	}{
		{"remove before drain", Command{Type: CmdRemove, Time: at(1), Remove: &RemoveRequest{ID: "s1"}}, ErrNotDrained, false},
		{"drain unknown", Command{Type: CmdDrain, Time: at(1), Drain: &DrainRequest{ID: "s9", On: true}}, ErrNoSuchNode, false},
		{"drain without id", Command{Type: CmdDrain, Time: at(1), Drain: &DrainRequest{On: true}}, ErrBadCommand, false},
		{"drain", Command{Type: CmdDrain, Time: at(2), Drain: &DrainRequest{ID: "s1", On: true}}, nil, true},
		{"drain again keeps its start", Command{Type: CmdDrain, Time: at(5), Drain: &DrainRequest{ID: "s1", On: true}}, nil, false},
		{"re-register keeps the drain", Command{Type: CmdRegister, Time: at(6), Register: &metapb.StorageNode{ID: "s1", AZ: "a", Addr: "h:new"}}, nil, true},
		{"remove too soon", Command{Type: CmdRemove, Time: at(10), Remove: &RemoveRequest{ID: "s1", MinDrained: 10 * time.Second}}, ErrNotDrained, false},
		{"remove unknown", Command{Type: CmdRemove, Time: at(12), Remove: &RemoveRequest{ID: "s9"}}, ErrNoSuchNode, false},
		{"remove", Command{Type: CmdRemove, Time: at(12), Remove: &RemoveRequest{ID: "s1", MinDrained: 10 * time.Second}}, nil, true},
		{"remove retried", Command{Type: CmdRemove, Time: at(13), Remove: &RemoveRequest{ID: "s1", MinDrained: 10 * time.Second}}, nil, false},
		{"removed id cannot register", Command{Type: CmdRegister, Time: at(14), Register: reg("s1")}, ErrRemoved, false},
		{"drain of a removed node", Command{Type: CmdDrain, Time: at(14), Drain: &DrainRequest{ID: "s1", On: true}}, ErrNoSuchNode, false},
		{"drain s2", Command{Type: CmdDrain, Time: at(15), Drain: &DrainRequest{ID: "s2", On: true}}, nil, true},
		{"cancel s2", Command{Type: CmdDrain, Time: at(16), Drain: &DrainRequest{ID: "s2"}}, nil, true},
		{"remove cancelled", Command{Type: CmdRemove, Time: at(60), Remove: &RemoveRequest{ID: "s2"}}, ErrNotDrained, false},
	}
	for i, s := range steps {
		r := apply(t, f, uint64(10+i), s.c)
		if !errors.Is(r.Err, s.wantErr) || (s.wantErr == nil && r.Err != nil) || r.Changed != s.changed {
			t.Fatalf("%s: got err=%v changed=%v, want err=%v changed=%v", s.name, r.Err, r.Changed, s.wantErr, s.changed)
		}
		if s.name == "re-register keeps the drain" {
			if n := f.View().Storage["s1"]; !n.Draining || !n.DrainStarted.Equal(at(2)) || n.Addr != "h:new" {
				t.Fatalf("after re-register: %+v", n)
			}
		}
	}
	v := f.View()
	if _, ok := v.Storage["s1"]; ok || !v.Removed["s1"].Equal(at(12)) {
		t.Fatalf("s1 after remove: storage %v removed %v", v.Storage["s1"], v.Removed)
	}
	if n := v.Storage["s2"]; n.Draining || !n.DrainStarted.IsZero() {
		t.Fatalf("s2 after cancel: %+v", n)
	}
	snap, _ := f.Snapshot()
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	g := NewFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if r := apply(t, g, 100, Command{Type: CmdRegister, Time: at(70), Register: reg("s1")}); !errors.Is(r.Err, ErrRemoved) {
		t.Fatalf("removed id registered after restore: %+v", r)
	}
}

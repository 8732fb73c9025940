package metastate

import (
	"bytes"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func (h *harness) replace(r metapb.ReplaceShardsRequest) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdReplaceShards, ReplaceShards: &r})
}

// swap builds a ShardSwap of shard i of v's segment seg to node/id.
func swapOf(v metapb.ObjectVersion, seg, i int, node, id string) metapb.ShardSwap {
	old := v.Segments[seg].Shards[i]
	nw := old
	nw.Node, nw.ID, nw.CRC32C = node, id, 77
	return metapb.ShardSwap{Old: old, New: nw}
}

func TestReplaceShardsCases(t *testing.T) {
	type tc struct {
		name string
		// before runs after the put of b/k v1 (2 segments) and returns the request.
		before      func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest
		wantErr     string
		wantExisted bool
		// wantShard: segment 1 shard 0 id after the command ("" = unchanged check skipped).
		wantShard string
		garbage   map[string]int
	}
	req := func(v metapb.ObjectVersion, sw ...metapb.ShardSwap) metapb.ReplaceShardsRequest {
		return metapb.ReplaceShardsRequest{Bucket: "b", Key: "k", VersionID: v.VersionID, Segment: 1, Swaps: sw}
	}
	cases := []tc{
		{name: "swap applies", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			return req(v, swapOf(v, 1, 0, "n9", "v1-1-0.h1"))
		}, wantShard: "v1-1-0.h1", garbage: map[string]int{"healed": 1}},
		{name: "same node new id (corrupt shard rebuilt in place)", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			return req(v, swapOf(v, 1, 0, "n1", "v1-1-0.h1"))
		}, wantShard: "v1-1-0.h1", garbage: map[string]int{"healed": 1}},
		{name: "retry of an applied swap", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			r := req(v, swapOf(v, 1, 0, "n9", "v1-1-0.h1"))
			if res := h.replace(r); res.Err != "" {
				h.t.Fatalf("first: %+v", res)
			}
			return r
		}, wantExisted: true, wantShard: "v1-1-0.h1", garbage: map[string]int{"healed": 1}},
		{name: "overwritten meanwhile", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			h.put("b", "k", "v2", 2)
			return req(v, swapOf(v, 1, 0, "n9", "v1-1-0.h1"))
		}, wantErr: metapb.ErrConflict, garbage: map[string]int{"overwritten": 1, "heal superseded": 1}},
		{name: "deleted meanwhile", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: "k"}})
			return req(v, swapOf(v, 1, 0, "n9", "v1-1-0.h1"))
		}, wantErr: metapb.ErrConflict, garbage: map[string]int{"deleted": 1, "heal superseded": 1}},
		{name: "shard changed by another heal", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			if res := h.replace(req(v, swapOf(v, 1, 0, "n8", "v1-1-0.h0"))); res.Err != "" {
				h.t.Fatalf("other heal: %+v", res)
			}
			return req(v, swapOf(v, 1, 0, "n9", "v1-1-0.h1"))
		}, wantErr: metapb.ErrConflict, wantShard: "v1-1-0.h0", garbage: map[string]int{"healed": 1, "heal superseded": 1}},
		{name: "one of two swaps stale: nothing applies", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			s0 := swapOf(v, 1, 0, "n9", "v1-1-0.h1")
			s1 := swapOf(v, 1, 1, "n9", "v1-1-1.h1")
			s1.Old.ID = "someone-else"
			s1.New.Index = 1
			return req(v, s0, s1)
		}, wantErr: metapb.ErrConflict, wantShard: "v1-1-0", garbage: map[string]int{"heal superseded": 1}},
		{name: "past its deadline", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			r := req(v, swapOf(v, 1, 0, "n9", "v1-1-0.h1"))
			r.NotAfter = h.now // the command's time is later
			return r
		}, wantErr: metapb.ErrConflict, wantShard: "v1-1-0", garbage: map[string]int{"heal superseded": 1}},
		{name: "before its deadline", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			r := req(v, swapOf(v, 1, 0, "n9", "v1-1-0.h1"))
			r.NotAfter = h.now.Add(time.Minute)
			return r
		}, wantShard: "v1-1-0.h1", garbage: map[string]int{"healed": 1}},
		{name: "no such segment", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			r := req(v, swapOf(v, 1, 0, "n9", "v1-1-0.h1"))
			r.Segment = 5
			return r
		}, wantErr: metapb.ErrConflict, wantShard: "v1-1-0", garbage: map[string]int{"heal superseded": 1}},
		{name: "index mismatch is a bad request", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			s := swapOf(v, 1, 0, "n9", "x")
			s.New.Index = 1
			return req(v, s)
		}, wantErr: metapb.ErrBadRequest, wantShard: "v1-1-0", garbage: map[string]int{}},
		{name: "no swaps is a bad request", before: func(h *harness, v metapb.ObjectVersion) metapb.ReplaceShardsRequest {
			return req(v)
		}, wantErr: metapb.ErrBadRequest, garbage: map[string]int{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.put("b", "k", "v1", 2)
			v, _ := h.s.Get("b", "k")
			r := c.before(h, v)
			res := h.replace(r)
			if res.Err != c.wantErr || res.Existed != c.wantExisted {
				t.Fatalf("result %+v, want err %q existed %v", res, c.wantErr, c.wantExisted)
			}
			if c.wantShard != "" {
				got, _ := h.s.Get("b", "k")
				if id := got.Segments[1].Shards[0].ID; id != c.wantShard {
					t.Fatalf("segment 1 shard 0 = %s, want %s", id, c.wantShard)
				}
				if got.Segments[0].Shards[0].ID != "v1-0-0" {
					t.Fatalf("segment 0 changed: %+v", got.Segments[0])
				}
			}
			g := garbageByReason(h.s)
			if len(g) != len(c.garbage) {
				t.Fatalf("garbage %v, want %v", g, c.garbage)
			}
			for k, n := range c.garbage {
				if g[k] != n {
					t.Fatalf("garbage %v, want %v", g, c.garbage)
				}
			}
			checkNoLeakedShards(t, h.s)
		})
	}
}

func TestReplaceShardsPartAndSnapshot(t *testing.T) {
	h := newHarness(t)
	if r := h.createUpload("mp", "u1", ""); r.Err != "" {
		t.Fatal(r)
	}
	h.uploadPart("mp", "u1", 1, "a1", 100, "e1", 1, nil)
	h.put("b", "k", "v1", 1)
	sc := h.s.ScanShards(metapb.ShardCursor{}, 10)
	if !sc.Done || len(sc.Records) != 2 || sc.Records[0].VersionID != "v1" || sc.Records[1].UploadID != "u1" {
		t.Fatalf("scan: %+v", sc)
	}
	p := sc.Records[1]
	old := p.Segments[0].Shards[1]
	nw := old
	nw.Node, nw.ID = "n7", old.ID+".h1"
	r := metapb.ReplaceShardsRequest{Bucket: "b", Key: "mp", UploadID: "u1", Number: 1, Attempt: "a1", Swaps: []metapb.ShardSwap{{Old: old, New: nw}}}
	if res := h.replace(r); res.Err != "" {
		t.Fatalf("part swap: %+v", res)
	}
	got, _ := h.s.GetPartAttempt("b", "mp", "u1", 1, "a1")
	if got.Segments[0].Shards[1].ID != nw.ID {
		t.Fatalf("part not healed: %+v", got.Segments[0])
	}
	// The healed version's token still answers done_current in a snapshot,
	// which restores to the same bytes.
	v, _ := h.s.Get("b", "k")
	if res := h.replace(metapb.ReplaceShardsRequest{Bucket: "b", Key: "k", VersionID: "v1", Swaps: []metapb.ShardSwap{swapOf(v, 0, 0, "n5", "v1-0-0.h1")}}); res.Err != "" {
		t.Fatal(res)
	}
	var a bytes.Buffer
	if _, err := h.s.Snapshot().WriteTo(&a); err != nil {
		t.Fatal(err)
	}
	s2 := New()
	if err := s2.Restore(bytes.NewReader(a.Bytes())); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := s2.Snapshot().WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("snapshot after heal does not round-trip")
	}
	// A retried PUT still answers the (healed) current version.
	if res := h.prepare("b", "k", "v1-retry", "tok-v1", segs("x", 1)); !res.Existed || res.Version.Segments[0].Shards[0].ID != "v1-0-0.h1" {
		t.Fatalf("retry after heal: %+v", res)
	}
	checkNoLeakedShards(t, h.s)
}

func TestScanShardsPaging(t *testing.T) {
	h := newHarness(t)
	for i, k := range []string{"a", "b", "c", "d", "e"} {
		n := 1
		if i == 2 {
			n = 0 // inline: skipped
		}
		h.put("bk", k, "v"+k, n)
	}
	var keys []string
	c := metapb.ShardCursor{}
	for i := 0; i < 20; i++ {
		sc := h.s.ScanShards(c, 1)
		for _, r := range sc.Records {
			keys = append(keys, r.Key)
		}
		c = sc.Next
		if sc.Done {
			break
		}
	}
	if got := len(keys); got != 4 || keys[0] != "a" || keys[2] != "d" {
		t.Fatalf("keys %v", keys)
	}
}

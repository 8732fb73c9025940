package metastate

import (
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// TestUnreferenced: the orphan scan's reference check. PREPARING records
// and garbage protect their shard ids on any node (replacement writes);
// committed records protect exactly the (node, id) they name.
func TestUnreferenced(t *testing.T) {
	h := newHarness(t)
	// v1 committed: v1-0-0 on n1, v1-0-1 on n2.
	h.put("b", "committed", "v1", 1)
	// v2 PREPARING: plans v2-0-0 on n1, v2-0-1 on n2.
	if r := h.prepare("b", "preparing", "v2", "", segs("v2", 1)); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	// v3 committed, then overwritten by v4: v3's shards are garbage.
	h.put("b", "over", "v3", 1)
	h.put("b", "over", "v4", 1)
	// A PREPARING part attempt and a committed one.
	if r := h.apply(metapb.Command{Type: metapb.CmdCreateUpload, CreateUpload: &metapb.CreateUploadRequest{Upload: metapb.Upload{Bucket: "b", Key: "mp", UploadID: "u1"}}}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{Bucket: "b", Key: "mp", UploadID: "u1", Number: 1, Attempt: "a1", Segments: segs("p1", 1)}}}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{Bucket: "b", Key: "mp", UploadID: "u1", Number: 2, Attempt: "a2", Segments: segs("p2", 1)}}}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdCommitPart, CommitPart: &metapb.CommitPartRequest{Bucket: "b", Key: "mp", UploadID: "u1", Number: 2, Attempt: "a2", Final: metapb.Part{ETag: "x", Size: 100, Segments: withCRC(segs("p2", 1))}}}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	cases := []struct {
		node, id string
		orphan   bool
		why      string
	}{
		{"n1", "v1-0-0", false, "committed, named node"},
		{"n7", "v1-0-0", true, "committed id on a node the record does not name"},
		{"n2", "v2-0-1", false, "PREPARING, planned node"},
		{"n9", "v2-0-1", false, "PREPARING id on a replacement node"},
		{"n1", "v3-0-0", false, "garbage, until the garbage phase deletes it"},
		{"n5", "v3-0-0", false, "garbage id on any node"},
		{"n1", "v4-0-0", false, "current after overwrite"},
		{"n3", "p1-0-0", false, "PREPARING part attempt, any node"},
		{"n1", "p2-0-0", false, "committed part, named node"},
		{"n4", "p2-0-0", true, "committed part id elsewhere"},
		{"n1", "v9-0-0", true, "no record names it"},
	}
	var refs []metapb.ShardRef
	for _, c := range cases {
		refs = append(refs, metapb.ShardRef{Node: c.node, ID: c.id})
	}
	got := map[metapb.ShardRef]bool{}
	for _, r := range h.s.Unreferenced(refs) {
		got[metapb.ShardRef{Node: r.Node, ID: r.ID}] = true
	}
	for _, c := range cases {
		if got[metapb.ShardRef{Node: c.node, ID: c.id}] != c.orphan {
			t.Errorf("%s on %s (%s): orphan=%v, want %v", c.id, c.node, c.why, !c.orphan, c.orphan)
		}
	}
	// Acknowledged garbage is no longer a reference.
	var ids []uint64
	for _, g := range h.s.ListGarbage(0) {
		ids = append(ids, g.ID)
	}
	h.apply(metapb.Command{Type: metapb.CmdAckGarbage, AckGarbage: &metapb.AckGarbageRequest{IDs: ids}})
	if un := h.s.Unreferenced([]metapb.ShardRef{{Node: "n1", ID: "v3-0-0"}}); len(un) != 1 {
		t.Fatalf("acknowledged garbage still referenced: %v", un)
	}
	checkNoLeakedShards(t, h.s)
}

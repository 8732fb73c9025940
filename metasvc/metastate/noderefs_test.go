package metastate

import (
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// TestNodeRefs: remove-node's check counts the shards committed records
// name on the node and those PREPARING records plan there; garbage does
// not count.
func TestNodeRefs(t *testing.T) {
	h := newHarness(t)
	h.put("b", "committed", "v1", 2) // 2 segments: v1-0-0 and v1-1-0 on n1
	if r := h.prepare("b", "preparing", "v2", "", segs("v2", 1)); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	h.put("b", "over", "v3", 1)
	h.put("b", "over", "v4", 1) // v3 becomes garbage
	if r := h.apply(metapb.Command{Type: metapb.CmdCreateUpload, CreateUpload: &metapb.CreateUploadRequest{Upload: metapb.Upload{Bucket: "b", Key: "mp", UploadID: "u1"}}}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{Bucket: "b", Key: "mp", UploadID: "u1", Number: 1, Attempt: "a1", Segments: segs("p1", 1)}}}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	cases := []struct {
		node string
		want metapb.NodeRefs
	}{
		// v1 (2 shards) and v4 committed; v2 and the part attempt planned; v3 is garbage.
		{"n1", metapb.NodeRefs{Records: 4, Shards: 3, Bytes: 150, Preparing: 2}},
		{"n2", metapb.NodeRefs{Records: 4, Shards: 3, Bytes: 150, Preparing: 2}},
		{"n9", metapb.NodeRefs{}},
		{"", metapb.NodeRefs{}},
	}
	for _, c := range cases {
		if got := h.s.NodeRefs(c.node); got != c.want {
			t.Errorf("NodeRefs(%q) = %+v, want %+v", c.node, got, c.want)
		}
	}
	// Aborting the PREPARE drops its planned shards.
	if r := h.apply(metapb.Command{Type: metapb.CmdAbort, Abort: &metapb.AbortRequest{Bucket: "b", Key: "preparing", VersionID: "v2"}}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	if got := h.s.NodeRefs("n1"); got.Preparing != 1 || got.Records != 3 {
		t.Errorf("after abort: %+v, want 1 preparing in 3 records", got)
	}
}

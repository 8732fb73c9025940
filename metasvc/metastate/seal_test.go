package metastate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func (h *harness) seal(typ metapb.CommandType, bucket string) metapb.Result {
	r := &metapb.SealBucketRequest{Bucket: bucket}
	c := metapb.Command{Type: typ}
	switch typ {
	case metapb.CmdSealBucket:
		c.SealBucket = r
	case metapb.CmdUnsealBucket:
		c.UnsealBucket = r
	default:
		c.DropBucket = r
	}
	return h.apply(c)
}

func wantErr(t *testing.T, what string, r metapb.Result, code string) {
	t.Helper()
	if r.Err != code {
		t.Fatalf("%s: err %q (%s), want %q", what, r.Err, r.ErrMsg, code)
	}
}

// A PUT prepared before its bucket is sealed cannot commit after: the seal
// is checked in the commit's own apply. After the drop the refusal is
// permanent; other incarnations of the name are unaffected.
func TestCommitAfterSealRefused(t *testing.T) {
	h := newHarness(t)
	sg := segs("v1", 1)
	wantErr(t, "prepare", h.prepare("b/inc1", "k", "v1", "t1", sg), "")
	wantErr(t, "seal", h.seal(metapb.CmdSealBucket, "b/inc1"), "")
	wantErr(t, "seal again", h.seal(metapb.CmdSealBucket, "b/inc1"), "")

	final := metapb.ObjectVersion{Size: 100, ETag: "e1", Segments: withCRC(sg)}
	wantErr(t, "commit while sealed", h.commit("b/inc1", "k", "v1", final), metapb.ErrBucketSealed)
	wantErr(t, "inline commit while sealed", h.commit("b/inc1", "k2", "v2", metapb.ObjectVersion{Inline: []byte("x")}), metapb.ErrBucketSealed)
	wantErr(t, "prepare while sealed", h.prepare("b/inc1", "k3", "v3", "", segs("v3", 1)), metapb.ErrBucketSealed)
	wantErr(t, "create upload while sealed", h.apply(metapb.Command{Type: metapb.CmdCreateUpload, CreateUpload: &metapb.CreateUploadRequest{
		Upload: metapb.Upload{Bucket: "b/inc1", Key: "m", UploadID: "u1"}}}), metapb.ErrBucketSealed)
	if _, ok := h.s.Get("b/inc1", "k"); ok {
		t.Fatal("refused commit is visible")
	}

	wantErr(t, "drop", h.seal(metapb.CmdDropBucket, "b/inc1"), "")
	// The drop removed the PREPARING version: its planned shards are garbage.
	if g := garbageByReason(h.s); g["bucket deleted"] != 1 {
		t.Fatalf("garbage %v", g)
	}
	wantErr(t, "commit after drop", h.commit("b/inc1", "k", "v1", final), metapb.ErrBucketGone)
	wantErr(t, "unseal after drop", h.seal(metapb.CmdUnsealBucket, "b/inc1"), metapb.ErrBucketGone)
	// The writer's abort finds nothing and succeeds (it then deletes its shards).
	wantErr(t, "abort", h.apply(metapb.Command{Type: metapb.CmdAbort, Abort: &metapb.AbortRequest{Bucket: "b/inc1", Key: "k", VersionID: "v1"}}), "")
	if g := garbageByReason(h.s); g["aborted"] != 0 || g["bucket deleted"] != 1 {
		t.Fatalf("garbage %v", g)
	}
	if h.s.Stats().Objects != 0 || h.s.Stats().Preparing != 0 || h.s.Stats().Seals != 1 {
		t.Fatalf("stats %+v", h.s.Stats())
	}
	// A new incarnation of the same name writes freely.
	h.put("b/inc2", "k", "w1", 1)
	h.put("b/inc2", "k2", "w2", 0)
	if v, ok := h.s.Get("b/inc2", "k"); !ok || v.ETag != "e-w1" {
		t.Fatalf("new incarnation: %+v %v", v, ok)
	}
	checkNoLeakedShards(t, h.s)
}

// A seal is refused while the partition holds a committed object of the
// incarnation; writes continue. Unseal lifts a seal that was not dropped.
func TestSealRefusedWhenObjectsExist(t *testing.T) {
	h := newHarness(t)
	h.put("b/inc1", "k", "v1", 1)
	h.put("b/inc10", "k", "x1", 0) // a neighbour in key order does not count
	wantErr(t, "seal", h.seal(metapb.CmdSealBucket, "b/inc1"), metapb.ErrBucketNotEmpty)
	h.put("b/inc1", "k2", "v2", 0)
	wantErr(t, "drop unsealed", h.seal(metapb.CmdDropBucket, "b/inc1"), metapb.ErrConflict)

	wantErr(t, "seal empty neighbour", h.seal(metapb.CmdSealBucket, "b/inc0"), "")
	wantErr(t, "unseal", h.seal(metapb.CmdUnsealBucket, "b/inc0"), "")
	h.put("b/inc0", "k", "y1", 0) // writes resume after unseal

	for _, k := range []string{"k", "k2"} {
		wantErr(t, "delete", h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b/inc1", Key: k}}), "")
	}
	wantErr(t, "seal emptied", h.seal(metapb.CmdSealBucket, "b/inc1"), "")
	if _, ok := h.s.Get("b/inc10", "k"); !ok {
		t.Fatal("neighbour lost its object")
	}
}

// Dropping removes the incarnation's uploads (parts become garbage), and a
// late part commit or completion is refused.
func TestDropRemovesUploads(t *testing.T) {
	h := newHarness(t)
	wantErr(t, "create", h.createUpload("m", "u1", ""), "")
	wantErr(t, "part 1", h.uploadPart("m", "u1", 1, "a1", metapb.MinPartSize, "p1", 1, nil), "")
	// A second part is prepared (shards being written) when the delete comes.
	wantErr(t, "prepare part 2", h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{
		Bucket: "b", Key: "m", UploadID: "u1", Number: 2, Attempt: "a2", Segments: segs("u1-2", 1)}}}), "")
	wantErr(t, "seal", h.seal(metapb.CmdSealBucket, "b"), "")
	wantErr(t, "commit part while sealed", h.apply(metapb.Command{Type: metapb.CmdCommitPart, CommitPart: &metapb.CommitPartRequest{
		Bucket: "b", Key: "m", UploadID: "u1", Number: 2, Attempt: "a2", Final: metapb.Part{Size: 5, ETag: "p2", Segments: withCRC(segs("u1-2", 1))}}}), metapb.ErrBucketSealed)
	wantErr(t, "complete while sealed", h.complete("m", "u1", "v1", "", metapb.CompletePart{Number: 1, ETag: "p1"}), metapb.ErrBucketSealed)
	wantErr(t, "drop", h.seal(metapb.CmdDropBucket, "b"), "")
	if _, ok := h.s.GetUpload("b", "m", "u1"); ok {
		t.Fatal("upload survived the drop")
	}
	if st := h.s.Stats(); st.Uploads != 0 || st.Parts != 0 {
		t.Fatalf("stats %+v", st)
	}
	if g := garbageByReason(h.s); g["bucket deleted"] == 0 {
		t.Fatalf("garbage %v", g)
	}
	wantErr(t, "complete after drop", h.complete("m", "u1", "v1", "", metapb.CompletePart{Number: 1, ETag: "p1"}), metapb.ErrBucketGone)
	checkNoLeakedShards(t, h.s)
}

func TestConditionalDelete(t *testing.T) {
	h := newHarness(t)
	h.put("b", "k", "v1", 1) // ETag e-v1
	del := func(key, ifMatch string) metapb.Result {
		return h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: key, IfMatch: ifMatch}})
	}
	wantErr(t, "mismatch", del("k", `"other"`), metapb.ErrPrecondition)
	if _, ok := h.s.Get("b", "k"); !ok || len(h.s.ListGarbage(0)) != 0 {
		t.Fatal("a failed conditional delete changed the state")
	}
	wantErr(t, "absent key", del("nope", `"e-v1"`), metapb.ErrNotFound)
	wantErr(t, "absent key, star", del("nope", "*"), metapb.ErrNotFound)
	wantErr(t, "match", del("k", `"e-v1"`), "")
	if _, ok := h.s.Get("b", "k"); ok {
		t.Fatal("matching delete left the object")
	}
	h.put("b", "k", "v2", 0)
	wantErr(t, "star", del("k", "*"), "")
	wantErr(t, "unconditional absent", del("k", ""), "")
}

func TestConditionalComplete(t *testing.T) {
	h := newHarness(t)
	setup := func(uid string) {
		wantErr(t, "create", h.createUpload("m", uid, ""), "")
		wantErr(t, "part", h.uploadPart("m", uid, 1, "a-"+uid, 10, "p1", 1, nil), "")
	}
	complete := func(uid, vid, ifMatch, ifNoneMatch string) metapb.Result {
		return h.apply(metapb.Command{Type: metapb.CmdCompleteUpload, CompleteUpload: &metapb.CompleteUploadRequest{
			Bucket: "b", Key: "m", UploadID: uid, VersionID: vid, Parts: []metapb.CompletePart{{Number: 1, ETag: "p1"}},
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch}})
	}
	setup("u1")
	wantErr(t, "if-match on absent key", complete("u1", "v1", `"x"`, ""), metapb.ErrNotFound)
	r := complete("u1", "v1", "", "*")
	wantErr(t, "if-none-match on absent key", r, "")
	etag := r.Version.ETag

	setup("u2")
	wantErr(t, "if-none-match on existing key", complete("u2", "v2", "", "*"), metapb.ErrPrecondition)
	wantErr(t, "if-match mismatch", complete("u2", "v2", `"nope"`, ""), metapb.ErrPrecondition)
	if _, ok := h.s.GetUpload("b", "m", "u2"); !ok {
		t.Fatal("a failed conditional completion removed the upload")
	}
	if v, _ := h.s.Get("b", "m"); v.VersionID != "v1" {
		t.Fatalf("current is %s", v.VersionID)
	}
	wantErr(t, "if-match", complete("u2", "v2", `"`+etag+`"`, ""), "")
	// The idempotent retry of a completion that succeeded still succeeds.
	if r := complete("u2", "v2", `"`+etag+`"`, ""); r.Err != "" || !r.Existed {
		t.Fatalf("retry: %+v", r)
	}
}

// asV1 rewrites a v2 snapshot without seals as the v1 format wrote it.
func asV1(t *testing.T, v2 []byte) []byte {
	t.Helper()
	d := append([]byte(nil), v2[:len(v2)-4]...)
	binary.BigEndian.PutUint32(d[8:], SnapshotFormatV1)
	return binary.BigEndian.AppendUint32(d, crc32.Checksum(d, castagnoli))
}

func TestSnapshotSealsRoundTripAndV1(t *testing.T) {
	h := newHarness(t)
	h.put("b/inc1", "k", "v1", 1)
	var v3 bytes.Buffer
	if _, err := h.s.Snapshot().writeFormat(&v3, SnapshotFormatV3); err != nil {
		t.Fatal(err)
	}

	// v1 (written before seals existed) still restores.
	old := asV1(t, v3.Bytes())
	s1 := New()
	if err := s1.Restore(bytes.NewReader(old)); err != nil {
		t.Fatalf("restore v1: %v", err)
	}
	if s1.Stats() != h.s.Stats() {
		t.Fatalf("v1 restore: %+v vs %+v", s1.Stats(), h.s.Stats())
	}

	wantErr(t, "seal", h.seal(metapb.CmdSealBucket, "x/inc1"), "")
	wantErr(t, "seal", h.seal(metapb.CmdSealBucket, "x/inc2"), "")
	wantErr(t, "drop", h.seal(metapb.CmdDropBucket, "x/inc2"), "")
	data := snapBytes(t, h.s)
	s2 := New()
	if err := s2.Restore(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snapBytes(t, s2), data) || s2.Stats().Seals != 2 {
		t.Fatalf("seals did not round-trip: %+v", s2.Stats())
	}
	// The restored state fences exactly like the original.
	h2 := &harness{t: t, s: s2, index: h.index, now: h.now}
	wantErr(t, "restored sealed", h2.commit("x/inc1", "k", "z", metapb.ObjectVersion{Inline: []byte("z")}), metapb.ErrBucketSealed)
	wantErr(t, "restored dropped", h2.commit("x/inc2", "k", "z", metapb.ObjectVersion{Inline: []byte("z")}), metapb.ErrBucketGone)

	// A seal frame in a v1 stream is corrupt.
	if err := New().Restore(bytes.NewReader(asV1(t, data))); !errors.Is(err, ErrCorruptSnapshot) {
		t.Fatalf("v1 with seals: %v", err)
	}
}

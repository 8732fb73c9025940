package metastate

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func (h *harness) createUpload(key, uid, tok string) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdCreateUpload, CreateUpload: &metapb.CreateUploadRequest{Upload: metapb.Upload{
		Bucket: "b", Key: key, UploadID: uid, Token: tok, ContentType: "video/mp4", UserMeta: map[string]string{"m": "v"},
		Scheme: metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 1 << 20},
	}}})
}

// uploadPart prepares and commits part n (attempt att) with size bytes; a
// part with nseg == 0 is inline.
func (h *harness) uploadPart(key, uid string, n int, att string, size int64, etag string, nseg int, inline []byte) metapb.Result {
	h.t.Helper()
	tag := fmt.Sprintf("%s-%d-%s", uid, n, att)
	sg := segs(tag, nseg)
	if nseg > 0 {
		if r := h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{
			Bucket: "b", Key: key, UploadID: uid, Number: n, Attempt: att, Segments: sg}}}); r.Err != "" {
			h.t.Fatalf("prepare part: %+v", r)
		}
	}
	return h.apply(metapb.Command{Type: metapb.CmdCommitPart, CommitPart: &metapb.CommitPartRequest{
		Bucket: "b", Key: key, UploadID: uid, Number: n, Attempt: att,
		Final: metapb.Part{Size: size, ETag: etag, Segments: withCRC(sg), Inline: inline}}})
}

func (h *harness) complete(key, uid, vid, tok string, parts ...metapb.CompletePart) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdCompleteUpload, CompleteUpload: &metapb.CompleteUploadRequest{
		Bucket: "b", Key: key, UploadID: uid, VersionID: vid, Token: tok, Parts: parts}})
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

func TestMultipartETagKnownValue(t *testing.T) {
	// Independently computed: md5(md5("hello") || md5("world")) + "-2".
	got := MultipartETag([]string{`"5d41402abc4b2a76b9719d911017c592"`, "7d793037a0760186574b0282f2f435e7"})
	if got != "065947336a2f2a95ba8899f3675c3be6-2" {
		t.Fatalf("got %s", got)
	}
}

func TestCompleteUploadHappy(t *testing.T) {
	h := newHarness(t)
	h.put("b", "k", "old", 2)
	if r := h.createUpload("k", "u1", "ct"); r.Err != "" || r.Upload.Initiated.IsZero() {
		t.Fatalf("create: %+v", r)
	}
	// Retried create with the same token returns the first upload.
	if r := h.createUpload("k", "u-other", "ct"); !r.Existed || r.Upload.UploadID != "u1" {
		t.Fatalf("create retry: %+v", r)
	}
	// Real data so the ETag can be checked against an independent MD5.
	data := [][]byte{
		bytes.Repeat([]byte("A"), metapb.MinPartSize),
		bytes.Repeat([]byte("B"), metapb.MinPartSize+3),
		[]byte("tail bytes"),
	}
	h.uploadPart("k", "u1", 1, "a1", int64(len(data[0])), md5hex(data[0]), 2, nil)
	h.uploadPart("k", "u1", 2, "a0", int64(len(data[1])), "stale", 1, nil) // replaced below
	h.uploadPart("k", "u1", 2, "a1", int64(len(data[1])), md5hex(data[1]), 1, nil)
	h.uploadPart("k", "u1", 3, "a1", int64(len(data[2])), md5hex(data[2]), 0, data[2]) // inline last part
	h.uploadPart("k", "u1", 4, "a1", 100, "unlisted", 1, nil)
	if g := garbageByReason(h.s); g["replaced"] != 1 {
		t.Fatalf("replaced part not queued: %+v", g)
	}
	lp, ok := h.s.ListParts(metapb.ListPartsRequest{Bucket: "b", Key: "k", UploadID: "u1"})
	if !ok || len(lp.Parts) != 4 || lp.Parts[1].Attempt != "a1" || lp.Parts[2].Inline != nil || lp.Upload.ContentType != "video/mp4" {
		t.Fatalf("list parts %v %+v", ok, lp)
	}
	if p, ok := h.s.GetPart("b", "k", "u1", 3); !ok || string(p.Inline) != "tail bytes" {
		t.Fatalf("get part %+v", p)
	}
	// A prepared-but-uncommitted attempt is not listed and becomes garbage.
	h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{
		Bucket: "b", Key: "k", UploadID: "u1", Number: 5, Attempt: "x", Segments: segs("pending", 1)}}})

	var whole []byte
	var digests []byte
	for _, d := range data {
		whole = append(whole, d...)
		s := md5.Sum(d)
		digests = append(digests, s[:]...)
	}
	wantETag := md5hex(digests) + "-3"
	r := h.complete("k", "u1", "mpv", "tok-c",
		metapb.CompletePart{Number: 1, ETag: `"` + md5hex(data[0]) + `"`},
		metapb.CompletePart{Number: 2, ETag: md5hex(data[1])},
		metapb.CompletePart{Number: 3, ETag: md5hex(data[2])})
	if r.Err != "" {
		t.Fatalf("complete: %+v", r)
	}
	v := r.Version
	if v.ETag != wantETag || v.Size != int64(len(whole)) || v.ContentType != "video/mp4" || v.UserMeta["m"] != "v" || len(v.Parts) != 3 {
		t.Fatalf("version %+v (want etag %s)", v, wantETag)
	}
	if r.Replaced == nil || r.Replaced.VersionID != "old" || r.Seq == 0 {
		t.Fatalf("replaced/seq: %+v", r)
	}
	// Segments: part 1's two segments, part 2's one rebased, part 3 inline.
	if len(v.Segments) != 4 {
		t.Fatalf("segments %+v", v.Segments)
	}
	p2off := int64(len(data[0]))
	p3off := p2off + int64(len(data[1]))
	if v.Segments[0].Offset != 0 || v.Segments[1].Offset != 100 || v.Segments[2].Offset != p2off || v.Segments[2].Shards[0].CRC32C == 0 ||
		v.Segments[3].Offset != p3off || string(v.Segments[3].Inline) != "tail bytes" || len(v.Segments[3].Shards) != 0 {
		t.Fatalf("segments %+v", v.Segments)
	}
	if _, ok := h.s.GetUpload("b", "k", "u1"); ok {
		t.Fatal("upload record survives completion")
	}
	if st := h.s.Stats(); st.Parts != 0 || st.PreparingParts != 0 || st.Uploads != 0 {
		t.Fatalf("stats %+v", st)
	}
	g := garbageByReason(h.s)
	if g["overwritten"] != 1 || g["unlisted part"] != 2 || g["replaced"] != 1 {
		t.Fatalf("garbage %+v", g)
	}
	// Listing omits the bytes and the shard map.
	l := h.s.List(metapb.ListRequest{Bucket: "b"})
	if len(l.Entries) != 1 || l.Entries[0].Version.Segments != nil || l.Entries[0].Version.Inline != nil || l.Entries[0].Version.Size == 0 {
		t.Fatalf("list %+v", l)
	}
	// Idempotent retry by token, and by version id without token.
	r2 := h.complete("k", "u1", "mpv-retry", "tok-c", metapb.CompletePart{Number: 1, ETag: "x"})
	if r2.Err != "" || !r2.Existed || r2.Version.VersionID != "mpv" || r2.Version.ETag != wantETag {
		t.Fatalf("retry: %+v", r2)
	}
	r3 := h.complete("k", "u1", "mpv", "", metapb.CompletePart{Number: 1, ETag: "x"})
	if r3.Err != "" || !r3.Existed {
		t.Fatalf("retry by vid: %+v", r3)
	}
	// A second, separate Complete (new token, new version id) of the
	// completed upload answers the same completion when it lists the same
	// parts; other lists still find no upload.
	same := []metapb.CompletePart{{Number: 1, ETag: md5hex(data[0])}, {Number: 2, ETag: `"` + md5hex(data[1]) + `"`}, {Number: 3, ETag: md5hex(data[2])}}
	r4 := h.complete("k", "u1", "mpv-again", "tok-again", same...)
	if r4.Err != "" || !r4.Existed || r4.Version.VersionID != "mpv" || r4.Version.ETag != wantETag {
		t.Fatalf("repeated complete: %+v", r4)
	}
	for name, parts := range map[string][]metapb.CompletePart{
		"fewer parts": same[:2],
		"other etag":  {same[0], same[1], {Number: 3, ETag: "00"}},
	} {
		if r := h.complete("k", "u1", "mpv-x", "tok-x-"+name, parts...); r.Err != metapb.ErrNoSuchUpload {
			t.Fatalf("%s: %+v, want NoSuchUpload", name, r)
		}
	}
	if r := h.complete("k", "u-never", "mpv-y", "tok-y", same...); r.Err != metapb.ErrNoSuchUpload {
		t.Fatalf("other upload id: %+v, want NoSuchUpload", r)
	}
	if feed := h.s.ReadFeed(0, 0); len(feed) != 2 || feed[1].VersionID != "mpv" || feed[1].Op != metapb.FeedPut {
		t.Fatalf("feed %+v", feed)
	}
	checkNoLeakedShards(t, h.s)
}

func TestCompleteUploadAllInline(t *testing.T) {
	h := newHarness(t)
	h.createUpload("k", "u", "")
	h.uploadPart("k", "u", 1, "a", 5, md5hex([]byte("hello")), 0, []byte("hello"))
	r := h.complete("k", "u", "v", "", metapb.CompletePart{Number: 1, ETag: md5hex([]byte("hello"))})
	if r.Err != "" || string(r.Version.Inline) != "hello" || len(r.Version.Segments) != 0 || r.Version.Size != 5 {
		t.Fatalf("%+v", r)
	}
	if v, _ := h.s.Get("b", "k"); string(v.Inline) != "hello" {
		t.Fatalf("%+v", v)
	}
}

func TestCompleteUploadErrorOrder(t *testing.T) {
	big := int64(metapb.MinPartSize)
	setup := func(h *harness) {
		h.createUpload("k", "u", "")
		h.uploadPart("k", "u", 1, "a", big, "e1", 1, nil)
		h.uploadPart("k", "u", 2, "a", 10, "e2", 1, nil) // small
		h.uploadPart("k", "u", 3, "a", big, "e3", 1, nil)
		h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{
			Bucket: "b", Key: "k", UploadID: "u", Number: 4, Attempt: "a", Segments: segs("p4", 1)}}})
	}
	cp := func(n int, e string) metapb.CompletePart { return metapb.CompletePart{Number: n, ETag: e} }
	cases := []struct {
		name  string
		uid   string
		parts []metapb.CompletePart
		want  string
	}{
		// Each case also violates every later rule, proving the order.
		{"no such upload beats all", "nope", []metapb.CompletePart{cp(2, "bad"), cp(1, "e1")}, metapb.ErrNoSuchUpload},
		{"order beats missing part", "u", []metapb.CompletePart{cp(1, "e1"), cp(9, "x"), cp(2, "e2")}, metapb.ErrInvalidPartOrder},
		{"duplicate is order", "u", []metapb.CompletePart{cp(1, "e1"), cp(1, "e1")}, metapb.ErrInvalidPartOrder},
		{"missing part beats too small", "u", []metapb.CompletePart{cp(2, "e2"), cp(7, "e7")}, metapb.ErrInvalidPart},
		{"etag mismatch", "u", []metapb.CompletePart{cp(1, "zz"), cp(3, "e3")}, metapb.ErrInvalidPart},
		{"prepared-only part is missing", "u", []metapb.CompletePart{cp(1, "e1"), cp(4, "")}, metapb.ErrInvalidPart},
		{"too small", "u", []metapb.CompletePart{cp(1, "e1"), cp(2, "e2"), cp(3, "e3")}, metapb.ErrEntityTooSmall},
		{"small last part ok", "u", []metapb.CompletePart{cp(1, "e1"), cp(2, "e2")}, ""},
		{"empty list", "u", nil, metapb.ErrBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			setup(h)
			r := h.complete("k", tc.uid, "v", "", tc.parts...)
			if r.Err != tc.want {
				t.Fatalf("err %q (%s), want %q", r.Err, r.ErrMsg, tc.want)
			}
			_, uploadLeft := h.s.GetUpload("b", "k", "u")
			_, visible := h.s.Get("b", "k")
			if tc.want != "" && (!uploadLeft || visible) {
				t.Fatalf("failed completion changed state: upload %v visible %v", uploadLeft, visible)
			}
			if tc.want == "" && (uploadLeft || !visible) {
				t.Fatalf("completion: upload %v visible %v", uploadLeft, visible)
			}
			checkNoLeakedShards(t, h.s)
		})
	}
}

func TestMultipartCommandErrors(t *testing.T) {
	h := newHarness(t)
	// Parts of an unknown upload.
	if r := h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{
		Bucket: "b", Key: "k", UploadID: "none", Number: 1, Attempt: "a"}}}); r.Err != metapb.ErrNoSuchUpload {
		t.Fatalf("prepare part: %+v", r)
	}
	if r := h.uploadPart("k", "none", 1, "a", 1, "e", 0, []byte("x")); r.Err != metapb.ErrNoSuchUpload {
		t.Fatalf("commit part: %+v", r)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdAbortUpload, AbortUpload: &metapb.AbortUploadRequest{Bucket: "b", Key: "k", UploadID: "none"}}); r.Err != metapb.ErrNoSuchUpload {
		t.Fatalf("abort upload: %+v", r)
	}
	h.createUpload("k", "u", "")
	// Part number range.
	for _, n := range []int{0, -1, metapb.MaxParts + 1} {
		if r := h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{
			Bucket: "b", Key: "k", UploadID: "u", Number: n, Attempt: "a"}}}); r.Err != metapb.ErrBadRequest {
			t.Fatalf("part %d: %+v", n, r)
		}
	}
	// Prepare part idempotent on attempt; commit twice idempotent.
	pp := &metapb.PreparePartRequest{Part: metapb.Part{Bucket: "b", Key: "k", UploadID: "u", Number: 1, Attempt: "a", Segments: segs("p1", 1)}}
	h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: pp})
	if r := h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: pp}); !r.Existed {
		t.Fatalf("prepare part retry: %+v", r)
	}
	if _, ok := h.s.GetPart("b", "k", "u", 1); ok {
		t.Fatal("PREPARING part visible through GetPart")
	}
	cpr := &metapb.CommitPartRequest{Bucket: "b", Key: "k", UploadID: "u", Number: 1, Attempt: "a", Final: metapb.Part{Size: 100, ETag: "e", Segments: segs("p1", 1)}}
	if r := h.apply(metapb.Command{Type: metapb.CmdCommitPart, CommitPart: cpr}); r.Err != "" || r.Existed {
		t.Fatalf("commit part: %+v", r)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdCommitPart, CommitPart: cpr}); r.Err != "" || !r.Existed {
		t.Fatalf("commit part retry: %+v", r)
	}
	// Abort part: committed → conflict; prepared → garbage + fence.
	if r := h.apply(metapb.Command{Type: metapb.CmdAbortPart, AbortPart: &metapb.AbortPartRequest{Bucket: "b", Key: "k", UploadID: "u", Number: 1, Attempt: "a"}}); r.Err != metapb.ErrConflict {
		t.Fatalf("abort committed part: %+v", r)
	}
	pp2 := &metapb.PreparePartRequest{Part: metapb.Part{Bucket: "b", Key: "k", UploadID: "u", Number: 2, Attempt: "b", Segments: segs("p2", 1)}}
	h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: pp2})
	if got := h.s.ScanPreparingParts(h.now.Add(1), 0); len(got) != 1 || got[0].Attempt != "b" {
		t.Fatalf("scan preparing parts: %+v", got)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdAbortPart, AbortPart: &metapb.AbortPartRequest{Bucket: "b", Key: "k", UploadID: "u", Number: 2, Attempt: "b"}}); r.Err != "" {
		t.Fatalf("abort part: %+v", r)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdCommitPart, CommitPart: &metapb.CommitPartRequest{Bucket: "b", Key: "k", UploadID: "u", Number: 2, Attempt: "b",
		Final: metapb.Part{Size: 1, Segments: segs("p2", 1)}}}); r.Err != metapb.ErrConflict {
		t.Fatalf("commit of aborted part: %+v", r)
	}
	// Abort upload queues everything; later part commits are fenced.
	h.apply(metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: metapb.Part{
		Bucket: "b", Key: "k", UploadID: "u", Number: 3, Attempt: "c", Segments: segs("p3", 1)}}})
	if r := h.apply(metapb.Command{Type: metapb.CmdAbortUpload, AbortUpload: &metapb.AbortUploadRequest{Bucket: "b", Key: "k", UploadID: "u"}}); r.Err != "" {
		t.Fatalf("abort upload: %+v", r)
	}
	if g := garbageByReason(h.s); g["upload aborted"] != 2 || g["aborted"] != 1 {
		t.Fatalf("garbage %+v", g)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdCommitPart, CommitPart: &metapb.CommitPartRequest{Bucket: "b", Key: "k", UploadID: "u", Number: 3, Attempt: "c",
		Final: metapb.Part{Size: 1, Segments: segs("p3", 1)}}}); r.Err != metapb.ErrNoSuchUpload {
		t.Fatalf("commit part after abort upload: %+v", r)
	}
	if _, ok := h.s.ListParts(metapb.ListPartsRequest{Bucket: "b", Key: "k", UploadID: "u"}); ok {
		t.Fatal("list parts of aborted upload")
	}
	if st := h.s.Stats(); st.Parts != 0 || st.PreparingParts != 0 || st.Uploads != 0 {
		t.Fatalf("stats %+v", st)
	}
	checkNoLeakedShards(t, h.s)
}

func TestListPartsPaging(t *testing.T) {
	h := newHarness(t)
	h.createUpload("k", "u", "")
	for n := 1; n <= 25; n++ {
		h.uploadPart("k", "u", n, "a", 10, "e"+strconv.Itoa(n), 0, []byte("0123456789"))
	}
	var got []int
	marker := 0
	for i := 0; i < 10; i++ {
		r, ok := h.s.ListParts(metapb.ListPartsRequest{Bucket: "b", Key: "k", UploadID: "u", PartNumberMarker: marker, MaxParts: 7})
		if !ok {
			t.Fatal("no upload")
		}
		for _, p := range r.Parts {
			got = append(got, p.Number)
			marker = p.Number
		}
		if !r.Truncated {
			break
		}
	}
	if len(got) != 25 || got[0] != 1 || got[24] != 25 {
		t.Fatalf("paged parts %v", got)
	}
}

// TestAbortUploadReplay: an abort carried again with its token (the RPC
// client's retry after a lost answer, or the client's retry of the same
// request) answers success, as the first did; an abort with another token,
// or none, finds no upload. The token survives a snapshot and expires.
func TestAbortUploadReplay(t *testing.T) {
	abort := func(h *harness, uid, tok string) metapb.Result {
		return h.apply(metapb.Command{Type: metapb.CmdAbortUpload, AbortUpload: &metapb.AbortUploadRequest{Bucket: "b", Key: "k", UploadID: uid, Token: tok}})
	}
	h := newHarness(t)
	h.createUpload("k", "u", "")
	h.createUpload("k", "u2", "")
	if r := abort(h, "u", "t1"); r.Err != "" || r.Existed || r.Upload == nil {
		t.Fatalf("first abort: %+v", r)
	}
	cases := []struct {
		name, uid, tok string
		wantErr        string
	}{
		{"replay with the same token", "u", "t1", ""},
		{"another request", "u", "t2", metapb.ErrNoSuchUpload},
		{"no token", "u", "", metapb.ErrNoSuchUpload},
		{"the token naming another upload", "u3", "t1", metapb.ErrNoSuchUpload},
	}
	check := func(h *harness, when string) {
		t.Helper()
		for _, c := range cases {
			if r := abort(h, c.uid, c.tok); r.Err != c.wantErr {
				t.Fatalf("%s, %s: %+v, want %q", when, c.name, r, c.wantErr)
			}
		}
	}
	check(h, "live")
	r := &harness{t: t, s: New(), now: h.now, index: h.index}
	if err := r.s.Restore(bytes.NewReader(snapBytes(t, h.s))); err != nil {
		t.Fatal(err)
	}
	check(r, "after a snapshot")
	// The other upload is untouched by any of it.
	if _, ok := h.s.ListParts(metapb.ListPartsRequest{Bucket: "b", Key: "k", UploadID: "u2"}); !ok {
		t.Fatal("u2 gone")
	}
	h.now = h.now.Add(TokenTTL + time.Second)
	for range 4 {
		h.createUpload("k", "other", "") // applies prune expired tokens
		abort(h, "other", "")
	}
	if r := abort(h, "u", "t1"); r.Err != metapb.ErrNoSuchUpload {
		t.Fatalf("replay after the token expired: %+v", r)
	}
}

package metastate

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func (h *harness) putTags(key, ver string, tags map[string]string) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdPutTags, PutTags: &metapb.PutTagsRequest{Bucket: "b", Key: key, Ver: ver, Tags: tags}})
}

// TestPutTags: tags replace in place (version id, ETag and shards kept), on
// the newest record or a named version; a delete marker, an absent version
// and too many tags are refused; every change is in the feed; tags survive
// a snapshot.
func TestPutTags(t *testing.T) {
	h := newHarness(t)
	v1 := h.put("b", "k", "v1", 2).Version
	// Versioned second version, with tags from the write.
	r := h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: "k", VersionID: "v2",
		Versioning: metapb.VersioningEnabled,
		Final:      metapb.ObjectVersion{Inline: []byte("two"), ETag: "e2", Tags: map[string]string{"w": "1"}}}})
	if r.Err != "" || r.Version.Tags["w"] != "1" {
		t.Fatalf("commit with tags: %+v", r)
	}
	v2 := r.Version

	many := map[string]string{}
	for i := range 11 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	cases := []struct {
		name    string
		key     string
		ver     string
		tags    map[string]string
		code    string
		wantVer string
	}{
		{"newest", "k", "", map[string]string{"a": "1", "b": ""}, "", v2.Ver},
		{"named noncurrent", "k", v1.Ver, map[string]string{"old": "yes"}, "", v1.Ver},
		{"absent key", "nope", "", map[string]string{"a": "1"}, metapb.ErrNotFound, ""},
		{"absent version", "k", "AAAAAAAAAAAAAAAA", map[string]string{"a": "1"}, metapb.ErrNotFound, ""},
		{"malformed version", "k", "x", nil, metapb.ErrBadRequest, ""},
		{"too many", "k", "", many, metapb.ErrBadRequest, ""},
	}
	for _, tc := range cases {
		r := h.putTags(tc.key, tc.ver, tc.tags)
		if r.Err != tc.code {
			t.Fatalf("%s: err %q (%s), want %q", tc.name, r.Err, r.ErrMsg, tc.code)
		}
		if tc.code != "" {
			continue
		}
		if r.Version.Ver != tc.wantVer || !reflect.DeepEqual(r.Version.Tags, tc.tags) || r.Seq == 0 {
			t.Fatalf("%s: %+v", tc.name, r.Version)
		}
		got, ok := h.s.GetVer("b", tc.key, tc.wantVer)
		if !ok || !reflect.DeepEqual(got.Tags, tc.tags) {
			t.Fatalf("%s: read back %+v", tc.name, got.Tags)
		}
		e := h.s.ReadFeed(r.Seq-1, 1)
		if len(e) != 1 || e[0].Op != metapb.FeedTags || e[0].Ver != tc.wantVer {
			t.Fatalf("%s: feed %+v", tc.name, e)
		}
	}
	// The current version (v2) keeps its data and is still current.
	cur, _ := h.s.Get("b", "k")
	if cur.Ver != v2.Ver || string(cur.Inline) != "two" || cur.ETag != "e2" || cur.Tags["a"] != "1" {
		t.Fatalf("current after tagging: %+v", cur)
	}
	old, _ := h.s.GetVer("b", "k", v1.Ver)
	if !reflect.DeepEqual(old.Segments, v1.Segments) {
		t.Fatal("tagging changed a version's shards")
	}
	// Delete: nil tags.
	if r := h.putTags("k", v1.Ver, nil); r.Err != "" || r.Version.Tags != nil {
		t.Fatalf("delete tags: %+v", r)
	}
	// A delete marker on top: the newest is a marker; named marker → 405.
	dm := h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: "k", Versioning: metapb.VersioningEnabled}})
	if r := h.putTags("k", "", map[string]string{"a": "b"}); r.Err != metapb.ErrMethodNotAllowed {
		t.Fatalf("tags on newest marker: %+v", r)
	}
	if r := h.putTags("k", dm.Version.Ver, map[string]string{"a": "b"}); r.Err != metapb.ErrMethodNotAllowed {
		t.Fatalf("tags on named marker: %+v", r)
	}
	// Snapshot round trip keeps the tags.
	s2 := New()
	if err := s2.Restore(bytes.NewReader(snapBytes(t, h.s))); err != nil {
		t.Fatal(err)
	}
	got, _ := s2.GetVer("b", "k", v2.Ver)
	if got.Tags["a"] != "1" || got.Tags["b"] != "" || len(got.Tags) != 2 {
		t.Fatalf("after restore: %+v", got.Tags)
	}
}

// TestMultipartChecksums: COMPOSITE and FULL_OBJECT checksums computed at
// Complete from the parts, part checksums kept for GetObjectAttributes,
// tags carried from the upload, and the refusals.
func TestMultipartChecksums(t *testing.T) {
	p1 := bytes.Repeat([]byte("a"), metapb.MinPartSize)
	p2 := []byte("tail")
	sums := func(a s3checksum.Algorithm) (string, string) { return s3checksum.Sum(a, p1), s3checksum.Sum(a, p2) }
	comp := func(a s3checksum.Algorithm) string {
		s1, s2 := sums(a)
		v, _ := s3checksum.Composite(a, []string{s1, s2})
		return v
	}
	full := func(a s3checksum.Algorithm) string { return s3checksum.Sum(a, append(append([]byte{}, p1...), p2...)) }
	cases := []struct {
		name      string
		alg, typ  string
		partAlgs  []s3checksum.Algorithm // stored with the parts
		listed    bool                   // list the parts' checksums in the request
		listWrong bool
		claim     string // full-object checksum claimed by the client
		code      string
		want      map[string]string
		wantType  string
	}{
		{"crc32 composite", "CRC32", "", []s3checksum.Algorithm{"CRC32"}, true, false, "", "", map[string]string{"CRC32": comp("CRC32")}, metapb.ChecksumComposite},
		{"sha256 composite", "SHA256", "COMPOSITE", []s3checksum.Algorithm{"SHA256"}, false, false, "", "", map[string]string{"SHA256": comp("SHA256")}, metapb.ChecksumComposite},
		{"crc32c full", "CRC32C", "FULL_OBJECT", []s3checksum.Algorithm{"CRC32C"}, true, false, "", "", map[string]string{"CRC32C": full("CRC32C")}, metapb.ChecksumFullObject},
		{"crc64nvme default full", "CRC64NVME", "", []s3checksum.Algorithm{"CRC64NVME"}, false, false, full("CRC64NVME"), "", map[string]string{"CRC64NVME": full("CRC64NVME")}, metapb.ChecksumFullObject},
		{"no algorithm, crc64nvme parts", "", "", []s3checksum.Algorithm{"CRC64NVME", "CRC32"}, false, false, "", "", map[string]string{"CRC64NVME": full("CRC64NVME")}, metapb.ChecksumFullObject},
		{"no algorithm, crc32 parts", "", "", []s3checksum.Algorithm{"CRC32"}, false, false, "", "", nil, ""},
		{"listed checksum differs", "CRC32", "", []s3checksum.Algorithm{"CRC32"}, true, true, "", metapb.ErrInvalidPart, nil, ""},
		{"claimed full checksum differs", "CRC32", "FULL_OBJECT", []s3checksum.Algorithm{"CRC32"}, false, false, "AAAAAA==", metapb.ErrBadDigest, nil, ""},
		{"part lacks the algorithm", "SHA1", "", []s3checksum.Algorithm{"CRC32"}, false, false, "", metapb.ErrBadRequest, nil, ""},
	}
	for i, tc := range cases {
		h := newHarness(t)
		uid := "u" + string(rune('a'+i))
		if r := h.apply(metapb.Command{Type: metapb.CmdCreateUpload, CreateUpload: &metapb.CreateUploadRequest{Upload: metapb.Upload{
			Bucket: "b", Key: "k", UploadID: uid, Checksum: tc.alg, ChecksumType: tc.typ, Tags: map[string]string{"t": "1"},
		}}}); r.Err != "" {
			t.Fatal(r.ErrMsg)
		}
		var cps []metapb.CompletePart
		for n, data := range [][]byte{p1, p2} {
			cks := map[string]string{}
			for _, a := range tc.partAlgs {
				cks[string(a)] = s3checksum.Sum(a, data)
			}
			etag := md5hex(data)
			r := h.apply(metapb.Command{Type: metapb.CmdCommitPart, CommitPart: &metapb.CommitPartRequest{
				Bucket: "b", Key: "k", UploadID: uid, Number: n + 1, Attempt: "a",
				Final: metapb.Part{Size: int64(len(data)), ETag: etag, Inline: data, Checksums: cks}}})
			if r.Err != "" {
				t.Fatalf("%s: part: %+v", tc.name, r)
			}
			cp := metapb.CompletePart{Number: n + 1, ETag: etag}
			if tc.listed {
				cp.Checksums = map[string]string{tc.alg: cks[tc.alg]}
				if tc.listWrong {
					cp.Checksums[tc.alg] = s3checksum.Sum(s3checksum.Algorithm(tc.alg), []byte("other"))
				}
			}
			cps = append(cps, cp)
		}
		req := &metapb.CompleteUploadRequest{Bucket: "b", Key: "k", UploadID: uid, VersionID: "v" + uid, Parts: cps}
		if tc.claim != "" {
			req.Checksums = map[string]string{tc.alg: tc.claim}
		}
		r := h.apply(metapb.Command{Type: metapb.CmdCompleteUpload, CompleteUpload: req})
		if r.Err != tc.code {
			t.Fatalf("%s: err %q (%s), want %q", tc.name, r.Err, r.ErrMsg, tc.code)
		}
		if tc.code != "" {
			if _, ok := h.s.GetUpload("b", "k", uid); !ok {
				t.Fatalf("%s: a refused completion removed the upload", tc.name)
			}
			continue
		}
		v := r.Version
		if !reflect.DeepEqual(v.Checksums, tc.want) || v.ChecksumType != tc.wantType || v.Tags["t"] != "1" {
			t.Fatalf("%s: checksums %v type %q tags %v; want %v %q", tc.name, v.Checksums, v.ChecksumType, v.Tags, tc.want, tc.wantType)
		}
		if len(v.Parts) != 2 || len(v.Parts[0].Checksums) != len(tc.partAlgs) {
			t.Fatalf("%s: part infos %+v", tc.name, v.Parts)
		}
	}
}

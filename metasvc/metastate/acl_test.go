package metastate

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func (h *harness) putACL(key, ver string, acl *metapb.ObjectACL) metapb.Result {
	return h.apply(metapb.Command{Type: metapb.CmdPutACL, PutACL: &metapb.PutACLRequest{Bucket: "b", Key: key, Ver: ver, ACL: acl}})
}

// TestObjectACL: an ACL given at commit is stored; PutACL replaces it in
// place on the newest or a named version (data and owner kept), nil
// restores the default; markers and absent versions are refused; the ACL
// survives a snapshot and is given to a completed multipart object.
func TestObjectACL(t *testing.T) {
	h := newHarness(t)
	pub := &metapb.ObjectACL{Grants: []metapb.Grant{
		{Type: "CanonicalUser", ID: "o", Permission: "FULL_CONTROL"},
		{Type: "Group", URI: "http://acs.amazonaws.com/groups/global/AllUsers", Permission: "READ"},
	}}
	other := &metapb.ObjectACL{Grants: []metapb.Grant{{Type: "CanonicalUser", ID: "p", Permission: "READ"}}}
	v1 := h.put("b", "k", "v1", 2).Version
	if v1.ACL != nil {
		t.Fatalf("default ACL stored: %+v", v1.ACL)
	}
	r := h.apply(metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: "k", VersionID: "v2",
		Versioning: metapb.VersioningEnabled,
		Final:      metapb.ObjectVersion{Inline: []byte("two"), ETag: "e2", Owner: "o", ACL: pub}}})
	if r.Err != "" || !reflect.DeepEqual(r.Version.ACL, pub) {
		t.Fatalf("commit with acl: %+v", r)
	}
	v2 := r.Version
	cases := []struct {
		name, key, ver string
		acl            *metapb.ObjectACL
		code, wantVer  string
	}{
		{"newest", "k", "", other, "", v2.Ver},
		{"named noncurrent", "k", v1.Ver, pub, "", v1.Ver},
		{"restore default", "k", v1.Ver, nil, "", v1.Ver},
		{"absent key", "nope", "", pub, metapb.ErrNotFound, ""},
		{"absent version", "k", "AAAAAAAAAAAAAAAA", pub, metapb.ErrNotFound, ""},
		{"malformed version", "k", "x", pub, metapb.ErrBadRequest, ""},
	}
	for _, tc := range cases {
		r := h.putACL(tc.key, tc.ver, tc.acl)
		if r.Err != tc.code {
			t.Fatalf("%s: err %q (%s), want %q", tc.name, r.Err, r.ErrMsg, tc.code)
		}
		if tc.code != "" {
			continue
		}
		got, ok := h.s.GetVer("b", tc.key, tc.wantVer)
		if !ok || r.Version.Ver != tc.wantVer || !reflect.DeepEqual(got.ACL, tc.acl) {
			t.Fatalf("%s: %+v, read back %+v", tc.name, r.Version, got.ACL)
		}
	}
	cur, _ := h.s.Get("b", "k")
	if cur.Ver != v2.Ver || string(cur.Inline) != "two" || cur.Owner != "o" || !reflect.DeepEqual(cur.ACL, other) {
		t.Fatalf("current after ACL change: %+v", cur)
	}
	dm := h.apply(metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: "k", Versioning: metapb.VersioningEnabled}})
	if r := h.putACL("k", dm.Version.Ver, pub); r.Err != metapb.ErrMethodNotAllowed {
		t.Fatalf("acl on named marker: %+v", r)
	}
	s2 := New()
	if err := s2.Restore(bytes.NewReader(snapBytes(t, h.s))); err != nil {
		t.Fatal(err)
	}
	if got, _ := s2.GetVer("b", "k", v2.Ver); !reflect.DeepEqual(got.ACL, other) {
		t.Fatalf("after restore: %+v", got.ACL)
	}

	// Multipart: the upload's ACL is the object's.
	if r := h.apply(metapb.Command{Type: metapb.CmdCreateUpload, CreateUpload: &metapb.CreateUploadRequest{Upload: metapb.Upload{
		Bucket: "b", Key: "m", UploadID: "u1", ACL: pub}}}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	data := []byte("tail")
	if r := h.apply(metapb.Command{Type: metapb.CmdCommitPart, CommitPart: &metapb.CommitPartRequest{
		Bucket: "b", Key: "m", UploadID: "u1", Number: 1, Attempt: "a",
		Final: metapb.Part{Size: int64(len(data)), ETag: md5hex(data), Inline: data}}}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	r = h.apply(metapb.Command{Type: metapb.CmdCompleteUpload, CompleteUpload: &metapb.CompleteUploadRequest{
		Bucket: "b", Key: "m", UploadID: "u1", VersionID: "vm", Parts: []metapb.CompletePart{{Number: 1, ETag: md5hex(data)}}}})
	if r.Err != "" || !reflect.DeepEqual(r.Version.ACL, pub) {
		t.Fatalf("complete: %+v", r)
	}
}

package s3api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func TestCheckContentLength(t *testing.T) {
	req := func(proto int, cl int64, header bool) *http.Request {
		r := &http.Request{ProtoMajor: proto, ContentLength: cl, Header: http.Header{}}
		if header {
			r.Header.Set("Content-Length", "5")
		}
		return r
	}
	tests := []struct {
		name      string
		r         *http.Request
		streaming bool
		ok        bool
	}{
		{"declared", req(1, 5, true), false, true},
		{"no header (HTTP/1.1)", req(1, 0, false), false, false},
		{"chunked transfer encoding", req(1, -1, false), false, false},
		{"aws-chunked", req(1, -1, false), true, true},
		{"HTTP/2 framed empty body", req(2, 0, false), false, true},
		{"HTTP/2 unknown length", req(2, -1, false), false, false},
		{"HTTP/3 from the edge", req(3, 5, true), false, true},
	}
	for _, tc := range tests {
		err := CheckContentLength(tc.r, tc.streaming)
		if tc.ok != (err == nil) || (!tc.ok && s3code(err) != s3err.MissingContentLength) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && s3err.As(err).Status != http.StatusLengthRequired {
			t.Errorf("%s: status %d, want 411", tc.name, s3err.As(err).Status)
		}
	}
}

func TestPartNumberAndRange(t *testing.T) {
	for _, v := range []string{"0", "10001", "x", "", "-1", "1.5"} {
		if _, present, err := ParsePartNumber(url.Values{"partNumber": {v}}, 10000); !present || s3code(err) != s3err.InvalidArgument {
			t.Errorf("partNumber=%q: %v", v, err)
		}
	}
	if n, present, err := ParsePartNumber(url.Values{"partNumber": {"2"}}, 10000); n != 2 || !present || err != nil {
		t.Errorf("partNumber=2: %d %v %v", n, present, err)
	}
	if _, present, err := ParsePartNumber(url.Values{}, 10000); present || err != nil {
		t.Errorf("absent: %v %v", present, err)
	}
	sizes := []int64{5, 5, 3}
	for n, want := range map[int]Range{1: {0, 5}, 2: {5, 5}, 3: {10, 3}} {
		if got, err := PartRange(n, 13, sizes); got != want || err != nil {
			t.Errorf("PartRange(%d) = %+v, %v; want %+v", n, got, err, want)
		}
	}
	if _, err := PartRange(4, 13, sizes); s3code(err) != s3err.InvalidPartNumber || s3err.As(err).Status != 416 {
		t.Errorf("past the last part: %v", err)
	}
	if got, err := PartRange(1, 10, nil); got != (Range{0, 10}) || err != nil {
		t.Errorf("part 1 of a single-part object: %+v %v", got, err)
	}
	if _, err := PartRange(2, 10, nil); s3code(err) != s3err.InvalidPartNumber {
		t.Errorf("part 2 of a single-part object: %v", err)
	}
}

func TestCheckVersionID(t *testing.T) {
	tests := []struct {
		id               string
		present, version bool
		want             s3err.Code
	}{
		{"", false, false, ""},
		{"null", true, false, ""},
		{"null", true, true, ""},
		{"bogus", true, false, s3err.InvalidArgument},
		{"", true, false, s3err.InvalidArgument},
		{"3HL4kqtJlcpXroDT", true, true, ""},                                  // well-formed: the handler looks it up
		{"3HL4kqtJlcpXroDT", true, false, s3err.InvalidArgument},              // never on an unversioned bucket
		{"3HL4kqtJlcpXroDTDmjVBH40Nrjfkd", true, true, s3err.InvalidArgument}, // malformed
	}
	wellFormed := func(id string) bool { return len(id) == 16 }
	for _, tc := range tests {
		if got := s3code(CheckVersionID(tc.id, tc.present, tc.version, wellFormed)); got != tc.want {
			t.Errorf("CheckVersionID(%q,%v,%v) = %q, want %q", tc.id, tc.present, tc.version, got, tc.want)
		}
	}
	if e := s3err.As(CheckVersionID("bogus", true, false, wellFormed)); e.Message != "Invalid version id specified" || e.Status != 400 {
		t.Errorf("message %q status %d", e.Message, e.Status)
	}
}

func TestCheckUnsupportedHeaders(t *testing.T) {
	tests := []struct {
		scope  HeaderScope
		header string
		value  string
		want   s3err.Code
	}{
		// Object reads and writes: the gateway honours or refuses each
		// encryption header itself (regional/sse.go).
		{ScopeObjectWrite, "x-amz-server-side-encryption", "AES256", ""},
		{ScopeObjectWrite, "x-amz-server-side-encryption-customer-algorithm", "AES256", ""},
		{ScopeObjectWrite, "x-amz-copy-source-server-side-encryption-customer-key", "k", ""},
		{ScopePartWrite, "X-Amz-Server-Side-Encryption-Customer-Key", "k", ""},
		{ScopeObjectRead, "x-amz-server-side-encryption-customer-key-MD5", "m", ""},
		{ScopeBucketCreate, "x-amz-server-side-encryption", "AES256", s3err.NotImplemented},
		{ScopeBucketCreate, "x-amz-server-side-encryption-customer-key", "k", s3err.NotImplemented},
		{ScopeObjectWrite, "x-amz-object-lock-mode", "GOVERNANCE", ""}, // the handler's (regional/objectlock.go)
		{ScopeObjectWrite, "x-amz-object-lock-legal-hold", "ON", ""},   // the handler's
		{ScopeObjectWrite, "x-amz-website-redirect-location", "/x", s3err.NotImplemented},
		{ScopeObjectWrite, "x-amz-tagging", "a=b", ""}, // served (regional/tagging.go)
		{ScopeObjectWrite, "x-amz-storage-class", "GLACIER", s3err.InvalidStorageClass},
		{ScopeObjectWrite, "x-amz-storage-class", "standard", s3err.InvalidStorageClass},
		{ScopeObjectWrite, "x-amz-storage-class", "STANDARD", ""},
		{ScopeObjectWrite, "x-amz-acl", "private", ""},
		{ScopeObjectWrite, "x-amz-acl", "bucket-owner-full-control", ""},
		{ScopeObjectWrite, "x-amz-acl", "public-read", ""}, // served per ownership controls (internal/s3acl)
		{ScopeObjectWrite, "x-amz-grant-read", "id=x", ""}, // same
		{ScopeObjectWrite, "x-amz-meta-a", "b", ""},
		{ScopePartWrite, "x-amz-tagging", "a=b", ""}, // not an UploadPart header
		{ScopeObjectRead, "x-amz-storage-class", "GLACIER", ""},
		{ScopeBucketCreate, "x-amz-acl", "private", ""},
		{ScopeBucketCreate, "x-amz-acl", "public-read", ""}, // served (s3acl.ForCreateBucket)
		{ScopeBucketCreate, "x-amz-grant-full-control", "id=x", ""},
		{ScopeBucketCreate, "x-amz-bucket-object-lock-enabled", "true", ""}, // served (s3lock.ParseBucketHeader)
		{ScopeBucketCreate, "x-amz-bucket-object-lock-enabled", "false", ""},
		{ScopeBucketCreate, "x-amz-object-ownership", "BucketOwnerEnforced", ""},
		{ScopeBucketCreate, "x-amz-object-ownership", "ObjectWriter", ""},
	}
	for _, tc := range tests {
		h := http.Header{}
		h.Set(tc.header, tc.value)
		err := CheckUnsupportedHeaders(h, tc.scope)
		if got := s3code(err); got != tc.want {
			t.Errorf("scope %d %s: %s: %v, want %q", tc.scope, tc.header, tc.value, err, tc.want)
		}
		if tc.want == s3err.NotImplemented && strings.Contains(strings.ToLower(tc.header), "encryption") &&
			!strings.Contains(s3err.As(err).Message, "encryption is not supported") {
			t.Errorf("%s: message %q does not say encryption is unsupported", tc.header, s3err.As(err).Message)
		}
	}
}

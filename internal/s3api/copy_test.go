package s3api

import (
	"net/http"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func codeOf(err error) s3err.Code {
	if err == nil {
		return ""
	}
	return s3err.As(err).Code
}

func fields(err error) map[string]string {
	m := map[string]string{}
	for _, f := range s3err.As(err).Extra {
		m[f.Name] = f.Value
	}
	return m
}

func TestParseCopySource(t *testing.T) {
	tests := []struct {
		in   string
		want CopySource
		code s3err.Code
	}{
		{"bucket/key", CopySource{Bucket: "bucket", Key: "key"}, ""},
		{"/bucket/key", CopySource{Bucket: "bucket", Key: "key"}, ""},
		{"/bucket/dir/sub/key.txt", CopySource{Bucket: "bucket", Key: "dir/sub/key.txt"}, ""},
		{"bucket/a%20b%2Bc%3Fd", CopySource{Bucket: "bucket", Key: "a b+c?d"}, ""},
		{"bucket/a+b", CopySource{Bucket: "bucket", Key: "a+b"}, ""}, // '+' is not a space in a path
		{"bucket/%E2%82%AC", CopySource{Bucket: "bucket", Key: "€"}, ""},
		{"bucket/key?versionId=3HL4kqtJlcpXroDTDmJ", CopySource{Bucket: "bucket", Key: "key", VersionID: "3HL4kqtJlcpXroDTDmJ", Versioned: true}, ""},
		{"bucket/key?versionId=null", CopySource{Bucket: "bucket", Key: "key", VersionID: "null", Versioned: true}, ""},
		{"bucket/key?other=1", CopySource{Bucket: "bucket", Key: "key"}, ""},
		{"bucket/key?versionId=", CopySource{}, s3err.InvalidArgument},
		{"bucket/key?versionId", CopySource{}, s3err.InvalidArgument},
		{"bucket", CopySource{}, s3err.InvalidArgument},
		{"/bucket", CopySource{}, s3err.InvalidArgument},
		{"bucket/", CopySource{}, s3err.InvalidArgument},
		{"/", CopySource{}, s3err.InvalidArgument},
		{"", CopySource{}, s3err.InvalidArgument},
		{"//key", CopySource{}, s3err.InvalidArgument},
		{"bucket/%zz", CopySource{}, s3err.InvalidArgument},
		{"bucket/key?versionId=%zz", CopySource{}, s3err.InvalidArgument},
		{"arn:aws:s3:us-west-2:123456789012:accesspoint/ap/object/key", CopySource{}, s3err.InvalidArgument},
	}
	for _, tc := range tests {
		got, err := ParseCopySource(tc.in)
		if codeOf(err) != tc.code || got != tc.want {
			t.Errorf("ParseCopySource(%q) = %+v, %v; want %+v, %q", tc.in, got, err, tc.want, tc.code)
		}
	}
}

func TestParseDirective(t *testing.T) {
	tests := []struct {
		v    string
		want Directive
		code s3err.Code
	}{
		{"", DirectiveCopy, ""},
		{"COPY", DirectiveCopy, ""},
		{"REPLACE", DirectiveReplace, ""},
		{"replace", 0, s3err.InvalidArgument}, // case-sensitive, as S3
		{"MERGE", 0, s3err.InvalidArgument},
	}
	for _, name := range []string{"x-amz-metadata-directive", "x-amz-tagging-directive"} {
		for _, tc := range tests {
			h := http.Header{}
			if tc.v != "" {
				h.Set(name, tc.v)
			}
			got, err := ParseDirective(h, name)
			if codeOf(err) != tc.code || (err == nil && got != tc.want) {
				t.Errorf("%s: %q → %v, %v; want %v, %q", name, tc.v, got, err, tc.want, tc.code)
			}
			if err != nil && fields(err)["ArgumentName"] != name {
				t.Errorf("%s: %q: error names %v", name, tc.v, fields(err))
			}
		}
	}
}

func TestParseCopySourceRange(t *testing.T) {
	const size = 100
	tests := []struct {
		v      string
		want   Range
		ranged bool
		code   s3err.Code
	}{
		{"", Range{}, false, ""},
		{"bytes=0-99", Range{0, 100}, true, ""},
		{"bytes=0-0", Range{0, 1}, true, ""},
		{"bytes=99-99", Range{99, 1}, true, ""},
		{"bytes=10-19", Range{10, 10}, true, ""},
		{"bytes=0-100", Range{}, false, s3err.InvalidRange},
		{"bytes=100-100", Range{}, false, s3err.InvalidRange},
		{"bytes=150-200", Range{}, false, s3err.InvalidRange},
		{"bytes=19-10", Range{}, false, s3err.InvalidArgument},
		{"bytes=0-", Range{}, false, s3err.InvalidArgument},
		{"bytes=-10", Range{}, false, s3err.InvalidArgument},
		{"bytes=1", Range{}, false, s3err.InvalidArgument},
		{"0-10", Range{}, false, s3err.InvalidArgument},
		{"Bytes=0-10", Range{}, false, s3err.InvalidArgument},
		{"bytes=0-1,3-4", Range{}, false, s3err.InvalidArgument},
		{"bytes= 0-10", Range{}, false, s3err.InvalidArgument},
		{"bytes=+0-10", Range{}, false, s3err.InvalidArgument},
		{"bytes=0-99999999999999999999", Range{}, false, s3err.InvalidArgument},
	}
	for _, tc := range tests {
		got, ranged, err := ParseCopySourceRange(tc.v, size)
		if codeOf(err) != tc.code || got != tc.want || ranged != tc.ranged {
			t.Errorf("%q → %+v %v %v; want %+v %v %q", tc.v, got, ranged, err, tc.want, tc.ranged, tc.code)
		}
	}
	if _, _, err := ParseCopySourceRange("bytes=0-0", 0); codeOf(err) != s3err.InvalidRange {
		t.Errorf("a range of an empty source: %v", err)
	}
}

func TestCheckCopySourceConditions(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	modified := now.Add(-time.Hour)
	const etag = "abc123"
	before, after := modified.Add(-time.Minute).Format(http.TimeFormat), modified.Add(time.Minute).Format(http.TimeFormat)
	future := now.Add(time.Hour).Format(http.TimeFormat)
	at := modified.Format(http.TimeFormat)
	tests := []struct {
		name string
		hdr  map[string]string
		fail string // the Condition named, "" for none
	}{
		{"none", nil, ""},
		{"if-match true", map[string]string{"if-match": `"abc123"`}, ""},
		{"if-match unquoted", map[string]string{"if-match": `abc123`}, ""},
		{"if-match list", map[string]string{"if-match": `"x", "abc123"`}, ""},
		{"if-match star", map[string]string{"if-match": `*`}, ""},
		{"if-match false", map[string]string{"if-match": `"x"`}, "x-amz-copy-source-If-Match"},
		{"if-none-match true", map[string]string{"if-none-match": `"x"`}, ""},
		{"if-none-match false", map[string]string{"if-none-match": `"abc123"`}, "x-amz-copy-source-If-None-Match"},
		{"if-unmodified-since true", map[string]string{"if-unmodified-since": after}, ""},
		{"if-unmodified-since at", map[string]string{"if-unmodified-since": at}, ""},
		{"if-unmodified-since false", map[string]string{"if-unmodified-since": before}, "x-amz-copy-source-If-Unmodified-Since"},
		{"if-modified-since true", map[string]string{"if-modified-since": before}, ""},
		{"if-modified-since false", map[string]string{"if-modified-since": after}, "x-amz-copy-source-If-Modified-Since"},
		{"if-modified-since at", map[string]string{"if-modified-since": at}, "x-amz-copy-source-If-Modified-Since"},
		{"if-modified-since in the future ignored", map[string]string{"if-modified-since": future}, ""},
		{"bad date ignored", map[string]string{"if-unmodified-since": "yesterday"}, ""},
		// The two pairs S3 documents.
		{"if-match true + if-unmodified-since false", map[string]string{"if-match": `"abc123"`, "if-unmodified-since": before}, ""},
		{"if-none-match false + if-modified-since true", map[string]string{"if-none-match": `"abc123"`, "if-modified-since": before}, "x-amz-copy-source-If-None-Match"},
		{"if-none-match true + if-modified-since false", map[string]string{"if-none-match": `"x"`, "if-modified-since": after}, ""},
		{"if-match false + if-none-match true", map[string]string{"if-match": `"x"`, "if-none-match": `"y"`}, "x-amz-copy-source-If-Match"},
	}
	for _, tc := range tests {
		h := http.Header{}
		for k, v := range tc.hdr {
			h.Set("x-amz-copy-source-"+k, v)
		}
		err := CheckCopySourceConditions(h, etag, modified, now)
		switch {
		case tc.fail == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.fail != "" && (codeOf(err) != s3err.PreconditionFailed || fields(err)["Condition"] != tc.fail):
			t.Errorf("%s: %v, want 412 naming %s", tc.name, err, tc.fail)
		}
	}
}

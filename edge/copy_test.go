package edge

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// TestCopySourceInfo: the source region's answer to the edge's GET becomes
// the copy's source description, or the copy's S3 error.
func TestCopySourceInfo(t *testing.T) {
	cs := s3api.CopySource{Bucket: "src", Key: "k"}
	resp := func(status int, hdr map[string]string, body string) *http.Response {
		h := http.Header{}
		for k, v := range hdr {
			h.Set(k, v)
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
	}
	ok := map[string]string{"ETag": `"e1"`, "Last-Modified": "Mon, 30 Nov 2026 10:00:00 GMT", "Content-Type": "text/plain",
		"x-amz-meta-color": "blue", "Cache-Control": "max-age=1", "x-amz-version-id": "0123456789abcdef"}
	info, err := copySourceInfo(resp(200, ok, "0123456789"), cs, "us-east-1", "")
	if err != nil || info.Size != 10 || info.Length != 10 || info.Offset != 0 || info.ETag != "e1" || info.UserMeta["color"] != "blue" ||
		info.Headers["Cache-Control"] != "max-age=1" || info.VersionID != "0123456789abcdef" || info.Modified.IsZero() {
		t.Fatalf("200: %+v %v", info, err)
	}
	part := map[string]string{"Content-Range": "bytes 2-4/10", "ETag": `"e1"`}
	if info, err := copySourceInfo(resp(206, part, "234"), cs, "us-east-1", "bytes=2-4"); err != nil || info.Offset != 2 || info.Length != 3 || info.Size != 10 {
		t.Fatalf("206: %+v %v", info, err)
	}
	// HTTP serves a range reaching past the end up to the end; S3's copy refuses it.
	short := map[string]string{"Content-Range": "bytes 8-9/10", "ETag": `"e1"`}
	if _, err := copySourceInfo(resp(206, short, "89"), cs, "us-east-1", "bytes=8-20"); s3err.As(err).Code != s3err.InvalidRange {
		t.Errorf("range past the end: %v", err)
	}
	for _, tc := range []struct {
		status int
		body   string
		code   s3err.Code
	}{
		{404, "<Error><Code>NoSuchKey</Code><Message>m</Message><Key>k</Key></Error>", s3err.NoSuchKey},
		{403, "<Error><Code>AccessDenied</Code><Message>m</Message></Error>", s3err.AccessDenied},
		{405, "", s3err.InvalidRequest}, // a version id naming a delete marker
		{416, "", s3err.InvalidRange},
		{502, "garbage", s3err.ServiceUnavailable},
	} {
		_, err := copySourceInfo(resp(tc.status, nil, tc.body), cs, "us-east-1", "")
		if e := s3err.As(err); e.Code != tc.code {
			t.Errorf("status %d: %v, want %s", tc.status, err, tc.code)
		} else if tc.status == 404 && e.Status != 404 {
			t.Errorf("status kept: %d", e.Status)
		}
	}
}

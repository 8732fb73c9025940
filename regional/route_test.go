package regional

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func TestHostBucket(t *testing.T) {
	g := &Gateway{cfg: Config{Domains: []string{"s3.localhost", "Example.COM"}}}
	tests := []struct{ host, want string }{
		{"s3.localhost", ""},
		{"photos.s3.localhost", "photos"},
		{"photos.s3.localhost:9000", "photos"},
		{"my.dotted.bucket.s3.localhost", "my.dotted.bucket"},
		{"PHOTOS.example.com", "photos"},
		{"127.0.0.1:9000", ""},
		{"evil-s3.localhost", ""},
	}
	for _, tc := range tests {
		if got := g.hostBucket(tc.host); got != tc.want {
			t.Errorf("hostBucket(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

func TestRoute(t *testing.T) {
	g := &Gateway{cfg: Config{Domains: []string{"s3.localhost"}}}
	long := strings.Repeat("k", 1025)
	tests := []struct {
		method, host, target string
		wantBucket, wantKey  string
		wantOp               string // handler name, or an S3 error code
	}{
		{"GET", "localhost", "/", "", "", "listBuckets"},
		{"PUT", "localhost", "/", "", "", "MethodNotAllowed"},
		{"PUT", "localhost", "/photos", "photos", "", "createBucket"},
		{"HEAD", "localhost", "/photos", "photos", "", "headBucket"},
		{"DELETE", "localhost", "/photos", "photos", "", "deleteBucket"},
		{"GET", "localhost", "/photos?list-type=2&prefix=a", "photos", "", "listObjectsV2"},
		{"GET", "localhost", "/photos", "photos", "", "listObjectsV1"},
		{"GET", "localhost", "/photos?location", "photos", "", "getBucketLocation"},
		{"GET", "localhost", "/photos?uploads", "photos", "", "listMultipartUploads"},
		{"GET", "localhost", "/photos?acl", "photos", "", "NotImplemented"},
		{"POST", "localhost", "/photos?delete", "photos", "", "deleteObjects"},
		{"PUT", "localhost", "/photos/a/b.jpg", "photos", "a/b.jpg", "putObject"},
		{"GET", "localhost", "/photos/a/b.jpg", "photos", "a/b.jpg", "getObject"},
		{"HEAD", "localhost", "/photos/a", "photos", "a", "headObject"},
		{"DELETE", "localhost", "/photos/a", "photos", "a", "deleteObject"},
		{"POST", "localhost", "/photos/a?uploads", "photos", "a", "createMultipartUpload"},
		{"PUT", "localhost", "/photos/a?partNumber=1&uploadId=x", "photos", "a", "uploadPart"},
		{"POST", "localhost", "/photos/a?uploadId=x", "photos", "a", "completeMultipartUpload"},
		{"DELETE", "localhost", "/photos/a?uploadId=x", "photos", "a", "abortMultipartUpload"},
		{"GET", "localhost", "/photos/a?uploadId=x", "photos", "a", "listParts"},
		{"GET", "photos.s3.localhost", "/a/b", "photos", "a/b", "getObject"},
		{"GET", "photos.s3.localhost", "/?list-type=2", "photos", "", "listObjectsV2"},
		{"GET", "localhost", "/Bad_Bucket/x", "Bad_Bucket", "x", "InvalidBucketName"},
		{"GET", "localhost", "/ab/x", "ab", "x", "InvalidBucketName"},
		{"PUT", "localhost", "/photos/" + long, "photos", long, "KeyTooLongError"},
		{"PUT", "localhost", "/photos/a", "photos", "a", "putObject"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, "http://"+tc.host+tc.target, nil)
		r.Host = tc.host
		req := &request{r: r, w: httptest.NewRecorder(), log: g.logger()}
		h, err := g.route(req)
		got := ""
		if err != nil {
			got = string(s3err.As(err).Code)
		} else {
			got = handlerName(g, h)
		}
		if got != tc.wantOp || req.bucket != tc.wantBucket || req.key != tc.wantKey {
			t.Errorf("%s %s%s → %s (bucket %q key %q); want %s (%q, %q)", tc.method, tc.host, tc.target, got, req.bucket, req.key, tc.wantOp, tc.wantBucket, tc.wantKey)
		}
	}
	// CopyObject is refused clearly rather than treated as an empty PUT.
	r := httptest.NewRequest("PUT", "http://localhost/photos/a", nil)
	r.Header.Set("x-amz-copy-source", "/photos/b")
	if _, err := g.route(&request{r: r, log: g.logger()}); err == nil || s3err.As(err).Code != s3err.NotImplemented {
		t.Errorf("copy: err %v", err)
	}
}

func TestObjectHeaders(t *testing.T) {
	r := httptest.NewRequest("PUT", "http://localhost/b/k", nil)
	r.Header.Set("Content-Type", "image/png")
	r.Header.Set("Content-Encoding", "aws-chunked, gzip")
	r.Header.Set("Cache-Control", "max-age=60")
	r.Header.Set("X-Amz-Meta-Color", "blue")
	r.Header.Set("x-amz-meta-size", "L")
	ctype, hdrs, meta, err := objectHeaders(r)
	if err != nil || ctype != "image/png" || hdrs["Content-Encoding"] != "gzip" || hdrs["Cache-Control"] != "max-age=60" ||
		meta["color"] != "blue" || meta["size"] != "L" || len(meta) != 2 {
		t.Fatalf("got %q %v %v %v", ctype, hdrs, meta, err)
	}
	r.Header.Set("Content-Encoding", "aws-chunked")
	if _, hdrs, _, _ = objectHeaders(r); hdrs["Content-Encoding"] != "" {
		t.Errorf("aws-chunked alone must not be stored: %q", hdrs["Content-Encoding"])
	}
	r.Header.Set("X-Amz-Meta-Big", strings.Repeat("x", 2100))
	if _, _, _, err := objectHeaders(r); err == nil || s3err.As(err).Code != s3err.MetadataTooLarge {
		t.Errorf("2 KiB metadata limit: err %v", err)
	}
}

func TestMaxKeysParam(t *testing.T) {
	tests := []struct {
		v       string
		want    int
		wantErr bool
	}{
		{"", 1000, false}, {"5", 5, false}, {"0", 0, false}, {"5000", 1000, false}, {"-1", 0, true}, {"abc", 0, true},
	}
	for _, tc := range tests {
		q := url.Values{}
		if tc.v != "" {
			q.Set("max-keys", tc.v)
		}
		got, err := maxKeysParam(q, "max-keys")
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("max-keys=%q → %d, %v", tc.v, got, err)
		}
		if err != nil && s3err.As(err).Status != http.StatusBadRequest {
			t.Errorf("max-keys=%q: status %d", tc.v, s3err.As(err).Status)
		}
	}
}

func TestNewVersionIDOrdered(t *testing.T) {
	prev := ""
	for i := 0; i < 1000; i++ {
		v := newVersionID(timeAt(int64(i)))
		if len(v) != 24 || v <= prev {
			t.Fatalf("version id %q after %q", v, prev)
		}
		prev = v
	}
}

func TestHeaderSectionLimit(t *testing.T) {
	g := &Gateway{cfg: Config{MaxHeaderBytes: 8 << 10}}
	r := httptest.NewRequest("GET", "http://localhost/b/k", nil)
	r.Header.Set("X-Amz-Meta-A", strings.Repeat("a", 4<<10))
	if err := g.checkHeaderSize(r); err != nil {
		t.Fatalf("4 KiB header refused: %v", err)
	}
	r.Header.Set("X-Amz-Meta-B", strings.Repeat("b", 5<<10))
	err := g.checkHeaderSize(r)
	if e := s3err.As(err); err == nil || e.Code != s3err.RequestHeaderSectionTooLarge || e.Status != http.StatusBadRequest {
		t.Fatalf("9 KiB headers: %v", err)
	}
}

package regional

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3route"
)

func TestRoute(t *testing.T) {
	g := &Gateway{cfg: Config{Domains: []string{"s3.localhost"}}}
	long := strings.Repeat("k", 1025)
	tests := []struct {
		method, host, target string
		wantBucket, wantKey  string
		wantOp               string // handler name, "default" (defaults.go), or an S3 error code
	}{
		{"GET", "localhost", "/", "", "", "listBuckets"},
		{"PUT", "localhost", "/", "", "", "MethodNotAllowed"},
		{"PUT", "localhost", "/photos", "photos", "", "createBucket"},
		{"HEAD", "localhost", "/photos", "photos", "", "headBucket"},
		{"DELETE", "localhost", "/photos", "photos", "", "deleteBucket"},
		{"GET", "localhost", "/photos?list-type=2&prefix=a", "photos", "", "listObjectsV2"},
		{"GET", "localhost", "/photos", "photos", "", "listObjectsV1"},
		{"GET", "localhost", "/photos?location", "photos", "", "getBucketLocation"},
		{"GET", "localhost", "/photos?versioning", "photos", "", "getBucketVersioning"},
		{"GET", "localhost", "/photos?uploads", "photos", "", "listMultipartUploads"},
		{"POST", "localhost", "/photos?delete", "photos", "", "deleteObjects"},
		{"PUT", "localhost", "/photos/a/b.jpg", "photos", "a/b.jpg", "putObject"},
		{"GET", "localhost", "/photos/a/b.jpg", "photos", "a/b.jpg", "getObject"},
		{"HEAD", "localhost", "/photos/a", "photos", "a", "headObject"},
		{"DELETE", "localhost", "/photos/a", "photos", "a", "deleteObject"},
		{"DELETE", "localhost", "/photos/a?versionId=bogus", "photos", "a", "deleteObject"},
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
		// Subresources never fall through to a neighbour's operation.
		{"DELETE", "localhost", "/photos/a?tagging", "photos", "a", "deleteObjectTagging"},
		{"DELETE", "localhost", "/photos/a?acl", "photos", "a", "MethodNotAllowed"},
		{"DELETE", "localhost", "/photos/a?frobnicate", "photos", "a", "NotImplemented"},
		{"DELETE", "localhost", "/photos?tagging", "photos", "", "deleteBucketTagging"},
		{"PUT", "localhost", "/photos?versioning", "photos", "", "putBucketVersioning"},
		{"PUT", "localhost", "/photos/a?tagging", "photos", "a", "putObjectTagging"},
		{"GET", "localhost", "/photos?versions", "photos", "", "listObjectVersions"},
		{"GET", "localhost", "/photos/a?attributes", "photos", "a", "getObjectAttributes"},
		{"GET", "localhost", "/photos?frobnicate", "photos", "", "NotImplemented"},
		{"GET", "localhost", "/photos?tagging&acl", "photos", "", "InvalidRequest"},
		// GETs of configurations Meridian does not store: S3's answers.
		{"GET", "localhost", "/photos?accelerate", "photos", "", "default"},
		{"GET", "localhost", "/photos?acl", "photos", "", "getBucketAcl"},
		{"GET", "localhost", "/photos?policy", "photos", "", "getBucketPolicy"},
		{"GET", "localhost", "/photos?publicAccessBlock", "photos", "", "getPublicAccessBlock"},
		{"GET", "localhost", "/photos?requestPayment", "photos", "", "default"},
		{"GET", "localhost", "/photos?metrics", "photos", "", "default"},
		{"GET", "localhost", "/photos?metrics&id=m", "photos", "", "default"},
		{"GET", "localhost", "/photos/a?tagging", "photos", "a", "getObjectTagging"},
		{"GET", "localhost", "/photos/a?acl", "photos", "a", "getObjectAcl"},
		{"GET", "localhost", "/photos/a?retention", "photos", "a", "getObjectRetention"},
		{"PUT", "localhost", "/photos/a?legal-hold", "photos", "a", "putObjectLegalHold"},
		{"GET", "localhost", "/photos?object-lock", "photos", "", "getObjectLockConfiguration"},
	}
	for _, tc := range tests {
		req := routeRequest(g, tc.method, tc.host, tc.target)
		h, err := g.route(req)
		got := ""
		switch {
		case err != nil:
			got = string(s3err.As(err).Code)
		case g.defaultHandler(req.op) != nil:
			got = "default"
		default:
			got = handlerName(g, h)
			if got == "func1" { // a closure: notImplemented
				got = string(s3err.As(h(req)).Code)
			}
		}
		if got != tc.wantOp || req.bucket != tc.wantBucket || req.key != tc.wantKey {
			t.Errorf("%s %s%s → %s (bucket %q key %q); want %s (%q, %q)", tc.method, tc.host, tc.target, got, req.bucket, req.key, tc.wantOp, tc.wantBucket, tc.wantKey)
		}
	}
	// A PUT with x-amz-copy-source is CopyObject (copy.go), never an empty PUT.
	req := routeRequest(g, "PUT", "localhost", "/photos/a")
	req.r.Header.Set("x-amz-copy-source", "/photos/b")
	h, err := g.route(req)
	if err != nil || req.op != s3route.CopyObject || handlerName(g, h) != "copyObject" {
		t.Errorf("copy: op %v err %v", req.op, err)
	}
	req = routeRequest(g, "PUT", "localhost", "/photos/a?partNumber=1&uploadId=u")
	req.r.Header.Set("x-amz-copy-source", "/photos/b")
	h, err = g.route(req)
	if err != nil || req.op != s3route.UploadPartCopy || handlerName(g, h) != "uploadPartCopy" {
		t.Errorf("part copy: op %v err %v", req.op, err)
	}
}

// TestEveryOperationHasAHandler: every operation of the route table
// reaches a handler (its own, a default, or NotImplemented), never nil.
func TestEveryOperationHasAHandler(t *testing.T) {
	g := &Gateway{}
	for _, op := range s3route.Operations() {
		if g.handler(op) == nil {
			t.Errorf("%v has no handler", op)
		}
	}
}

// routeRequest is a request as ServeHTTP has split it.
func routeRequest(g *Gateway, method, host, target string) *request {
	r := httptest.NewRequest(method, "http://"+host+target, nil)
	r.Host = host
	req := &request{r: r, w: httptest.NewRecorder(), log: g.logger()}
	req.bucket, req.key = s3route.Split(r.Host, r.URL.Path, g.cfg.Domains)
	return req
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

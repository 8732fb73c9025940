package edge_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridian-s3/meridian/internal/sigv4"
)

// Regression tests of issue 6's strict-input defects, each sent through the
// edge and directly to the regional gateway as raw signed HTTP/1.1 (so that
// framing and header names are exactly what the test writes and reads),
// each asserting the S3 answer and that nothing changed.

// front is one way into the region: the edge (TLS) or the gateway (plain).
type front struct {
	name string
	addr string
	tls  *tls.Config
}

func (w *world) fronts() []front {
	return []front{
		{"edge", w.edge.Addr(), &tls.Config{RootCAs: w.ca.Pool(), ServerName: "localhost"}},
		{"direct", w.gateways["us-east-1"][0].Addr(), nil},
	}
}

// Body framings of a raw request.
const (
	framed  = "content-length"
	noFrame = "none"    // neither Content-Length nor Transfer-Encoding
	chunked = "chunked" // Transfer-Encoding: chunked
)

type reply struct {
	status int
	header http.Header
	body   []byte
	raw    string // the response header section as received
}

func (r reply) code() string {
	s := string(r.body)
	i, j := strings.Index(s, "<Code>"), strings.Index(s, "</Code>")
	if i < 0 || j < i {
		return ""
	}
	return s[i+6 : j]
}

// send signs (UNSIGNED-PAYLOAD unless hdr sets x-amz-content-sha256's
// value via payload) and sends one request, framing body as told.
func (f front) send(t *testing.T, method, target string, body []byte, hdr map[string]string, framing string) reply {
	t.Helper()
	return f.sendWith(t, method, target, body, hdr, framing, nil)
}

// sendWith is send with unsigned headers added after signing.
func (f front) sendWith(t *testing.T, method, target string, body []byte, hdr map[string]string, framing string, unsigned http.Header) reply {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+f.addr+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if framing == framed {
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	} else {
		req.ContentLength = -1
	}
	sigv4.Sign(req, accessKey, secretKey, "us-east-1", time.Now().UTC(), sigv4.UnsignedPayload)
	for k, v := range unsigned {
		req.Header[k] = v
	}
	var reqHead, body2 bytes.Buffer
	fmt.Fprintf(&reqHead, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, f.addr)
	if framing == chunked {
		reqHead.WriteString("Transfer-Encoding: chunked\r\n")
	}
	_ = req.Header.Write(&reqHead)
	reqHead.WriteString("Connection: close\r\n\r\n")
	switch framing {
	case chunked:
		if len(body) > 0 {
			fmt.Fprintf(&body2, "%x\r\n%s\r\n", len(body), body)
		}
		body2.WriteString("0\r\n\r\n")
	case framed:
		body2.Write(body)
	}
	var conn net.Conn
	if f.tls != nil {
		conn, err = tls.Dial("tcp", f.addr, f.tls)
	} else {
		conn, err = net.Dial("tcp", f.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write(reqHead.Bytes()); err != nil {
		t.Fatal(err)
	}
	// The body goes out while the answer is read: a server may answer a
	// refused request early and stop reading, as real clients expect.
	go func() { _, _ = conn.Write(body2.Bytes()) }()
	var raw bytes.Buffer
	resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(conn, &raw)), req)
	if err != nil {
		t.Fatalf("%s %s via %s: %v", method, target, f.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	head, _, _ := strings.Cut(raw.String(), "\r\n\r\n")
	return reply{status: resp.StatusCode, header: resp.Header, body: b, raw: head}
}

func md5Header(b []byte) map[string]string {
	sum := md5.Sum(b)
	return map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}
}

func expect(t *testing.T, f front, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Errorf("%s via %s: %d %s (%.200q), want %d %s", what, f.name, r.status, r.code(), r.body, status, code)
	}
}

// state is what the tests compare before and after a refused request.
type state struct {
	keys    []string
	objects map[string]string // key → ETag
	uploads int
	shards  int
}

func snapshot(t *testing.T, c *s3.Client, bucket string) state {
	t.Helper()
	ctx := context.Background()
	s := state{objects: map[string]string{}}
	l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	for _, o := range l.Contents {
		s.keys = append(s.keys, aws.ToString(o.Key))
		s.objects[aws.ToString(o.Key)] = aws.ToString(o.ETag)
	}
	u, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	s.uploads = len(u.Uploads)
	return s
}

func (s state) String() string {
	return fmt.Sprintf("objects %v, %d uploads, %d shards", s.objects, s.uploads, s.shards)
}

func sameState(a, b state) bool { return a.String() == b.String() }

func TestStrictInput(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	const bucket = "strict"
	createBucket(t, c, bucket, "")
	small := []byte("0123456789")
	for _, k := range []string{"keep-1", "keep-2", "small"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(small)}); err != nil {
			t.Fatal(err)
		}
	}
	// A two-part object: 5 MiB + 1 KiB.
	p1, p2 := randBytes(1, 5<<20), randBytes(2, 1<<10)
	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("multi")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, p := range [][]byte{p1, p2} {
		n := int32(i + 1)
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("multi"), UploadId: mp.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: up.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("multi"), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	// An open upload, for UploadPart and CompleteMultipartUpload.
	open, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("open")})
	if err != nil {
		t.Fatal(err)
	}
	openID := aws.ToString(open.UploadId)
	openPart, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("open"), UploadId: open.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(small)})
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, c, bucket)
	before.shards = w.store.Count()
	if before.shards == 0 {
		t.Fatal("the two-part object left no shards")
	}
	unchanged := func(t *testing.T, f front, what string) {
		t.Helper()
		after := snapshot(t, c, bucket)
		after.shards = w.store.Count()
		if !sameState(before, after) {
			t.Errorf("%s via %s changed the bucket: %v → %v", what, f.name, before, after)
		}
		b, _ := getObject(t, c, bucket, "keep-1")
		if !bytes.Equal(b, small) {
			t.Errorf("%s via %s: keep-1 now %q", what, f.name, b)
		}
	}
	listParts := func(t *testing.T) int {
		out, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String("open"), UploadId: open.UploadId})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Parts)
	}

	for _, f := range w.fronts() {
		t.Run(f.name, func(t *testing.T) {
			t.Run("MissingContentLength", func(t *testing.T) {
				big := randBytes(9, 300<<10) // above the inline threshold: would be sharded
				for _, framing := range []string{noFrame, chunked} {
					body := []byte("hello")
					if framing == chunked {
						body = big
					}
					r := f.send(t, "PUT", "/"+bucket+"/no-length-"+framing, body, nil, framing)
					expect(t, f, "PUT without Content-Length ("+framing+")", r, 411, "MissingContentLength")
					r = f.send(t, "PUT", "/"+bucket+"/open?partNumber=2&uploadId="+openID, body, nil, framing)
					expect(t, f, "UploadPart without Content-Length ("+framing+")", r, 411, "MissingContentLength")
				}
				unchanged(t, f, "PUT without Content-Length")
				if n := listParts(t); n != 1 {
					t.Errorf("upload has %d parts, want 1", n)
				}
				// The same PUT with its length is stored.
				r := f.send(t, "PUT", "/"+bucket+"/with-length", []byte("hello"), nil, framed)
				if r.status != 200 {
					t.Fatalf("PUT with Content-Length: %d %s", r.status, r.body)
				}
				if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("with-length")}); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("XMLTrailingGarbageAndDTD", func(t *testing.T) {
				del := []byte(`<Delete><Object><Key>keep-1</Key></Object><Object><Key>keep-2</Key></Object></Delete>`)
				for what, body := range map[string][]byte{
					"trailing garbage": append(append([]byte{}, del...), "garbage"...),
					"second root":      append(append([]byte{}, del...), "<Delete/>"...),
					"DTD":              append([]byte(`<!DOCTYPE Delete [<!ENTITY k "keep-1">]>`), del...),
				} {
					r := f.send(t, "POST", "/"+bucket+"?delete", body, md5Header(body), framed)
					expect(t, f, "DeleteObjects with "+what, r, 400, "MalformedXML")
				}
				complete := []byte(fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>trailing`, aws.ToString(openPart.ETag)))
				r := f.send(t, "POST", "/"+bucket+"/open?uploadId="+openID, complete, nil, framed)
				expect(t, f, "CompleteMultipartUpload with trailing garbage", r, 400, "MalformedXML")
				unchanged(t, f, "malformed XML")

				cfg := []byte(`<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`)
				for what, body := range map[string][]byte{
					"trailing garbage":             append([]byte(`<CreateBucketConfiguration></CreateBucketConfiguration>`), "x"...),
					"DTD":                          append([]byte(`<!DOCTYPE x>`), `<CreateBucketConfiguration/>`...),
					"explicit us-east-1 (invalid)": cfg,
				} {
					name := "created-" + f.name
					r := f.send(t, "PUT", "/"+name, body, nil, framed)
					want := "MalformedXML"
					if what == "explicit us-east-1 (invalid)" {
						want = "InvalidLocationConstraint"
					}
					expect(t, f, "CreateBucket with "+what, r, 400, want)
					if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err == nil {
						t.Errorf("CreateBucket with %s via %s created the bucket", what, f.name)
					}
				}
			})

			t.Run("DeleteObjectsIntegrity", func(t *testing.T) {
				del := []byte(`<Delete><Object><Key>keep-1</Key></Object></Delete>`)
				r := f.send(t, "POST", "/"+bucket+"?delete", del, nil, framed)
				expect(t, f, "DeleteObjects without Content-MD5", r, 400, "InvalidRequest")
				if !strings.Contains(string(r.body), "Missing required header for this request: Content-MD5") {
					t.Errorf("message: %s", r.body)
				}
				r = f.send(t, "POST", "/"+bucket+"?delete", del, md5Header([]byte("other")), framed)
				expect(t, f, "DeleteObjects with a wrong Content-MD5", r, 400, "BadDigest")
				unchanged(t, f, "DeleteObjects without integrity")
			})

			t.Run("VersionID", func(t *testing.T) {
				for _, m := range []string{"GET", "HEAD", "DELETE"} {
					r := f.send(t, m, "/"+bucket+"/keep-1?versionId=bogus", nil, nil, framed)
					want := "InvalidArgument"
					if m == "HEAD" {
						want = "" // no body
					}
					expect(t, f, m+" ?versionId=bogus", r, 400, want)
				}
				del := []byte(`<Delete><Object><Key>keep-1</Key><VersionId>bogus</VersionId></Object></Delete>`)
				r := f.send(t, "POST", "/"+bucket+"?delete", del, md5Header(del), framed)
				if r.status != 200 || !strings.Contains(string(r.body), "<Code>InvalidArgument</Code>") || strings.Contains(string(r.body), "<Deleted>") {
					t.Errorf("DeleteObjects with a bogus VersionId via %s: %d %s", f.name, r.status, r.body)
				}
				unchanged(t, f, "bogus versionId")
				r = f.send(t, "GET", "/"+bucket+"/keep-1?versionId=null", nil, nil, framed)
				if r.status != 200 || !bytes.Equal(r.body, small) {
					t.Errorf("GET ?versionId=null via %s: %d %q", f.name, r.status, r.body)
				}
			})

			t.Run("PartNumber", func(t *testing.T) {
				r := f.send(t, "GET", "/"+bucket+"/multi?partNumber=2", nil, nil, framed)
				total := len(p1) + len(p2)
				if r.status != 206 || !bytes.Equal(r.body, p2) ||
					r.header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", len(p1), total-1, total) ||
					r.header.Get("x-amz-mp-parts-count") != "2" {
					t.Errorf("GET part 2 via %s: %d, %d bytes, Content-Range %q, parts %q", f.name, r.status, len(r.body),
						r.header.Get("Content-Range"), r.header.Get("x-amz-mp-parts-count"))
				}
				r = f.send(t, "HEAD", "/"+bucket+"/multi?partNumber=1", nil, nil, framed)
				if r.status != 206 || r.header.Get("Content-Length") != strconv.Itoa(len(p1)) {
					t.Errorf("HEAD part 1 via %s: %d, Content-Length %q", f.name, r.status, r.header.Get("Content-Length"))
				}
				r = f.send(t, "GET", "/"+bucket+"/small?partNumber=1", nil, nil, framed)
				if r.status != 206 || !bytes.Equal(r.body, small) || r.header.Get("Content-Range") != "bytes 0-9/10" {
					t.Errorf("GET part 1 of a single-part object via %s: %d %q %q", f.name, r.status, r.body, r.header.Get("Content-Range"))
				}
				expect(t, f, "GET part 2 of a single-part object", f.send(t, "GET", "/"+bucket+"/small?partNumber=2", nil, nil, framed), 416, "InvalidPartNumber")
				expect(t, f, "GET part 3 of a two-part object", f.send(t, "GET", "/"+bucket+"/multi?partNumber=3", nil, nil, framed), 416, "InvalidPartNumber")
				for _, bad := range []string{"0", "10001", "x"} {
					expect(t, f, "partNumber="+bad, f.send(t, "GET", "/"+bucket+"/small?partNumber="+bad, nil, nil, framed), 400, "InvalidArgument")
				}
				expect(t, f, "partNumber with Range", f.send(t, "GET", "/"+bucket+"/small?partNumber=1", nil, map[string]string{"Range": "bytes=0-1"}, framed), 400, "InvalidRequest")
				// Without partNumber, no parts count (as S3).
				if r := f.send(t, "HEAD", "/"+bucket+"/multi", nil, nil, framed); r.status != 200 || r.header.Get("x-amz-mp-parts-count") != "" {
					t.Errorf("HEAD multi via %s: %d parts-count %q", f.name, r.status, r.header.Get("x-amz-mp-parts-count"))
				}
			})

			t.Run("RangeOverflow", func(t *testing.T) {
				r := f.send(t, "GET", "/"+bucket+"/small", nil, map[string]string{"Range": "bytes=99999999999999999999-"}, framed)
				expect(t, f, "Range past int64", r, 416, "InvalidRange")
				r = f.send(t, "GET", "/"+bucket+"/small", nil, map[string]string{"Range": "bytes=2-99999999999999999999"}, framed)
				if r.status != 206 || string(r.body) != "23456789" || r.header.Get("Content-Range") != "bytes 2-9/10" {
					t.Errorf("Range with a huge last-pos via %s: %d %q %q", f.name, r.status, r.body, r.header.Get("Content-Range"))
				}
				r = f.send(t, "GET", "/"+bucket+"/small", nil, map[string]string{"Range": "bytes=-99999999999999999999"}, framed)
				if r.status != 206 || !bytes.Equal(r.body, small) {
					t.Errorf("huge suffix Range via %s: %d %q", f.name, r.status, r.body)
				}
			})

			t.Run("BucketNames", func(t *testing.T) {
				for _, name := range []string{"a-.bc", "ab.-c", "abc-", "-abc"} {
					r := f.send(t, "PUT", "/"+name, nil, nil, framed)
					expect(t, f, "CreateBucket "+name, r, 400, "InvalidBucketName")
				}
				out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Buckets) != 1 {
					t.Errorf("after refused names via %s: %d buckets", f.name, len(out.Buckets))
				}
			})

			t.Run("UnhonourableHeaders", func(t *testing.T) {
				ssec := map[string]string{
					"x-amz-server-side-encryption-customer-algorithm": "AES256",
					"x-amz-server-side-encryption-customer-key":       base64.StdEncoding.EncodeToString(make([]byte, 32)),
					"x-amz-server-side-encryption-customer-key-MD5":   "cLyPS3KoaSFGi/joRB3OUQ==", // MD5 of 32 zero bytes
				}
				cases := []struct {
					what, method, target string
					hdr                  map[string]string
					status               int
					code                 string
				}{
					// SSE-C is served (regional/sse_test.go); a key that does not match its MD5 is refused.
					{"PUT SSE-C with a wrong key MD5", "PUT", "/" + bucket + "/sse", map[string]string{
						"x-amz-server-side-encryption-customer-algorithm": "AES256",
						"x-amz-server-side-encryption-customer-key":       base64.StdEncoding.EncodeToString(make([]byte, 32)),
						"x-amz-server-side-encryption-customer-key-MD5":   base64.StdEncoding.EncodeToString(make([]byte, 16)),
					}, 400, "InvalidArgument"},
					{"PUT SSE-S3", "PUT", "/" + bucket + "/sse", map[string]string{"x-amz-server-side-encryption": "AES256"}, 501, "NotImplemented"},
					{"PUT SSE-KMS", "PUT", "/" + bucket + "/sse", map[string]string{"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "k"}, 501, "NotImplemented"},
					{"GET SSE-C of a plain object", "GET", "/" + bucket + "/keep-1", ssec, 400, "InvalidRequest"},
					{"HEAD SSE-C of a plain object", "HEAD", "/" + bucket + "/keep-1", ssec, 400, ""},
					{"CreateMultipartUpload SSE-KMS", "POST", "/" + bucket + "/sse?uploads", map[string]string{"x-amz-server-side-encryption": "aws:kms"}, 501, "NotImplemented"},
					{"UploadPart SSE-C into a plain upload", "PUT", "/" + bucket + "/open?partNumber=3&uploadId=" + openID, ssec, 400, "InvalidRequest"},
					{"storage class", "PUT", "/" + bucket + "/sse", map[string]string{"x-amz-storage-class": "GLACIER"}, 400, "InvalidStorageClass"},
					{"object lock", "PUT", "/" + bucket + "/sse", map[string]string{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"}, 400, "InvalidRequest"},
					{"invalid tag", "PUT", "/" + bucket + "/sse", map[string]string{"x-amz-tagging": "aws%3Ax=b"}, 400, "InvalidTag"},
					{"public ACL", "PUT", "/" + bucket + "/sse", map[string]string{"x-amz-acl": "public-read"}, 400, "AccessControlListNotSupported"},
				}
				secret := randBytes(10, 300<<10) // above the inline threshold: would be sharded
				for _, tc := range cases {
					body := secret
					if tc.method != "PUT" {
						body = nil
					}
					r := f.send(t, tc.method, tc.target, body, tc.hdr, framed)
					expect(t, f, tc.what, r, tc.status, tc.code)
				}
				unchanged(t, f, "unhonourable headers")
				if n := listParts(t); n != 1 {
					t.Errorf("upload has %d parts, want 1", n)
				}
				// What stock clients send by default still works.
				r := f.send(t, "PUT", "/"+bucket+"/plain", small, map[string]string{"x-amz-acl": "private", "x-amz-storage-class": "STANDARD"}, framed)
				if r.status != 200 {
					t.Errorf("PUT with x-amz-acl: private and STANDARD via %s: %d %s", f.name, r.status, r.body)
				}
				if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("plain")}); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("HeaderSection", func(t *testing.T) {
				// Many small headers: below the front door's limit (64 KiB
				// counted as name+value+4 per line) but above it as HTTP/3
				// counts them (name+value+32 per field, RFC 9114), plus
				// the link's own headers. Whatever the edge accepts, the
				// region must accept too.
				pad := func(n int) http.Header {
					h := http.Header{}
					for i := 0; i < n; i++ {
						h[fmt.Sprintf("X-Pad-%04d", i)] = []string{"abcdefghijklmnopqrst"}
					}
					return h
				}
				r := f.sendWith(t, "GET", "/"+bucket+"/small", nil, nil, framed, pad(1600))
				if r.status != 200 || !bytes.Equal(r.body, small) {
					t.Errorf("GET with a 54 KiB header section via %s: %d %.300q", f.name, r.status, r.body)
				}
				r = f.sendWith(t, "GET", "/"+bucket+"/small", nil, nil, framed, pad(2200))
				expect(t, f, "GET with a 75 KiB header section", r, 400, "RequestHeaderSectionTooLarge")
			})

			t.Run("MetadataNameCase", func(t *testing.T) {
				key := "meta-" + f.name
				r := f.send(t, "PUT", "/"+bucket+"/"+key, small, map[string]string{"x-amz-meta-owner": "alice", "X-Amz-Meta-Mixed-Case": "v"}, framed)
				if r.status != 200 {
					t.Fatalf("PUT: %d %s", r.status, r.body)
				}
				defer func() {
					_, _ = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				}()
				for _, m := range []string{"GET", "HEAD"} {
					r := f.send(t, m, "/"+bucket+"/"+url.PathEscape(key), nil, nil, framed)
					for _, line := range []string{"X-Amz-Meta-owner: alice", "X-Amz-Meta-mixed-case: v"} {
						if !strings.Contains(r.raw, "\r\n"+line+"\r\n") {
							t.Errorf("%s via %s: no %q line in\n%s", m, f.name, line, r.raw)
						}
					}
				}
				h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if err != nil || h.Metadata["owner"] != "alice" || h.Metadata["mixed-case"] != "v" {
					t.Errorf("SDK metadata %v (%v)", h.Metadata, err)
				}
			})
		})
	}
}

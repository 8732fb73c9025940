package edge_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/meridian-s3/meridian/edge"
	"github.com/meridian-s3/meridian/internal/localconn"
	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/sigv4"
	"github.com/meridian-s3/meridian/regional"
	"github.com/meridian-s3/meridian/regional/regionalclient"
	"github.com/meridian-s3/meridian/testbed/devca"
)

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func createBucket(t *testing.T, c *s3.Client, name, region string) {
	t.Helper()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if region != "" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	if _, err := c.CreateBucket(context.Background(), in); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

func getObject(t *testing.T, c *s3.Client, bucket, key string) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}

// The SDK's default PUT (aws-chunked with a CRC32 trailer) and GET through
// edge → QUIC → region, small and 64 MiB, in both regions; multipart via
// the transfer manager.
func TestSDKThroughEdge(t *testing.T) {
	w := newWorld(t, 1)
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	ctx := context.Background()
	createBucket(t, c, "home-us", "")
	createBucket(t, c, "home-eu", "eu-west-1")

	for _, tc := range []struct {
		bucket, key string
		size        int
	}{
		{"home-us", "small.txt", 1000},
		{"home-eu", "dir/über small", 5000},
		{"home-us", "big.bin", 64 << 20},
	} {
		data := randBytes(uint64(tc.size), tc.size)
		// A non-seekable body: the SDK streams it aws-chunked with a CRC32 trailer.
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(tc.bucket), Key: aws.String(tc.key),
			Body: struct{ io.Reader }{bytes.NewReader(data)}, ContentLength: aws.Int64(int64(len(data)))})
		if err != nil {
			t.Fatalf("PutObject %s/%s: %v", tc.bucket, tc.key, err)
		}
		if put.ChecksumCRC32 == nil || *put.ChecksumCRC32 != s3checksum.Sum(s3checksum.CRC32, data) {
			t.Errorf("%s: stored CRC32 %v, want %s (recomputed by the region)", tc.key, put.ChecksumCRC32, s3checksum.Sum(s3checksum.CRC32, data))
		}
		got, out := getObject(t, c, tc.bucket, tc.key)
		if sha256.Sum256(got) != sha256.Sum256(data) {
			t.Fatalf("%s/%s: body differs (%d bytes, want %d)", tc.bucket, tc.key, len(got), len(data))
		}
		if aws.ToInt64(out.ContentLength) != int64(tc.size) {
			t.Errorf("Content-Length %d, want %d", aws.ToInt64(out.ContentLength), tc.size)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(tc.bucket), Key: aws.String(tc.key)})
		if err != nil || aws.ToInt64(head.ContentLength) != int64(tc.size) {
			t.Fatalf("HeadObject: %v, length %d", err, aws.ToInt64(head.ContentLength))
		}
	}

	// Multipart through the transfer manager: 3 parts of 5 MiB + a tail.
	data := randBytes(42, 17<<20)
	up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = 5 << 20; u.Concurrency = 2 })
	if _, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String("home-eu"), Key: aws.String("mp.bin"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("multipart upload: %v", err)
	}
	got, out := getObject(t, c, "home-eu", "mp.bin")
	if !bytes.Equal(got, data) {
		t.Fatal("multipart object differs")
	}
	if !strings.HasSuffix(strings.Trim(aws.ToString(out.ETag), `"`), "-4") {
		t.Errorf("multipart ETag %s, want a 4-part ETag", aws.ToString(out.ETag))
	}

	// Listing is proxied; ListBuckets is answered at the edge.
	lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("home-us")})
	if err != nil || len(lo.Contents) != 2 {
		t.Fatalf("ListObjectsV2: %v, %d entries", err, len(lo.Contents))
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 2 {
		t.Fatalf("ListBuckets: %v %+v", err, lb)
	}

	// ListBuckets paging and filters: max-buckets, continuation-token,
	// prefix, bucket-region.
	for _, n := range []string{"page-a", "page-b", "page-c", "page-d", "page-e"} {
		createBucket(t, c, n, "")
	}
	var names []string
	var pages int
	in := &s3.ListBucketsInput{MaxBuckets: aws.Int32(2), Prefix: aws.String("page-")}
	for {
		lb, err := c.ListBuckets(ctx, in)
		if err != nil {
			t.Fatalf("ListBuckets page %d: %v", pages, err)
		}
		pages++
		if aws.ToString(lb.Prefix) != "page-" {
			t.Errorf("Prefix %q echoed, want page-", aws.ToString(lb.Prefix))
		}
		for _, b := range lb.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
		if lb.ContinuationToken == nil {
			break
		}
		in.ContinuationToken = lb.ContinuationToken
	}
	if got := strings.Join(names, ","); got != "page-a,page-b,page-c,page-d,page-e" || pages != 3 {
		t.Errorf("paged ListBuckets: %s in %d pages, want page-a…page-e in 3", got, pages)
	}
	lb, err = c.ListBuckets(ctx, &s3.ListBucketsInput{BucketRegion: aws.String("eu-west-1")})
	if err != nil || len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != "home-eu" {
		t.Errorf("ListBuckets bucket-region=eu-west-1: %v %+v", err, lb)
	}
	for _, bad := range []int32{0, 10001} {
		if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(bad)}); apiCode(err) != "InvalidArgument" {
			t.Errorf("max-buckets=%d: %v, want InvalidArgument", bad, err)
		}
	}
	if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{ContinuationToken: aws.String("!!!")}); apiCode(err) != "InvalidArgument" {
		t.Errorf("bad continuation-token: %v, want InvalidArgument", err)
	}
}

// signedPut builds a PUT signed for aws-chunked with a trailer; tamper edits
// the encoded body on its way.
func signedPut(t *testing.T, url string, data []byte, opts sigv4.ChunkedOptions, mode string, tamper func([]byte) []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigv4.SignChunked(req, accessKey, secretKey, "us-east-1", time.Now().UTC(), mode, int64(len(data)), opts); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		enc, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		enc = tamper(enc)
		req.Body = io.NopCloser(bytes.NewReader(enc))
	}
	return req
}

func readError(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	s := string(b)
	i, j := strings.Index(s, "<Code>"), strings.Index(s, "</Code>")
	if i < 0 || j < i {
		return ""
	}
	return s[i+6 : j]
}

// A body the edge rejects — a bad trailing checksum, a tampered last chunk,
// a tampered middle chunk — is answered with the verifier's S3 error and is
// never stored: the edge resets the QUIC stream and the region commits nothing.
func TestRejectedBodyIsNotStored(t *testing.T) {
	w := newWorld(t, 1)
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	createBucket(t, c, "strict", "")
	hc := w.httpClient()
	// Over both transports of the link to the edge's own region.
	quicEdge := w.newEdge("us-east-1", func(c *edge.Config) { c.LocalLink = regionalclient.TransportQUIC })
	for link, e := range map[string]*edge.Server{"tcp": w.edge, "quic": quicEdge} {
		t.Run(link, func(t *testing.T) { checkRejectedBodies(t, w, c, hc, e, link) })
	}
}

func checkRejectedBodies(t *testing.T, w *world, c *s3.Client, hc *http.Client, e *edge.Server, link string) {
	// A small body is read whole by the region before the edge's verifier
	// fails at the trailer: only the completion rule stops its commit. A
	// large one is written as shards while it streams.
	for _, size := range []int{1000, 3<<20 + 17} {
		data := randBytes(uint64(size), size)
		flipAt := func(off int) func([]byte) []byte {
			return func(b []byte) []byte { b[off] ^= 0x55; return b }
		}
		for _, tc := range []struct {
			name     string
			mode     string
			opts     sigv4.ChunkedOptions
			tamper   func([]byte) []byte
			wantCode string
		}{
			{"bad trailing checksum", sigv4.StreamingSignedPayloadTrailer,
				sigv4.ChunkedOptions{Trailer: s3checksum.CRC32, TrailerValue: s3checksum.Sum(s3checksum.CRC32, []byte("other"))}, nil, "BadDigest"},
			{"bad trailing checksum, unsigned", sigv4.StreamingUnsignedTrailer,
				sigv4.ChunkedOptions{Trailer: s3checksum.CRC32C, TrailerValue: s3checksum.Sum(s3checksum.CRC32C, []byte("other"))}, nil, "BadDigest"},
			{"tampered last chunk", sigv4.StreamingSignedPayload, sigv4.ChunkedOptions{}, func(b []byte) []byte {
				// the last data byte sits before "\r\n" + the final 0-size chunk frame
				i := bytes.LastIndex(b, []byte("\r\n0;chunk-signature="))
				b[i-1] ^= 0x55
				return b
			}, "SignatureDoesNotMatch"},
			{"tampered middle chunk", sigv4.StreamingSignedPayload, sigv4.ChunkedOptions{}, flipAt(size / 2), "SignatureDoesNotMatch"},
		} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, size), func(t *testing.T) {
				key := fmt.Sprintf("%s-%s-%d", link, strings.ReplaceAll(tc.name, " ", "-"), size)
				req := signedPut(t, "https://"+e.Addr()+"/strict/"+key, data, tc.opts, tc.mode, tc.tamper)
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if code := readError(t, resp); code != tc.wantCode {
					t.Fatalf("status %d code %q, want %s", resp.StatusCode, code, tc.wantCode)
				}
				_, err = c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("strict"), Key: aws.String(key)})
				if apiCode(err) != "NotFound" {
					t.Fatalf("HeadObject after a rejected PUT: %v, want NotFound (nothing stored)", err)
				}
			})
		}
	}
	// The same request untampered is stored (the test can fail).
	data := randBytes(1, 3<<20)
	req := signedPut(t, "https://"+e.Addr()+"/strict/good-"+link, data, sigv4.ChunkedOptions{Trailer: s3checksum.CRC32}, sigv4.StreamingSignedPayloadTrailer, nil)
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("good PUT: %v %v %s", err, resp.StatusCode, readError(t, resp))
	}
	resp.Body.Close()
	got, _ := getObject(t, c, "strict", "good-"+link)
	if !bytes.Equal(got, data) {
		t.Fatal("good object differs")
	}
}

// The region's direct listener ignores the link headers; its edge listener
// refuses peers without a verified edge certificate.
func TestLinkTrust(t *testing.T) {
	w := newWorld(t, 1)
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	createBucket(t, c, "victim", "")
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("victim"), Key: aws.String("secret"), Body: strings.NewReader("s3cr3t")}); err != nil {
		t.Fatal(err)
	}
	g := w.gateways["us-east-1"][0]

	// Unsigned request claiming the owner on the direct listener: refused.
	req, _ := http.NewRequest(http.MethodGet, "http://"+g.Addr()+"/victim/secret", nil)
	req.Header.Set(regionalclient.HeaderPrincipal, w.account)
	req.Header.Set(regionalclient.HeaderAccessKey, accessKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if code := readError(t, resp); resp.StatusCode != 403 || code != "AccessDenied" {
		t.Fatalf("direct listener with principal header: %d %s, want 403 AccessDenied", resp.StatusCode, code)
	}
	// Signed by another account, claiming the owner: still the signer.
	req, _ = http.NewRequest(http.MethodGet, "http://"+g.Addr()+"/victim/secret", nil)
	req.Header.Set(regionalclient.HeaderPrincipal, w.account)
	sigv4.Sign(req, otherKey, otherSec, "us-east-1", time.Now().UTC(), sigv4.UnsignedPayload)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if code := readError(t, resp); resp.StatusCode != 403 || code != "AccessDenied" {
		t.Fatalf("signed by another account with principal header: %d %s, want 403 AccessDenied", resp.StatusCode, code)
	}

	for name := range w.linkTransports(nil) {
		t.Run(name, func(t *testing.T) { checkLinkAdmission(t, w, g, name) })
	}
	// The edge reached its own region over the gateways' local sockets.
	if st := w.edge.LinkStats(); st.Local == 0 || st.TLS != 0 || st.LocalFailed != 0 {
		t.Errorf("edge link connections: %+v, want local sockets only", st)
	}
}

// checkLinkAdmission: the gateway's edge link over one transport admits a
// verified edge certificate only.
func checkLinkAdmission(t *testing.T, w *world, g *regional.Gateway, proto string) {
	get := func(cert *tls.Certificate) (*http.Response, error) {
		tr := w.linkTransports(cert)[proto]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+g.EdgeAddr()+"/victim/secret", nil)
		req.Header.Set(regionalclient.HeaderPrincipal, w.account)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(b))
		}
		return resp, err
	}
	// No client certificate: the handshake fails.
	if resp, err := get(nil); err == nil {
		t.Fatalf("%s without a client certificate: status %d, want a handshake failure", proto, resp.StatusCode)
	}
	// A CA-signed certificate without the edge mark: 403.
	notEdge, err := w.ca.IssueClient("intruder", "storage")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := get(&notEdge)
	if err != nil {
		t.Fatal(err)
	}
	if code := readError(t, resp); resp.StatusCode != 403 || code != "AccessDenied" {
		t.Fatalf("%s with a non-edge certificate: %d %s, want 403 AccessDenied", proto, resp.StatusCode, code)
	}
	// An edge certificate from another CA: the handshake fails.
	otherCA, err := devca.EnsureCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := otherCA.IssueClient("edge-x", devca.RoleEdge)
	if resp, err := get(&forged); err == nil {
		t.Fatalf("%s with a foreign edge certificate: status %d, want a handshake failure", proto, resp.StatusCode)
	}
	// A real edge certificate works (the test can fail).
	good, _ := w.ca.IssueClient("edge-y", devca.RoleEdge)
	resp, err = get(&good)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "s3cr3t" {
		t.Fatalf("%s with an edge certificate: %d %q", proto, resp.StatusCode, b)
	}
}

// failingBody yields data, waits so the region has read all of it, then fails:
// the http3 client resets the stream instead of ending it.
type failingBody struct {
	data []byte
	off  int
}

func (f *failingBody) Read(p []byte) (int, error) {
	if f.off < len(f.data) {
		n := copy(p, f.data[f.off:])
		f.off += n
		return n, nil
	}
	time.Sleep(200 * time.Millisecond)
	return 0, errors.New("verifier failed at the end")
}

// The region's completion rule on its own: every byte of Content-Length
// arrives, then the edge resets the stream. Nothing may be committed.
func TestRegionCommitsOnlyCleanStreams(t *testing.T) {
	w := newWorld(t, 1)
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	createBucket(t, c, "rule", "")
	g := w.gateways["us-east-1"][0]
	cert, _ := w.ca.IssueClient("edge-rule", devca.RoleEdge)
	for proto, tr := range w.linkTransports(&cert) {
		put := func(key string, body io.Reader, n int) (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodPut, "https://"+g.EdgeAddr()+"/rule/"+key, body)
			req.ContentLength = int64(n)
			req.Header.Set(regionalclient.HeaderPrincipal, w.account)
			req.Header.Set(regionalclient.HeaderAccessKey, accessKey)
			req.Header.Set(regionalclient.HeaderRequestID, "EDGE-REQ-1")
			req.Header.Set(regionalclient.HeaderChecksumAlgorithms, "CRC32C")
			return tr.RoundTrip(req)
		}
		for _, size := range []int{1000, 2 << 20} {
			data := randBytes(uint64(size), size)
			key := fmt.Sprint("reset-", proto, "-", size)
			resp, err := put(key, &failingBody{data: data}, size)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					t.Fatalf("%s, size %d: a reset stream was acknowledged", proto, size)
				}
			}
			if _, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("rule"), Key: aws.String(key)}); apiCode(err) != "NotFound" {
				t.Fatalf("%s, size %d: HeadObject after a reset stream: %v, want NotFound", proto, size, err)
			}
			// The same bytes ending cleanly are stored, with the edge's request id
			// and the recomputed checksum.
			resp, err = put(key, bytes.NewReader(data), size)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("x-amz-request-id") != "EDGE-REQ-1" ||
				resp.Header.Get("x-amz-checksum-crc32c") != s3checksum.Sum(s3checksum.CRC32C, data) {
				t.Fatalf("%s, clean PUT: %d, request id %q, crc32c %q", proto, resp.StatusCode, resp.Header.Get("x-amz-request-id"), resp.Header.Get("x-amz-checksum-crc32c"))
			}
		}
	}
}

// CreateBucket at the edge: LocationConstraint picks the home region, unknown
// regions are refused, taken names answer as S3 does; DeleteBucket refuses a
// non-empty bucket and otherwise removes it for good.
func TestBucketOperations(t *testing.T) {
	w := newWorld(t, 2)
	ctx := context.Background()
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	other := w.s3Client(w.edge, otherKey, otherSec, "eu-west-1") // signed for another deployment region
	createBucket(t, c, "b-default", "")
	createBucket(t, c, "b-eu", "eu-west-1")
	for _, tc := range []struct {
		client *s3.Client
		bucket string
		region string
		want   string
	}{
		{c, "b-default", "", ""}, // re-create own us-east-1 bucket: 200
		{c, "b-eu", "eu-west-1", "BucketAlreadyOwnedByYou"},
		{other, "b-default", "", "BucketAlreadyExists"},
		{other, "b-eu", "eu-west-1", "BucketAlreadyExists"},
		{c, "b-nowhere", "ap-south-1", "InvalidLocationConstraint"},
	} {
		in := &s3.CreateBucketInput{Bucket: aws.String(tc.bucket)}
		if tc.region != "" {
			in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(tc.region)}
		}
		_, err := tc.client.CreateBucket(ctx, in)
		if apiCode(err) != tc.want || (tc.want != "" && err == nil) {
			t.Errorf("CreateBucket %s in %q: %v, want %q", tc.bucket, tc.region, err, tc.want)
		}
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("b-eu")})
	if err != nil || loc.LocationConstraint != "eu-west-1" {
		t.Fatalf("GetBucketLocation: %v %v", err, loc)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b-eu")}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b-eu")}); apiCode(err) != "Forbidden" {
		t.Fatalf("HeadBucket by another account: %v", err)
	}

	// DeleteBucket: not empty → BucketNotEmpty; empty → gone.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-eu"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-eu")}); apiCode(err) != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket of a non-empty bucket: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("b-eu"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-eu")}); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-eu"), Key: aws.String("k")}); apiCode(err) != "NoSuchBucket" {
		t.Fatalf("GetObject after DeleteBucket: %v", err)
	}

	// The name is free again; re-created in the other region through
	// another edge, the first edge's stale entry is fixed on first use.
	createBucket(t, c, "b-moves", "")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-moves"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	eu := w.newEdge("eu-west-1", nil)
	ce := w.s3Client(eu, accessKey, secretKey, "eu-west-1")
	if _, err := ce.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("b-moves"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ce.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-moves")}); err != nil {
		t.Fatal(err)
	}
	createBucket(t, ce, "b-moves", "") // home: eu-west-1 now
	if _, err := ce.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-moves"), Key: aws.String("k2"), Body: strings.NewReader("moved")}); err != nil {
		t.Fatal(err)
	}
	got, _ := getObject(t, c, "b-moves", "k2") // first edge still caches us-east-1
	if string(got) != "moved" {
		t.Fatalf("GET through the stale edge: %q", got)
	}

	// Retry on another gateway: stop one us-east-1 gateway; every GET
	// still works (round robin sends some to the stopped one first).
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-default"), Key: aws.String("r"), Body: strings.NewReader("retry")}); err != nil {
		t.Fatal(err)
	}
	if err := w.gateways["us-east-1"][0].Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		got, _ := getObject(t, c, "b-default", "r")
		if string(got) != "retry" {
			t.Fatalf("GET %d after a gateway stopped: %q", i, got)
		}
	}
}

// TestLocalLinkFallsBackToTLS: a gateway's socket file that no longer
// answers (a killed gateway leaves it; here a closed listener's file) fails
// the request that met it, and the edge's next requests reach the gateway
// over TLS on TCP.
func TestLocalLinkFallsBackToTLS(t *testing.T) {
	w := newWorld(t, 1)
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	createBucket(t, c, "fallback", "")
	g := w.gateways["us-east-1"][0]
	path := localconn.SocketPath(w.sockets, g.EdgeAddr())
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	_ = ln.Close() // the file stays; connecting to it is refused
	before := w.edge.LinkStats()
	ok := 0
	for i := 0; i < 3; i++ {
		_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("fallback"), Key: aws.String(fmt.Sprint("k", i)), Body: strings.NewReader("data")})
		if err == nil {
			ok++
		}
	}
	after := w.edge.LinkStats()
	if ok < 2 || after.TLS <= before.TLS {
		t.Fatalf("%d of 3 PUTs succeeded; link connections before %+v, after %+v: want the later ones over TLS", ok, before, after)
	}
}

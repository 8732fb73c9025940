package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/sigv4"
)

// TestGlobal shares one two-region deployment (us-east-1 and eu-west-1,
// each 3 meta + 16 storage + 1 regional process, an edge per region, the
// catalog on a private PostgreSQL) between the global-tier suites.
func TestGlobal(t *testing.T) {
	g := StartGlobal(t, GlobalOptions{})
	t.Run("CreateBucketRace", func(t *testing.T) { testCreateBucketRace(t, g) })
	t.Run("SDK", func(t *testing.T) { testGlobalSDK(t, g) })
	t.Run("AWSCLI", func(t *testing.T) { testGlobalAWSCLI(t, g) })
	t.Run("Boto3", func(t *testing.T) { testGlobalBoto3(t, g) })
	t.Run("TaggingChecksums", func(t *testing.T) { testGlobalTaggingChecksums(t, g) }) // tagging_test.go
	t.Run("ACL", func(t *testing.T) { testGlobalACL(t, g) })                           // acl_test.go
	t.Run("S3cmd", func(t *testing.T) { testGlobalS3cmd(t, g) })
	t.Run("SigV2", func(t *testing.T) { testGlobalSigV2(t, g) })
	t.Run("PostObject", func(t *testing.T) { testGlobalPostObject(t, g) })
	t.Run("CORS", func(t *testing.T) { testGlobalCORS(t, g) })               // cors_test.go
	t.Run("CORSBrowser", func(t *testing.T) { testGlobalCORSBrowser(t, g) }) // cors_browser_test.go
	t.Run("ObjectLock", func(t *testing.T) { testGlobalObjectLock(t, g) })   // objectlock_test.go
	t.Run("BadInput", func(t *testing.T) { testGlobalBadInput(t, g) })
	t.Run("Routes", func(t *testing.T) { testGlobalRoutes(t, g) })
	t.Run("AccessControl", func(t *testing.T) { testGlobalAccessControl(t, g) }) // accesscontrol_test.go
	t.Run("Latency", func(t *testing.T) { testGlobalLatency(t, g) })
	t.Run("BucketIncarnation", func(t *testing.T) {
		e := g.Edges["us-east-1"]
		other := g.CreateKey("incarnation-other", "", "")
		testBucketIncarnation(t, g.Regions["us-east-1"], g.Client(e, testAccessKey, testSecretKey),
			g.Client(e, other.AccessKey, other.SecretKey), "incarnation-edge")
	})
	t.Run("ConditionalDeletes", func(t *testing.T) {
		testConditionalDeletes(t, g.Client(g.Edges["us-east-1"], testAccessKey, testSecretKey), "conditional-edge")
	})
	// Version ids, delete-marker headers and ListObjectVersions through
	// edge → QUIC → region (versioning_test.go).
	t.Run("Versioning", func(t *testing.T) {
		testVersioning(t, g.Client(g.Edges["us-east-1"], testAccessKey, testSecretKey), "versioned-edge")
	})
	// CopyObject and UploadPartCopy with real clients (copy_test.go).
	t.Run("Copy", func(t *testing.T) { testCopy(t, g) })
	// Server-side encryption with real clients, ciphertext checked on disk (sse_test.go).
	t.Run("SSE", func(t *testing.T) { testSSE(t, g) })
	// The 2 GiB PUT and GET through an edge to its own region (the
	// HTTP/2 link, docs/edge.md), with the edge's peak RSS bounded (≈1–2
	// minutes here); 256 MiB to the other region, over the QUIC link.
	t.Run("LargeObject", func(t *testing.T) { testLargeObject(t, g, 2<<30, g.Names[0]) })
	t.Run("LargeObjectQUIC", func(t *testing.T) { testLargeObject(t, g, 256<<20, g.Names[1]) })
}

// TestSoakGlobalLargeObject is an 8 GiB variant for `make soak`
// (MERIDIAN_SOAK=1): the same bound on the edge's memory over a longer run.
func TestSoakGlobalLargeObject(t *testing.T) {
	if os.Getenv("MERIDIAN_SOAK") != "1" {
		t.Skip("8 GiB through edge → region: set MERIDIAN_SOAK=1 (make soak); make test runs 2 GiB in TestGlobal")
	}
	g := StartGlobal(t, GlobalOptions{})
	testLargeObject(t, g, 8<<30, g.Names[0])
}

// apiCode is the S3 error code of an SDK error ("" if none).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// noRetry makes one SDK call report exactly its own outcome.
func noRetry(o *s3.Options) { o.RetryMaxAttempts = 1 }

// testCreateBucketRace: 20 accounts create one name at once, split across
// the two edges (invariant 7): exactly one 200, 19 × 409
// BucketAlreadyExists, one catalog row owned by the winner.
func testCreateBucketRace(t *testing.T, g *Global) {
	const n = 20
	ctx := context.Background()
	near, far := g.Names[0], g.Names[1]
	accts := make([]Account, n)
	clients := make([]*s3.Client, n)
	edgeOf := make([]*Edge, n)
	for i := range accts {
		accts[i] = g.CreateKey(fmt.Sprintf("racer-%02d", i), "", "")
		edgeOf[i] = g.Edges[g.Names[i%2]]
		clients[i] = g.Client(edgeOf[i], accts[i].AccessKey, accts[i].SecretKey)
		// Warm the TLS connection and the edge's key lookup, so that the
		// race below is between CreateBucket transactions.
		if _, err := clients[i].ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
			t.Fatalf("ListBuckets as racer %d: %v", i, err)
		}
	}
	rounds := []struct {
		bucket     string
		constraint string // "": each edge's own region
	}{
		{"race-eu-constraint", far},
		{"race-edge-default", ""},
	}
	for _, rd := range rounds {
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				in := &s3.CreateBucketInput{Bucket: aws.String(rd.bucket)}
				if rd.constraint != "" {
					in.CreateBucketConfiguration = locationConfig(rd.constraint)
				}
				_, errs[i] = clients[i].CreateBucket(ctx, in, noRetry)
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		outcome := map[string]int{}
		for i, err := range errs {
			switch {
			case err == nil:
				outcome["200"]++
				winner = i
			case httpStatus(err) == 409 && apiCode(err) == "BucketAlreadyExists":
				outcome["409 BucketAlreadyExists"]++
			default:
				outcome[fmt.Sprintf("%d %s", httpStatus(err), apiCode(err))]++
				t.Errorf("%s: racer %d via %s: %v", rd.bucket, i, edgeOf[i].Name, err)
			}
		}
		t.Logf("%s: %d concurrent CreateBucket via 2 edges: %v (winner racer %d)", rd.bucket, n, outcome, winner)
		if outcome["200"] != 1 || outcome["409 BucketAlreadyExists"] != n-1 {
			t.Fatalf("%s: outcome %v, want exactly one 200 and %d × 409 BucketAlreadyExists", rd.bucket, outcome, n-1)
		}
		wantRegion := rd.constraint
		if wantRegion == "" {
			wantRegion = edgeOf[winner].Region
		}
		var rows []CatalogBucket
		for _, b := range g.ListCatalog() {
			if b.Name == rd.bucket {
				rows = append(rows, b)
			}
		}
		if len(rows) != 1 || rows[0].Owner != accts[winner].AccountID || rows[0].Region != wantRegion {
			t.Errorf("%s: catalog rows %+v, want one owned by %s in %s", rd.bucket, rows, accts[winner].AccountID, wantRegion)
		}
		// Every racer sees the same owner: only the winner lists it.
		for i, c := range clients {
			out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
			if err != nil {
				t.Fatalf("ListBuckets racer %d: %v", i, err)
			}
			has := slices.ContainsFunc(out.Buckets, func(b types.Bucket) bool { return aws.ToString(b.Name) == rd.bucket })
			if has != (i == winner) {
				t.Errorf("%s: racer %d lists it: %v (winner %d)", rd.bucket, i, has, winner)
			}
		}
		// The winner re-creating it outside us-east-1: BucketAlreadyOwnedByYou.
		if wantRegion != "us-east-1" {
			for _, e := range []*Edge{g.Edges[near], g.Edges[far]} {
				_, err := g.Client(e, accts[winner].AccessKey, accts[winner].SecretKey).CreateBucket(ctx,
					&s3.CreateBucketInput{Bucket: aws.String(rd.bucket), CreateBucketConfiguration: locationConfig(wantRegion)}, noRetry)
				if httpStatus(err) != 409 || apiCode(err) != "BucketAlreadyOwnedByYou" {
					t.Errorf("%s: owner re-creates via %s: %v, want 409 BucketAlreadyOwnedByYou", rd.bucket, e.Name, err)
				}
			}
		}
	}

	// us-east-1: the owner re-creating its bucket gets 200 (S3's legacy
	// behaviour there); anyone else still gets BucketAlreadyExists.
	owner, other := accts[0], accts[1]
	oc := g.Client(g.Edges[near], owner.AccessKey, owner.SecretKey)
	const use1 = "owned-in-us-east-1"
	for i := 0; i < 2; i++ {
		if _, err := oc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(use1)}, noRetry); err != nil {
			t.Errorf("CreateBucket %s in us-east-1 by its owner (attempt %d): %v, want 200", use1, i+1, err)
		}
	}
	_, err := g.Client(g.Edges[near], other.AccessKey, other.SecretKey).CreateBucket(ctx,
		&s3.CreateBucketInput{Bucket: aws.String(use1)}, noRetry)
	if httpStatus(err) != 409 || apiCode(err) != "BucketAlreadyExists" {
		t.Errorf("CreateBucket %s by another account: %v, want 409 BucketAlreadyExists", use1, err)
	}
	// us-east-1 is chosen by sending no constraint: naming it explicitly
	// is 400 InvalidLocationConstraint, as in S3, and creates nothing.
	_, err = g.Client(g.Edges[far], other.AccessKey, other.SecretKey).CreateBucket(ctx,
		&s3.CreateBucketInput{Bucket: aws.String(use1), CreateBucketConfiguration: locationConfig("us-east-1")}, noRetry)
	if httpStatus(err) != 400 || apiCode(err) != "InvalidLocationConstraint" {
		t.Errorf("CreateBucket %s with an explicit us-east-1 constraint: %v, want 400 InvalidLocationConstraint", use1, err)
	}
	var rows []CatalogBucket
	for _, b := range g.ListCatalog() {
		if b.Name == use1 {
			rows = append(rows, b)
		}
	}
	if len(rows) != 1 || rows[0].Owner != owner.AccountID || rows[0].Region != "us-east-1" {
		t.Errorf("catalog rows for %s: %+v, want one owned by %s in us-east-1", use1, rows, owner.AccountID)
	}
}

// testGlobalSDK: aws-sdk-go-v2 with default checksum settings (aws-chunked
// bodies with trailing CRC32 over TLS): a bucket created in eu-west-1
// through the us-east-1 edge, objects written through one edge and read
// through the other, a multipart upload.
func testGlobalSDK(t *testing.T, g *Global) {
	ctx := context.Background()
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	cn, cf := g.Client(near, testAccessKey, testSecretKey), g.Client(far, testAccessKey, testSecretKey)
	const bucket = "sdk-global"
	if err := CreateBucketIn(ctx, cn, bucket, far.Region); err != nil {
		t.Fatalf("CreateBucket in %s via %s: %v", far.Region, near.Name, err)
	}
	loc, err := cn.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(bucket)})
	if err != nil || string(loc.LocationConstraint) != far.Region {
		t.Fatalf("GetBucketLocation: %v %v, want %s", loc, err, far.Region)
	}

	// Put through one edge, get through the other, both ways.
	for i, pair := range [][2]*s3.Client{{cn, cf}, {cf, cn}} {
		p := payload{Seed: uint64(100 + i), Size: 3*mib + 123}
		key := fmt.Sprintf("cross/%d", i)
		if _, err := putPayload(ctx, t, pair[0], bucket, key, p); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
		if err := checkObject(ctx, pair[1], bucket, key, p.SHA(), p.Size); err != nil {
			t.Error(err)
		}
	}

	// The default checksum travelled as a trailer and was stored.
	body := payload{Seed: 7, Size: 200 * kib}.Bytes()
	put, err := cn.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("trailer"),
		Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject with the default checksum: %v", err)
	}
	if aws.ToString(put.ChecksumCRC32) == "" && aws.ToString(put.ChecksumCRC64NVME) == "" {
		t.Errorf("PutObject answered no checksum (want the one the SDK sent as a trailer): %+v", put.ResultMetadata)
	}
	got, err := cf.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("trailer")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	b, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil || !bytes.Equal(b, body) {
		t.Errorf("GetObject: %d bytes, err %v; want the 200 KiB body", len(b), err)
	}

	// Multipart through the far edge (4 parts), read through the near one.
	mp := payload{Seed: 8, Size: 17 * mib}
	up := manager.NewUploader(cf, func(u *manager.Uploader) { u.PartSize = 5 * mib; u.Concurrency = 2 })
	res, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("multipart"),
		Body: mp.Reader()})
	if err != nil {
		t.Fatalf("multipart upload: %v", err)
	}
	if !strings.HasSuffix(strings.Trim(aws.ToString(res.ETag), `"`), "-4") {
		t.Errorf("multipart ETag %s, want a 4-part ETag", aws.ToString(res.ETag))
	}
	if err := checkObject(ctx, cn, bucket, "multipart", mp.SHA(), mp.Size); err != nil {
		t.Error(err)
	}

	// Delete through one edge: gone through the other.
	if _, err := cf.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("cross/0")}); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if _, err := cn.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("cross/0")}); httpStatus(err) != 404 {
		t.Errorf("HeadObject after delete via the other edge: %v, want 404", err)
	}
}

// testLargeObject PUTs size bytes through a fresh edge of the first region
// (so its peak RSS measures this transfer) into a bucket homed in region
// (the first: over the HTTP/2 link; another: over QUIC) with a streaming,
// unseekable body, GETs them back into a hasher, and checks the edge's
// VmHWM.
func testLargeObject(t *testing.T, g *Global, size int64, region string) {
	// Measured here (2 cores, loaded): VmHWM 19 MiB idle, 30 MiB after a
	// 256 MiB PUT+GET, 34 MiB after 2 GiB. 128 MiB leaves 4× margin for GC
	// and buffer-pool variation while any whole-body buffer (≥ 256 MiB)
	// still fails.
	const rssBound = 128 * mib
	ctx := context.Background()
	e := g.StartEdge("edge-large", g.Names[0], g.Links)
	defer g.StopEdge(e)
	idle, err := PeakRSS(e.Proc)
	if err != nil {
		t.Fatal(err)
	}
	c := g.Client(e, testAccessKey, testSecretKey)
	link, constraint := "HTTP/2", ""
	if region != g.Names[0] {
		link, constraint = "QUIC", region
	}
	bucket, key := "large-objects-"+region, "big"
	if err := CreateBucketIn(ctx, c, bucket, constraint); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	p := payload{Seed: 2024, Size: size}
	h := sha256.New()
	body := io.TeeReader(p.Reader(), h) // unseekable: the SDK streams it with a trailing checksum
	start := time.Now()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: body, ContentLength: aws.Int64(size)}, noRetry); err != nil {
		t.Fatalf("PutObject %d bytes: %v", size, err)
	}
	putTime := time.Since(start)
	want := hex.EncodeToString(h.Sum(nil))
	start = time.Now()
	if err := checkObject(ctx, c, bucket, key, want, size); err != nil {
		t.Fatal(err)
	}
	getTime := time.Since(start)
	peak, err := PeakRSS(e.Proc)
	if err != nil {
		t.Fatal(err)
	}
	mbps := func(d time.Duration) float64 { return float64(size) / mib / d.Seconds() }
	t.Logf("%d MiB through edge → %s → region: PUT %v (%.0f MiB/s), GET %v (%.0f MiB/s); edge VmHWM %.1f MiB (%.1f MiB before), bound %d MiB",
		size/mib, link, putTime.Round(time.Millisecond), mbps(putTime), getTime.Round(time.Millisecond), mbps(getTime),
		float64(peak)/mib, float64(idle)/mib, rssBound/mib)
	if peak > rssBound {
		t.Errorf("edge peak RSS %.1f MiB exceeds the bound %d MiB: bodies are being buffered", float64(peak)/mib, rssBound/mib)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Errorf("DeleteObject: %v", err)
	}
}

// testGlobalLatency puts 40 ms each way (80 ms RTT) on the QUIC path from
// a us-east-1 edge to eu-west-1 and checks that a GET of a 1 MiB eu-west-1
// object through that edge pays one inter-region round trip plus the
// transfer once the connection is warm, not several: the time to the
// response headers is ≥ 1 and < 3 RTT; the body's transfer is logged.
func testGlobalLatency(t *testing.T, g *Global) {
	const (
		delay = 40 * time.Millisecond
		rtt   = 2 * delay
	)
	ctx := context.Background()
	euName := g.Names[1]
	proxy := newLinkProxy(t, g.Links[euName], delay)
	links := map[string]string{}
	for k, v := range g.Links {
		links[k] = v
	}
	links[euName] = proxy.Addr()
	farEdge := g.StartEdge("edge-us-80ms", g.Names[0], links)
	defer g.StopEdge(farEdge)

	const bucket, key = "latency-eu", "one-mib"
	p := payload{Seed: 80, Size: mib}
	eu := g.Client(g.Edges[euName], testAccessKey, testSecretKey)
	if err := CreateBucketIn(ctx, eu, bucket, euName); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := putPayload(ctx, t, eu, bucket, key, p); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	sha := p.SHA()
	// A GET's latency splits into the time to the response headers (the
	// inter-region round trips the edge pays before the region answers) and
	// the body's transfer (bounded by the link's congestion window, not by
	// the edge's protocol).
	type timing struct{ headers, total time.Duration }
	timedGet := func(c *s3.Client) timing {
		t.Helper()
		start := time.Now()
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		headers := time.Since(start)
		sum, n, err := hashReader(out.Body)
		out.Body.Close()
		if err != nil || sum != sha || n != p.Size {
			t.Fatalf("GetObject body: %d bytes sha %.12s (err %v), want %d bytes %.12s", n, sum, err, p.Size, sha)
		}
		return timing{headers, time.Since(start)}
	}
	median := func(ts []timing, f func(timing) time.Duration) time.Duration {
		var s []time.Duration
		for _, x := range ts {
			s = append(s, f(x))
		}
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2].Round(time.Millisecond)
	}
	hdr := func(x timing) time.Duration { return x.headers }
	tot := func(x timing) time.Duration { return x.total }

	// The same GET through the undelayed us-east-1 edge, for comparison.
	direct := g.Client(g.Edges[g.Names[0]], testAccessKey, testSecretKey)
	timedGet(direct) // warm
	var directs []timing
	for i := 0; i < 5; i++ {
		directs = append(directs, timedGet(direct))
	}

	c := g.Client(farEdge, testAccessKey, testSecretKey)
	// Bring up the client's TLS connection and the edge's bucket cache with
	// calls answered at the edge, so the first GET pays only the QUIC path.
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}
	before := proxy.Stats()
	cold := timedGet(c)
	var warm []timing
	for i := 0; i < 7; i++ {
		warm = append(warm, timedGet(c))
	}
	after := proxy.Stats()
	minHeaders := slices.MinFunc(warm, func(a, b timing) int { return int(a.headers - b.headers) }).headers
	wh, wt := median(warm, hdr), median(warm, tot)
	t.Logf("1 MiB GET of an %s object via a us-east-1 edge %v RTT away: cold %v to headers, %v total; warm median %v to headers, %v total (min to headers %v); undelayed edge: %v to headers, %v total; proxy %+v",
		euName, rtt, cold.headers.Round(time.Millisecond), cold.total.Round(time.Millisecond), wh, wt,
		minHeaders.Round(time.Millisecond), median(directs, hdr), median(directs, tot), after)
	if fmt.Sprint(before) == fmt.Sprint(after) {
		t.Fatalf("the GETs did not go through the latency proxy (stats %+v)", after)
	}
	if minHeaders < rtt {
		t.Errorf("warm GET answered in %v, less than one round trip (%v): not through the delayed link?", minHeaders, rtt)
	}
	// One round trip plus processing, not several: a second round trip
	// (a lookup before the GET, a new connection or stream setup paid per
	// request, a retry) puts every GET at ≥ 2 × RTT. The fastest warm GET
	// is the measure — a loaded machine only adds time, so the median
	// (logged above) says more about the machine than about the edge.
	if minHeaders >= 2*rtt {
		t.Errorf("fastest warm GET took %v to the response headers ≥ 2 × RTT (%v): the edge pays several inter-region round trips (median %v)", minHeaders, 2*rtt, wh)
	}
}

// ---- raw requests through an edge ----

// edgeDo sends req through an HTTPS client trusting the dev CA. A body that
// ends before its Content-Length is reported as an error (with what came).
func (g *Global) edgeDo(t *testing.T, req *http.Request) (int, []byte, error) {
	t.Helper()
	resp, err := g.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		err = fmt.Errorf("%s %s: %d answer with Content-Length %d: body ended after %d bytes: %w",
			req.Method, req.URL.Path, resp.StatusCode, resp.ContentLength, len(b), err)
	}
	return resp.StatusCode, b, err
}

func newReq(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	req.ContentLength = int64(len(body))
	return req
}

// chunkedPut builds a signed aws-chunked PUT of data; tamper (if set)
// rewrites the encoded body before it is sent.
func chunkedPut(t *testing.T, url string, data []byte, mode string, opts sigv4.ChunkedOptions, tamper func([]byte) []byte) *http.Request {
	t.Helper()
	req := newReq(t, "PUT", url, data)
	if err := sigv4.SignChunked(req, testAccessKey, testSecretKey, "us-east-1", time.Now(), mode, int64(len(data)), opts); err != nil {
		t.Fatal(err)
	}
	enc, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		enc = tamper(enc)
	}
	if int64(len(enc)) != req.ContentLength {
		t.Fatalf("encoded body is %d bytes, Content-Length %d", len(enc), req.ContentLength)
	}
	req.Body = io.NopCloser(bytes.NewReader(enc))
	return req
}

// flipSecondChunkSignature changes one hex digit of the second chunk's
// signature (the first chunk passes, the second must not).
func flipSecondChunkSignature(t *testing.T) func([]byte) []byte {
	return func(enc []byte) []byte {
		const marker = ";chunk-signature="
		first := bytes.Index(enc, []byte(marker))
		second := bytes.Index(enc[first+1:], []byte(marker))
		if first < 0 || second < 0 {
			t.Fatalf("no second chunk signature in the encoded body")
		}
		i := first + 1 + second + len(marker)
		out := slices.Clone(enc)
		if out[i] == '0' {
			out[i] = '1'
		} else {
			out[i] = '0'
		}
		return out
	}
}

// testGlobalBadInput: forged or corrupted requests through the edge get
// S3's answer and store nothing; each has an honest twin that succeeds, so
// the rejection is for the fault, not for the form.
func testGlobalBadInput(t *testing.T, g *Global) {
	ctx := context.Background()
	e := g.Edges[g.Names[0]]
	const bucket = "bad-input-global"
	c := g.Client(e, testAccessKey, testSecretKey)
	if err := CreateBucketIn(ctx, c, bucket, g.Names[1]); err != nil { // behind QUIC, in the other region
		t.Fatalf("CreateBucket: %v", err)
	}
	data := payload{Seed: 44, Size: 150 * kib}.Bytes() // three 64 KiB chunks
	url := func(key string) string { return e.URL + "/" + bucket + "/" + key }
	signed := func(key, secret string) *http.Request {
		req := newReq(t, "PUT", url(key), data)
		sigv4.Sign(req, testAccessKey, secret, "us-east-1", time.Now(), sha256Hex(data))
		return req
	}
	presigned := func(key string, at time.Time, expires time.Duration) *http.Request {
		req := newReq(t, "PUT", url(key), nil)
		u, err := sigv4.Presign(req, testAccessKey, testSecretKey, "us-east-1", at, expires)
		if err != nil {
			t.Fatal(err)
		}
		return newReq(t, "PUT", u, data)
	}
	chunkOpts := sigv4.ChunkedOptions{ChunkSize: 64 * kib}
	trailer := func(value string) sigv4.ChunkedOptions {
		return sigv4.ChunkedOptions{ChunkSize: 64 * kib, Trailer: s3checksum.CRC32, TrailerValue: value}
	}
	const wrongCRC = "AAAAAA==" // a well-formed CRC32 that is not the body's
	cases := []struct {
		name   string
		key    string
		req    func(key string) *http.Request
		status int
		code   string
	}{
		{"header signature ok", "sig-ok", func(k string) *http.Request { return signed(k, testSecretKey) }, 200, ""},
		{"wrong signature", "sig-bad", func(k string) *http.Request { return signed(k, "NOT-THE-SECRET") }, 403, "SignatureDoesNotMatch"},
		{"presigned ok", "presign-ok", func(k string) *http.Request { return presigned(k, time.Now(), time.Hour) }, 200, ""},
		{"presigned expired", "presign-expired", func(k string) *http.Request {
			return presigned(k, time.Now().Add(-2*time.Hour), time.Hour)
		}, 403, "AccessDenied"},
		{"chunk signatures ok", "chunk-ok", func(k string) *http.Request {
			return chunkedPut(t, url(k), data, sigv4.StreamingSignedPayload, chunkOpts, nil)
		}, 200, ""},
		{"chunk signature tampered", "chunk-tampered", func(k string) *http.Request {
			return chunkedPut(t, url(k), data, sigv4.StreamingSignedPayload, chunkOpts, flipSecondChunkSignature(t))
		}, 403, "SignatureDoesNotMatch"},
		{"signed trailer ok", "trailer-signed-ok", func(k string) *http.Request {
			return chunkedPut(t, url(k), data, sigv4.StreamingSignedPayloadTrailer, trailer(""), nil)
		}, 200, ""},
		{"signed trailer bad checksum", "trailer-signed-bad", func(k string) *http.Request {
			return chunkedPut(t, url(k), data, sigv4.StreamingSignedPayloadTrailer, trailer(wrongCRC), nil)
		}, 400, "BadDigest"},
		{"unsigned trailer ok", "trailer-unsigned-ok", func(k string) *http.Request {
			return chunkedPut(t, url(k), data, sigv4.StreamingUnsignedTrailer, trailer(""), nil)
		}, 200, ""},
		{"unsigned trailer bad checksum", "trailer-unsigned-bad", func(k string) *http.Request {
			return chunkedPut(t, url(k), data, sigv4.StreamingUnsignedTrailer, trailer(wrongCRC), nil)
		}, 400, "BadDigest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, b, err := g.edgeDo(t, tc.req(tc.key))
			if err != nil {
				t.Fatal(err)
			}
			if tc.status == 200 {
				if status != 200 {
					t.Fatalf("got %d %s, want 200", status, b)
				}
				if err := checkObject(ctx, c, bucket, tc.key, sha256Hex(data), int64(len(data))); err != nil {
					t.Error(err)
				}
				return
			}
			e, xerr := parseS3Error(b)
			if status != tc.status || xerr != nil || e.Code != tc.code {
				t.Errorf("got %d %s (xml err %v), want %d %s", status, b, xerr, tc.status, tc.code)
			}
			if e.RequestID == "" {
				t.Errorf("no <RequestId> in %s", b)
			}
			// Nothing stored: a signed GET through the edge finds no key.
			get := newReq(t, "GET", url(tc.key), nil)
			sigv4.Sign(get, testAccessKey, testSecretKey, "us-east-1", time.Now(), sha256Hex(nil))
			status, b, err = g.edgeDo(t, get)
			if status != 404 || err != nil || !strings.Contains(string(b), "<Code>NoSuchKey</Code>") {
				t.Errorf("GET after the rejected PUT: %d %.300q (err %v), want 404 NoSuchKey", status, b, err)
			}
		})
	}
}

// locationConfig is a CreateBucketConfiguration for region.
func locationConfig(region string) *types.CreateBucketConfiguration {
	return &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
}

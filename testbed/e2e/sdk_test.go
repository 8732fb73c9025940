package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestS3 shares one region between the client-compatibility suites: the
// SDK, the aws CLI, bad input, read-after-write and idempotent retries.
func TestS3(t *testing.T) {
	r := StartRegion(t, Options{AZs: 4, PerAZ: 4, Partitions: 8})
	t.Run("Status", func(t *testing.T) { testStatus(t, r) })
	t.Run("SDK", func(t *testing.T) { testSDK(t, r) })
	t.Run("AWSCLI", func(t *testing.T) { testAWSCLI(t, r) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, r) })
	t.Run("ReadAfterWrite", func(t *testing.T) { testReadAfterWrite(t, r) })
	t.Run("IdempotentRetry", func(t *testing.T) { testIdempotentRetry(t, r) })
	t.Run("BucketIncarnation", func(t *testing.T) {
		testBucketIncarnation(t, r, r.Client(), r.ClientWith(otherAccessKey, otherSecretKey), "incarnation-direct")
	})
	t.Run("ConditionalDeletes", func(t *testing.T) { testConditionalDeletes(t, r.Client(), "conditional-direct") })
	t.Run("Versioning", func(t *testing.T) { testVersioning(t, r.Client(), "versioned") })
	t.Run("VersioningCLI", func(t *testing.T) { testVersioningCLI(t, r) })
	t.Run("VersioningBadInput", func(t *testing.T) { testVersioningBadInput(t, r) })
	t.Run("VersioningBoto3", func(t *testing.T) { testVersioningBoto3(t, r) })
}

func testStatus(t *testing.T, r *Region) {
	// Health comes from heartbeats (1 s, 3 s timeout): on a loaded machine a
	// node can miss one, so wait for the steady state rather than sample once.
	var st *Status
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err = r.Status(r.MetaAddrs...)
		if err == nil && st.AllLed(8) == nil && countHealthy(st) == 16 && st.AZLossTolerant {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AllLed(8); err != nil {
		t.Error(err)
	}
	if st.AZs != 4 || !st.AZLossTolerant {
		t.Errorf("status: %d AZs, AZ-loss tolerant %v; want 4, true\n%s", st.AZs, st.AZLossTolerant, st.Raw)
	}
	if healthy := countHealthy(st); healthy != 16 {
		t.Errorf("status: %d healthy storage nodes, want 16\n%s", healthy, st.Raw)
	}
	// Every partition's replicas sit in 3 distinct AZs (meta-a/b/c).
	for id, p := range st.Partitions {
		if !slices.Equal(slices.Sorted(slices.Values(p.Replicas)), []string{"meta-a", "meta-b", "meta-c"}) {
			t.Errorf("partition %d replicas %v, want meta-a, meta-b, meta-c", id, p.Replicas)
		}
	}
}

func testSDK(t *testing.T, r *Region) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := r.Client()
	const bucket = "sdk-objects"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}

	t.Run("Sizes", func(t *testing.T) {
		for i, size := range []int64{0, 1, 100 * kib, 5 * mib, 200 * mib} {
			p := payload{Seed: uint64(100 + i), Size: size}
			key := fmt.Sprintf("sizes/obj-%d", size)
			t.Run(fmt.Sprint(size), func(t *testing.T) {
				start := time.Now()
				etag, err := putPayload(ctx, t, c, bucket, key, p)
				if err != nil {
					t.Fatalf("PutObject: %v", err)
				}
				put := time.Since(start)
				if etag == "" {
					t.Error("PutObject returned no ETag")
				}
				want := p.SHA()
				start = time.Now()
				if err := checkObject(ctx, c, bucket, key, want, size); err != nil {
					t.Fatal(err)
				}
				get := time.Since(start)
				if size >= 100*mib {
					t.Logf("%d MiB: PUT %v (%.0f MiB/s), GET %v (%.0f MiB/s)", size/mib, put.Round(time.Millisecond),
						float64(size)/mib/put.Seconds(), get.Round(time.Millisecond), float64(size)/mib/get.Seconds())
				}
				h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if err != nil {
					t.Fatalf("HeadObject: %v", err)
				}
				if aws.ToInt64(h.ContentLength) != size || aws.ToString(h.ETag) != etag {
					t.Errorf("HeadObject: length %d ETag %s, want %d %s", aws.ToInt64(h.ContentLength), aws.ToString(h.ETag), size, etag)
				}
				l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(key)})
				if err != nil {
					t.Fatalf("ListObjectsV2: %v", err)
				}
				if len(l.Contents) != 1 || aws.ToString(l.Contents[0].Key) != key || aws.ToInt64(l.Contents[0].Size) != size ||
					aws.ToString(l.Contents[0].ETag) != etag {
					t.Errorf("ListObjectsV2 prefix %s: %+v", key, l.Contents)
				}
				if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
					t.Fatalf("DeleteObject: %v", err)
				}
				_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if httpStatus(err) != http.StatusNotFound {
					t.Errorf("HeadObject after delete: %v, want 404", err)
				}
				_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if httpStatus(err) != http.StatusNotFound || !strings.Contains(err.Error(), "NoSuchKey") {
					t.Errorf("GetObject after delete: %v, want 404 NoSuchKey", err)
				}
			})
		}
	})

	t.Run("UploadManager", func(t *testing.T) {
		p := payload{Seed: 7, Size: 200 * mib}
		const key = "mpu/big"
		up := manager.NewUploader(c)
		start := time.Now()
		// A plain io.Reader (not seekable): the manager buffers parts.
		out, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: p.Reader()})
		if err != nil {
			t.Fatalf("Upload: %v", err)
		}
		el := time.Since(start)
		t.Logf("manager.Uploader 200 MiB in %v (%.0f MiB/s), ETag %s", el.Round(time.Millisecond), 200/el.Seconds(), aws.ToString(out.ETag))
		wantParts := int((p.Size + manager.DefaultUploadPartSize - 1) / manager.DefaultUploadPartSize)
		if etag := aws.ToString(out.ETag); !strings.HasSuffix(strings.Trim(etag, `"`), fmt.Sprintf("-%d", wantParts)) {
			t.Errorf("multipart ETag %s, want suffix -%d", etag, wantParts)
		}
		if err := checkObject(ctx, c, bucket, key, p.SHA(), p.Size); err != nil {
			t.Fatal(err)
		}
		// A ranged GET of a middle slice, not aligned to parts or stripes.
		off, n := int64(100*mib+12345), int64(3*mib+777)
		g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))})
		if err != nil {
			t.Fatalf("ranged GetObject: %v", err)
		}
		sum, got, err := hashReader(g.Body)
		g.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != n || sum != p.SliceSHA(off, n) {
			t.Errorf("ranged GET: %d bytes sha %.12s, want %d bytes %.12s", got, sum, n, p.SliceSHA(off, n))
		}
		if cr, want := aws.ToString(g.ContentRange), fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, p.Size); cr != want {
			t.Errorf("Content-Range %q, want %q", cr, want)
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
			t.Fatalf("DeleteObject: %v", err)
		}
	})

	t.Run("ListObjectsV2", func(t *testing.T) {
		// Its own bucket, so that keys left by other subtests cannot
		// change the listing.
		const bucket = "sdk-list"
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatalf("CreateBucket: %v", err)
		}
		keys := []string{"dir/a", "dir/b", "dir/sub/c", "dir/sub/d", "dir2/e", "page/k1", "page/k2", "page/k3", "page/k4", "page/k5"}
		for _, k := range keys {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k),
				Body: strings.NewReader("content of " + k)}); err != nil {
				t.Fatalf("PutObject %s: %v", k, err)
			}
		}
		l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		var got, prefixes []string
		for _, o := range l.Contents {
			got = append(got, aws.ToString(o.Key))
		}
		for _, p := range l.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
		if !slices.Equal(got, []string{"dir/a", "dir/b"}) || !slices.Equal(prefixes, []string{"dir/sub/"}) {
			t.Errorf("prefix dir/ delimiter /: keys %v prefixes %v; want [dir/a dir/b] [dir/sub/]", got, prefixes)
		}
		// Top level with delimiter: only common prefixes.
		l, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		prefixes = nil
		for _, p := range l.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
		if len(l.Contents) != 0 || !slices.Equal(prefixes, []string{"dir/", "dir2/", "page/"}) {
			t.Errorf("delimiter / at top: %d keys, prefixes %v; want 0, [dir/ dir2/ page/]", len(l.Contents), prefixes)
		}
		// Pagination: MaxKeys 2 over 5 keys → 2 + 2 + 1.
		var all []string
		var pages []int
		var token *string
		for i := 0; i < 10; i++ {
			l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("page/"),
				MaxKeys: aws.Int32(2), ContinuationToken: token})
			if err != nil {
				t.Fatalf("ListObjectsV2 page %d: %v", i, err)
			}
			pages = append(pages, len(l.Contents))
			for _, o := range l.Contents {
				all = append(all, aws.ToString(o.Key))
			}
			if !aws.ToBool(l.IsTruncated) {
				break
			}
			if aws.ToString(l.NextContinuationToken) == "" {
				t.Fatal("truncated page without NextContinuationToken")
			}
			token = l.NextContinuationToken
		}
		if !slices.Equal(pages, []int{2, 2, 1}) || !slices.Equal(all, keys[5:]) {
			t.Errorf("pages %v keys %v; want [2 2 1] %v", pages, all, keys[5:])
		}
		// The SDK paginator walks the same.
		pg := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(3)})
		n := 0
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatalf("paginator: %v", err)
			}
			n += len(page.Contents)
		}
		if n != len(keys) {
			t.Errorf("paginator saw %d keys, want %d", n, len(keys))
		}
		// StartAfter skips.
		l, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("page/"), StartAfter: aws.String("page/k3")})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Contents) != 2 || aws.ToString(l.Contents[0].Key) != "page/k4" {
			t.Errorf("StartAfter page/k3: %d keys", len(l.Contents))
		}
		// Clean up with DeleteObjects.
		var ids []types.ObjectIdentifier
		for _, k := range keys {
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
		}
		d, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids}})
		if err != nil {
			t.Fatalf("DeleteObjects: %v", err)
		}
		if len(d.Deleted) != len(keys) || len(d.Errors) != 0 {
			t.Errorf("DeleteObjects: %d deleted, %d errors", len(d.Deleted), len(d.Errors))
		}
	})

	t.Run("Metadata", func(t *testing.T) {
		const key = "meta/obj"
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body:        strings.NewReader("hello metadata"),
			ContentType: aws.String("text/plain; charset=utf-8"),
			Metadata:    map[string]string{"color": "blue", "Owner-Name": "Zoë Smith"}})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("HeadObject: %v", err)
		}
		if ct := aws.ToString(h.ContentType); ct != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if h.Metadata["color"] != "blue" || h.Metadata["owner-name"] != "Zoë Smith" {
			t.Errorf("metadata %v, want color=blue owner-name=Zoë Smith", h.Metadata)
		}
		if h.LastModified == nil || time.Since(*h.LastModified) > 5*time.Minute || time.Until(*h.LastModified) > time.Minute {
			t.Errorf("Last-Modified %v not recent", h.LastModified)
		}
	})

	t.Run("Conditional", func(t *testing.T) {
		const key = "cond/obj"
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("conditional")})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		etag := aws.ToString(put.ETag)
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfNoneMatch: aws.String(etag)})
		if httpStatus(err) != http.StatusNotModified {
			t.Errorf("If-None-Match current ETag: %v, want 304", err)
		}
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)})
		if httpStatus(err) != http.StatusPreconditionFailed || !strings.Contains(err.Error(), "PreconditionFailed") {
			t.Errorf("If-Match other ETag: %v, want 412 PreconditionFailed", err)
		}
		g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfMatch: aws.String(etag)})
		if err != nil {
			t.Errorf("If-Match current ETag: %v, want 200", err)
		} else {
			g.Body.Close()
		}
		g, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfNoneMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)})
		if err != nil {
			t.Errorf("If-None-Match other ETag: %v, want 200", err)
		} else {
			g.Body.Close()
		}
	})

	t.Run("Presigned", func(t *testing.T) {
		const key = "presign/obj"
		body := payload{Seed: 55, Size: 300 * kib}.Bytes()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		ps, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
			s3.WithPresignExpires(5*time.Minute))
		if err != nil {
			t.Fatalf("PresignGetObject: %v", err)
		}
		resp, err := http.Get(ps.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Errorf("presigned GET: %s, %d bytes (equal %v)", resp.Status, len(got), bytes.Equal(got, body))
		}
		// A tampered signature is refused.
		u, _ := url.Parse(ps.URL)
		q := u.Query()
		sig := []byte(q.Get("X-Amz-Signature"))
		if sig[0] == '0' {
			sig[0] = '1'
		} else {
			sig[0] = '0'
		}
		q.Set("X-Amz-Signature", string(sig))
		u.RawQuery = q.Encode()
		resp, err = http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		eb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(eb, []byte("<Code>SignatureDoesNotMatch</Code>")) {
			t.Errorf("tampered presigned GET: %s %s, want 403 SignatureDoesNotMatch", resp.Status, eb)
		}
	})
}

func countHealthy(st *Status) int {
	n := 0
	for _, ok := range st.StorageHealthy {
		if ok {
			n++
		}
	}
	return n
}

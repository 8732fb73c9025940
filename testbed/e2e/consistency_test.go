package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// testReadAfterWrite checks S3's strong read-after-write (invariant 2) for
// overwrites, deletes and LIST, across the inline threshold.
func testReadAfterWrite(t *testing.T, r *Region) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := r.Client()
	const bucket = "raw-consistency"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	const key = "hot/key"
	start := time.Now()
	for i := 0; i < 50; i++ {
		// Sizes alternate between inline-small and erasure-coded.
		size := int64(100 + i)
		if i%3 == 1 {
			size = 200*kib + int64(i)
		}
		p := payload{Seed: uint64(1000 + i), Size: size}
		etag, err := putPayload(ctx, t, c, bucket, key, p)
		if err != nil {
			t.Fatalf("PUT #%d: %v", i, err)
		}
		if err := checkObject(ctx, c, bucket, key, p.SHA(), p.Size); err != nil {
			t.Fatalf("GET right after PUT #%d: %v", i, err)
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("HEAD after PUT #%d: %v", i, err)
		}
		if aws.ToString(h.ETag) != etag || aws.ToInt64(h.ContentLength) != size {
			t.Fatalf("HEAD after PUT #%d: ETag %s size %d, want %s %d", i, aws.ToString(h.ETag), aws.ToInt64(h.ContentLength), etag, size)
		}
		l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(key)})
		if err != nil {
			t.Fatalf("LIST after PUT #%d: %v", i, err)
		}
		if len(l.Contents) != 1 || aws.ToString(l.Contents[0].ETag) != etag || aws.ToInt64(l.Contents[0].Size) != size {
			t.Fatalf("LIST after PUT #%d: %d entries, want one with ETag %s size %d", i, len(l.Contents), etag, size)
		}
	}
	t.Logf("50 overwrite+GET+HEAD+LIST rounds in %v", time.Since(start).Round(time.Millisecond))

	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if httpStatus(err) != http.StatusNotFound {
		t.Errorf("GET right after DELETE: %v, want 404", err)
	}
	l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Contents) != 0 {
		t.Errorf("LIST right after DELETE shows %d keys", len(l.Contents))
	}

	// Fresh keys are listed right after their PUT; deleted ones vanish.
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("fresh/%02d", i)
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatalf("PUT %s: %v", k, err)
		}
		l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("fresh/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Contents) != i+1 || aws.ToString(l.Contents[i].Key) != k {
			t.Fatalf("LIST right after PUT %s: %d keys, want %d ending in %s", k, len(l.Contents), i+1, k)
		}
	}
	for i := 0; i < 10; i += 2 {
		k := fmt.Sprintf("fresh/%02d", i)
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
		l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Contents) != 0 {
			t.Fatalf("LIST right after DELETE %s still shows it", k)
		}
	}
}

// testIdempotentRetry sends the same PUT twice with one
// amz-sdk-invocation-id (invariant 3): one version, one ETag, and the
// object's Last-Modified does not move; a PUT with a new id does move it.
func testIdempotentRetry(t *testing.T, r *Region) {
	ctx := context.Background()
	c := r.Client()
	const bucket = "idempotent"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	for _, size := range []int64{64, 300 * kib} { // inline and erasure-coded
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			key := fmt.Sprintf("retry-%d", size)
			body := payload{Seed: uint64(size), Size: size}.Bytes()
			id := newInvocationID()
			put := func(invocation string) string {
				req := r.rawRequest("PUT", "/"+bucket+"/"+key, body)
				req.Header.Set("amz-sdk-invocation-id", invocation)
				req.Header.Set("amz-sdk-request", "attempt=1; max=3")
				status, h, b := r.signedDo(req, body)
				if status != 200 {
					t.Fatalf("PUT: %d %s", status, b)
				}
				return h.Get("ETag")
			}
			head := func() (string, time.Time) {
				h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if err != nil {
					t.Fatalf("HEAD: %v", err)
				}
				return aws.ToString(h.ETag), aws.ToTime(h.LastModified)
			}
			e1 := put(id)
			_, lm1 := head()
			time.Sleep(1100 * time.Millisecond) // Last-Modified has 1 s resolution
			e2 := put(id)
			he, lm2 := head()
			if e1 == "" || e1 != e2 || he != e1 {
				t.Errorf("ETags: first %s, retry %s, HEAD %s; want all equal", e1, e2, he)
			}
			if !lm2.Equal(lm1) {
				t.Errorf("Last-Modified moved from %v to %v on a retried PUT: a second version was written", lm1, lm2)
			}
			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			sum, _, _ := hashReader(got.Body)
			got.Body.Close()
			if sum != sha256Hex(body) {
				t.Error("content differs after retry")
			}
			// Control: a new invocation id is a new write.
			time.Sleep(1100 * time.Millisecond)
			put(newInvocationID())
			if _, lm3 := head(); !lm3.After(lm1) {
				t.Errorf("a PUT with a new invocation id left Last-Modified at %v (first %v)", lm3, lm1)
			}
		})
	}
	// The same invocation id with a different body must not return the first
	// object's result as if it were stored (the token names one request).
	t.Run("same id other body", func(t *testing.T) {
		id := newInvocationID()
		b1, b2 := []byte("first body"), []byte("second, different body")
		req := r.rawRequest("PUT", "/"+bucket+"/conflict", b1)
		req.Header.Set("amz-sdk-invocation-id", id)
		if status, _, b := r.signedDo(req, b1); status != 200 {
			t.Fatalf("PUT: %d %s", status, b)
		}
		req = r.rawRequest("PUT", "/"+bucket+"/conflict", b2)
		req.Header.Set("amz-sdk-invocation-id", id)
		status, _, _ := r.signedDo(req, b2)
		got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("conflict")})
		if err != nil {
			t.Fatal(err)
		}
		sum, _, _ := hashReader(got.Body)
		got.Body.Close()
		switch {
		case status == 200 && sum != sha256Hex(b2):
			t.Errorf("second PUT acknowledged (200) but the stored object is not its body")
		case status != 200 && sum != sha256Hex(b1):
			t.Errorf("second PUT refused (%d) but the first body is gone", status)
		}
	})
}

func newInvocationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}

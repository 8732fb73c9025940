package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// shardIDs lists every shard id stored on the region's storage nodes.
func shardIDs(t *testing.T, r *Region) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := r.StorageClient()
	ids := map[string]bool{}
	for _, p := range r.Storage {
		after := ""
		for {
			page, err := c.List(ctx, p.Addr, "", after, 1000)
			if err != nil {
				t.Fatalf("list shards of %s: %v", p.Name, err)
			}
			for _, s := range page.Shards {
				ids[p.Name+"/"+s.ID] = true
			}
			if !page.Truncated || len(page.Shards) == 0 {
				break
			}
			after = page.Shards[len(page.Shards)-1].ID
		}
	}
	return ids
}

func newShards(before, now map[string]bool) []string {
	var out []string
	for id := range now {
		if !before[id] {
			out = append(out, id)
		}
	}
	return out
}

// testBucketIncarnation is issue 6's cross-account leak, with real
// processes: a PUT paused between its shard writes and its COMMIT (the
// gateway's test-only commit delay for keys under faultPrefix) while its
// bucket is deleted and re-created by another account must fail; the new
// bucket is empty and no shard of the fenced PUT stays. owner and other are
// clients of two accounts (direct to the region, or through an edge); r is
// the bucket's home region.
func testBucketIncarnation(t *testing.T, r *Region, owner, other *s3.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := owner.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	// A warm-up PUT (with the SDK's retries) waits out a region that is
	// still registering storage nodes; the fenced PUT below has no retries.
	if _, err := owner.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("warm-up"), Body: bytes.NewReader(make([]byte, 1<<20))}); err != nil {
		t.Fatalf("warm-up PUT: %v", err)
	}
	if _, err := owner.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("warm-up")}); err != nil {
		t.Fatal(err)
	}
	key := faultPrefix + "obj"
	before := shardIDs(t, r)
	body := bytes.Repeat([]byte("incarnation!"), (3<<20)/12)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := owner.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}, noRetry)
		done <- err
	}()
	// Wait until the PUT's shards are written: it is now paused before COMMIT.
	for n := 0; n < 14; n = len(newShards(before, shardIDs(t, r))) {
		select {
		case err := <-done:
			t.Fatalf("the PUT ended before its COMMIT delay (%d new shards): %v", n, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > faultDelay/2 {
			t.Fatalf("the PUT wrote %d shards within half the commit delay", n)
		}
	}
	delStart := time.Now()
	if _, err := owner.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}, noRetry); err != nil {
		t.Fatalf("DeleteBucket during the PUT: %v", err)
	}
	t.Logf("DeleteBucket (seal %d partitions, catalog delete, drop) took %v", r.Opts.Partitions, time.Since(delStart).Round(time.Millisecond))
	if _, err := other.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}, noRetry); err != nil {
		t.Fatalf("CreateBucket by another account: %v", err)
	}
	if time.Since(start) > faultDelay {
		t.Fatalf("delete and re-create took longer than the commit delay (%v): the test proves nothing", faultDelay)
	}
	err := <-done
	if err == nil {
		t.Fatal("the PUT into the deleted bucket succeeded")
	}
	if code := apiCode(err); code != "NoSuchBucket" {
		t.Fatalf("fenced PUT: %v (code %q), want NoSuchBucket", err, code)
	}
	// The new bucket is empty; the old object is not readable there.
	lo, err := other.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil || len(lo.Contents) != 0 {
		t.Fatalf("new bucket lists %d objects (%v)", len(lo.Contents), err)
	}
	if _, err := other.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); apiCode(err) != "NoSuchKey" {
		t.Fatalf("GET of the fenced key in the new bucket: %v", err)
	}
	// No shard of the fenced PUT stays: its writer deleted them.
	if left := newShards(before, shardIDs(t, r)); len(left) != 0 {
		t.Fatalf("%d shards of the fenced PUT remain, e.g. %s", len(left), left[0])
	}
	// The new incarnation works, and the first account cannot use it.
	if _, err := other.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("mine"), Body: strings.NewReader("b")}); err != nil {
		t.Fatalf("PUT in the new bucket: %v", err)
	}
	if _, err := owner.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("mine")}, noRetry); apiCode(err) != "AccessDenied" {
		t.Fatalf("first account reads the new bucket: %v", err)
	}
	if _, err := other.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("mine")}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
}

// testConditionalDeletes: If-Match on DeleteObject, <ETag> in DeleteObjects
// and If-Match/If-None-Match on CompleteMultipartUpload, with the SDK's own
// fields, answer as S3 does and change nothing when they fail.
func testConditionalDeletes(t *testing.T, c *s3.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	put := func(key, data string) string {
		t.Helper()
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(data)})
		if err != nil {
			t.Fatalf("PUT %s: %v", key, err)
		}
		return aws.ToString(out.ETag)
	}
	exists := func(key string) bool {
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		return err == nil
	}
	etag := put("k", "v1")
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), IfMatch: aws.String(`"0000"`)}, noRetry); apiCode(err) != "PreconditionFailed" {
		t.Fatalf("DeleteObject If-Match mismatch: %v", err)
	}
	if !exists("k") {
		t.Fatal("a failed conditional delete deleted the object")
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("absent"), IfMatch: aws.String("*")}, noRetry); apiCode(err) != "NoSuchKey" {
		t.Fatalf("DeleteObject If-Match on an absent key: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), IfMatch: aws.String(etag)}); err != nil {
		t.Fatalf("DeleteObject If-Match: %v", err)
	}
	if exists("k") {
		t.Fatal("a matching conditional delete left the object")
	}

	put("a", "A")
	eb := put("b", "B")
	out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("a"), ETag: aws.String(eb)}, // wrong ETag
		{Key: aws.String("b"), ETag: aws.String(eb)},
	}}})
	if err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	if len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "b" || len(out.Errors) != 1 ||
		aws.ToString(out.Errors[0].Key) != "a" || aws.ToString(out.Errors[0].Code) != "PreconditionFailed" {
		t.Fatalf("DeleteObjects with ETags: deleted %+v errors %+v", out.Deleted, out.Errors)
	}
	if !exists("a") || exists("b") {
		t.Fatal("DeleteObjects ignored a per-object ETag")
	}

	// CompleteMultipartUpload.
	part := bytes.Repeat([]byte("p"), 1000)
	upload := func() (string, []types.CompletedPart) {
		t.Helper()
		cu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("m")})
		if err != nil {
			t.Fatal(err)
		}
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("m"), UploadId: cu.UploadId,
			PartNumber: aws.Int32(1), Body: bytes.NewReader(part)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(cu.UploadId), []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}
	}
	complete := func(uid string, parts []types.CompletedPart, ifMatch, ifNoneMatch *string) (*s3.CompleteMultipartUploadOutput, error) {
		return c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("m"), UploadId: aws.String(uid),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, IfMatch: ifMatch, IfNoneMatch: ifNoneMatch}, noRetry)
	}
	uid, parts := upload()
	if _, err := complete(uid, parts, aws.String(`"abc"`), nil); apiCode(err) != "NoSuchKey" {
		t.Fatalf("complete If-Match on an absent key: %v", err)
	}
	first, err := complete(uid, parts, nil, aws.String("*"))
	if err != nil {
		t.Fatalf("complete If-None-Match on an absent key: %v", err)
	}
	uid2, parts2 := upload()
	if _, err := complete(uid2, parts2, nil, aws.String("*")); apiCode(err) != "PreconditionFailed" {
		t.Fatalf("complete If-None-Match on an existing key: %v", err)
	}
	if _, err := complete(uid2, parts2, aws.String(`"ffff-1"`), nil); apiCode(err) != "PreconditionFailed" {
		t.Fatalf("complete If-Match mismatch: %v", err)
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String("m"), UploadId: aws.String(uid2)})
	if err != nil || len(lp.Parts) != 1 {
		t.Fatalf("upload after failed conditional completes: %v, %d parts", err, len(lp.Parts))
	}
	if _, err := complete(uid2, parts2, first.ETag, nil); err != nil {
		t.Fatalf("complete If-Match: %v", err)
	}
	if lp, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("m")}); err != nil || len(lp.Contents) != 1 {
		t.Fatalf("list after completes: %v", err)
	}
	for _, k := range []string{"a", "m"} {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
}

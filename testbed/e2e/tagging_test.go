package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridian-s3/meridian/internal/s3checksum"
)

// testGlobalTaggingChecksums drives tagging and checksums with
// aws-sdk-go-v2 through the us-east-1 edge to a bucket homed in eu-west-1
// (edge → QUIC → region): ChecksumAlgorithm on PutObject and UploadPart,
// a wrong checksum refused with BadDigest and nothing stored, checksum
// mode on GET, COMPOSITE and FULL_OBJECT multipart checksums,
// GetObjectAttributes with part paging, object and bucket tagging
// (docs/tagging-checksums.md).
func testGlobalTaggingChecksums(t *testing.T, g *Global) {
	ctx := context.Background()
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	c := g.Client(near, testAccessKey, testSecretKey)
	const bucket = "tagcheck-global"
	if err := CreateBucketIn(ctx, c, bucket, far.Region); err != nil {
		t.Fatal(err)
	}
	body := payload{Seed: 31, Size: 300 * kib}.Bytes() // sharded, not inline

	// Every algorithm, as the SDK sends it (trailer of an aws-chunked body).
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
		key := "alg/" + string(alg)
		want := s3checksum.Sum(s3checksum.Algorithm(alg), body)
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
			ChecksumAlgorithm: alg, Tagging: aws.String("alg=" + string(alg) + "&kind=test")})
		if err != nil {
			t.Fatalf("PutObject %s: %v", alg, err)
		}
		got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("GetObject %s: %v", alg, err)
		}
		data, err := io.ReadAll(got.Body) // the SDK validates the checksum it was sent
		got.Body.Close()
		stored := map[types.ChecksumAlgorithm]*string{
			types.ChecksumAlgorithmCrc32: got.ChecksumCRC32, types.ChecksumAlgorithmCrc32c: got.ChecksumCRC32C,
			types.ChecksumAlgorithmCrc64nvme: got.ChecksumCRC64NVME, types.ChecksumAlgorithmSha1: got.ChecksumSHA1,
			types.ChecksumAlgorithmSha256: got.ChecksumSHA256,
		}[alg]
		if err != nil || !bytes.Equal(data, body) || aws.ToString(stored) != want || got.ChecksumType != types.ChecksumTypeFullObject || aws.ToInt32(got.TagCount) != 2 {
			t.Fatalf("GetObject %s: %v, %d bytes, checksum %q (want %q), type %q, tags %d; put answered %+v",
				alg, err, len(data), aws.ToString(stored), want, got.ChecksumType, aws.ToInt32(got.TagCount), put.ChecksumType)
		}
	}

	// A wrong checksum: BadDigest, and nothing stored.
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("bad"), Body: bytes.NewReader(body),
		ChecksumCRC32: aws.String(s3checksum.Sum(s3checksum.CRC32, []byte("other")))}, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if apiCode(err) != "BadDigest" {
		t.Fatalf("PutObject with a wrong CRC32: %v, want BadDigest", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("bad")}); err == nil {
		t.Fatal("a PUT refused with BadDigest stored the object")
	}

	// Multipart: SHA256 COMPOSITE and CRC32 FULL_OBJECT, parts with
	// ChecksumAlgorithm; GetObjectAttributes pages the parts.
	p1, p2 := payload{Seed: 32, Size: 5 * mib}.Bytes(), payload{Seed: 33, Size: 777}.Bytes()
	whole := append(append([]byte{}, p1...), p2...)
	for _, tc := range []struct {
		alg  types.ChecksumAlgorithm
		typ  types.ChecksumType
		want string
	}{
		{types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite, composite(s3checksum.SHA256, p1, p2)},
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, s3checksum.Sum(s3checksum.CRC32, whole)},
	} {
		key := "mp/" + string(tc.alg)
		cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
			ChecksumAlgorithm: tc.alg, ChecksumType: tc.typ, Tagging: aws.String("mp=1")})
		if err != nil || cr.ChecksumAlgorithm != tc.alg || cr.ChecksumType != tc.typ {
			t.Fatalf("CreateMultipartUpload %s: %v %+v", tc.alg, err, cr)
		}
		var parts []types.CompletedPart
		for i, data := range [][]byte{p1, p2} {
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cr.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(data), ChecksumAlgorithm: tc.alg})
			if err != nil {
				t.Fatalf("UploadPart %d (%s): %v", i+1, tc.alg, err)
			}
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag,
				ChecksumCRC32: up.ChecksumCRC32, ChecksumSHA256: up.ChecksumSHA256})
		}
		in := &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
			UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}
		if tc.typ == types.ChecksumTypeFullObject {
			// The whole object's CRC, checked against the parts' (not
			// against the XML body, which the header does not describe).
			in.ChecksumCRC32, in.ChecksumType = aws.String(tc.want), tc.typ
		}
		done, err := c.CompleteMultipartUpload(ctx, in)
		if err != nil {
			t.Fatalf("CompleteMultipartUpload %s: %v", tc.alg, err)
		}
		got := aws.ToString(done.ChecksumSHA256) + aws.ToString(done.ChecksumCRC32)
		if got != tc.want || done.ChecksumType != tc.typ {
			t.Fatalf("CompleteMultipartUpload %s: checksum %q type %q, want %q %q", tc.alg, got, done.ChecksumType, tc.want, tc.typ)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || aws.ToString(head.ChecksumSHA256)+aws.ToString(head.ChecksumCRC32) != tc.want {
			t.Fatalf("HeadObject %s with checksum mode: %v %+v", tc.alg, err, head)
		}
		attrs, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(bucket), Key: aws.String(key), MaxParts: aws.Int32(1),
			ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum,
				types.ObjectAttributesObjectParts, types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}})
		if err != nil || attrs.ObjectParts == nil || aws.ToInt32(attrs.ObjectParts.TotalPartsCount) != 2 || !aws.ToBool(attrs.ObjectParts.IsTruncated) ||
			len(attrs.ObjectParts.Parts) != 1 || aws.ToInt64(attrs.ObjectParts.Parts[0].Size) != int64(len(p1)) ||
			aws.ToInt64(attrs.ObjectSize) != int64(len(whole)) || attrs.StorageClass != types.StorageClassStandard || attrs.Checksum == nil ||
			attrs.Checksum.ChecksumType != tc.typ {
			t.Fatalf("GetObjectAttributes %s: %v %+v", tc.alg, err, attrs)
		}
		next, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(bucket), Key: aws.String(key),
			PartNumberMarker: attrs.ObjectParts.NextPartNumberMarker, ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectParts}})
		if err != nil || len(next.ObjectParts.Parts) != 1 || aws.ToInt32(next.ObjectParts.Parts[0].PartNumber) != 2 || aws.ToBool(next.ObjectParts.IsTruncated) {
			t.Fatalf("GetObjectAttributes %s page 2: %v %+v", tc.alg, err, next.ObjectParts)
		}
		tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil || len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Key) != "mp" {
			t.Fatalf("tags of the completed upload %s: %v %+v", tc.alg, err, tags)
		}
	}

	// Object tagging: replace, read, limits, delete.
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("alg/CRC32"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("")}}}}); err != nil {
		t.Fatalf("PutObjectTagging: %v", err)
	}
	tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("alg/CRC32")})
	if err != nil || len(tags.TagSet) != 2 || aws.ToString(tags.TagSet[0].Key) != "a" || aws.ToString(tags.TagSet[1].Value) != "" {
		t.Fatalf("GetObjectTagging: %v %+v", err, tags)
	}
	var eleven []types.Tag
	for i := range 11 {
		eleven = append(eleven, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
	}
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("alg/CRC32"),
		Tagging: &types.Tagging{TagSet: eleven}}); apiCode(err) != "InvalidTag" {
		t.Fatalf("PutObjectTagging with 11 tags: %v, want InvalidTag", err)
	}
	if _, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("alg/CRC32")}); err != nil {
		t.Fatalf("DeleteObjectTagging: %v", err)
	}
	if tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("alg/CRC32")}); err != nil || len(tags.TagSet) != 0 {
		t.Fatalf("GetObjectTagging after delete: %v %+v", err, tags)
	}

	// Bucket tagging.
	if _, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)}); apiCode(err) != "NoSuchTagSet" {
		t.Fatalf("GetBucketTagging before any: %v", err)
	}
	if _, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("cost"), Value: aws.String("42")}}}}); err != nil {
		t.Fatalf("PutBucketTagging: %v", err)
	}
	bt, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if err != nil || len(bt.TagSet) != 1 || aws.ToString(bt.TagSet[0].Value) != "42" {
		t.Fatalf("GetBucketTagging: %v %+v", err, bt)
	}
	if _, err := c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("DeleteBucketTagging: %v", err)
	}
}

// composite is S3's COMPOSITE checksum of parts.
func composite(a s3checksum.Algorithm, parts ...[]byte) string {
	vals := make([]string, len(parts))
	for i, p := range parts {
		vals[i] = s3checksum.Sum(a, p)
	}
	v, _ := s3checksum.Composite(a, vals)
	return v
}

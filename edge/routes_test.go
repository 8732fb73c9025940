package edge_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestRoutesThroughEdge: the edge routes through the shared table. A
// subresource operation is never its neighbour (DeleteObjectTagging never
// deletes the object), unknown or unsupported combinations are refused at
// the edge with S3's error, unimplemented GETs get S3's defaults from the
// home region, and unsigned requests learn nothing.
func TestRoutesThroughEdge(t *testing.T) {
	w := newWorld(t, 1)
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	ctx := context.Background()
	createBucket(t, c, "routes-eu", "eu-west-1")
	data := randBytes(7, 3000)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("routes-eu"), Key: aws.String("k"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	intact := func(step string) {
		t.Helper()
		if got, _ := getObject(t, c, "routes-eu", "k"); string(got) != string(data) {
			t.Fatalf("after %s: the object changed", step)
		}
	}

	_, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("routes-eu"), Key: aws.String("k")}, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		t.Errorf("DeleteObjectTagging: %v", err)
	}
	intact("DeleteObjectTagging")

	acc, err := c.GetBucketAccelerateConfiguration(ctx, &s3.GetBucketAccelerateConfigurationInput{Bucket: aws.String("routes-eu")})
	if err != nil || acc.Status != "" {
		t.Errorf("GetBucketAccelerateConfiguration: %v %+v", err, acc)
	}
	acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("routes-eu")})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl ||
		acl.Grants[0].Grantee.Type != types.TypeCanonicalUser || aws.ToString(acl.Grants[0].Grantee.ID) != aws.ToString(acl.Owner.ID) {
		t.Errorf("GetBucketAcl: %v %+v", err, acl)
	}
	tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("routes-eu"), Key: aws.String("k")})
	if err != nil || len(tags.TagSet) != 0 {
		t.Errorf("GetObjectTagging: %v %+v", err, tags)
	}
	pay, err := c.GetBucketRequestPayment(ctx, &s3.GetBucketRequestPaymentInput{Bucket: aws.String("routes-eu")})
	if err != nil || pay.Payer != types.PayerBucketOwner {
		t.Errorf("GetBucketRequestPayment: %v %+v", err, pay)
	}
	if _, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("routes-eu")}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Errorf("GetBucketPolicy: %v", err)
	}
	if _, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("routes-eu")}); apiCode(err) != "NoSuchPublicAccessBlockConfiguration" {
		t.Errorf("GetPublicAccessBlock: %v", err)
	}

	hc := w.httpClient()
	base := "https://" + w.edge.Addr()
	for _, tc := range []struct {
		method, path string
		signed       bool
		status       int
		code         string
	}{
		{"DELETE", "/routes-eu/k?acl", true, 405, "MethodNotAllowed"},
		{"DELETE", "/routes-eu/k?frobnicate", true, 501, "NotImplemented"},
		{"DELETE", "/routes-eu/k?tagging&acl", true, 400, "InvalidRequest"},
		{"DELETE", "/routes-eu?frobnicate", true, 501, "NotImplemented"},
		{"GET", "/routes-eu?frobnicate", false, 403, "AccessDenied"},
		{"DELETE", "/routes-eu/k?acl", false, 403, "AccessDenied"},
		{"GET", "/healthz", false, 403, "AccessDenied"},
		{"GET", "/healthz", true, 404, "NoSuchBucket"},
	} {
		req, err := http.NewRequest(tc.method, base+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.signed {
			req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
			if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
				req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if code := readError(t, resp); resp.StatusCode != tc.status || code != tc.code {
			t.Errorf("%s %s (signed %v): %d %s, want %d %s", tc.method, tc.path, tc.signed, resp.StatusCode, code, tc.status, tc.code)
		}
	}
	intact("raw requests")
}

package e2e

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridian-s3/meridian/internal/sigv4"
)

// testGlobalRoutes: the one route table, through an edge (bucket homed in
// the other region, behind QUIC) and directly at a regional gateway
// (issue 6). Subresource DELETEs never delete the object; GETs of
// configurations Meridian does not store answer S3's defaults, not a
// ListBucketResult; an unsigned request to an unknown subresource gets
// AccessDenied; /healthz is a bucket name on the S3 listeners and lives
// on the metrics listener.
func testGlobalRoutes(t *testing.T, g *Global) {
	home := g.Regions[g.Names[0]]
	targets := []struct {
		name, endpoint, bucket, home, health string
		client                               *s3.Client
		http                                 *http.Client
	}{
		{"edge", g.Edges[g.Names[0]].URL, "routes-via-edge", g.Names[1], g.Edges[g.Names[0]].Health,
			g.Client(g.Edges[g.Names[0]], testAccessKey, testSecretKey), g.HTTPClient()},
		{"direct", home.Endpoint, "routes-direct", "", home.Health, home.Client(), http.DefaultClient},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			ctx := context.Background()
			c := tg.client
			if err := CreateBucketIn(ctx, c, tg.bucket, tg.home); err != nil {
				t.Fatalf("CreateBucket: %v", err)
			}
			data := payload{Seed: 61, Size: 100 * kib}.Bytes()
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(tg.bucket), Key: aws.String("k"), Body: bytes.NewReader(data)}); err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			intact := func(after string) {
				t.Helper()
				if err := checkObject(ctx, c, tg.bucket, "k", sha256Hex(data), int64(len(data))); err != nil {
					t.Fatalf("after %s: %v", after, err)
				}
				lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(tg.bucket)})
				if err != nil || len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].Key) != "k" {
					t.Fatalf("after %s: listing %v %+v", after, err, lo)
				}
			}

			// aws s3api delete-object-tagging used to delete the object; it
			// now removes the tags only.
			_, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String(tg.bucket), Key: aws.String("k")}, noRetry)
			if err != nil {
				t.Errorf("DeleteObjectTagging: %v", err)
			}
			intact("DeleteObjectTagging")

			// SDK GETs of configurations Meridian does not store.
			if acc, err := c.GetBucketAccelerateConfiguration(ctx, &s3.GetBucketAccelerateConfigurationInput{Bucket: aws.String(tg.bucket)}); err != nil || acc.Status != "" {
				t.Errorf("GetBucketAccelerateConfiguration: %v %+v", err, acc)
			}
			if acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(tg.bucket)}); err != nil || len(acl.Grants) != 1 ||
				acl.Grants[0].Permission != types.PermissionFullControl || aws.ToString(acl.Grants[0].Grantee.ID) != aws.ToString(acl.Owner.ID) {
				t.Errorf("GetBucketAcl: %v %+v", err, acl)
			}
			if acl, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(tg.bucket), Key: aws.String("k")}); err != nil || len(acl.Grants) != 1 ||
				acl.Grants[0].Permission != types.PermissionFullControl {
				t.Errorf("GetObjectAcl: %v %+v", err, acl)
			}
			if tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(tg.bucket), Key: aws.String("k")}); err != nil || len(tags.TagSet) != 0 {
				t.Errorf("GetObjectTagging: %v %+v", err, tags)
			}
			if pay, err := c.GetBucketRequestPayment(ctx, &s3.GetBucketRequestPaymentInput{Bucket: aws.String(tg.bucket)}); err != nil || pay.Payer != types.PayerBucketOwner {
				t.Errorf("GetBucketRequestPayment: %v %+v", err, pay)
			}
			for name, call := range map[string]func() error{
				"NoSuchBucketPolicy": func() error {
					_, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(tg.bucket)})
					return err
				},
				"NoSuchTagSet": func() error {
					_, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(tg.bucket)})
					return err
				},
				"NoSuchLifecycleConfiguration": func() error {
					_, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(tg.bucket)})
					return err
				},
				"ServerSideEncryptionConfigurationNotFoundError": func() error {
					_, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(tg.bucket)})
					return err
				},
				"NoSuchPublicAccessBlockConfiguration": func() error {
					_, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(tg.bucket)})
					return err
				},
			} {
				if err := call(); apiCode(err) != name {
					t.Errorf("want %s, got %v", name, err)
				}
			}

			// Raw requests, signed and not.
			url := tg.endpoint + "/" + tg.bucket
			for _, tc := range []struct {
				method, path string
				signed       bool
				status       int
				want         string // S3 error code, or the root element of a 200 document
			}{
				{"DELETE", "/k?acl", true, 405, "MethodNotAllowed"},
				{"DELETE", "/k?versionId=bogus", true, 400, "InvalidArgument"},
				{"DELETE", "/k?frobnicate", true, 501, "NotImplemented"},
				{"DELETE", "/k?tagging&acl", true, 400, "InvalidRequest"},
				{"GET", "?accelerate", true, 200, "AccelerateConfiguration"},
				{"GET", "?publicAccessBlock", true, 404, "NoSuchPublicAccessBlockConfiguration"},
				{"GET", "?requestPayment", true, 200, "RequestPaymentConfiguration"},
				{"GET", "?frobnicate", true, 501, "NotImplemented"},
				{"GET", "?frobnicate", false, 403, "AccessDenied"},
				{"DELETE", "/k?acl", false, 403, "AccessDenied"},
				{"DELETE", "/k", false, 403, "AccessDenied"},
			} {
				req := newReq(t, tc.method, url+tc.path, nil)
				if tc.signed {
					sigv4.Sign(req, testAccessKey, testSecretKey, "us-east-1", time.Now(), sha256Hex(nil))
				}
				status, body := send(t, tg.http, req)
				got := ""
				if status == 200 {
					got = rootElement(body)
				} else if e, err := parseS3Error(body); err == nil {
					got = e.Code
				}
				if status != tc.status || got != tc.want {
					t.Errorf("%s %s (signed %v): %d %s, want %d %s\n%.400s", tc.method, tc.path, tc.signed, status, got, tc.status, tc.want, body)
				}
			}
			intact("raw subresource requests")

			// /healthz is a bucket name on the S3 listener; health lives on
			// the metrics listener.
			status, body := send(t, tg.http, newReq(t, "GET", tg.endpoint+"/healthz", nil))
			if e, _ := parseS3Error(body); status != 403 || e.Code != "AccessDenied" {
				t.Errorf("unsigned GET /healthz on the S3 listener: %d %s", status, body)
			}
			for _, p := range []string{"/healthz", "/readyz"} {
				if status, body := send(t, http.DefaultClient, newReq(t, "GET", tg.health+p, nil)); status != 200 {
					t.Errorf("metrics listener %s: %d %s", p, status, body)
				}
			}
		})
	}
}

// send does req with hc and returns status and body.
func send(t *testing.T, hc *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, b
}

// rootElement is the name of an XML document's first element.
func rootElement(b []byte) string {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

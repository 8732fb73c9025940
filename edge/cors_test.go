package edge_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestCORSThroughEdge: Put/Get/DeleteBucketCors with the SDK through the
// edge (a bucket homed in the other region too); preflights answered by
// the edge, unauthenticated, and seen at once after a change made through
// it; Access-Control-* on proxied answers, errors included, only for
// requests with a matching Origin.
func TestCORSThroughEdge(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	createBucket(t, c, "cors-eu", "eu-west-1")
	hc := w.httpClient()
	send := func(method, path string, hdr map[string]string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, "https://"+w.edge.Addr()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(out)
	}
	pre := map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type,x-amz-meta-a"}

	if _, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("cors-eu")}); apiCode(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("GetBucketCors before put: %v", err)
	}
	// The edge caches the bucket (without rules) now.
	if code, _, out := send("OPTIONS", "/cors-eu/k", pre); code != 403 || !strings.Contains(out, "CORS is not enabled for this bucket.") {
		t.Fatalf("preflight before put: %d %s", code, out)
	}
	_, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("cors-eu"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{
			ID: aws.String("app"), AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"PUT", "GET"},
			AllowedHeaders: []string{"Content-Type", "x-amz-*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(3000),
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("cors-eu")})
	if err != nil || len(got.CORSRules) != 1 || aws.ToString(got.CORSRules[0].ID) != "app" || aws.ToInt32(got.CORSRules[0].MaxAgeSeconds) != 3000 ||
		strings.Join(got.CORSRules[0].AllowedHeaders, ",") != "Content-Type,x-amz-*" {
		t.Fatalf("GetBucketCors: %v %+v", err, got)
	}
	code, h, out := send("OPTIONS", "/cors-eu/k", pre)
	if code != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Access-Control-Allow-Methods") != "PUT, GET" ||
		h.Get("Access-Control-Allow-Headers") != "content-type, x-amz-meta-a" || h.Get("Access-Control-Max-Age") != "3000" ||
		h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("x-amz-request-id") == "" {
		t.Fatalf("preflight after put (the edge's cache must not hide the change): %d %v %s", code, h, out)
	}
	if code, _, out := send("OPTIONS", "/cors-eu/k", map[string]string{"Origin": "https://app.example.org", "Access-Control-Request-Method": "PUT"}); code != 403 ||
		!strings.Contains(out, "<Code>AccessForbidden</Code>") || !strings.Contains(out, "This CORS request is not allowed") {
		t.Fatalf("preflight from another origin: %d %s", code, out)
	}
	if code, _, out := send("OPTIONS", "/cors-eu", map[string]string{"Access-Control-Request-Method": "PUT"}); code != 400 || !strings.Contains(out, "Origin request header needed") {
		t.Fatalf("preflight without Origin: %d %s", code, out)
	}

	// Actual requests through the edge (proxied to eu-west-1).
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cors-eu"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	code, h, _ = send("GET", "/cors-eu/k", map[string]string{"Origin": "https://app.example.com"})
	if code != 403 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Fatalf("unsigned GET with Origin (refused) lacks CORS headers: %d %v", code, h)
	}
	code, h, _ = send("GET", "/cors-eu/k", map[string]string{"Origin": "https://app.example.org"})
	if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Vary") != "" {
		t.Fatalf("a non-matching Origin got CORS headers: %d %v", code, h)
	}
	out2, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cors-eu"), Key: aws.String("k")}, func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, smithyhttp.AddHeaderValue("Origin", "https://www.example.com"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = out2.Body.Close()
	respHeaders := awsmiddleware.GetRawResponse(out2.ResultMetadata).(*smithyhttp.Response).Header
	if respHeaders.Get("Access-Control-Allow-Origin") != "https://www.example.com" || respHeaders.Get("Access-Control-Allow-Methods") != "PUT, GET" {
		t.Fatalf("signed GET with Origin: %v", respHeaders)
	}

	if _, err := c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("cors-eu")}); err != nil {
		t.Fatal(err)
	}
	if code, _, out := send("OPTIONS", "/cors-eu/k", pre); code != 403 || !strings.Contains(out, "CORS is not enabled for this bucket.") {
		t.Fatalf("preflight after delete: %d %s", code, out)
	}
}

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// testGlobalCORS (docs/access-control.md "CORS"): the aws CLI's
// put/get/delete-bucket-cors through an edge for a bucket homed in the
// other region; curl preflights as a browser sends them — answered by that
// edge, unauthenticated, and by the home region's direct listener; the
// Access-Control-* headers on a GET with an Origin, signed, and anonymous
// of an object a bucket policy makes public; boto3's round trip.
func testGlobalCORS(t *testing.T, g *Global) {
	needClient(t, "the aws CLI", lookPath("aws"))
	needClient(t, "curl", lookPath("curl"))
	ctx := context.Background()
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	const bucket = "cors-global"
	c := g.Client(near, testAccessKey, testSecretKey)
	if err := CreateBucketIn(ctx, c, bucket, far.Region); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	env, dir := awsCLIEnv(t, g)
	cli := func(args ...string) string {
		t.Helper()
		return runTool(t, env, "aws", append([]string{"--endpoint-url", near.URL, "s3api"}, args...)...)
	}
	// curl sends an unsigned OPTIONS, as a browser sends a preflight.
	curl := func(url string, hdr ...string) (int, http.Header, string) {
		t.Helper()
		args := append([]string{"-sS", "-i", "-X", "OPTIONS", "--cacert", g.Certs.CA}, hdr...)
		return parseCurl(t, runTool(t, cleanEnv(), "curl", append(args, url)...))
	}

	cfg := filepath.Join(dir, "cors.json")
	if err := os.WriteFile(cfg, []byte(`{"CORSRules": [
		{"ID": "app", "AllowedOrigins": ["https://app.example.com", "https://*.app.example.com"], "AllowedMethods": ["PUT", "POST", "GET"],
		 "AllowedHeaders": ["Content-Type", "x-amz-*"], "ExposeHeaders": ["ETag", "x-amz-version-id"], "MaxAgeSeconds": 600},
		{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cli("put-bucket-cors", "--bucket", bucket, "--cors-configuration", "file://"+cfg)
	var got struct {
		CORSRules []struct {
			ID             string
			AllowedOrigins []string
			AllowedMethods []string
			AllowedHeaders []string
			ExposeHeaders  []string
			MaxAgeSeconds  int
		}
	}
	if err := json.Unmarshal([]byte(cli("get-bucket-cors", "--bucket", bucket)), &got); err != nil || len(got.CORSRules) != 2 ||
		got.CORSRules[0].ID != "app" || got.CORSRules[0].MaxAgeSeconds != 600 || strings.Join(got.CORSRules[0].AllowedHeaders, ",") != "Content-Type,x-amz-*" ||
		strings.Join(got.CORSRules[1].AllowedOrigins, ",") != "*" {
		t.Fatalf("get-bucket-cors: %+v (%v)", got, err)
	}

	// A browser's preflight for a PUT with two unsafe headers, through the
	// edge that proxied the change: answered at once.
	obj := near.URL + "/" + bucket + "/site/index.html"
	code, h, body := curl(obj, "-H", "Origin: https://ui.app.example.com", "-H", "Access-Control-Request-Method: PUT",
		"-H", "Access-Control-Request-Headers: content-type,x-amz-meta-note")
	want := map[string]string{
		"access-control-allow-origin": "https://ui.app.example.com", "access-control-allow-credentials": "true",
		"access-control-allow-methods": "PUT, POST, GET", "access-control-allow-headers": "content-type, x-amz-meta-note",
		"access-control-expose-headers": "ETag, x-amz-version-id", "access-control-max-age": "600",
		"vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
	}
	if code != 200 || body != "" {
		t.Fatalf("preflight: %d %v %q", code, h, body)
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("preflight %s = %q, want %q", k, h.Get(k), v)
		}
	}
	// The home region's direct listener answers the same.
	home := g.Regions[far.Region]
	if code, h, _ := curl(home.Endpoint+"/"+bucket+"/site/index.html", "-H", "Origin: https://ui.app.example.com", "-H", "Access-Control-Request-Method: PUT",
		"-H", "Access-Control-Request-Headers: content-type,x-amz-meta-note"); code != 200 || h.Get("access-control-allow-headers") != "content-type, x-amz-meta-note" {
		t.Errorf("preflight at the region's direct listener: %d %v", code, h)
	}
	// Refusals: another origin; a header no rule allows; no Origin.
	for _, tc := range []struct {
		hdr  []string
		code int
		want string
	}{
		{[]string{"-H", "Origin: https://evil.example", "-H", "Access-Control-Request-Method: PUT"}, 403,
			"<Code>AccessForbidden</Code><Message>CORSResponse: This CORS request is not allowed."},
		{[]string{"-H", "Origin: https://app.example.com", "-H", "Access-Control-Request-Method: PUT", "-H", "Access-Control-Request-Headers: authorization"}, 403,
			"<Method>PUT</Method><ResourceType>OBJECT</ResourceType>"},
		{[]string{"-H", "Access-Control-Request-Method: PUT"}, 400, "<Code>BadRequest</Code><Message>Insufficient information. Origin request header needed.</Message>"},
	} {
		code, h, body := curl(obj, tc.hdr...)
		if code != tc.code || !strings.Contains(body, tc.want) || h.Get("access-control-allow-origin") != "" {
			t.Errorf("preflight %v: %d %v %s, want %d with %s", tc.hdr, code, h, body, tc.code, tc.want)
		}
	}

	// An actual GET carrying an Origin (signed, proxied to the home region).
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("site/index.html"), Body: strings.NewReader("<h1>hi</h1>")}); err != nil {
		t.Fatal(err)
	}
	for origin, acao := range map[string]string{"https://app.example.com": "https://app.example.com", "http://other.example": "*"} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("site/index.html")}, withHeader("Origin", origin))
		if err != nil {
			t.Fatal(err)
		}
		_ = out.Body.Close()
		if h := rawHeaders(out.ResultMetadata); h.Get("Access-Control-Allow-Origin") != acao {
			t.Errorf("GET with Origin %s: Access-Control-Allow-Origin %q, want %q (%v)", origin, h.Get("Access-Control-Allow-Origin"), acao, h)
		}
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("site/index.html")})
	if err != nil {
		t.Fatal(err)
	}
	_ = out.Body.Close()
	if h := rawHeaders(out.ResultMetadata); h.Get("Access-Control-Allow-Origin") != "" || h.Get("Vary") != "" {
		t.Errorf("GET without Origin got CORS headers: %v", h)
	}

	// A public object (bucket policy) read anonymously by a page: the
	// answer carries the rule's headers; CORS grants nothing by itself
	// (a private key stays 403, with the headers, so the page can read why).
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/site/*"}]}`
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatalf("PutBucketPolicy: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("private.txt"), Body: strings.NewReader("p")}); err != nil {
		t.Fatal(err)
	}
	anon := func(path string) (int, http.Header, string) {
		t.Helper()
		out := runTool(t, cleanEnv(), "curl", "-sS", "-i", "--cacert", g.Certs.CA, "-H", "Origin: https://app.example.com", near.URL+path)
		return parseCurl(t, out)
	}
	if code, h, body := anon("/" + bucket + "/site/index.html"); code != 200 || body != "<h1>hi</h1>" ||
		h.Get("access-control-allow-origin") != "https://app.example.com" || h.Get("access-control-expose-headers") != "ETag, x-amz-version-id" {
		t.Errorf("anonymous GET of a public object with Origin: %d %v %q", code, h, body)
	}
	if code, h, body := anon("/" + bucket + "/private.txt"); code != 403 || !strings.Contains(body, "AccessDenied") ||
		h.Get("access-control-allow-origin") != "https://app.example.com" {
		t.Errorf("anonymous GET of a private object with Origin: %d %v %q", code, h, body)
	}

	cli("delete-bucket-cors", "--bucket", bucket)
	cmd := exec.Command("aws", "--endpoint-url", near.URL, "s3api", "get-bucket-cors", "--bucket", bucket)
	cmd.Env = env
	if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "NoSuchCORSConfiguration") {
		t.Errorf("get-bucket-cors after delete: %v %s", err, msg)
	}
	if code, _, body := curl(obj, "-H", "Origin: https://app.example.com", "-H", "Access-Control-Request-Method: GET"); code != 403 ||
		!strings.Contains(body, "CORSResponse: CORS is not enabled for this bucket.") {
		t.Errorf("preflight after delete: %d %s", code, body)
	}
	testGlobalCORSBoto3(t, g, bucket)
}

// withHeader adds a request header to one SDK call.
func withHeader(name, value string) func(*s3.Options) {
	return func(o *s3.Options) { o.APIOptions = append(o.APIOptions, smithyhttp.AddHeaderValue(name, value)) }
}

// rawHeaders are the HTTP response headers of an SDK call.
func rawHeaders(md middleware.Metadata) http.Header {
	if r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
		return r.Header
	}
	return nil
}

// parseCurl splits `curl -i` output into status, headers and body.
func parseCurl(t *testing.T, out string) (int, http.Header, string) {
	t.Helper()
	head, body, _ := strings.Cut(strings.ReplaceAll(out, "\r\n", "\n"), "\n\n")
	sc := bufio.NewScanner(strings.NewReader(head))
	h := http.Header{}
	code := 0
	for sc.Scan() {
		line := sc.Text()
		if code == 0 {
			if _, err := fmt.Sscanf(line[strings.Index(line, " ")+1:], "%d", &code); err != nil {
				t.Fatalf("curl status line %q", line)
			}
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Add(k, strings.TrimSpace(v))
		}
	}
	return code, h, body
}

// boto3CORSScript: put/get/delete-bucket-cors, a GET whose Origin the rule
// echoes, and a browser-style cross-origin form upload (preflight, then the
// POST), with boto3 and urllib.
const boto3CORSScript = `
import ssl, sys, uuid, urllib.request, urllib.error, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, ca, ak, sk, bucket = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", verify=ca, config=Config(s3={"addressing_style": "path"}))
rules = [{"ID": "boto", "AllowedOrigins": ["https://boto.example"], "AllowedMethods": ["GET", "DELETE", "POST"],
          "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 30}]
s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
assert got == rules, got
def origin(request, **kwargs):
    request.headers["Origin"] = "https://boto.example"
s3.meta.events.register("before-sign.s3.GetObject", origin)
h = s3.get_object(Bucket=bucket, Key="site/index.html")["ResponseMetadata"]["HTTPHeaders"]
assert h.get("access-control-allow-origin") == "https://boto.example", h
assert h.get("access-control-allow-methods") == "GET, DELETE, POST", h
assert h.get("access-control-expose-headers") == "ETag", h
try:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]})
    raise SystemExit("PATCH accepted")
except ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidRequest", e.response
    assert "Unsupported method is PATCH" in e.response["Error"]["Message"], e.response
# A page on https://boto.example uploads with a browser form: the preflight
# a fetch() with a custom header would send, then the form POST itself
# (unsigned: the form's policy is signed), whose answer names the origin.
def send(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=ctx) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}
p = s3.generate_presigned_post(bucket, "from-browser.txt", ExpiresIn=300)
st, h = send("OPTIONS", p["url"], headers={"Origin": "https://boto.example", "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "x-requested-with"})
assert st == 200 and h.get("access-control-allow-origin") == "https://boto.example", (st, h)
assert h.get("access-control-allow-headers") == "x-requested-with", h
b = "----corsform" + uuid.uuid4().hex
form = b"".join(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (b, k, v)).encode() for k, v in p["fields"].items())
form += ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\n" % b).encode() + b"hello from a page\r\n"
form += ("--%s--\r\n" % b).encode()
st, h = send("POST", p["url"], form, {"Content-Type": "multipart/form-data; boundary=" + b, "Origin": "https://boto.example"})
assert st == 204 and h.get("access-control-allow-origin") == "https://boto.example", (st, h)
assert h.get("access-control-expose-headers") == "ETag" and h.get("etag"), h
assert s3.get_object(Bucket=bucket, Key="from-browser.txt")["Body"].read() == b"hello from a page"
s3.delete_bucket_cors(Bucket=bucket)
try:
    s3.get_bucket_cors(Bucket=bucket)
    raise SystemExit("configuration still there")
except ClientError as e:
    assert e.response["Error"]["Code"] == "NoSuchCORSConfiguration", e.response
print("boto3 cors ok")
`

func testGlobalCORSBoto3(t *testing.T, g *Global, bucket string) {
	needClient(t, "python3 with boto3", func() error {
		if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
			return fmt.Errorf("import boto3: %v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	})
	script := filepath.Join(t.TempDir(), "boto3_cors.py")
	if err := os.WriteFile(script, []byte(boto3CORSScript), 0o644); err != nil {
		t.Fatal(err)
	}
	// Through the other edge: its cache may hold the bucket, but these are
	// proxied to the home region, which reads the catalog.
	out := runTool(t, cleanEnv(), "python3", script, g.Edges[g.Names[1]].URL, g.Certs.CA, testAccessKey, testSecretKey, bucket)
	if !strings.Contains(out, "boto3 cors ok") {
		t.Errorf("boto3 script output: %q", out)
	}
}

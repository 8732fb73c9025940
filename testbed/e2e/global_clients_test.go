package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Real S3 clients other than the Go SDK, run as processes against the
// edges over TLS: the aws CLI (v1), boto3 and s3cmd.

// envAllowMissingClients, set to 1, lets a client test skip when the client
// is not installed; otherwise a missing client fails.
const envAllowMissingClients = "MERIDIAN_ALLOW_MISSING_CLIENTS"

// needClient fails (or, with MERIDIAN_ALLOW_MISSING_CLIENTS=1, skips) when
// the client cannot run.
func needClient(t *testing.T, what string, probe func() error) {
	t.Helper()
	if err := probe(); err != nil {
		msg := fmt.Sprintf("%s is not available (%v): run scripts/install-test-deps.sh (the aws CLI and boto3: pip install awscli boto3), or set %s=1 to skip",
			what, err, envAllowMissingClients)
		if os.Getenv(envAllowMissingClients) == "1" {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
}

func lookPath(name string) func() error {
	return func() error { _, err := exec.LookPath(name); return err }
}

// cleanEnv is the environment without AWS_* variables (no user profile or
// setting can change a run), plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runTool runs a client process and fails the test on a non-zero exit.
// awsCLIEnv is the environment of the aws CLI with the test key, the
// deployment's CA and its own empty config folder (returned).
func awsCLIEnv(t *testing.T, g *Global) (env []string, dir string) {
	t.Helper()
	needClient(t, "the aws CLI", lookPath("aws"))
	dir = t.TempDir()
	return cleanEnv(
		"AWS_ACCESS_KEY_ID="+testAccessKey,
		"AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CA_BUNDLE="+g.Certs.CA,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_PAGER="), dir
}

// awsAt runs the aws CLI against edge e and returns its output.
func awsAt(t *testing.T, env []string, e *Edge, args ...string) string {
	t.Helper()
	return runTool(t, env, "aws", append([]string{"--endpoint-url", e.URL}, args...)...)
}

// awsFailsAt runs an aws CLI command against edge e that must fail with the
// S3 error code.
func awsFailsAt(t *testing.T, env []string, e *Edge, code string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", append([]string{"--endpoint-url", e.URL}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "("+code+")") {
		t.Fatalf("aws %s: %v, want error %s: %s", strings.Join(args, " "), err, code, out)
	}
}

func runTool(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	t.Logf("%s %s (%v)", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return string(out)
}

func fileSHA(t *testing.T, path string) (string, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, n, err := hashReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return sum, n
}

// testGlobalAWSCLI: aws CLI v1 with AWS_CA_BUNDLE. A bucket made in
// eu-west-1 with `s3 mb --region eu-west-1` through the us-east-1 edge; a
// 50 MiB file up through one edge (multipart) and down through the other.
func testGlobalAWSCLI(t *testing.T, g *Global) {
	env, dir := awsCLIEnv(t, g)
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	aws := func(e *Edge, args ...string) string {
		t.Helper()
		return awsAt(t, env, e, args...)
	}
	const bucket = "cli-global"
	p := payload{Seed: 5050, Size: 50 * mib}
	src := p.File(t, dir)
	want := p.SHA()

	aws(near, "s3", "mb", "s3://"+bucket, "--region", far.Region)
	var loc struct{ LocationConstraint string }
	if err := json.Unmarshal([]byte(aws(far, "s3api", "get-bucket-location", "--bucket", bucket)), &loc); err != nil ||
		loc.LocationConstraint != far.Region {
		t.Errorf("get-bucket-location: %+v (%v), want %s", loc, err, far.Region)
	}
	aws(near, "s3", "cp", src, "s3://"+bucket+"/data/file.bin") // 50 MiB > 8 MiB: multipart
	dst := filepath.Join(dir, "down.bin")
	aws(far, "s3", "cp", "s3://"+bucket+"/data/file.bin", dst)
	if got, n := fileSHA(t, dst); got != want || n != p.Size {
		t.Fatalf("downloaded %d bytes sha %.12s, want %d bytes %.12s", n, got, p.Size, want)
	}
	if ls := aws(far, "s3", "ls", "s3://"+bucket+"/data/"); !strings.Contains(ls, "52428800 file.bin") {
		t.Errorf("s3 ls: %q, want a line with 52428800 file.bin", ls)
	}
	if ls := aws(near, "s3", "ls"); !strings.Contains(ls, bucket) {
		t.Errorf("s3 ls (buckets): %q lacks %s", ls, bucket)
	}
	// delete-object-tagging used to delete the object (issue 6): now it
	// removes the tags only, and head-object and list-objects-v2 below
	// still find the object.
	aws(far, "s3api", "put-object-tagging", "--bucket", bucket, "--key", "data/file.bin", "--tagging", "TagSet=[{Key=team,Value=storage},{Key=tier,Value=hot}]")
	if out := aws(near, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "data/file.bin"); !strings.Contains(out, `"storage"`) || !strings.Contains(out, `"tier"`) {
		t.Errorf("get-object-tagging after put-object-tagging: %s", out)
	}
	aws(far, "s3api", "delete-object-tagging", "--bucket", bucket, "--key", "data/file.bin")
	aws(near, "s3api", "get-bucket-accelerate-configuration", "--bucket", bucket) // S3's empty answer, not a listing
	if out := aws(far, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "data/file.bin"); strings.Contains(out, "storage") {
		t.Errorf("get-object-tagging after delete-object-tagging: %s", out)
	}
	aws(near, "s3api", "put-bucket-tagging", "--bucket", bucket, "--tagging", "TagSet=[{Key=cost-centre,Value=42}]")
	if out := aws(far, "s3api", "get-bucket-tagging", "--bucket", bucket); !strings.Contains(out, "cost-centre") {
		t.Errorf("get-bucket-tagging: %s", out)
	}
	var head struct {
		ContentLength int64
		ETag          string
	}
	if err := json.Unmarshal([]byte(aws(near, "s3api", "head-object", "--bucket", bucket, "--key", "data/file.bin")), &head); err != nil {
		t.Fatalf("head-object output: %v", err)
	}
	if head.ContentLength != p.Size || !strings.Contains(head.ETag, "-") {
		t.Errorf("head-object: %+v, want ContentLength %d and a multipart ETag", head, p.Size)
	}
	// aws s3 presign (SigV2 query form or SigV4, whichever the CLI makes by
	// default) gives a URL any HTTP client can fetch.
	u := strings.TrimSpace(aws(near, "s3", "presign", "s3://"+bucket+"/data/file.bin", "--expires-in", "300"))
	resp, err := g.HTTPClient().Get(u)
	if err != nil {
		t.Fatalf("GET presigned %s: %v", u, err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n != p.Size {
		t.Errorf("GET presigned %s: %d, %d bytes, want 200 and %d", u, resp.StatusCode, n, p.Size)
	}
	var list struct {
		Contents []struct {
			Key  string
			Size int64
			ETag string
		}
	}
	if err := json.Unmarshal([]byte(aws(far, "s3api", "list-objects-v2", "--bucket", bucket)), &list); err != nil {
		t.Fatalf("list-objects-v2 output: %v", err)
	}
	if len(list.Contents) != 1 || list.Contents[0].Key != "data/file.bin" || list.Contents[0].Size != p.Size ||
		list.Contents[0].ETag != head.ETag {
		t.Errorf("list-objects-v2: %+v", list)
	}
	aws(far, "s3", "rm", "s3://"+bucket+"/data/file.bin")
	aws(near, "s3", "rb", "s3://"+bucket)
	for _, b := range g.ListCatalog() {
		if b.Name == bucket {
			t.Errorf("catalog still lists %s after s3 rb: %+v", bucket, b)
		}
	}
}

// boto3Script exercises put/get/list/delete and a multipart upload_fileobj.
const boto3Script = `
import hashlib, io, os, sys
import boto3
from botocore.config import Config

endpoint, ca, ak, sk, bucket = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", verify=ca, config=Config(s3={"addressing_style": "path"}))
data = os.urandom(3 * 1024 * 1024 + 17)
s3.put_object(Bucket=bucket, Key="boto/put", Body=data)
got = s3.get_object(Bucket=bucket, Key="boto/put")["Body"].read()
assert got == data, "get_object returned %d different bytes" % len(got)

big = os.urandom(20 * 1024 * 1024)
s3.upload_fileobj(io.BytesIO(big), bucket, "boto/multipart")  # > 8 MiB: multipart
buf = io.BytesIO()
s3.download_fileobj(bucket, "boto/multipart", buf)
assert hashlib.sha256(buf.getvalue()).digest() == hashlib.sha256(big).digest(), "multipart object differs"

keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="boto/")["Contents"])
assert keys == ["boto/multipart", "boto/put"], keys
for k in keys:
    s3.delete_object(Bucket=bucket, Key=k)
left = s3.list_objects_v2(Bucket=bucket, Prefix="boto/")
assert left["KeyCount"] == 0, left
try:
    s3.head_object(Bucket=bucket, Key="boto/put")
    raise SystemExit("head_object after delete succeeded")
except s3.exceptions.ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response

# User-metadata names keep their case through the edge (issue 6): boto3 keys
# Metadata by the name as sent; the defaults stock clients send are accepted.
s3.put_object(Bucket=bucket, Key="boto/meta", Body=b"m", Metadata={"owner": "alice", "Mixed-Case": "v"},
              ACL="private", StorageClass="STANDARD")
md = s3.head_object(Bucket=bucket, Key="boto/meta")["Metadata"]
assert md.get("owner") == "alice" and md.get("mixed-case") == "v", md
md = s3.get_object(Bucket=bucket, Key="boto/meta")["Metadata"]
assert md.get("owner") == "alice", md
# SSE-C (docs/sse.md): stored encrypted, read back only with its key.
ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32}
s3.put_object(Bucket=bucket, Key="boto/sse", Body=b"secret", **ssec)
assert s3.get_object(Bucket=bucket, Key="boto/sse", **ssec)["Body"].read() == b"secret"
for kw, status in (({}, 400), ({"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "j" * 32}, 403)):
    try:
        s3.get_object(Bucket=bucket, Key="boto/sse", **kw)
        raise SystemExit("SSE-C object read with %r" % kw)
    except s3.exceptions.ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == status, e.response
# SSE-KMS with the account's default key of the built-in key service.
put = s3.put_object(Bucket=bucket, Key="boto/kms", Body=b"secret", ServerSideEncryption="aws:kms")
assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"].startswith("arn:aws:kms:"), put
assert s3.get_object(Bucket=bucket, Key="boto/kms")["Body"].read() == b"secret"
# Encryption Meridian cannot honour is refused, never stored in clear.
try:
    s3.put_object(Bucket=bucket, Key="boto/dsse", Body=b"secret", ServerSideEncryption="aws:kms:dsse")
    raise SystemExit("dual-layer SSE-KMS put accepted")
except s3.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "NotImplemented", e.response
# DeleteObjects as boto3 sends it (with its integrity header) works.
res = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "boto/meta"}, {"Key": "boto/sse"}, {"Key": "boto/kms"}]})
assert not res.get("Errors"), res
left = s3.list_objects_v2(Bucket=bucket, Prefix="boto/")
assert left["KeyCount"] == 0, left

# Issue 10 item 7, as the conformance suites check it. A Date header next
# to botocore's signing (botocore then signs with Date, "-0000" zone).
def with_headers(op, hdrs, call):
    h = lambda request, **kw: [request.headers.__setitem__(k, v) for k, v in hdrs.items()]
    s3.meta.events.register_first("before-sign.s3." + op, h)
    try:
        return call()
    finally:
        s3.meta.events.unregister("before-sign.s3." + op, h)
def error_code(call):
    try:
        call()
    except s3.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return "OK"
with_headers("PutObject", {"Date": "Mon, 01 Jan 2001 00:00:00 GMT"}, lambda: s3.put_object(Bucket=bucket, Key="boto/dated", Body=b"d"))
assert s3.get_object(Bucket=bucket, Key="boto/dated")["Body"].read() == b"d"
c = with_headers("PutObject", {"Content-MD5": ""}, lambda: error_code(lambda: s3.put_object(Bucket=bucket, Key="boto/md5", Body=b"x")))
assert c == "InvalidDigest", c
c = with_headers("PutObject", {"If-Match": '"0123"'}, lambda: error_code(lambda: s3.put_object(Bucket=bucket, Key="boto/absent", Body=b"x")))
assert c == "NoSuchKey", c
# encoding-type=url: "/" kept, "+" and " " percent-encoded (boto3 leaves an
# explicitly requested encoding undecoded).
for k in ("boto/foo+1/bar", "boto/quux ab/thud"):
    s3.put_object(Bucket=bucket, Key=k, Body=b"e")
res = s3.list_objects(Bucket=bucket, Prefix="boto/", Delimiter="/", EncodingType="url")
assert res["Delimiter"] == "/" and res["Prefix"] == "boto/", res
prefixes = sorted(p["Prefix"] for p in res["CommonPrefixes"])
assert prefixes == ["boto/foo%2B1/", "boto/quux%20ab/"], prefixes
for k in ("boto/foo+1/bar", "boto/quux ab/thud", "boto/dated"):
    s3.delete_object(Bucket=bucket, Key=k)
# Tagging and checksums (docs/tagging-checksums.md).
import base64, zlib
body = os.urandom(100 * 1024)
crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
put = s3.put_object(Bucket=bucket, Key="boto/tagged", Body=body, ChecksumAlgorithm="CRC32", Tagging="team=storage&tier=hot")
assert put["ChecksumCRC32"] == crc, put
got = s3.get_object(Bucket=bucket, Key="boto/tagged", ChecksumMode="ENABLED")
assert got["ChecksumCRC32"] == crc and got["TagCount"] == 2 and got["Body"].read() == body, got
s3.put_object_tagging(Bucket=bucket, Key="boto/tagged", Tagging={"TagSet": [{"Key": "k", "Value": "v w"}]})
tags = s3.get_object_tagging(Bucket=bucket, Key="boto/tagged")["TagSet"]
assert tags == [{"Key": "k", "Value": "v w"}], tags
c = error_code(lambda: s3.put_object_tagging(Bucket=bucket, Key="boto/tagged",
    Tagging={"TagSet": [{"Key": "k%d" % i, "Value": "v"} for i in range(11)]}))
assert c == "InvalidTag", c
attrs = s3.get_object_attributes(Bucket=bucket, Key="boto/tagged", ObjectAttributes=["ETag", "Checksum", "ObjectSize", "StorageClass"])
assert attrs["Checksum"]["ChecksumCRC32"] == crc and attrs["ObjectSize"] == len(body) and attrs["StorageClass"] == "STANDARD", attrs
assert attrs["ETag"] == hashlib.md5(body).hexdigest(), attrs
s3.delete_object_tagging(Bucket=bucket, Key="boto/tagged")
assert s3.get_object_tagging(Bucket=bucket, Key="boto/tagged")["TagSet"] == []
s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "owner", "Value": "boto"}]})
assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "owner", "Value": "boto"}]
s3.delete_bucket_tagging(Bucket=bucket)
assert error_code(lambda: s3.get_bucket_tagging(Bucket=bucket)) == "NoSuchTagSet"
# The default transfer manager (CRC32 parts) round-trips with checksum mode.
big = os.urandom(12 * 1024 * 1024)
s3.upload_fileobj(io.BytesIO(big), bucket, "boto/mp-crc")
got = s3.get_object(Bucket=bucket, Key="boto/mp-crc", ChecksumMode="ENABLED")
assert got["Body"].read() == big
s3.delete_object(Bucket=bucket, Key="boto/mp-crc")
s3.delete_object(Bucket=bucket, Key="boto/tagged")
print("boto3 ok", boto3.__version__)
`

// testGlobalBoto3 runs the script through the eu-west-1 edge against a
// us-east-1 bucket (so every call crosses regions).
func testGlobalBoto3(t *testing.T, g *Global) {
	needClient(t, "python3 with boto3", func() error {
		if _, err := exec.LookPath("python3"); err != nil {
			return err
		}
		if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
			return fmt.Errorf("import boto3: %v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	})
	ctx := context.Background()
	const bucket = "boto3-global"
	if err := CreateBucketIn(ctx, g.Client(g.Edges[g.Names[0]], testAccessKey, testSecretKey), bucket, ""); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	script := filepath.Join(t.TempDir(), "boto3_e2e.py")
	if err := os.WriteFile(script, []byte(boto3Script), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runTool(t, cleanEnv(), "python3", script, g.Edges[g.Names[1]].URL, g.Certs.CA, testAccessKey, testSecretKey, bucket)
	if !strings.Contains(out, "boto3 ok") {
		t.Errorf("boto3 script output: %q", out)
	}
}

// testGlobalS3cmd: s3cmd (signature v4, HTTPS, path style) put/get/ls.
func testGlobalS3cmd(t *testing.T, g *Global) {
	needClient(t, "s3cmd", lookPath("s3cmd"))
	ctx := context.Background()
	dir := t.TempDir()
	e := g.Edges[g.Names[0]]
	host := strings.TrimPrefix(e.URL, "https://")
	const bucket = "s3cmd-global"
	if err := CreateBucketIn(ctx, g.Client(e, testAccessKey, testSecretKey), bucket, g.Names[1]); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	cfg := filepath.Join(dir, "s3cfg")
	conf := strings.Join([]string{
		"[default]",
		"access_key = " + testAccessKey,
		"secret_key = " + testSecretKey,
		"host_base = " + host,
		"host_bucket = " + host, // no %(bucket)s: path-style requests
		"bucket_location = us-east-1",
		"use_https = True",
		"check_ssl_certificate = True",
		"check_ssl_hostname = True",
		"ca_certs_file = " + g.Certs.CA,
		"signature_v2 = False",
		"multipart_chunk_size_mb = 5",
		"",
	}, "\n")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("HOME=" + dir)
	s3cmd := func(args ...string) string {
		t.Helper()
		return runTool(t, env, "s3cmd", append([]string{"-c", cfg, "--no-progress"}, args...)...)
	}
	for _, p := range []payload{{Seed: 61, Size: 300 * kib}, {Seed: 62, Size: 12 * mib}} { // the second is multipart
		src := p.File(t, dir)
		key := fmt.Sprintf("s3://%s/s3cmd/%d", bucket, p.Size)
		s3cmd("put", src, key)
		dst := filepath.Join(dir, fmt.Sprintf("down-%d", p.Size))
		s3cmd("get", "--force", key, dst)
		if got, n := fileSHA(t, dst); got != p.SHA() || n != p.Size {
			t.Errorf("s3cmd get %s: %d bytes sha %.12s, want %d bytes %.12s", key, n, got, p.Size, p.SHA())
		}
	}
	ls := s3cmd("ls", "s3://"+bucket+"/s3cmd/")
	for _, want := range []string{"s3cmd/307200", "s3cmd/12582912"} {
		if !strings.Contains(ls, want) {
			t.Errorf("s3cmd ls: %q lacks %s", ls, want)
		}
	}
	if ls := s3cmd("ls"); !strings.Contains(ls, "s3://"+bucket) {
		t.Errorf("s3cmd ls (buckets): %q lacks %s", ls, bucket)
	}
}

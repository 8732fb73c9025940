package e2e

import (
	"context"
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

// sigv2Script drives an edge with botocore's Signature Version 2 (header
// form for every call, query form for presigned URLs) and checks the
// presigned URLs a default-configured boto3 client makes.
const sigv2Script = `
import hashlib, io, os, ssl, sys, urllib.request
import boto3
from botocore.config import Config

endpoint, ca, ak, sk, bucket = sys.argv[1:6]
v2 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", verify=ca,
                  config=Config(signature_version="s3", s3={"addressing_style": "path"}))
data = os.urandom(2 * 1024 * 1024 + 5)
v2.put_object(Bucket=bucket, Key="v2/put", Body=data, ContentType="application/x-test", Metadata={"k": "v"})
got = v2.get_object(Bucket=bucket, Key="v2/put")
assert got["Body"].read() == data and got["Metadata"].get("k") == "v", "v2 get"
assert v2.head_object(Bucket=bucket, Key="v2/put")["ContentLength"] == len(data)
big = os.urandom(11 * 1024 * 1024)
v2.upload_fileobj(io.BytesIO(big), bucket, "v2/multipart",
                  Config=boto3.s3.transfer.TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
buf = io.BytesIO()
v2.download_fileobj(bucket, "v2/multipart", buf)
assert hashlib.sha256(buf.getvalue()).digest() == hashlib.sha256(big).digest(), "v2 multipart"
keys = sorted(o["Key"] for o in v2.list_objects(Bucket=bucket, Prefix="v2/")["Contents"])
assert keys == ["v2/multipart", "v2/put"], keys
v2.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
assert v2.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
v2.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})

# A wrong secret is refused with SignatureDoesNotMatch.
bad = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk + "x",
                   region_name="us-east-1", verify=ca, config=Config(signature_version="s3", s3={"addressing_style": "path"}))
try:
    bad.get_object(Bucket=bucket, Key="v2/put")
    raise SystemExit("wrong secret accepted")
except bad.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "SignatureDoesNotMatch", e.response

ctx = ssl.create_default_context(cafile=ca)
def fetch(url, method="GET", body=None):
    # urllib would send a form Content-Type with a body; the URL signed none.
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": ""} if body else {})
    try:
        with urllib.request.urlopen(req, context=ctx) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

# Presigned GET and PUT in the query form (AWSAccessKeyId, Expires, Signature).
url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2/put",
                                "ResponseContentType": "text/plain"}, ExpiresIn=300)
assert "AWSAccessKeyId=" in url and "Signature=" in url, url
st, body = fetch(url)
assert st == 200 and body == data, (st, body[:200])
st, body = fetch(url.replace("v2/put", "v2/multipart"))
assert st == 403 and b"SignatureDoesNotMatch" in body, (st, body[:300])
put_url = v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "v2/presigned-put"}, ExpiresIn=300)
st, body = fetch(put_url, "PUT", b"hello v2")
assert st == 200, (st, body[:300])
assert v2.get_object(Bucket=bucket, Key="v2/presigned-put")["Body"].read() == b"hello v2"
expired = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2/put"}, ExpiresIn=-10)
st, body = fetch(expired)
assert st == 403 and b"AccessDenied" in body, (st, body[:300])

# What a default-configured client presigns (SigV2 or SigV4) works too.
dflt = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                    region_name="us-east-1", verify=ca)
st, body = fetch(dflt.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2/put"}, ExpiresIn=60))
assert st == 200 and body == data, st
for k in ("v2/put", "v2/multipart", "v2/presigned-put"):
    v2.delete_object(Bucket=bucket, Key=k)
print("sigv2 ok")
`

// testGlobalSigV2: SigV2 through an edge with boto3 (header and query
// forms) and s3cmd (signature_v2 = True, and signurl).
func testGlobalSigV2(t *testing.T, g *Global) {
	needClient(t, "python3 with boto3", func() error {
		_, err := exec.Command("python3", "-c", "import boto3").CombinedOutput()
		return err
	})
	ctx := context.Background()
	e := g.Edges[g.Names[0]]
	const bucket = "sigv2-global"
	if err := CreateBucketIn(ctx, g.Client(e, testAccessKey, testSecretKey), bucket, g.Names[1]); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "sigv2.py")
	if err := os.WriteFile(script, []byte(sigv2Script), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := runTool(t, cleanEnv(), "python3", script, e.URL, g.Certs.CA, testAccessKey, testSecretKey, bucket); !strings.Contains(out, "sigv2 ok") {
		t.Errorf("boto3 SigV2 script output: %q", out)
	}

	needClient(t, "s3cmd", lookPath("s3cmd"))
	host := strings.TrimPrefix(e.URL, "https://")
	cfg := filepath.Join(dir, "s3cfg")
	conf := strings.Join([]string{
		"[default]",
		"access_key = " + testAccessKey,
		"secret_key = " + testSecretKey,
		"host_base = " + host,
		"host_bucket = " + host,
		"bucket_location = us-east-1",
		"use_https = True",
		"ca_certs_file = " + g.Certs.CA,
		"signature_v2 = True",
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
	p := payload{Seed: 71, Size: 7 * mib} // multipart with 5 MiB chunks
	src := p.File(t, dir)
	key := "s3://" + bucket + "/s3cmd-v2/obj"
	s3cmd("put", src, key)
	dst := filepath.Join(dir, "down")
	s3cmd("get", "--force", key, dst)
	if got, n := fileSHA(t, dst); got != p.SHA() || n != p.Size {
		t.Errorf("s3cmd (SigV2) get: %d bytes sha %.12s, want %d %.12s", n, got, p.Size, p.SHA())
	}
	if ls := s3cmd("ls", "s3://"+bucket+"/s3cmd-v2/"); !strings.Contains(ls, "s3cmd-v2/obj") {
		t.Errorf("s3cmd (SigV2) ls: %q", ls)
	}
	// s3cmd signurl makes a SigV2 presigned URL; fetch it.
	u := strings.TrimSpace(s3cmd("signurl", key, fmt.Sprint(time.Now().Add(5*time.Minute).Unix())))
	if !strings.Contains(u, "AWSAccessKeyId=") {
		t.Fatalf("s3cmd signurl: %q", u)
	}
	// s3cmd 2.3 writes the URL as http:// whatever use_https says; the
	// signature does not cover the scheme.
	u = "https://" + strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
	resp, err := g.HTTPClient().Get(u)
	if err != nil {
		t.Fatalf("GET signurl: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || int64(len(body)) != p.Size {
		t.Errorf("GET %s: %d, %d bytes: %.300s", u, resp.StatusCode, len(body), body)
	}
	s3cmd("del", key)
}

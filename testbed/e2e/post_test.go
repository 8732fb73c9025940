package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// postScript posts browser-style forms (multipart/form-data built by hand,
// as a browser sends it) with policies signed by boto3's
// generate_presigned_post, SigV4 and SigV2, through an edge.
const postScript = `
import hashlib, json, os, ssl, sys, uuid, urllib.request, urllib.error
import boto3
from botocore.config import Config

endpoint, ca, ak, sk, bucket = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)

def client(sigver):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                        region_name="us-east-1", verify=ca,
                        config=Config(signature_version=sigver, s3={"addressing_style": "path"}))
s3 = client("s3v4")

def form(fields, filename, data, extra_after=None):
    b = "----meridianform" + uuid.uuid4().hex
    out = b""
    for k, v in fields:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (b, k, v)).encode()
    out += ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n" % (b, filename)).encode()
    out += data + b"\r\n"
    if extra_after:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (b, extra_after[0], extra_after[1])).encode()
    out += ("--%s--\r\n" % b).encode()
    return out, "multipart/form-data; boundary=" + b

def post(url, body, ctype):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, context=ctx) as r:
            return r.status, r.read(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read(), {k.lower(): v for k, v in e.headers.items()}

def code(body):
    s = body.decode(errors="replace")
    return s.split("<Code>")[1].split("</Code>")[0] if "<Code>" in s else s[:200]

# SigV4 policy from boto3, ${filename} in the key, 201 with a PostResponse.
data = os.urandom(3 * 1024 * 1024 + 11)
p = s3.generate_presigned_post(bucket, "uploads/${filename}",
    Fields={"success_action_status": "201", "Content-Type": "image/png", "x-amz-meta-who": "form"},
    Conditions=[{"success_action_status": "201"}, ["starts-with", "$Content-Type", "image/"],
                {"x-amz-meta-who": "form"}, ["content-length-range", 1, 10 * 1024 * 1024]],
    ExpiresIn=300)
url = p["url"]
fields = list(p["fields"].items())
body, ctype = form(fields, "photo.png", data)
st, out, hdrs = post(url, body, ctype)
assert st == 201 and b"<Key>uploads/photo.png</Key>" in out, (st, out[:400])
got = s3.get_object(Bucket=bucket, Key="uploads/photo.png")
assert got["Body"].read() == data and got["ContentType"] == "image/png" and got["Metadata"].get("who") == "form", got
etag = got["ETag"]
assert etag in out.decode().replace("&#34;", "\"").replace("&quot;", "\""), (etag, out)

# Default answer 204; a redirect answers 303 with bucket, key and etag.
p = s3.generate_presigned_post(bucket, "small.txt", ExpiresIn=300)
st, out, hdrs = post(p["url"], *form(list(p["fields"].items()), "s.txt", b"hello form"))
assert st == 204 and hdrs.get("etag"), (st, out, hdrs)
assert s3.get_object(Bucket=bucket, Key="small.txt")["Body"].read() == b"hello form"
p = s3.generate_presigned_post(bucket, "redir.txt", Fields={"success_action_redirect": "https://example.invalid/done"},
    Conditions=[{"success_action_redirect": "https://example.invalid/done"}], ExpiresIn=300)
req = urllib.request.Request(p["url"], data=form(list(p["fields"].items()), "r.txt", b"r")[0], method="POST")
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k): return None
b2, ct2 = form(list(p["fields"].items()), "r.txt", b"r")
req = urllib.request.Request(p["url"], data=b2, method="POST", headers={"Content-Type": ct2})
opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ctx))
try:
    opener.open(req)
    raise SystemExit("redirect not answered")
except urllib.error.HTTPError as e:
    assert e.code == 303 and e.headers["Location"].startswith("https://example.invalid/done?") and "key=redir.txt" in e.headers["Location"], (e.code, dict(e.headers))

# SigV2 form (AWSAccessKeyId, signature, policy).
v2 = client("s3")
p = v2.generate_presigned_post(bucket, "v2form.bin", ExpiresIn=300)
assert "AWSAccessKeyId" in p["fields"] and "signature" in p["fields"], p["fields"]
st, out, _ = post(p["url"], *form(list(p["fields"].items()), "f", b"v2 form"))
assert st == 204, (st, out)
assert s3.get_object(Bucket=bucket, Key="v2form.bin")["Body"].read() == b"v2 form"

# Refusals, each storing nothing.
def refused(fields, data, want, key, **kw):
    st, out, _ = post(url, *form(fields, "x", data, **kw))
    assert code(out) == want, (want, st, out[:400])
    try:
        s3.head_object(Bucket=bucket, Key=key)
        raise SystemExit("refused form stored %s" % key)
    except s3.exceptions.ClientError:
        pass
p = s3.generate_presigned_post(bucket, "limited.bin", Conditions=[["content-length-range", 10, 100]], ExpiresIn=300)
f = list(p["fields"].items())
refused(f, b"x" * 101, "EntityTooLarge", "limited.bin")
refused(f, b"x" * 5, "EntityTooSmall", "limited.bin")
refused([(k, v if k != "key" else "other.bin") for k, v in f], b"x" * 20, "AccessDenied", "other.bin")  # key not the policy's
refused(f + [("x-amz-meta-extra", "1")], b"x" * 20, "AccessDenied", "limited.bin")  # extra field
refused([(k, (v[:-2] + "00") if k == "x-amz-signature" else v) for k, v in f], b"x" * 20, "SignatureDoesNotMatch", "limited.bin")
refused([(k, v) for k, v in f if k not in ("policy", "x-amz-signature")], b"x" * 20, "AccessDenied", "limited.bin")  # unsigned
p2 = s3.generate_presigned_post(bucket, "late-field.bin", ExpiresIn=300)  # a field after the file
refused(list(p2["fields"].items()), b"x" * 20, "MalformedPOSTRequest", "late-field.bin", extra_after=("late", "field"))
expired = s3.generate_presigned_post(bucket, "late.bin", ExpiresIn=-60)
st, out, _ = post(url, *form(list(expired["fields"].items()), "x", b"late"))
assert code(out) == "AccessDenied" and b"expired" in out, out
st, out, _ = post(url, b"key=a&file=b", "application/x-www-form-urlencoded")
assert st == 412, (st, out)
print("post ok")
`

// testGlobalPostObject: browser-form uploads through an edge.
func testGlobalPostObject(t *testing.T, g *Global) {
	needClient(t, "python3 with boto3", func() error {
		_, err := exec.Command("python3", "-c", "import boto3").CombinedOutput()
		return err
	})
	e := g.Edges[g.Names[0]]
	const bucket = "post-global"
	if err := CreateBucketIn(context.Background(), g.Client(e, testAccessKey, testSecretKey), bucket, g.Names[1]); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	script := filepath.Join(t.TempDir(), "post.py")
	if err := os.WriteFile(script, []byte(postScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := runTool(t, cleanEnv(), "python3", script, e.URL, g.Certs.CA, testAccessKey, testSecretKey, bucket); !strings.Contains(out, "post ok") {
		t.Errorf("POST form script output: %q", out)
	}
}

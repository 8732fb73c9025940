package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testGlobalObjectLock drives Object Lock with the aws CLI and boto3
// through the edges, on buckets homed in the far region
// (docs/object-lock.md): a bucket created lock-enabled is versioned and its
// versioning cannot be suspended; a COMPLIANCE version refuses a permanent
// delete (403 AccessDenied, bypass or not) and stays readable; a GOVERNANCE
// version refuses it without the bypass and goes with it (the owner); a
// legal hold refuses it until released; a plain delete adds a marker; the
// bucket's default retention is applied to new versions (PUT and
// multipart); retention can be extended, not shortened in COMPLIANCE;
// DeleteObjects reports the locked versions one by one; a second account
// bypasses GOVERNANCE only once a bucket policy grants
// s3:BypassGovernanceRetention.
func testGlobalObjectLock(t *testing.T, g *Global) {
	env, dir := awsCLIEnv(t, g)
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	aws := func(e *Edge, args ...string) string {
		t.Helper()
		return awsAt(t, env, e, args...)
	}
	awsFails := func(e *Edge, code string, args ...string) {
		t.Helper()
		awsFailsAt(t, env, e, code, args...)
	}
	versionOf := func(out string) string {
		t.Helper()
		var r struct{ VersionId string }
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.VersionId == "" {
			t.Fatalf("no version id in %q (%v)", out, err)
		}
		return r.VersionId
	}
	const bucket = "lock-cli-global"
	aws(near, "s3api", "create-bucket", "--bucket", bucket, "--object-lock-enabled-for-bucket",
		"--create-bucket-configuration", "LocationConstraint="+far.Region)
	if out := aws(far, "s3api", "get-bucket-versioning", "--bucket", bucket); !strings.Contains(out, `"Enabled"`) {
		t.Fatalf("get-bucket-versioning of a lock-enabled bucket: %s", out)
	}

	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	body := writeFile(t, dir, "doc.txt", "write once, read many")
	// COMPLIANCE: no delete, whoever asks, with or without the bypass.
	comp := versionOf(aws(near, "s3api", "put-object", "--bucket", bucket, "--key", "doc.txt", "--body", body,
		"--object-lock-mode", "COMPLIANCE", "--object-lock-retain-until-date", until))
	awsFails(far, "AccessDenied", "s3api", "delete-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", comp)
	got := filepath.Join(dir, "got.txt")
	aws(far, "s3api", "get-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", comp, got)
	if b, _ := os.ReadFile(got); string(b) != "write once, read many" {
		t.Fatalf("the locked version reads %q", b)
	}
	// GOVERNANCE: refused without the bypass, allowed to the owner with it.
	gov := versionOf(aws(near, "s3api", "put-object", "--bucket", bucket, "--key", "doc.txt", "--body", body,
		"--object-lock-mode", "GOVERNANCE", "--object-lock-retain-until-date", until))
	awsFails(near, "AccessDenied", "s3api", "delete-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", gov)
	aws(near, "s3api", "delete-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", gov, "--bypass-governance-retention")
	// Legal hold on, off.
	held := versionOf(aws(far, "s3api", "put-object", "--bucket", bucket, "--key", "held.txt", "--body", body, "--object-lock-legal-hold-status", "ON"))
	awsFails(near, "AccessDenied", "s3api", "delete-object", "--bucket", bucket, "--key", "held.txt", "--version-id", held, "--bypass-governance-retention")
	aws(near, "s3api", "put-object-legal-hold", "--bucket", bucket, "--key", "held.txt", "--version-id", held, "--legal-hold", "Status=OFF")
	aws(near, "s3api", "delete-object", "--bucket", bucket, "--key", "held.txt", "--version-id", held)
	// A plain delete adds a marker over the locked version.
	if out := aws(near, "s3api", "delete-object", "--bucket", bucket, "--key", "doc.txt"); !strings.Contains(out, `"DeleteMarker": true`) {
		t.Fatalf("plain delete: %s", out)
	}

	// boto3, on a bucket it creates itself: the rest (documents, retention
	// changes, DeleteObjects, default retention, versioning suspension).
	needClient(t, "python3 with boto3", func() error { return exec.Command("python3", "-c", "import boto3").Run() })
	script := filepath.Join(dir, "lock.py")
	if err := os.WriteFile(script, []byte(boto3LockScript), 0o644); err != nil {
		t.Fatal(err)
	}
	second := g.CreateKey("lock-second", "", "")
	out := runTool(t, cleanEnv(), "python3", script, near.URL, far.URL, g.Certs.CA, testAccessKey, testSecretKey, "lock-boto3-global", far.Region,
		second.AccessKey, second.SecretKey, second.AccountID)
	if !strings.Contains(out, "boto3 object lock ok") {
		t.Fatalf("boto3 object lock script: %s", out)
	}
}

// boto3LockScript: argv = near endpoint, far endpoint, CA bundle, access
// key, secret, bucket, the far region, a second account's access key,
// secret and account id.
const boto3LockScript = `
import sys, datetime
import boto3
from botocore.config import Config

near, far, ca, ak, sk, bucket, region, ak2, sk2, account2 = sys.argv[1:11]
def client(endpoint, ak=ak, sk=sk):
    return boto3.client("s3", endpoint_url=endpoint, verify=ca, aws_access_key_id=ak, aws_secret_access_key=sk,
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
s3, s3far = client(near), client(far)

def fails(code, fn, **kw):
    try:
        fn(**kw)
    except s3.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == code, (fn.__name__, e.response)
        return e
    raise SystemExit("%s %r succeeded, want %s" % (fn.__name__, kw, code))

s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True, CreateBucketConfiguration={"LocationConstraint": region})
assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
cfg = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
assert cfg == {"ObjectLockEnabled": "Enabled"}, cfg

until = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).replace(microsecond=0)
v = s3far.put_object(Bucket=bucket, Key="k", Body=b"compliance", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)["VersionId"]
r = s3.get_object_retention(Bucket=bucket, Key="k", VersionId=v)["Retention"]
assert r["Mode"] == "COMPLIANCE" and r["RetainUntilDate"] == until, r
fails("AccessDenied", s3.delete_object, Bucket=bucket, Key="k", VersionId=v, BypassGovernanceRetention=True)
# COMPLIANCE: extended, never shortened.
fails("AccessDenied", s3.put_object_retention, Bucket=bucket, Key="k", VersionId=v, BypassGovernanceRetention=True,
      Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until - datetime.timedelta(minutes=1)})
fails("AccessDenied", s3.put_object_retention, Bucket=bucket, Key="k", VersionId=v, BypassGovernanceRetention=True,
      Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until + datetime.timedelta(minutes=1)})
s3.put_object_retention(Bucket=bucket, Key="k", VersionId=v, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until + datetime.timedelta(days=1)})
got = s3.get_object(Bucket=bucket, Key="k", VersionId=v)
assert got["Body"].read() == b"compliance" and got["ObjectLockMode"] == "COMPLIANCE", got
assert got["ObjectLockRetainUntilDate"] == until + datetime.timedelta(days=1), got["ObjectLockRetainUntilDate"]

# A plain delete adds a marker over the locked version, which stays.
dm = s3.delete_object(Bucket=bucket, Key="k")
assert dm["DeleteMarker"] and s3.get_object(Bucket=bucket, Key="k", VersionId=v)["Body"].read() == b"compliance", dm

# GOVERNANCE: shortened or deleted only with the bypass.
g = s3.put_object(Bucket=bucket, Key="g", Body=b"governance", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)["VersionId"]
fails("AccessDenied", s3.put_object_retention, Bucket=bucket, Key="g", VersionId=g, Retention={})
s3.put_object_retention(Bucket=bucket, Key="g", VersionId=g, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until + datetime.timedelta(minutes=5)})
fails("AccessDenied", s3.delete_object, Bucket=bucket, Key="g", VersionId=g)

# DeleteObjects: each locked version is an AccessDenied error, the others go.
free = s3.put_object(Bucket=bucket, Key="free", Body=b"free")["VersionId"]
res = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": v}, {"Key": "g", "VersionId": g}, {"Key": "free", "VersionId": free}]})
errs = sorted((e["Key"], e["Code"]) for e in res.get("Errors", []))
assert errs == [("g", "AccessDenied"), ("k", "AccessDenied")], res
assert [d["Key"] for d in res["Deleted"]] == ["free"], res
s3.delete_object(Bucket=bucket, Key="g", VersionId=g, BypassGovernanceRetention=True)

# Legal hold.
h = s3.put_object(Bucket=bucket, Key="h", Body=b"held")["VersionId"]
fails("NoSuchObjectLockConfiguration", s3.get_object_legal_hold, Bucket=bucket, Key="h", VersionId=h)
s3.put_object_legal_hold(Bucket=bucket, Key="h", VersionId=h, LegalHold={"Status": "ON"})
assert s3.get_object_legal_hold(Bucket=bucket, Key="h", VersionId=h)["LegalHold"] == {"Status": "ON"}
assert s3.head_object(Bucket=bucket, Key="h", VersionId=h)["ObjectLockLegalHoldStatus"] == "ON"
fails("AccessDenied", s3.delete_object, Bucket=bucket, Key="h", VersionId=h, BypassGovernanceRetention=True)
s3.put_object_legal_hold(Bucket=bucket, Key="h", VersionId=h, LegalHold={"Status": "OFF"})
s3.delete_object(Bucket=bucket, Key="h", VersionId=h)

# Default retention: a PUT and a multipart upload get it.
s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled",
    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]
assert rule == {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}, rule
d = s3.put_object(Bucket=bucket, Key="d", Body=b"default")["VersionId"]
hd = s3.head_object(Bucket=bucket, Key="d", VersionId=d)
delta = hd["ObjectLockRetainUntilDate"] - hd["LastModified"]
assert hd["ObjectLockMode"] == "COMPLIANCE" and datetime.timedelta(days=1) <= delta < datetime.timedelta(days=1, seconds=1), hd
up = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
p1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=b"x" * (5 << 20))["ETag"]
p2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
mp = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up,
    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]})["VersionId"]
assert s3far.head_object(Bucket=bucket, Key="mp", VersionId=mp)["ObjectLockMode"] == "COMPLIANCE"
fails("AccessDenied", s3.delete_object, Bucket=bucket, Key="mp", VersionId=mp, BypassGovernanceRetention=True)
fails("InvalidBucketState", s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})

# The bypass needs s3:BypassGovernanceRetention: a second account granted
# DeleteObjectVersion by policy cannot bypass until the policy grants it.
import json
other = client(near, ak2, sk2)
sg = s3.put_object(Bucket=bucket, Key="sg", Body=b"governance", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)["VersionId"]
def grant(*actions):
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::%s:root" % account2}, "Action": list(actions), "Resource": "arn:aws:s3:::%s/*" % bucket}]}))
grant("s3:DeleteObjectVersion")
fails("AccessDenied", other.delete_object, Bucket=bucket, Key="sg", VersionId=sg, BypassGovernanceRetention=True)
grant("s3:DeleteObjectVersion", "s3:BypassGovernanceRetention")
other.delete_object(Bucket=bucket, Key="sg", VersionId=sg, BypassGovernanceRetention=True)
fails("AccessDenied", other.delete_object, Bucket=bucket, Key="mp", VersionId=mp, BypassGovernanceRetention=True)  # COMPLIANCE
s3.delete_bucket_policy(Bucket=bucket)
print("boto3 object lock ok")
`

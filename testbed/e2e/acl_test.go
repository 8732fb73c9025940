package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// testGlobalACL drives ownership controls and ACLs with the aws CLI and
// boto3 through the edges, on a bucket homed in the far region
// (docs/access-control.md): a new bucket is BucketOwnerEnforced and refuses
// a public ACL with AccessControlListNotSupported; ownership controls round
// trip; under ObjectWriter put-bucket-acl --acl public-read, put-object-acl
// and --grant-read id=<second account> are stored and answered in S3's
// shape, and the authorization engine honours them (the second account
// reads what it was granted, anonymous curl reads a public-read object);
// deleting ownership controls answers OwnershipControlsNotFoundError.
func testGlobalACL(t *testing.T, g *Global) {
	const bucket = "acl-global"
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
	// The SDK does the set-up and the checks the CLI is not needed for
	// (each CLI call costs a second of Python start-up).
	ctx := context.Background()
	c := g.Client(near, testAccessKey, testSecretKey)
	put := func(key, body string, acl types.ObjectCannedACL) {
		t.Helper()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String(key), Body: strings.NewReader(body), ACL: acl}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	second := g.CreateKey("acl-second", "", "")
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || lb.Owner == nil || awssdk.ToString(lb.Owner.ID) == "" {
		t.Fatalf("ListBuckets: %v %+v", err, lb)
	}
	owner := awssdk.ToString(lb.Owner.ID)
	if err := CreateBucketIn(ctx, c, bucket, far.Region); err != nil {
		t.Fatal(err)
	}

	var oc struct {
		OwnershipControls struct {
			Rules []struct{ ObjectOwnership string }
		}
	}
	ownership := func() string {
		t.Helper()
		oc.OwnershipControls.Rules = nil
		if err := json.Unmarshal([]byte(aws(near, "s3api", "get-bucket-ownership-controls", "--bucket", bucket)), &oc); err != nil || len(oc.OwnershipControls.Rules) != 1 {
			t.Fatalf("get-bucket-ownership-controls: %v %+v", err, oc)
		}
		return oc.OwnershipControls.Rules[0].ObjectOwnership
	}
	if o := ownership(); o != "BucketOwnerEnforced" {
		t.Fatalf("new bucket's ownership %q, want BucketOwnerEnforced", o)
	}
	awsFails(near, "AccessControlListNotSupported", "s3api", "put-bucket-acl", "--bucket", bucket, "--acl", "public-read")
	put("doc.txt", "shared", "")
	awsFails(far, "AccessControlListNotSupported", "s3api", "put-object-acl", "--bucket", bucket, "--key", "doc.txt", "--acl", "public-read")

	aws(far, "s3api", "put-bucket-ownership-controls", "--bucket", bucket, "--ownership-controls", "Rules=[{ObjectOwnership=ObjectWriter}]")
	if o := ownership(); o != "ObjectWriter" {
		t.Fatalf("ownership after put %q, want ObjectWriter", o)
	}
	aws(near, "s3api", "put-bucket-acl", "--bucket", bucket, "--acl", "public-read")
	aws(far, "s3api", "put-object-acl", "--bucket", bucket, "--key", "doc.txt", "--grant-read", "id="+second.AccountID, "--grant-full-control", "id="+owner)
	put("public.txt", "public", types.ObjectCannedACLPublicRead)
	put("private.txt", "private", "")

	// The ACLs decide (internal/s3authz): the second account reads
	// doc.txt by its READ grant and nothing else of the owner's; anyone
	// (curl, unsigned, through either edge) reads public.txt; the bucket's
	// public-read lists it to anyone.
	sc := g.Client(far, second.AccessKey, second.SecretKey)
	get := func(c *s3.Client, key string) (string, error) {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String(key)}, noRetry)
		if err != nil {
			return "", err
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		return string(b), err
	}
	if body, err := get(sc, "doc.txt"); err != nil || body != "shared" {
		t.Fatalf("second account GET doc.txt (granted READ): %q %v", body, err)
	}
	if _, err := get(sc, "private.txt"); apiCode(err) != "AccessDenied" {
		t.Fatalf("second account GET private.txt: %v, want AccessDenied", err)
	}
	if _, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String("doc.txt"), Body: strings.NewReader("x")}, noRetry); apiCode(err) != "AccessDenied" {
		t.Fatalf("second account PUT doc.txt (READ only; the bucket grants it no WRITE): %v, want AccessDenied", err)
	}
	if _, err := sc.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: awssdk.String(bucket), Key: awssdk.String("doc.txt")}, noRetry); apiCode(err) != "AccessDenied" {
		t.Fatalf("second account GetObjectAcl (no READ_ACP): %v, want AccessDenied", err)
	}
	// READ_ACP lets the second account read private.txt's ACL, not its data.
	aws(near, "s3api", "put-object-acl", "--bucket", bucket, "--key", "private.txt", "--grant-read-acp", "id="+second.AccountID, "--grant-full-control", "id="+owner)
	if out, err := sc.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: awssdk.String(bucket), Key: awssdk.String("private.txt")}, noRetry); err != nil || len(out.Grants) != 2 {
		t.Fatalf("second account GetObjectAcl with READ_ACP: %v %+v", err, out)
	}
	if _, err := get(sc, "private.txt"); apiCode(err) != "AccessDenied" {
		t.Fatalf("second account GET private.txt with READ_ACP only: %v, want AccessDenied", err)
	}
	anon := func(e *Edge, path string) (int, string) {
		t.Helper()
		resp, err := g.HTTPClient().Get(e.URL + path)
		if err != nil {
			t.Fatalf("anonymous GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, e := range []*Edge{near, far} {
		if code, body := anon(e, "/"+bucket+"/public.txt"); code != http.StatusOK || body != "public" {
			t.Fatalf("anonymous GET public.txt through %s: %d %q", e.Region, code, body)
		}
		if code, body := anon(e, "/"+bucket+"/private.txt"); code != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
			t.Fatalf("anonymous GET private.txt through %s: %d %q", e.Region, code, body)
		}
	}
	if code, body := anon(near, "/"+bucket+"?list-type=2"); code != http.StatusOK || !strings.Contains(body, "<Key>public.txt</Key>") {
		t.Fatalf("anonymous ListObjectsV2 of a public-read bucket: %d %q", code, body)
	}

	// boto3: the documents' shape as SDK users read it.
	needClient(t, "python3 with boto3", func() error { return exec.Command("python3", "-c", "import boto3").Run() })
	script := filepath.Join(dir, "acl.py")
	if err := os.WriteFile(script, []byte(boto3ACLScript), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runTool(t, cleanEnv(), "python3", script, near.URL, g.Certs.CA, testAccessKey, testSecretKey, bucket, owner, second.AccountID)
	if !strings.Contains(out, "boto3 acl ok") {
		t.Fatalf("boto3 acl script: %s", out)
	}

	// CreateBucket through the edge (which creates it in the catalog) with
	// ownership and ACL headers.
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String(bucket + "-2"), ACL: types.BucketCannedACLPublicRead}, noRetry); apiCode(err) != "InvalidBucketAclWithObjectOwnership" {
		t.Fatalf("CreateBucket public-read under the default ownership: %v", err)
	}
	aws(near, "s3api", "create-bucket", "--bucket", bucket+"-2", "--object-ownership", "ObjectWriter",
		"--grant-read", "id="+second.AccountID, "--grant-full-control", "id="+owner)
	ba, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: awssdk.String(bucket + "-2")})
	if err != nil || len(ba.Grants) != 2 || awssdk.ToString(ba.Grants[0].Grantee.ID) != second.AccountID || ba.Grants[0].Permission != types.PermissionRead ||
		ba.Grants[1].Permission != types.PermissionFullControl || ba.Grants[0].Grantee.Type != types.TypeCanonicalUser {
		t.Fatalf("GetBucketAcl of a bucket created with grants: %v %+v", err, ba)
	}
	if _, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: awssdk.String(bucket + "-2")}, noRetry); err != nil {
		t.Fatalf("second account lists a bucket created granting it READ: %v", err)
	}

	aws(near, "s3api", "delete-bucket-ownership-controls", "--bucket", bucket)
	awsFails(far, "OwnershipControlsNotFoundError", "s3api", "get-bucket-ownership-controls", "--bucket", bucket)
	// Back to enforced: refused while the bucket ACL is public, accepted
	// once it is private.
	enforce := &s3.PutBucketOwnershipControlsInput{Bucket: awssdk.String(bucket), OwnershipControls: &types.OwnershipControls{
		Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}}
	if _, err := c.PutBucketOwnershipControls(ctx, enforce, noRetry); apiCode(err) != "InvalidBucketAclWithObjectOwnership" {
		t.Fatalf("enforcing while the bucket ACL is public: %v", err)
	}
	if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: awssdk.String(bucket), ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketOwnershipControls(ctx, enforce); err != nil {
		t.Fatal(err)
	}
	if oa, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: awssdk.String(bucket), Key: awssdk.String("public.txt")}); err != nil || len(oa.Grants) != 1 ||
		awssdk.ToString(oa.Grants[0].Grantee.ID) != owner {
		t.Errorf("under BucketOwnerEnforced GetObjectAcl answers the stored grants: %v %+v", err, oa)
	}
}

// boto3ACLScript: argv = endpoint, CA bundle, access key, secret, bucket,
// owner account id, second account id.
const boto3ACLScript = `
import sys
import boto3
from botocore.config import Config

endpoint, ca, ak, sk, bucket, owner, second = sys.argv[1:8]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
ALL = "http://acs.amazonaws.com/groups/global/AllUsers"

acl = s3.get_bucket_acl(Bucket=bucket)
assert acl["Owner"]["ID"] == owner and acl["Owner"].get("DisplayName"), acl["Owner"]
got = [(g["Grantee"]["Type"], g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"]) for g in acl["Grants"]]
assert got == [("CanonicalUser", owner, "FULL_CONTROL"), ("Group", ALL, "READ")], got

acl = s3.get_object_acl(Bucket=bucket, Key="doc.txt")
got = sorted((g["Grantee"]["Type"], g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"])
assert got == sorted([("CanonicalUser", second, "READ"), ("CanonicalUser", owner, "FULL_CONTROL")]), got
assert all(g["Grantee"].get("DisplayName") for g in acl["Grants"]), acl["Grants"]

# An AccessControlPolicy document, as boto3 writes it.
s3.put_object_acl(Bucket=bucket, Key="doc.txt", AccessControlPolicy={
    "Owner": {"ID": owner},
    "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner}, "Permission": "FULL_CONTROL"},
               {"Grantee": {"Type": "Group", "URI": ALL}, "Permission": "READ"}]})
got = [(g["Grantee"]["Type"], g["Permission"]) for g in s3.get_object_acl(Bucket=bucket, Key="doc.txt")["Grants"]]
assert got == [("CanonicalUser", "FULL_CONTROL"), ("Group", "READ")], got

for kw, code in (({"GrantRead": 'emailAddress="nobody@example.com"'}, "UnresolvableGrantByEmailAddress"),
                 ({"GrantRead": 'id="no-such-account"'}, "InvalidArgument"),
                 ({"ACL": "public-read", "GrantRead": 'id="%s"' % second}, "InvalidRequest")):
    try:
        s3.put_object_acl(Bucket=bucket, Key="doc.txt", **kw)
        raise SystemExit("put_object_acl %r accepted" % kw)
    except s3.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response

oc = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
assert oc == {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}, oc
print("boto3 acl ok")
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

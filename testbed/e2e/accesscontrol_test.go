package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// testGlobalAccessControl: bucket policies through real clients and real
// processes (issue 11 items 1, 2, 7) — anonymous curl through an edge, the
// aws CLI's put-bucket-policy and get-bucket-policy-status, a second
// account granted by policy (aws-sdk-go-v2), deny-delete binding the
// owner, deny-unless-TLS (the edge is TLS, the regional listener plain
// HTTP) and an IP allow-list evaluated at the region from the address the
// edge saw. It also measures how long a policy change takes to apply at
// the other region's edge (FIGURE line).
func testGlobalAccessControl(t *testing.T, g *Global) {
	needClient(t, "the aws CLI", lookPath("aws"))
	needClient(t, "curl", lookPath("curl"))
	ctx := context.Background()
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	owner := g.Client(near, testAccessKey, testSecretKey)
	partnerKey := g.CreateKey("policy-partner", "", "")
	partner := g.Client(far, partnerKey.AccessKey, partnerKey.SecretKey)
	const bucket = "ac-policy"
	if err := CreateBucketIn(ctx, owner, bucket, ""); err != nil { // the near edge's region
		t.Fatal(err)
	}
	put := func(c *s3.Client, key, body string) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
		return err
	}
	get := func(c *s3.Client, key string) (string, error) {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return "", err
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		return string(b), err
	}
	for k, v := range map[string]string{"public/hello.txt": "hello, world", "private/secret.txt": "secret"} {
		if err := put(owner, k, v); err != nil {
			t.Fatal(err)
		}
	}

	// Anonymous curl through both edges: 403 before any policy.
	curl := func(method, url string) (int, string) {
		t.Helper()
		args := []string{"-s", "--cacert", g.Certs.CA, "-X", method, "-o", "-", "-w", "\n%{http_code}", url}
		if method == "HEAD" {
			args[3] = "--head"
			args = append(args[:4], args[5:]...)
		}
		out, err := exec.Command("curl", args...).Output()
		if err != nil {
			t.Fatalf("curl %s: %v", url, err)
		}
		s := string(out)
		i := strings.LastIndex(s, "\n")
		var code int
		fmt.Sscan(s[i+1:], &code)
		return code, s[:i]
	}
	for _, e := range []*Edge{near, far} {
		if code, body := curl("GET", e.URL+"/"+bucket+"/public/hello.txt"); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
			t.Fatalf("anonymous GET at %s before the policy: %d %s", e.Region, code, body)
		}
	}
	if _, err := get(partner, "public/hello.txt"); apiCode(err) != "AccessDenied" {
		t.Fatalf("partner GET before the policy: %v", err)
	}

	// The aws CLI puts the policy through the near edge.
	dir := t.TempDir()
	env := cleanEnv("AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CA_BUNDLE="+g.Certs.CA,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"), "AWS_PAGER=")
	cli := func(e *Edge, args ...string) string {
		t.Helper()
		return runTool(t, env, "aws", append([]string{"--endpoint-url", e.URL}, args...)...)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
 {"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%[1]s/public/*"},
 {"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%[2]s:root"},"Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"]},
 {"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::%[1]s/*"}]}`, bucket, partnerKey.AccountID)
	pf := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pf, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	cli(near, "s3api", "put-bucket-policy", "--bucket", bucket, "--policy", "file://"+pf)
	applied := time.Now()
	// How long until the other region's edge serves the change: poll the
	// far edge anonymously (the decision is the home region's, which
	// reads the catalog for every request).
	var waited time.Duration
	attempts := 0
	for {
		attempts++
		code, body := curl("GET", far.URL+"/"+bucket+"/public/hello.txt")
		if code == 200 {
			waited = time.Since(applied)
			if body != "hello, world" {
				t.Fatalf("anonymous GET body %q", body)
			}
			break
		}
		if time.Since(applied) > 60*time.Second {
			t.Fatalf("policy not in effect at the far edge after 60s: %d %s", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("FIGURE policy propagation to the other region's edge: first anonymous GET after PutBucketPolicy succeeded %v after the acknowledgement (attempt %d; each attempt is a curl process)", waited.Round(time.Millisecond), attempts)

	var st struct{ PolicyStatus struct{ IsPublic bool } }
	if out := cli(far, "s3api", "get-bucket-policy-status", "--bucket", bucket); json.Unmarshal([]byte(out), &st) != nil || !st.PolicyStatus.IsPublic {
		t.Fatalf("get-bucket-policy-status: %s", out)
	}
	var gp struct{ Policy string }
	if out := cli(far, "s3api", "get-bucket-policy", "--bucket", bucket); json.Unmarshal([]byte(out), &gp) != nil || gp.Policy != policy {
		t.Fatalf("get-bucket-policy: %s", out)
	}
	if code, body := curl("GET", near.URL+"/"+bucket+"/public/hello.txt"); code != 200 || body != "hello, world" {
		t.Fatalf("anonymous GET public at the near edge: %d %s", code, body)
	}
	if code, body := curl("GET", near.URL+"/"+bucket+"/private/secret.txt"); code != 403 {
		t.Fatalf("anonymous GET private: %d %s", code, body)
	}
	if code, body := curl("GET", near.URL+"/"+bucket+"/public/nope.txt"); code != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("anonymous GET of a missing key (no s3:ListBucket): %d %s", code, body)
	}
	if code, body := curl("PUT", near.URL+"/"+bucket+"/public/new.txt"); code != 403 {
		t.Fatalf("anonymous PUT: %d %s", code, body)
	}
	if code, body := curl("HEAD", near.URL+"/"+bucket); code != 403 {
		t.Fatalf("anonymous HeadBucket (edge-answered): %d %s", code, body)
	}

	// Block Public Access, bucket level (aws CLI) and account level
	// (meridian admin): RestrictPublicBuckets takes the public read back.
	cli(near, "s3api", "put-public-access-block", "--bucket", bucket, "--public-access-block-configuration",
		"BlockPublicAcls=false,IgnorePublicAcls=false,BlockPublicPolicy=true,RestrictPublicBuckets=true")
	if out := cli(far, "s3api", "get-public-access-block", "--bucket", bucket); !strings.Contains(out, `"RestrictPublicBuckets": true`) {
		t.Fatalf("get-public-access-block: %s", out)
	}
	if code, body := curl("GET", far.URL+"/"+bucket+"/public/hello.txt"); code != 403 {
		t.Fatalf("anonymous GET under RestrictPublicBuckets: %d %s", code, body)
	}
	if _, err := owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); apiCode(err) != "AccessDenied" {
		t.Fatalf("public policy under BlockPublicPolicy: %v", err)
	}
	cli(near, "s3api", "delete-public-access-block", "--bucket", bucket)
	if code, _ := curl("GET", far.URL+"/"+bucket+"/public/hello.txt"); code != 200 {
		t.Fatalf("anonymous GET after delete-public-access-block: %d", code)
	}
	lb, err := owner.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || lb.Owner == nil || lb.Owner.ID == nil {
		t.Fatalf("ListBuckets owner: %v", err)
	}
	admin := func(args ...string) {
		t.Helper()
		all := append([]string{"admin", args[0], "--sql", g.DSN, "--catalog-key", g.CatalogKey, "--account", *lb.Owner.ID}, args[1:]...)
		if out, err := exec.Command(meridianBin, all...).CombinedOutput(); err != nil {
			t.Fatalf("meridian %v: %v\n%s", all, err, out)
		}
	}
	admin("put-public-access-block", "--restrict-public-buckets")
	if code, _ := curl("GET", near.URL+"/"+bucket+"/public/hello.txt"); code != 403 {
		t.Fatalf("anonymous GET under the account's RestrictPublicBuckets: %d", code)
	}
	admin("delete-public-access-block")
	if code, _ := curl("GET", near.URL+"/"+bucket+"/public/hello.txt"); code != 200 {
		t.Fatalf("anonymous GET after the account's block is deleted: %d", code)
	}

	// The partner account (through the far edge): read, write, list; 404
	// for a missing key (it may list); delete denied, the owner's too.
	if got, err := get(partner, "private/secret.txt"); err != nil || got != "secret" {
		t.Fatalf("partner GET: %q %v", got, err)
	}
	if err := put(partner, "from-partner.txt", "hi"); err != nil {
		t.Fatalf("partner PUT: %v", err)
	}
	if _, err := get(partner, "missing.txt"); apiCode(err) != "NoSuchKey" {
		t.Fatalf("partner GET missing: %v", err)
	}
	if _, err := partner.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("partner HeadBucket (s3:ListBucket): %v", err)
	}
	if _, err := partner.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("from-partner.txt")}); apiCode(err) != "AccessDenied" {
		t.Fatalf("partner DELETE: %v", err)
	}
	if _, err := owner.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("from-partner.txt")}); apiCode(err) != "AccessDenied" {
		t.Fatalf("owner DELETE under the deny: %v", err)
	}
	if _, err := partner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); apiCode(err) != "AccessDenied" {
		t.Fatalf("partner PutBucketPolicy: %v", err)
	}
	// A malformed policy: MalformedPolicy with S3's message, via the CLI's SDK.
	if _, err := owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket),
		Policy: aws.String(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `"}]}`)}); apiCode(err) != "MalformedPolicy" ||
		!strings.Contains(err.Error(), "Action does not apply to any resource(s) in statement") {
		t.Fatalf("malformed policy: %v", err)
	}

	// Deny unless TLS: the edge is TLS, the regional listener plain HTTP.
	tlsOnly := fmt.Sprintf(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, bucket)
	if _, err := owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(tlsOnly)}); err != nil {
		t.Fatal(err)
	}
	if _, err := get(owner, "private/secret.txt"); err != nil {
		t.Fatalf("GET over TLS under deny-unless-TLS: %v", err)
	}
	direct := g.Regions[g.Names[0]].Client()
	if _, err := direct.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("private/secret.txt")}); apiCode(err) != "AccessDenied" {
		t.Fatalf("GET over plain HTTP under deny-unless-TLS: %v", err)
	}

	// IP allow-list: the region evaluates the address the edge saw (127.0.0.1).
	ipPolicy := func(cidr string) string {
		return fmt.Sprintf(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s/*"],"Condition":{"NotIpAddress":{"aws:SourceIp":["%[2]s"]}}}]}`, bucket, cidr)
	}
	if _, err := owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(ipPolicy("192.0.2.0/24"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := get(owner, "private/secret.txt"); apiCode(err) != "AccessDenied" {
		t.Fatalf("GET from outside the allow-list: %v", err)
	}
	if _, err := owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(ipPolicy("127.0.0.0/8"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := get(owner, "private/secret.txt"); err != nil {
		t.Fatalf("GET from inside the allow-list: %v", err)
	}

	// DeleteBucketPolicy: owner-only again, at once.
	if _, err := owner.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := get(partner, "private/secret.txt"); apiCode(err) != "AccessDenied" {
		t.Fatalf("partner GET after DeleteBucketPolicy: %v", err)
	}
	if _, err := owner.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(bucket)}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicyStatus without a policy: %v", err)
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// testAWSCLI drives the region with the aws CLI (v1, botocore).
func testAWSCLI(t *testing.T, r *Region) {
	run := awsCLI(t, r)
	dir := t.TempDir()

	const bucket = "cli-bucket"
	p := payload{Seed: 4242, Size: 50 * mib}
	src := p.File(t, dir)
	want := p.SHA()

	run("s3", "mb", "s3://"+bucket)
	run("s3", "cp", src, "s3://"+bucket+"/data/file.bin") // 50 MiB > 8 MiB threshold: multipart
	dst := filepath.Join(dir, "down.bin")
	run("s3", "cp", "s3://"+bucket+"/data/file.bin", dst)
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := hashReader(f)
	f.Close()
	if err != nil || got != want || n != p.Size {
		t.Fatalf("downloaded %d bytes sha %.12s (err %v), want %d bytes %.12s", n, got, err, p.Size, want)
	}

	if ls := run("s3", "ls", "s3://"+bucket+"/data/"); !strings.Contains(ls, "52428800 file.bin") {
		t.Errorf("s3 ls: %q, want a line with 52428800 file.bin", ls)
	}
	if ls := run("s3", "ls"); !strings.Contains(ls, bucket) {
		t.Errorf("s3 ls (buckets): %q lacks %s", ls, bucket)
	}

	var head struct {
		ContentLength int64
		ETag          string
	}
	if err := json.Unmarshal([]byte(run("s3api", "head-object", "--bucket", bucket, "--key", "data/file.bin")), &head); err != nil {
		t.Fatalf("head-object output: %v", err)
	}
	if head.ContentLength != p.Size || !strings.Contains(head.ETag, "-") {
		t.Errorf("head-object: %+v, want ContentLength %d and a multipart ETag", head, p.Size)
	}

	var list struct {
		Contents []struct {
			Key  string
			Size int64
			ETag string
		}
		KeyCount int
	}
	if err := json.Unmarshal([]byte(run("s3api", "list-objects-v2", "--bucket", bucket)), &list); err != nil {
		t.Fatalf("list-objects-v2 output: %v", err)
	}
	if len(list.Contents) != 1 || list.Contents[0].Key != "data/file.bin" || list.Contents[0].Size != p.Size ||
		list.Contents[0].ETag != head.ETag {
		t.Errorf("list-objects-v2: %+v", list)
	}

	run("s3", "rm", "s3://"+bucket+"/data/file.bin")
	if ls := run("s3api", "list-objects-v2", "--bucket", bucket); strings.Contains(ls, "file.bin") {
		t.Errorf("after s3 rm, list-objects-v2 still shows the key: %s", ls)
	}
	run("s3", "rb", "s3://"+bucket)
	_, err = r.Client().HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if httpStatus(err) != 404 {
		t.Errorf("HeadBucket after s3 rb: %v, want 404", err)
	}
}

// awsCLI returns a runner of the aws CLI (v1, botocore) against the region,
// isolated from the user's configuration; a failed command fails the test.
func awsCLI(t *testing.T, r *Region) func(args ...string) string {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("MERIDIAN_ALLOW_NO_AWSCLI") == "1" {
			t.Skip("aws CLI not on PATH and MERIDIAN_ALLOW_NO_AWSCLI=1")
		}
		t.Fatal("the aws CLI is not on PATH: install it (pip install awscli) or set MERIDIAN_ALLOW_NO_AWSCLI=1 to skip this test")
	}
	dir := t.TempDir()
	// No user config, profile or AWS_* variable can change the run.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+testAccessKey,
		"AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_DEFAULT_REGION="+testRegion,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_PAGER=")
	return func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsPath, append([]string{"--endpoint-url", r.Endpoint}, args...)...)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr.String())
		}
		t.Logf("aws %s (%v)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		return string(out)
	}
}

package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// testCopy drives CopyObject and UploadPartCopy (docs/copy.md) through the
// edges with real clients: aws-sdk-go-v2, the aws CLI (s3 cp/mv between
// buckets, multipart copies above 8 MiB), boto3's transfer-manager copy of
// a multipart object, s3cmd cp/mv (SigV4 and SigV2), rclone (server-side copyto and a modtime update,
// which is a REPLACE self-copy), copies across regions, and copies
// racing overwrites of their source.
func testCopy(t *testing.T, g *Global) {
	ctx := context.Background()
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	c := g.Client(near, testAccessKey, testSecretKey)
	for _, b := range []string{"copy-a", "copy-b"} {
		if err := CreateBucketIn(ctx, c, b, ""); err != nil { // the edge's home, us-east-1
			t.Fatalf("CreateBucket %s: %v", b, err)
		}
	}
	if err := CreateBucketIn(ctx, c, "copy-far", far.Region); err != nil {
		t.Fatalf("CreateBucket copy-far: %v", err)
	}
	src := payload{Seed: 7070, Size: 10*mib + 321}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("copy-a"), Key: aws.String("dir/src file"),
		Body: bytes.NewReader(src.Bytes()), ContentType: aws.String("application/x-test"), Metadata: map[string]string{"color": "blue"}}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	sum := md5.Sum(src.Bytes())
	srcMD5 := hex.EncodeToString(sum[:])

	t.Run("SDK", func(t *testing.T) {
		// A key with a space and a slash: the SDK URL-encodes x-amz-copy-source.
		out, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("copied"),
			CopySource: aws.String("copy-a/dir/src file")})
		if err != nil {
			t.Fatalf("CopyObject: %v", err)
		}
		if out.CopyObjectResult == nil || aws.ToString(out.CopyObjectResult.ETag) != `"`+srcMD5+`"` || out.CopyObjectResult.LastModified == nil {
			t.Errorf("CopyObjectResult %+v, want ETag %q", out.CopyObjectResult, srcMD5)
		}
		if err := checkObject(ctx, c, "copy-b", "copied", src.SHA(), src.Size); err != nil {
			t.Fatal(err)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("copied")})
		if err != nil || aws.ToString(head.ContentType) != "application/x-test" || head.Metadata["color"] != "blue" {
			t.Errorf("metadata of the copy: %v %+v", err, head)
		}
		// Conditions: 412 when the source's ETag does not match.
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("never"),
			CopySource: aws.String("copy-a/dir/src file"), CopySourceIfMatch: aws.String(`"0123"`)}, noRetry)
		if apiCode(err) != "PreconditionFailed" || httpStatus(err) != 412 {
			t.Errorf("CopySourceIfMatch mismatch: %v", err)
		}
		// Copy onto itself without REPLACE is refused; with REPLACE it updates metadata.
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("copied"), CopySource: aws.String("copy-b/copied")}, noRetry)
		if apiCode(err) != "InvalidRequest" {
			t.Errorf("self-copy: %v, want InvalidRequest", err)
		}
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("copied"), CopySource: aws.String("copy-b/copied"),
			MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"mtime": "1700000000"}}); err != nil {
			t.Fatalf("REPLACE self-copy: %v", err)
		}
		head, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("copied")})
		if err != nil || head.Metadata["mtime"] != "1700000000" || head.Metadata["color"] != "" {
			t.Errorf("after REPLACE: %v %+v", err, head.Metadata)
		}
		// A missing source answers NoSuchKey.
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("never"), CopySource: aws.String("copy-a/nope")}, noRetry)
		if apiCode(err) != "NoSuchKey" {
			t.Errorf("missing source: %v", err)
		}

		// UploadPartCopy: two ranges of the source and the whole source, completed.
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("copy-b"), Key: aws.String("assembled")})
		if err != nil {
			t.Fatal(err)
		}
		split := int64(5 * mib)
		var parts []types.CompletedPart
		for i, rng := range []string{fmt.Sprintf("bytes=0-%d", split-1), fmt.Sprintf("bytes=%d-%d", split, src.Size-1), ""} {
			in := &s3.UploadPartCopyInput{Bucket: aws.String("copy-b"), Key: aws.String("assembled"), UploadId: up.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), CopySource: aws.String("/copy-a/dir/src%20file")} // encoded, as the reference asks
			if rng != "" {
				in.CopySourceRange = aws.String(rng)
			}
			out, err := c.UploadPartCopy(ctx, in)
			if err != nil {
				t.Fatalf("UploadPartCopy %d: %v", i+1, err)
			}
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag})
		}
		_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("copy-b"), Key: aws.String("assembled"), UploadId: up.UploadId,
			PartNumber: aws.Int32(9), CopySource: aws.String("copy-a/dir/src file"), CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", src.Size))}, noRetry)
		if apiCode(err) != "InvalidRange" {
			t.Errorf("range past the end: %v", err)
		}
		if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("copy-b"), Key: aws.String("assembled"),
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		want := append(src.Bytes(), src.Bytes()...)
		if err := checkObject(ctx, c, "copy-b", "assembled", sha256Hex(want), int64(len(want))); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("CrossRegion", func(t *testing.T) {
		// The source bucket is homed in us-east-1, the destination in
		// eu-west-1 (and back): the edge reads the source in its home
		// region and streams it to the destination's, through either edge.
		cfar := g.Client(far, testAccessKey, testSecretKey)
		for _, tc := range []struct {
			name   string
			client *s3.Client
			dst    string
		}{{"near edge", c, "x-near"}, {"far edge", cfar, "x-far"}} {
			out, err := tc.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-far"), Key: aws.String(tc.dst),
				CopySource: aws.String("copy-a/dir/src%20file")})
			if err != nil {
				t.Fatalf("%s: CopyObject across regions: %v", tc.name, err)
			}
			if aws.ToString(out.CopyObjectResult.ETag) != `"`+srcMD5+`"` {
				t.Errorf("%s: ETag %s", tc.name, aws.ToString(out.CopyObjectResult.ETag))
			}
			if err := checkObject(ctx, cfar, "copy-far", tc.dst, src.SHA(), src.Size); err != nil {
				t.Fatal(err)
			}
			head, err := cfar.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("copy-far"), Key: aws.String(tc.dst)})
			if err != nil || aws.ToString(head.ContentType) != "application/x-test" || head.Metadata["color"] != "blue" {
				t.Errorf("%s: metadata across regions: %v %+v", tc.name, err, head)
			}
		}
		// And back, far → near, with REPLACE.
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("from-far"), CopySource: aws.String("copy-far/x-near"),
			MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"k": "v"}}); err != nil {
			t.Fatalf("copy back: %v", err)
		}
		if err := checkObject(ctx, c, "copy-b", "from-far", src.SHA(), src.Size); err != nil {
			t.Fatal(err)
		}
		// Errors keep their S3 codes across regions.
		for _, tc := range []struct {
			name string
			in   *s3.CopyObjectInput
			code string
		}{
			{"missing source key", &s3.CopyObjectInput{CopySource: aws.String("copy-a/nope")}, "NoSuchKey"},
			{"source condition", &s3.CopyObjectInput{CopySource: aws.String("copy-a/dir/src%20file"), CopySourceIfMatch: aws.String(`"0123"`)}, "PreconditionFailed"},
			{"version on an unversioned source", &s3.CopyObjectInput{CopySource: aws.String("copy-a/dir/src%20file?versionId=0123456789abcdef")}, "InvalidArgument"},
		} {
			tc.in.Bucket, tc.in.Key = aws.String("copy-far"), aws.String("never")
			if _, err := c.CopyObject(ctx, tc.in, noRetry); apiCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		if _, err := cfar.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("copy-far"), Key: aws.String("never")}); httpStatus(err) != 404 {
			t.Errorf("a refused cross-region copy stored an object: %v", err)
		}
		// UploadPartCopy across regions: two ranges, completed.
		up, err := cfar.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("copy-far"), Key: aws.String("parts")})
		if err != nil {
			t.Fatal(err)
		}
		split := int64(5 * mib)
		var parts []types.CompletedPart
		for i, rng := range []string{fmt.Sprintf("bytes=0-%d", split-1), fmt.Sprintf("bytes=%d-%d", split, src.Size-1)} {
			out, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("copy-far"), Key: aws.String("parts"), UploadId: up.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), CopySource: aws.String("copy-a/dir/src%20file"), CopySourceRange: aws.String(rng)})
			if err != nil {
				t.Fatalf("UploadPartCopy across regions %d: %v", i+1, err)
			}
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag})
		}
		for _, rng := range []string{fmt.Sprintf("bytes=0-%d", src.Size), "bytes=5-1"} {
			_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("copy-far"), Key: aws.String("parts"), UploadId: up.UploadId,
				PartNumber: aws.Int32(3), CopySource: aws.String("copy-a/dir/src%20file"), CopySourceRange: aws.String(rng)}, noRetry)
			if want := map[bool]string{true: "InvalidRange", false: "InvalidArgument"}[strings.HasPrefix(rng, "bytes=0-")]; apiCode(err) != want {
				t.Errorf("range %s across regions: %v, want %s", rng, err, want)
			}
		}
		if _, err := cfar.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("copy-far"), Key: aws.String("parts"),
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if err := checkObject(ctx, cfar, "copy-far", "parts", src.SHA(), src.Size); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("AWSCLI", func(t *testing.T) {
		needClient(t, "the aws CLI", lookPath("aws"))
		dir := t.TempDir()
		env := cleanEnv("AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecretKey, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CA_BUNDLE="+g.Certs.CA, "AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
			"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"), "AWS_PAGER=")
		awscli := func(args ...string) string {
			t.Helper()
			return runTool(t, env, "aws", append([]string{"--endpoint-url", far.URL}, args...)...)
		}
		// 10 MiB > the CLI's 8 MiB threshold: a multipart copy (UploadPartCopy).
		awscli("s3", "cp", "s3://copy-a/dir/src file", "s3://copy-b/cli/copy")
		awscli("s3", "cp", "s3://copy-b/copied", "s3://copy-a/cli/small-hop") // back across buckets
		awscli("s3", "mv", "s3://copy-b/cli/copy", "s3://copy-b/cli/moved")
		awscli("s3", "cp", "s3://copy-a/dir/src file", "s3://copy-far/cli/across") // across regions, multipart copy
		if err := checkObject(ctx, g.Client(far, testAccessKey, testSecretKey), "copy-far", "cli/across", src.SHA(), src.Size); err != nil {
			t.Fatal(err)
		}
		if err := checkObject(ctx, c, "copy-b", "cli/moved", src.SHA(), src.Size); err != nil {
			t.Fatal(err)
		}
		if err := checkObject(ctx, c, "copy-a", "cli/small-hop", src.SHA(), src.Size); err != nil {
			t.Fatal(err)
		}
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("cli/copy")}); httpStatus(err) != 404 {
			t.Errorf("s3 mv left its source: %v", err)
		}
		awscli("s3api", "copy-object", "--bucket", "copy-b", "--key", "cli/api", "--copy-source", "copy-a/dir/src file",
			"--metadata-directive", "REPLACE", "--content-type", "text/plain")
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("copy-b"), Key: aws.String("cli/api")})
		if err != nil || aws.ToString(head.ContentType) != "text/plain" || len(head.Metadata) != 0 {
			t.Errorf("copy-object REPLACE: %v %+v", err, head)
		}
	})

	t.Run("Boto3", func(t *testing.T) {
		needClient(t, "python3 with boto3", func() error {
			if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
				return fmt.Errorf("import boto3: %v: %s", err, strings.TrimSpace(string(out)))
			}
			return nil
		})
		script := filepath.Join(t.TempDir(), "boto3_copy.py")
		if err := os.WriteFile(script, []byte(boto3CopyScript), 0o644); err != nil {
			t.Fatal(err)
		}
		out := runTool(t, cleanEnv(), "python3", script, near.URL, g.Certs.CA, testAccessKey, testSecretKey, "copy-a", "copy-b")
		if !strings.Contains(out, "boto3 copy ok") {
			t.Errorf("boto3 script output: %q", out)
		}
	})

	t.Run("Rclone", func(t *testing.T) {
		needClient(t, "rclone", lookPath("rclone"))
		env := cleanEnv("RCLONE_CONFIG=/dev/null", "RCLONE_CONFIG_MER_TYPE=s3", "RCLONE_CONFIG_MER_PROVIDER=Other",
			"RCLONE_CONFIG_MER_ENDPOINT="+near.URL, "RCLONE_CONFIG_MER_ACCESS_KEY_ID="+testAccessKey,
			"RCLONE_CONFIG_MER_SECRET_ACCESS_KEY="+testSecretKey, "RCLONE_CONFIG_MER_REGION=us-east-1",
			"RCLONE_CONFIG_MER_FORCE_PATH_STYLE=true")
		rclone := func(args ...string) string {
			t.Helper()
			return runTool(t, env, "rclone", append([]string{"--ca-cert", g.Certs.CA, "--low-level-retries", "1", "--retries", "1"}, args...)...)
		}
		// Server-side copy between buckets (rclone logs "Copied (server-side copy)").
		cmd := exec.Command("rclone", "--ca-cert", g.Certs.CA, "--low-level-retries", "1", "--retries", "1", "-v",
			"copyto", "mer:copy-a/dir/src file", "mer:copy-b/rclone/copy")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "server-side copy") {
			t.Fatalf("rclone copyto: %v, want a server-side copy: %s", err, out)
		}
		if err := checkObject(ctx, c, "copy-b", "rclone/copy", src.SHA(), src.Size); err != nil {
			t.Fatal(err)
		}
		// A modtime update is a CopyObject onto itself with REPLACE (x-amz-meta-mtime).
		rclone("touch", "--timestamp", "2020-01-02T03:04:05", "mer:copy-b/rclone/copy")
		if ls := rclone("lsl", "mer:copy-b/rclone/"); !strings.Contains(ls, "2020-01-02 03:04:05") {
			t.Errorf("rclone lsl after touch: %q, want modtime 2020-01-02 03:04:05", ls)
		}
		if err := checkObject(ctx, c, "copy-b", "rclone/copy", src.SHA(), src.Size); err != nil {
			t.Fatalf("after the modtime update: %v", err)
		}
	})

	t.Run("S3cmd", func(t *testing.T) {
		needClient(t, "s3cmd", lookPath("s3cmd"))
		dir := t.TempDir()
		host := strings.TrimPrefix(near.URL, "https://")
		for _, v2 := range []string{"False", "True"} { // SigV4, then SigV2
			cfg := filepath.Join(dir, "s3cfg-v2-"+v2)
			conf := strings.Join([]string{"[default]", "access_key = " + testAccessKey, "secret_key = " + testSecretKey,
				"host_base = " + host, "host_bucket = " + host, "bucket_location = us-east-1", "use_https = True",
				"check_ssl_certificate = True", "check_ssl_hostname = True", "ca_certs_file = " + g.Certs.CA,
				"signature_v2 = " + v2, ""}, "\n")
			if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			s3cmd := func(args ...string) string {
				t.Helper()
				return runTool(t, cleanEnv("HOME="+dir), "s3cmd", append([]string{"-c", cfg, "--no-progress"}, args...)...)
			}
			key := "s3cmd/sigv2-" + v2
			s3cmd("cp", "s3://copy-a/dir/src file", "s3://copy-b/"+key)
			s3cmd("mv", "s3://copy-b/"+key, "s3://copy-a/"+key+"-moved")
			if err := checkObject(ctx, c, "copy-a", key+"-moved", src.SHA(), src.Size); err != nil {
				t.Fatalf("signature_v2=%s: %v", v2, err)
			}
			if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("copy-b"), Key: aws.String(key)}); httpStatus(err) != 404 {
				t.Errorf("s3cmd mv left its source (signature_v2=%s): %v", v2, err)
			}
		}
	})

	t.Run("ConcurrentOverwrite", func(t *testing.T) { testCopyUnderOverwrite(t, c) })
}

// testCopyUnderOverwrite: copies race PUTs that overwrite their source;
// every copy that succeeds holds exactly one of the versions written (a
// read of one version record, never mixed segments).
func testCopyUnderOverwrite(t *testing.T, c *s3.Client) {
	ctx := context.Background()
	const bucket, size, versions, copies = "copy-race", 9 * mib, 6, 12
	if err := CreateBucketIn(ctx, c, bucket, ""); err != nil {
		t.Fatal(err)
	}
	shas := map[string]int{}
	for i := range versions {
		shas[payload{Seed: uint64(900 + i), Size: size}.SHA()] = i
	}
	if _, err := putPayload(ctx, t, c, bucket, "src", payload{Seed: 900, Size: size}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the overwriter
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := putPayload(ctx, t, c, bucket, "src", payload{Seed: uint64(900 + i%versions), Size: size}); err != nil {
				t.Errorf("overwrite %d: %v", i, err)
				return
			}
		}
	}()
	errs := make([]error, copies)
	var cwg sync.WaitGroup
	for i := range copies {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			time.Sleep(time.Duration(i) * 150 * time.Millisecond)
			_, errs[i] = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("copy-%d", i)),
				CopySource: aws.String(bucket + "/src")})
		}()
	}
	cwg.Wait()
	close(stop)
	wg.Wait()
	ok, seen := 0, map[int]bool{}
	for i, err := range errs {
		if err != nil {
			// Allowed only as the documented retryable answer.
			if apiCode(err) != "ServiceUnavailable" {
				t.Errorf("copy %d: %v", i, err)
			}
			continue
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("copy-%d", i))})
		if err != nil {
			t.Fatalf("GET copy %d: %v", i, err)
		}
		sum, n, err := hashReader(out.Body)
		_ = out.Body.Close()
		v, known := shas[sum]
		if err != nil || n != size || !known {
			t.Errorf("copy %d: %d bytes sha %.12s (%v) is not one of the versions written", i, n, sum, err)
			continue
		}
		ok++
		seen[v] = true
	}
	t.Logf("%d of %d copies succeeded under overwrites, holding %d distinct versions", ok, copies, len(seen))
	if ok < copies/2 {
		t.Errorf("only %d of %d copies succeeded", ok, copies)
	}
}

const boto3CopyScript = `
import hashlib, io, os, sys
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, ca, ak, sk, a, b = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", verify=ca, config=Config(s3={"addressing_style": "path"}))
cfg = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)
data = os.urandom(40 * 1024 * 1024 + 5)
s3.upload_fileobj(io.BytesIO(data), a, "boto/big", Config=cfg)  # multipart: ETag "<md5>-6"
assert s3.head_object(Bucket=a, Key="boto/big")["ETag"].endswith('-6"')
# The transfer manager's copy: HeadObject, then UploadPartCopy in 8 MiB ranges.
s3.copy({"Bucket": a, "Key": "boto/big"}, b, "boto/big-copy", Config=cfg)
head = s3.head_object(Bucket=b, Key="boto/big-copy")
assert head["ContentLength"] == len(data), head
assert head["ETag"].endswith('-6"'), head["ETag"]
got = s3.get_object(Bucket=b, Key="boto/big-copy")["Body"].read()
assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), "copied object differs"
# A plain copy_object of the multipart object: one single-part ETag (the MD5).
r = s3.copy_object(Bucket=b, Key="boto/big-single", CopySource={"Bucket": a, "Key": "boto/big"})
assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(data).hexdigest(), r
print("boto3 copy ok")
`

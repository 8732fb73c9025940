package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ssecKey is an SSE-C key as the SDK sends it: base64 key and key MD5.
type ssecKey struct{ key, md5 string }

func newSSECKey(seed byte) ssecKey {
	k := bytes.Repeat([]byte{seed}, 32)
	k[0] ^= 0x5a
	sum := md5.Sum(k)
	return ssecKey{base64.StdEncoding.EncodeToString(k), base64.StdEncoding.EncodeToString(sum[:])}
}

// ssePattern is recognisable plaintext: tag repeated, so any 64-byte window
// of the stored bytes that holds plaintext contains the tag.
func ssePattern(tag string, n int) []byte {
	line := []byte(tag + "-0123456789abcdef\n")
	return bytes.Repeat(line, n/len(line)+1)[:n]
}

// testSSE drives server-side encryption (docs/sse.md) through the edges
// with aws-sdk-go-v2 (SSE-C PUT/GET/range/HEAD/copy/multipart, SSE-S3,
// bucket default encryption, a cross-region copy of an SSE-C source,
// SSE-KMS with the built-in key service and `meridian admin kms`), the aws
// CLI (--sse AES256, --sse-c, --sse aws:kms), an SSE-S3 master key
// rotation, and then
// reads every file under both regions' data folders to prove the
// plaintext of the encrypted objects is nowhere on disk (while a plain
// object's is).
func testSSE(t *testing.T, g *Global) {
	ctx := context.Background()
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	c := g.Client(near, testAccessKey, testSecretKey)
	const bucket, farBucket = "sse-e2e", "sse-e2e-far"
	if err := CreateBucketIn(ctx, c, bucket, ""); err != nil {
		t.Fatal(err)
	}
	if err := CreateBucketIn(ctx, c, farBucket, far.Region); err != nil {
		t.Fatal(err)
	}
	k1, k2 := newSSECKey(1), newSSECKey(2)
	secret := ssePattern("SSEC-SECRET-PATTERN", 9<<20+777)
	plainCtl := ssePattern("PLAIN-CONTROL-PATTERN", 1<<20)
	s3Secret := ssePattern("SSES3-SECRET-PATTERN", 3<<20)
	mpSecret := ssePattern("MULTIPART-SECRET-PATTERN", 5<<20+99)
	cliSecret := ssePattern("CLI-SECRET-PATTERN", 2<<20)

	t.Run("SSEC", func(t *testing.T) {
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("ssec"), Body: bytes.NewReader(secret),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5)})
		if err != nil {
			t.Fatalf("PutObject SSE-C: %v", err)
		}
		if aws.ToString(put.SSECustomerAlgorithm) != "AES256" || aws.ToString(put.SSECustomerKeyMD5) != k1.md5 {
			t.Errorf("PutObject answer: alg %q md5 %q", aws.ToString(put.SSECustomerAlgorithm), aws.ToString(put.SSECustomerKeyMD5))
		}
		get := func(key string, k ssecKey, rng string) ([]byte, error) {
			in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
			if k.key != "" {
				in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(k.key), aws.String(k.md5)
			}
			if rng != "" {
				in.Range = aws.String(rng)
			}
			out, err := c.GetObject(ctx, in, noRetry)
			if err != nil {
				return nil, err
			}
			defer out.Body.Close()
			return io.ReadAll(out.Body)
		}
		if got, err := get("ssec", k1, ""); err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("GetObject SSE-C: %v (%d bytes)", err, len(got))
		}
		if got, err := get("ssec", k1, "bytes=65530-4200000"); err != nil || !bytes.Equal(got, secret[65530:4200001]) {
			t.Fatalf("ranged GetObject SSE-C: %v", err)
		}
		if _, err := get("ssec", ssecKey{}, ""); httpStatus(err) != 400 || apiCode(err) != "InvalidRequest" {
			t.Errorf("GET without the key: %v", err)
		}
		if _, err := get("ssec", k2, ""); httpStatus(err) != 403 || apiCode(err) != "AccessDenied" {
			t.Errorf("GET with another key: %v", err)
		}
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("ssec"),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k2.key), SSECustomerKeyMD5: aws.String(k2.md5)}, noRetry); httpStatus(err) != 403 {
			t.Errorf("HEAD with another key: %v", err)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("ssec"),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5)})
		if err != nil || aws.ToInt64(head.ContentLength) != int64(len(secret)) || aws.ToString(head.SSECustomerKeyMD5) != k1.md5 {
			t.Errorf("HEAD: %v %+v", err, head)
		}
		// Copy: SSE-C source (its key) → SSE-C destination under another key.
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("ssec-copy"), CopySource: aws.String(bucket + "/ssec"),
			CopySourceSSECustomerAlgorithm: aws.String("AES256"), CopySourceSSECustomerKey: aws.String(k1.key), CopySourceSSECustomerKeyMD5: aws.String(k1.md5),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k2.key), SSECustomerKeyMD5: aws.String(k2.md5)}); err != nil {
			t.Fatalf("CopyObject SSE-C → SSE-C: %v", err)
		}
		if got, err := get("ssec-copy", k2, ""); err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("GET the copy: %v", err)
		}
		// Cross-region copy of the SSE-C source into an SSE-S3 object.
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(farBucket), Key: aws.String("from-near"), CopySource: aws.String(bucket + "/ssec"),
			CopySourceSSECustomerAlgorithm: aws.String("AES256"), CopySourceSSECustomerKey: aws.String(k1.key), CopySourceSSECustomerKeyMD5: aws.String(k1.md5),
			ServerSideEncryption: types.ServerSideEncryptionAes256}); err != nil {
			t.Fatalf("cross-region CopyObject: %v", err)
		}
		if err := checkObject(ctx, g.Client(far, testAccessKey, testSecretKey), farBucket, "from-near", shaHex(secret), int64(len(secret))); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Multipart", func(t *testing.T) {
		cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp"),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5)})
		if err != nil {
			t.Fatal(err)
		}
		tail := ssePattern("MULTIPART-SECRET-PATTERN", 100000)
		var parts []types.CompletedPart
		for i, p := range [][]byte{mpSecret, tail} {
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("mp"), UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i + 1)),
				Body: bytes.NewReader(p), SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5)})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", i+1, err)
			}
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag})
		}
		if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp"), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
			t.Fatal(err)
		}
		whole := append(append([]byte{}, mpSecret...), tail...)
		lo := len(mpSecret) - 50
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("mp"), Range: aws.String(fmt.Sprintf("bytes=%d-%d", lo, lo+99)),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, whole[lo:lo+100]) {
			t.Fatal("range across the part boundary")
		}
		out, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("mp"), PartNumber: aws.Int32(2),
			SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, tail) || aws.ToInt32(out.PartsCount) != 2 {
			t.Fatalf("PartNumber=2: %d bytes, parts %d", len(got), aws.ToInt32(out.PartsCount))
		}
	})

	t.Run("SSES3AndDefault", func(t *testing.T) {
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("sse-s3"), Body: bytes.NewReader(s3Secret),
			ServerSideEncryption: types.ServerSideEncryptionAes256})
		if err != nil || put.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Fatalf("PutObject SSE-S3: %v %q", err, put.ServerSideEncryption)
		}
		if err := checkObject(ctx, c, bucket, "sse-s3", shaHex(s3Secret), int64(len(s3Secret))); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("plain"), Body: bytes.NewReader(plainCtl)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)}, noRetry); apiCode(err) != "ServerSideEncryptionConfigurationNotFoundError" {
			t.Errorf("GetBucketEncryption before: %v", err)
		}
		if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(farBucket), ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
			Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}}}}}); err != nil {
			t.Fatalf("PutBucketEncryption: %v", err)
		}
		enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(farBucket)})
		if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 ||
			enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAes256 {
			t.Fatalf("GetBucketEncryption: %v", err)
		}
		fc := g.Client(far, testAccessKey, testSecretKey)
		put, err = fc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(farBucket), Key: aws.String("by-default"), Body: bytes.NewReader(s3Secret)})
		if err != nil || put.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Fatalf("PUT under the default: %v %q", err, put.ServerSideEncryption)
		}
		// Rotation: objects sealed by the old master key stay readable.
		out, err := exec.Command(meridianBin, "admin", "rotate-sse-key", "--sql", g.DSN, "--catalog-key", g.CatalogKey, "--region", near.Region).CombinedOutput()
		var v struct{ Version string }
		if err != nil || json.Unmarshal(out, &v) != nil || v.Version != "2" {
			t.Fatalf("rotate-sse-key: %v %s", err, out)
		}
		if err := checkObject(ctx, c, bucket, "sse-s3", shaHex(s3Secret), int64(len(s3Secret))); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("sse-s3-after"), Body: bytes.NewReader(s3Secret),
			ServerSideEncryption: types.ServerSideEncryptionAes256}); err != nil {
			t.Fatal(err)
		}
		if err := checkObject(ctx, c, bucket, "sse-s3-after", shaHex(s3Secret), int64(len(s3Secret))); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(farBucket)}); err != nil {
			t.Fatal(err)
		}
	})

	kmsSecret := ssePattern("KMS-SECRET-PATTERN", 1<<20+5)
	t.Run("SSEKMS", func(t *testing.T) {
		// The account's default key is made on first use; its ARN names the account.
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("kms-default"), Body: bytes.NewReader(kmsSecret),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms})
		if err != nil || put.ServerSideEncryption != types.ServerSideEncryptionAwsKms || !strings.HasPrefix(aws.ToString(put.SSEKMSKeyId), "arn:aws:kms:"+near.Region+":") {
			t.Fatalf("PutObject aws:kms: %v %q %q", err, put.ServerSideEncryption, aws.ToString(put.SSEKMSKeyId))
		}
		account := strings.Split(aws.ToString(put.SSEKMSKeyId), ":")[4]
		out, err := exec.Command(meridianBin, "admin", "kms", "create-key", "--sql", g.DSN, "--catalog-key", g.CatalogKey,
			"--account", account, "--region", near.Region, "--alias", "alias/e2e").CombinedOutput()
		var key struct {
			KeyID string `json:"key_id"`
			ARN   string `json:"arn"`
		}
		if err != nil || json.Unmarshal(out, &key) != nil || key.ARN == "" {
			t.Fatalf("admin kms create-key: %v %s", err, out)
		}
		if out, err := exec.Command(meridianBin, "admin", "kms", "list-keys", "--sql", g.DSN, "--catalog-key", g.CatalogKey,
			"--account", account, "--region", near.Region).CombinedOutput(); err != nil || !strings.Contains(string(out), key.KeyID) || !strings.Contains(string(out), "alias/aws/s3") {
			t.Errorf("admin kms list-keys: %v %s", err, out)
		}
		put, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("kms-named"), Body: bytes.NewReader(kmsSecret),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("alias/e2e"), BucketKeyEnabled: aws.Bool(true)})
		if err != nil || aws.ToString(put.SSEKMSKeyId) != key.ARN || !aws.ToBool(put.BucketKeyEnabled) {
			t.Fatalf("PutObject with alias/e2e: %v %+v", err, put)
		}
		for _, k := range []string{"kms-default", "kms-named"} {
			if err := checkObject(ctx, c, bucket, k, shaHex(kmsSecret), int64(len(kmsSecret))); err != nil {
				t.Fatal(err)
			}
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("kms-named")})
		if err != nil || head.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(head.SSEKMSKeyId) != key.ARN {
			t.Errorf("HeadObject: %v %+v", err, head)
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("kms-none"), Body: strings.NewReader("x"),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("0f0e0d0c-0b0a-4908-8706-050403020100")}, noRetry)
		if apiCode(err) != "KMS.NotFoundException" || httpStatus(err) != 400 {
			t.Errorf("unknown key id: %v", err)
		}
	})

	t.Run("AWSCLI", func(t *testing.T) {
		needClient(t, "the aws CLI", lookPath("aws"))
		dir := t.TempDir()
		env := cleanEnv("AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecretKey, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CA_BUNDLE="+g.Certs.CA, "AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"), "AWS_PAGER=")
		cli := func(args ...string) string {
			t.Helper()
			return runTool(t, env, "aws", append([]string{"--endpoint-url", near.URL}, args...)...)
		}
		src := filepath.Join(dir, "secret.bin")
		if err := os.WriteFile(src, cliSecret, 0o600); err != nil {
			t.Fatal(err)
		}
		cli("s3", "cp", "--sse", "AES256", src, "s3://"+bucket+"/cli-sse-s3")
		head := cli("s3api", "head-object", "--bucket", bucket, "--key", "cli-sse-s3")
		if !strings.Contains(head, `"ServerSideEncryption": "AES256"`) {
			t.Errorf("head-object of --sse AES256: %s", head)
		}
		const cliKey = "0123456789abcdef0123456789abcdef" // 32 bytes: the CLI encodes it
		cli("s3", "cp", "--sse-c", "AES256", "--sse-c-key", cliKey, src, "s3://"+bucket+"/cli-sse-c")
		dst := filepath.Join(dir, "back.bin")
		cli("s3", "cp", "--sse-c", "AES256", "--sse-c-key", cliKey, "s3://"+bucket+"/cli-sse-c", dst)
		if got, _ := os.ReadFile(dst); !bytes.Equal(got, cliSecret) {
			t.Fatal("aws s3 cp --sse-c round trip changed the bytes")
		}
		cli("s3", "cp", "--sse", "aws:kms", "--sse-kms-key-id", "alias/e2e", src, "s3://"+bucket+"/cli-kms")
		if head := cli("s3api", "head-object", "--bucket", bucket, "--key", "cli-kms"); !strings.Contains(head, `"ServerSideEncryption": "aws:kms"`) {
			t.Errorf("head-object of --sse aws:kms: %s", head)
		}
		cmd := exec.Command("aws", "--endpoint-url", near.URL, "s3", "cp", "s3://"+bucket+"/cli-sse-c", filepath.Join(dir, "nokey.bin"))
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("aws s3 cp of an SSE-C object without its key succeeded: %s", out)
		}
	})

	t.Run("CiphertextOnDisk", func(t *testing.T) {
		// Every file of every meta and storage node of both regions.
		tags := []string{"SSEC-SECRET-PATTERN", "SSES3-SECRET-PATTERN", "MULTIPART-SECRET-PATTERN", "CLI-SECRET-PATTERN", "KMS-SECRET-PATTERN", "PLAIN-CONTROL-PATTERN"}
		var dirs []string
		for _, name := range g.Names {
			dirs = append(dirs, g.Regions[name].Dir)
		}
		found, files := scanForPlaintext(t, dirs, tags)
		if !found["PLAIN-CONTROL-PATTERN"] {
			t.Fatalf("the plain control object's bytes were not found in %d files: the scan proves nothing", files)
		}
		for _, tag := range tags[:len(tags)-1] {
			if found[tag] {
				t.Errorf("plaintext of an encrypted object (%s) is on disk", tag)
			}
		}
		t.Logf("scanned %d files", files)
	})
}

// scanForPlaintext reads every file under dirs (but the processes' logs)
// and reports which tags occur in them, and how many files it read.
func scanForPlaintext(t *testing.T, dirs, tags []string) (map[string]bool, int) {
	t.Helper()
	found := map[string]bool{}
	var files int
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+"logs"+string(filepath.Separator)) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil // a file that went away meanwhile
			}
			files++
			for _, tag := range tags {
				if bytes.Contains(data, []byte(tag)) {
					found[tag] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found, files
}

func shaHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

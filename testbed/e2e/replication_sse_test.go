package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// testEncryptedReplication (part of TestReplication) replicates encrypted
// versions (docs/replication.md, "Encrypted versions"): an SSE-S3 object,
// an SSE-S3 multipart object, an object encrypted by the source bucket's
// default encryption and an SSE-C object arrive with the source's bytes,
// ETag and part count and the encryption headers; an SSE-KMS object is not
// replicated (no status) until the rule selects SSE-KMS objects and names
// a ReplicaKmsKeyID, then arrives under that key of the destination
// region. Finally every data file of both regions is read: the plaintext
// of none of them is on disk (a plain control object's is).
func (s *replSetup) testEncryptedReplication(t *testing.T) {
	ctx := context.Background()
	g := s.g
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	control := ssePattern("REPL-PLAIN-CONTROL", mib)
	secrets := map[string][]byte{
		"enc/s3":      ssePattern("REPL-SSES3-SECRET", 3*mib),
		"enc/mp":      ssePattern("REPL-MP-SECRET", 6*mib+5),
		"enc/default": ssePattern("REPL-DEFAULT-SECRET", mib+3),
		"enc/c":       ssePattern("REPL-SSEC-SECRET", 2*mib+1),
		"enc/kms":     ssePattern("REPL-KMS-SECRET", mib+7),
	}
	ck := newSSECKey(9)
	src := func(key string) *string { return aws.String(key) }
	_, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: src("enc/plain"), Body: bytes.NewReader(control)})
	must("put control", err)
	_, err = s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: src("enc/s3"), Body: bytes.NewReader(secrets["enc/s3"]),
		ServerSideEncryption: types.ServerSideEncryptionAes256})
	must("put SSE-S3", err)
	// SSE-S3 multipart: parts of 5 MiB and the rest.
	up, err := s.cu.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.src), Key: src("enc/mp"), ServerSideEncryption: types.ServerSideEncryptionAes256})
	must("create SSE-S3 upload", err)
	var done []types.CompletedPart
	for i, part := range [][]byte{secrets["enc/mp"][:5*mib], secrets["enc/mp"][5*mib:]} {
		p, err := s.cu.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(s.src), Key: src("enc/mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(part)})
		must("upload part", err)
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: p.ETag})
	}
	_, err = s.cu.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(s.src), Key: src("enc/mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	must("complete SSE-S3 upload", err)
	// The source bucket's default encryption.
	_, err = s.cu.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(s.src), ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
		Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}}}}})
	must("put bucket encryption", err)
	put, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: src("enc/default"), Body: bytes.NewReader(secrets["enc/default"])})
	if err != nil || put.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Fatalf("put under the default encryption: %v %q", err, put.ServerSideEncryption)
	}
	_, err = s.cu.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(s.src)})
	must("delete bucket encryption", err)
	_, err = s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: src("enc/c"), Body: bytes.NewReader(secrets["enc/c"]),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(ck.key), SSECustomerKeyMD5: aws.String(ck.md5)})
	must("put SSE-C", err)
	// SSE-KMS under the account's default key: the rule does not select SSE-KMS objects.
	kmsOff, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: src("enc/kms-off"), Body: bytes.NewReader(secrets["enc/kms"]),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	must("put SSE-KMS", err)

	ssecOf := func(key string) (alg, k, sum *string) {
		if key == "enc/c" {
			return aws.String("AES256"), aws.String(ck.key), aws.String(ck.md5)
		}
		return nil, nil, nil
	}
	// waitReplica waits until key's current version is a REPLICA at the
	// destination, then checks it against the source.
	waitReplica := func(key string, plain []byte, wantSSE types.ServerSideEncryption, wantKMSKey string) {
		t.Helper()
		alg, k, sum := ssecOf(key)
		deadline := time.Now().Add(60 * time.Second)
		for {
			h, err := s.ce.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dst), Key: aws.String(key), SSECustomerAlgorithm: alg, SSECustomerKey: k, SSECustomerKeyMD5: sum})
			if err == nil && h.ReplicationStatus == types.ReplicationStatusReplica {
				// The source is marked COMPLETED just after the destination committed.
				sh, err := s.cu.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.src), Key: aws.String(key), SSECustomerAlgorithm: alg, SSECustomerKey: k, SSECustomerKeyMD5: sum})
				if err == nil && sh.ReplicationStatus == types.ReplicationStatusCompleted {
					break
				}
			}
			if time.Now().After(deadline) {
				sh, serr := s.cu.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.src), Key: aws.String(key), SSECustomerAlgorithm: alg, SSECustomerKey: k, SSECustomerKeyMD5: sum})
				var st types.ReplicationStatus
				if serr == nil {
					st = sh.ReplicationStatus
				}
				t.Fatalf("%s did not arrive at the destination: %v (source status %q %v)", key, err, st, serr)
			}
			time.Sleep(200 * time.Millisecond)
		}
		sh, err := s.cu.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.src), Key: aws.String(key), SSECustomerAlgorithm: alg, SSECustomerKey: k, SSECustomerKeyMD5: sum, PartNumber: aws.Int32(1)})
		must("head source "+key, err)
		out, err := s.ce.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.dst), Key: aws.String(key), SSECustomerAlgorithm: alg, SSECustomerKey: k, SSECustomerKeyMD5: sum})
		must("get replica "+key, err)
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		must("read replica "+key, err)
		dh, err := s.ce.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dst), Key: aws.String(key), SSECustomerAlgorithm: alg, SSECustomerKey: k, SSECustomerKeyMD5: sum, PartNumber: aws.Int32(1)})
		must("head replica "+key, err)
		switch {
		case !bytes.Equal(got, plain):
			t.Errorf("%s: the replica's %d bytes are not the source's %d", key, len(got), len(plain))
		case aws.ToString(out.ETag) != aws.ToString(sh.ETag) || aws.ToString(out.VersionId) != aws.ToString(sh.VersionId):
			t.Errorf("%s: replica ETag %s version %s, source %s %s", key, aws.ToString(out.ETag), aws.ToString(out.VersionId), aws.ToString(sh.ETag), aws.ToString(sh.VersionId))
		case aws.ToInt32(dh.PartsCount) != aws.ToInt32(sh.PartsCount) || aws.ToInt64(dh.ContentLength) != aws.ToInt64(sh.ContentLength):
			t.Errorf("%s: replica part 1 of %d parts, %d bytes; source %d parts, %d bytes", key, aws.ToInt32(dh.PartsCount), aws.ToInt64(dh.ContentLength), aws.ToInt32(sh.PartsCount), aws.ToInt64(sh.ContentLength))
		case out.ServerSideEncryption != wantSSE || aws.ToString(out.SSEKMSKeyId) != wantKMSKey:
			t.Errorf("%s: replica encryption %q key %q, want %q %q", key, out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId), wantSSE, wantKMSKey)
		case alg != nil && aws.ToString(out.SSECustomerKeyMD5) != ck.md5:
			t.Errorf("%s: SSE-C replica answers key MD5 %q", key, aws.ToString(out.SSECustomerKeyMD5))
		case sh.ReplicationStatus != types.ReplicationStatusCompleted:
			t.Errorf("%s: source status %q", key, sh.ReplicationStatus)
		}
	}
	waitReplica("enc/plain", control, "", "")
	waitReplica("enc/s3", secrets["enc/s3"], types.ServerSideEncryptionAes256, "")
	waitReplica("enc/mp", secrets["enc/mp"], types.ServerSideEncryptionAes256, "")
	waitReplica("enc/default", secrets["enc/default"], types.ServerSideEncryptionAes256, "")
	waitReplica("enc/c", secrets["enc/c"], "", "")
	// The SSE-KMS object the rule does not select: no status, not copied.
	h, err := s.cu.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.src), Key: src("enc/kms-off")})
	must("head enc/kms-off", err)
	if h.ReplicationStatus != "" {
		t.Errorf("an SSE-KMS object no rule selects shows %q", h.ReplicationStatus)
	}
	if _, err := s.ce.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dst), Key: src("enc/kms-off")}); err == nil {
		t.Error("an SSE-KMS object was replicated by a rule without SseKmsEncryptedObjects")
	}
	// (a permanent delete is not replicated: the listings stay equal)
	_, err = s.cu.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.src), Key: src("enc/kms-off"), VersionId: kmsOff.VersionId})
	must("delete enc/kms-off", err)

	// A rule selecting SSE-KMS objects, with a key of the destination region.
	account := strings.Split(aws.ToString(kmsOff.SSEKMSKeyId), ":")[4]
	out, err := exec.Command(meridianBin, "admin", "kms", "create-key", "--sql", g.DSN, "--catalog-key", g.CatalogKey,
		"--account", account, "--region", s.eu).CombinedOutput()
	var key struct {
		ARN string `json:"arn"`
	}
	if err != nil || json.Unmarshal(out, &key) != nil || !strings.HasPrefix(key.ARN, "arn:aws:kms:"+s.eu+":") {
		t.Fatalf("admin kms create-key in %s: %v %s", s.eu, err, out)
	}
	rule := replicationRule("to-"+s.dst, s.dst, 1)
	rule.SourceSelectionCriteria = &types.SourceSelectionCriteria{SseKmsEncryptedObjects: &types.SseKmsEncryptedObjects{Status: types.SseKmsEncryptedObjectsStatusEnabled}}
	noKey := rule
	_, err = s.cu.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(s.src),
		ReplicationConfiguration: &types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/r"), Rules: []types.ReplicationRule{noKey}}}, noRetry)
	if apiCode(err) != "InvalidRequest" || !strings.Contains(err.Error(), "ReplicaKmsKeyID must be specified") {
		t.Errorf("SseKmsEncryptedObjects without ReplicaKmsKeyID: %v", err)
	}
	rule.Destination.EncryptionConfiguration = &types.EncryptionConfiguration{ReplicaKmsKeyID: aws.String(key.ARN)}
	_, err = s.cu.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(s.src),
		ReplicationConfiguration: &types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/r"), Rules: []types.ReplicationRule{rule}}})
	must("put-bucket-replication selecting SSE-KMS", err)
	gr, err := s.cu.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(s.src)})
	must("get-bucket-replication", err)
	if r := gr.ReplicationConfiguration.Rules[0]; r.SourceSelectionCriteria == nil || r.SourceSelectionCriteria.SseKmsEncryptedObjects == nil ||
		r.SourceSelectionCriteria.SseKmsEncryptedObjects.Status != types.SseKmsEncryptedObjectsStatusEnabled ||
		r.Destination.EncryptionConfiguration == nil || aws.ToString(r.Destination.EncryptionConfiguration.ReplicaKmsKeyID) != key.ARN {
		t.Errorf("GetBucketReplication: %+v", r)
	}
	_, err = s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: src("enc/kms"), Body: bytes.NewReader(secrets["enc/kms"]),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms})
	must("put SSE-KMS selected", err)
	waitReplica("enc/kms", secrets["enc/kms"], types.ServerSideEncryptionAwsKms, key.ARN)

	// No plaintext of an encrypted object in any data file of either region.
	tags := []string{"REPL-SSES3-SECRET", "REPL-MP-SECRET", "REPL-DEFAULT-SECRET", "REPL-SSEC-SECRET", "REPL-KMS-SECRET", "REPL-PLAIN-CONTROL"}
	found, files := scanForPlaintext(t, []string{g.Regions[s.us].Dir, g.Regions[s.eu].Dir}, tags)
	if !found["REPL-PLAIN-CONTROL"] {
		t.Fatalf("the plain control object's bytes were not found in %d files: the scan proves nothing", files)
	}
	for _, tag := range tags[:len(tags)-1] {
		if found[tag] {
			t.Errorf("plaintext of an encrypted object (%s) is on disk", tag)
		}
	}
	t.Logf("encrypted versions replicated (SSE-S3, multipart, bucket default, SSE-C, SSE-KMS); %d data files scanned, no plaintext", files)
}

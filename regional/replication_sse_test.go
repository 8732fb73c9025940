package regional_test

import (
	"strings"
	"testing"
)

// kmsReplDoc is a rule over docs/ that selects SSE-KMS objects when sel is
// set; enc is the Destination's EncryptionConfiguration ("" none).
func kmsReplDoc(sel, enc string) string {
	return `<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Role>arn:aws:iam::1:role/r</Role>` +
		`<Rule><ID>all</ID><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>docs/</Prefix></Filter>` + sel +
		`<DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication>` +
		`<Destination><Bucket>arn:aws:s3:::dst</Bucket>` + enc + `</Destination></Rule></ReplicationConfiguration>`
}

// TestReplicationOfEncryptedWrites: through the gateway, the
// configuration's SSE-KMS fields are refused as AWS refuses them (nothing
// stored) and stored and returned when valid; at write time an SSE-S3
// object is PENDING under any rule, an SSE-KMS object only under a rule
// that selects it (else it gets no status, as S3 leaves it).
func TestReplicationOfEncryptedWrites(t *testing.T) {
	w := newSSEWorld(t)
	for _, b := range []string{"/src", "/dst"} {
		w.mustStatus(200, "PUT", b, nil, nil)
		w.mustStatus(200, "PUT", b+"?versioning", []byte(versioningOn), md5Header([]byte(versioningOn)))
	}
	const sel = `<SourceSelectionCriteria><SseKmsEncryptedObjects><Status>Enabled</Status></SseKmsEncryptedObjects></SourceSelectionCriteria>`
	const arn = "arn:aws:kms:us-east-1:acct-x:key/0f0e0d0c-0b0a-4908-8706-050403020100"
	const enc = `<EncryptionConfiguration><ReplicaKmsKeyID>` + arn + `</ReplicaKmsKeyID></EncryptionConfiguration>`
	for _, tc := range []struct{ name, doc, code, msg string }{
		{"sse-kms without a replica key", kmsReplDoc(sel, ""), "InvalidRequest", "ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present."},
		{"a replica key without sse-kms", kmsReplDoc("", enc), "InvalidRequest", "SseKmsEncryptedObjects must be specified if EncryptionConfiguration is present."},
		{"a replica key that is no ARN", kmsReplDoc(sel, `<EncryptionConfiguration><ReplicaKmsKeyID>alias/x</ReplicaKmsKeyID></EncryptionConfiguration>`), "InvalidArgument", "Invalid ReplicaKmsKeyID ARN."},
	} {
		code, out := w.do("PUT", "/src?replication", []byte(tc.doc), md5Header([]byte(tc.doc)))
		if code != 400 || s3code(out) != tc.code || !strings.Contains(string(out), tc.msg) {
			t.Fatalf("%s: %d %s", tc.name, code, out)
		}
		if code, out := w.do("GET", "/src?replication", nil, nil); code != 404 {
			t.Fatalf("%s: a refused PUT stored something: %d %s", tc.name, code, out)
		}
	}
	status := func(key string, hdr map[string]string) string {
		t.Helper()
		if code, _, out := w.doResp("PUT", "/src/"+key, []byte("secret"), hdr); code != 200 {
			t.Fatalf("PUT %s: %d %s", key, code, out)
		}
		_, h, _ := w.doResp("HEAD", "/src/"+key, nil, nil)
		return h.Get("x-amz-replication-status")
	}
	s3 := map[string]string{"x-amz-server-side-encryption": "AES256"}
	kms := map[string]string{"x-amz-server-side-encryption": "aws:kms"}
	plainDoc := replDoc("dst")
	w.mustStatus(200, "PUT", "/src?replication", []byte(plainDoc), md5Header([]byte(plainDoc)))
	if got := status("docs/s3", s3); got != "PENDING" {
		t.Errorf("SSE-S3 under a plain rule: %q, want PENDING", got)
	}
	if got := status("docs/kms", kms); got != "" {
		t.Errorf("SSE-KMS under a rule that does not select it: %q, want no status", got)
	}
	doc := kmsReplDoc(sel, enc)
	w.mustStatus(200, "PUT", "/src?replication", []byte(doc), md5Header([]byte(doc)))
	got := string(w.mustStatus(200, "GET", "/src?replication", nil, nil))
	for _, want := range []string{"<SourceSelectionCriteria><SseKmsEncryptedObjects><Status>Enabled</Status></SseKmsEncryptedObjects></SourceSelectionCriteria>", enc} {
		if !strings.Contains(got, want) {
			t.Errorf("GET lacks %s:\n%s", want, got)
		}
	}
	if got := status("docs/kms2", kms); got != "PENDING" {
		t.Errorf("SSE-KMS under a rule selecting it: %q, want PENDING", got)
	}
	if got := status("other/kms", kms); got != "" {
		t.Errorf("SSE-KMS outside the rule's prefix: %q", got)
	}
}

package regionalclient

import (
	"net/http"
	"testing"

	"github.com/meridian-s3/meridian/internal/sse"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// TestReplicaFrom: an encrypted replica travels only in
// HeaderReplicaEncrypted (a gateway that predates it refuses it), a plain
// one only in HeaderReplica; a malformed encryption is refused; BodySize
// is the stored ciphertext's for SSE-C.
func TestReplicaFrom(t *testing.T) {
	const ver = "AAAAAAAAAAAAAAAa"
	plain := Replica{Ver: ver, Size: 10, ETag: "e"}
	s3 := Replica{Ver: ver, Size: 10, ETag: "e", SSE: &ReplicaSSE{Algorithm: metapb.SSEAlgAES256}}
	ssec := Replica{Ver: ver, Size: 100000, ETag: "e", SSE: &ReplicaSSE{Algorithm: metapb.SSEAlgCustomer, IV: sse.NewIV(), KeySalt: []byte{1}, KeyMAC: []byte{2}}}
	badIV := Replica{Ver: ver, Size: 10, ETag: "e", SSE: &ReplicaSSE{Algorithm: metapb.SSEAlgCustomer, IV: []byte{1}, KeySalt: []byte{1}, KeyMAC: []byte{2}}}
	kmsNoKey := Replica{Ver: ver, Size: 10, ETag: "e", SSE: &ReplicaSSE{Algorithm: metapb.SSEAlgKMS}}
	for _, tc := range []struct {
		name   string
		rep    Replica
		header string
		ok     bool
	}{
		{"plain", plain, HeaderReplica, true},
		{"sse-s3", s3, HeaderReplicaEncrypted, true},
		{"sse-c", ssec, HeaderReplicaEncrypted, true},
		{"sse-s3 in the old header", s3, HeaderReplica, false},
		{"plain in the encrypted header", plain, HeaderReplicaEncrypted, false},
		{"sse-c with a short IV", badIV, HeaderReplicaEncrypted, false},
		{"sse-kms without a key", kmsNoKey, HeaderReplicaEncrypted, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := EncodeReplica(tc.rep)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set(tc.header, v)
			if _, err := ReplicaFrom(h); (err == nil) != tc.ok {
				t.Fatalf("ReplicaFrom: %v, want ok %v", err, tc.ok)
			}
			if tc.ok && tc.rep.Header() != tc.header {
				t.Fatalf("Header() %s, want %s", tc.rep.Header(), tc.header)
			}
		})
	}
	h := http.Header{}
	v, _ := EncodeReplica(plain)
	h.Set(HeaderReplica, v)
	h.Set(HeaderReplicaEncrypted, v)
	if _, err := ReplicaFrom(h); err == nil {
		t.Fatal("both headers accepted")
	}
	if got, want := ssec.BodySize(), sse.EncryptedSize(100000); got != want || s3.BodySize() != 10 {
		t.Fatalf("BodySize: SSE-C %d (want %d), SSE-S3 %d", got, want, s3.BodySize())
	}
}

package regionalclient

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/meridian-s3/meridian/internal/sse"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// The replication write (docs/replication.md): a background server's
// replicator sends a version of a source bucket to the destination bucket's
// home region over the same link edges use, authenticated by its own
// certificate (role background), never by a client's credentials:
//
//	PUT /<bucket>/<key>?meridian-replicate
//	X-Meridian-Replica: base64url(JSON Replica)
//	Content-Length: <size>           (0 and no body for a delete marker)
//
// A replica of an encrypted version (Replica.SSE) names itself in
// X-Meridian-Replica-Encrypted instead, and its Content-Length is
// Replica.BodySize (SSE-C: the stored ciphertext's).
//
// The gateway commits the version with the given version id through the
// commit coordinator, marked REPLICA, and answers 200 with
// X-Meridian-Replica-Result "created" or "exists" (the version id was
// already there: nothing written). Any other answer is an S3 error; the
// replicator retries it.
const (
	QueryReplicate = "meridian-replicate"
	HeaderReplica  = "X-Meridian-Replica"
	// HeaderReplicaEncrypted carries the description of a replica of an
	// encrypted version instead of HeaderReplica, so a gateway that predates
	// encrypted replicas (and would ignore Replica.SSE, storing the
	// plaintext in clear) refuses it for lack of HeaderReplica.
	HeaderReplicaEncrypted = "X-Meridian-Replica-Encrypted"
	HeaderReplicaResult    = "X-Meridian-Replica-Result"
	ReplicaCreated         = "created"
	ReplicaExists          = "exists"
	ReplicaTags            = "tags" // a TagsOnly replica was applied
	maxReplicaHeaderBytes  = 256 << 10
)

// Replica describes the version being replicated.
type Replica struct {
	Ver string `json:"ver"`
	// Null: the source's null version (written before versioning was
	// enabled; copied by a resync). It is the destination key's null
	// version too, under the same Ver (docs/replication.md, "Null versions").
	Null         bool              `json:"null,omitempty"`
	Created      time.Time         `json:"created"` // Last-Modified at the source
	DeleteMarker bool              `json:"dm,omitempty"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"` // unquoted; "<hex>-<n>" for multipart
	Parts        []metapb.PartInfo `json:"parts,omitempty"`
	ContentType  string            `json:"ctype,omitempty"`
	Headers      map[string]string `json:"hdrs,omitempty"`
	UserMeta     map[string]string `json:"meta,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Checksums    map[string]string `json:"cks,omitempty"`
	ChecksumType string            `json:"cktype,omitempty"`
	Owner        string            `json:"owner,omitempty"`
	// ACL is the version's ACL at the time it is copied (later ACL changes
	// are not replicated).
	ACL *metapb.ObjectACL `json:"acl,omitempty"`
	// Lock is the version's Object Lock state at the time it is copied
	// (docs/object-lock.md): kept by a lock-enabled destination bucket,
	// dropped by one without Object Lock; later changes are not replicated.
	Lock *metapb.ObjectLock `json:"lock,omitempty"`
	// TagsOnly: the version exists at the destination already and only its
	// tags changed at the source (PutObjectTagging, DeleteObjectTagging):
	// the destination replaces the version's tags with Tags; no body.
	TagsOnly bool `json:"tags_only,omitempty"`
	// SSE: the source version is encrypted; how the replica is stored
	// (nil: as the body comes, unencrypted).
	SSE *ReplicaSSE `json:"sse,omitempty"`
}

// ReplicaSSE is the encryption of a replica (docs/replication.md,
// "Encrypted versions"). No key ever travels in it.
//
//   - AES256 (SSE-S3) and aws:kms (SSE-KMS): the body is the plaintext,
//     decrypted at the source with the source region's key; the destination
//     encrypts it under a fresh data key of its own SSE-S3 master key, or of
//     its KMS key KMSKeyID (the rule's ReplicaKmsKeyID), with new IVs.
//   - SSE-C: the body is the source's ciphertext as stored (BodySize bytes:
//     the customer key is not there to decrypt it); IV (single stream) or
//     the parts' SSEIV, KeySalt and KeyMAC are the source's, so the
//     replica opens with the same customer key.
type ReplicaSSE struct {
	Algorithm string `json:"alg"` // metapb.SSEAlgAES256, SSEAlgKMS, SSEAlgCustomer
	// aws:kms: the key the replica is encrypted under, the source's key ARN
	// (its ETags are MD5(MD5 || ARN): the destination checks the body with
	// it), the bucket-key flag and the encryption context as sent.
	KMSKeyID    string `json:"kms_key,omitempty"`
	SourceKeyID string `json:"src_key,omitempty"`
	BucketKey   bool   `json:"bkey,omitempty"`
	Context     string `json:"kctx,omitempty"`
	// SSE-C: the source's stream IV (single-stream objects) and key check.
	IV      []byte `json:"iv,omitempty"`
	KeySalt []byte `json:"ksalt,omitempty"`
	KeyMAC  []byte `json:"kmac,omitempty"`
}

// Header is the request header rep is sent in (HeaderReplica, or
// HeaderReplicaEncrypted for an encrypted version).
func (r Replica) Header() string {
	if r.SSE != nil {
		return HeaderReplicaEncrypted
	}
	return HeaderReplica
}

// ReplicaFrom reads the replica description of a request's headers: one of
// HeaderReplica (no SSE) and HeaderReplicaEncrypted (with SSE).
func ReplicaFrom(h http.Header) (Replica, error) {
	plain, enc := h.Get(HeaderReplica), h.Get(HeaderReplicaEncrypted)
	if (plain == "") == (enc == "") {
		return Replica{}, ErrBadReplica
	}
	r, err := DecodeReplica(plain + enc)
	if err == nil && (r.SSE != nil) != (enc != "") {
		return Replica{}, ErrBadReplica
	}
	return r, err
}

// Raw reports whether the body is the source's stored ciphertext (SSE-C).
func (r Replica) Raw() bool { return r.SSE != nil && r.SSE.Algorithm == metapb.SSEAlgCustomer }

// Spans are the replica's streams: one per part of a multipart version,
// else one (iv: the single stream's IV).
func (r Replica) Spans(iv []byte) []sse.Span {
	if len(r.Parts) > 0 && iv == nil {
		out := make([]sse.Span, len(r.Parts))
		for i, p := range r.Parts {
			out[i] = sse.Span{IV: p.SSEIV, Size: p.Size}
		}
		return out
	}
	return []sse.Span{{IV: iv, Size: r.Size}}
}

// BodySize is the length of the replica's body: the stored ciphertext's
// for SSE-C, else Size.
func (r Replica) BodySize() int64 {
	if r.DeleteMarker || r.TagsOnly {
		return 0
	}
	if r.Raw() {
		return sse.StoredSize(r.Spans(r.SSE.IV))
	}
	return r.Size
}

// validSSE checks a replica's encryption description.
func (r Replica) validSSE() bool {
	e := r.SSE
	if e == nil {
		return true
	}
	switch e.Algorithm {
	case metapb.SSEAlgAES256:
		return true
	case metapb.SSEAlgKMS:
		return e.KMSKeyID != ""
	case metapb.SSEAlgCustomer:
		if len(e.KeySalt) == 0 || len(e.KeyMAC) == 0 {
			return false
		}
		for _, s := range r.Spans(e.IV) {
			if len(s.IV) != sse.IVSize {
				return false
			}
		}
		return true
	}
	return false
}

// ErrBadReplica: the replica header is missing, too large or malformed.
var ErrBadReplica = errors.New("regionalclient: bad replica header")

// EncodeReplica returns the header value of r.
func EncodeReplica(r Replica) (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeReplica parses a header value.
func DecodeReplica(s string) (Replica, error) {
	var r Replica
	if s == "" || len(s) > maxReplicaHeaderBytes {
		return r, ErrBadReplica
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return r, ErrBadReplica
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, ErrBadReplica
	}
	if !metapb.ValidVersionID(r.Ver) || r.Ver == metapb.NullVersion || r.Size < 0 || (r.DeleteMarker && r.Size != 0) || !r.validSSE() {
		return r, ErrBadReplica
	}
	return r, nil
}

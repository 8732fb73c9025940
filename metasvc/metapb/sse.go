package metapb

// Encryption is how the stored bytes of an object version (or of a
// multipart upload's parts) are encrypted at rest (docs/sse.md, format in
// internal/sse). Nil: stored in clear. A record's Encryption is never
// changed in place once written (clones may share it).
type Encryption struct {
	// Algorithm is the S3 name of the mode: SSEAlgAES256 (SSE-S3),
	// SSEAlgKMS (SSE-KMS) or SSEAlgCustomer (SSE-C, the customer key's
	// algorithm is AES256 too).
	Algorithm string `json:"alg"`
	// IV is the stream IV of a single-stream object (PUT, copy). Multipart
	// objects have one stream per part (PartInfo.SSEIV / Part.SSEIV).
	IV []byte `json:"iv,omitempty"`
	// KeySalt and KeyMAC recognise an SSE-C key without storing it
	// (sse.KeyCheck).
	KeySalt []byte `json:"ksalt,omitempty"`
	KeyMAC  []byte `json:"kmac,omitempty"`
	// SealedKey is the object's data key sealed by the key KeyID names
	// (SSE-S3: a region master key version; SSE-KMS: a KMS key).
	SealedKey []byte `json:"skey,omitempty"`
	KeyID     string `json:"kid,omitempty"`
	// KMS only: the x-amz-server-side-encryption-bucket-key-enabled flag and
	// the encryption context (the request's base64 JSON, as sent).
	BucketKey bool   `json:"bkey,omitempty"`
	Context   string `json:"kctx,omitempty"`
}

// S3 names of the encryption modes.
const (
	SSEAlgAES256   = "AES256"
	SSEAlgKMS      = "aws:kms"
	SSEAlgCustomer = "SSE-C"
)

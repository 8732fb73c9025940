package regional

// Server-side encryption (docs/sse.md): which encryption a write asks for
// (headers, else the bucket's default), the checks a read of an encrypted
// object makes, and the streams that encrypt a body before the commit
// coordinator erasure-codes it and decrypt only the packages a range needs.

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/sse"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/commit"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// SSEKeys seals and opens the data keys of SSE-S3 objects under the
// region's master key (regional/ssekeys keeps the master keys sealed in the
// bucket catalog). The interface is what a real key service would
// implement too.
type SSEKeys interface {
	// NewDataKey returns a fresh data key, its sealed form and the id of
	// the master key version that sealed it.
	NewDataKey(ctx context.Context) (key, sealed []byte, keyID string, err error)
	// OpenDataKey opens a data key sealed by master key version keyID.
	OpenDataKey(ctx context.Context, keyID string, sealed []byte) ([]byte, error)
}

// KMS is the key service of SSE-KMS (regional/ssekms is the built-in one;
// a real KMS can implement it). Unknown keys are *sse.KeyNotFoundError.
type KMS interface {
	// GenerateDataKey returns a fresh data key sealed by account's key
	// keyID ("" = the account's default key for S3; an id, alias or ARN),
	// bound to the encryption context, and the key's ARN.
	GenerateDataKey(ctx context.Context, account, keyID string, encCtx []byte) (key, sealed []byte, arn string, err error)
	// Decrypt opens a data key sealed by the key arn under encCtx.
	Decrypt(ctx context.Context, arn string, sealed, encCtx []byte) ([]byte, error)
}

// Request headers.
const (
	hdrSSE          = "X-Amz-Server-Side-Encryption"
	hdrSSEKMSKeyID  = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
	hdrSSEContext   = "X-Amz-Server-Side-Encryption-Context"
	hdrSSEBucketKey = "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled"
	// SSE-C: the object's key, and (CopyObject, UploadPartCopy) the source's.
	prefixSSEC     = "X-Amz-Server-Side-Encryption-Customer-"
	prefixCopySSEC = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-"
)

// The S3 errors of server-side encryption.
func errSSECInsecure() error {
	return s3err.WithMessage(s3err.InvalidRequest, "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.")
}

func errSSEStored() error {
	return s3err.WithMessage(s3err.InvalidRequest, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.")
}

func errSSENotApplicable() error {
	return s3err.WithMessage(s3err.InvalidRequest, "The encryption parameters are not applicable to this object.")
}

func errSSEUploadEncrypted() error {
	return s3err.WithMessage(s3err.InvalidRequest, "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.")
}

func errSSEUploadMismatch() error {
	return s3err.WithMessage(s3err.InvalidRequest, "The provided encryption parameters did not match the ones used originally.")
}

func errSSEMethod(v string) error {
	return s3err.WithMessage(s3err.InvalidArgument, "The encryption method specified is not supported").
		With("ArgumentName", "x-amz-server-side-encryption").With("ArgumentValue", truncate(v, 256))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// customerKey is a parsed SSE-C header triple.
type customerKey struct {
	key    []byte
	keyMD5 string // base64, as the client sent it (echoed in responses)
}

// parseCustomerKey reads the SSE-C headers with prefix; nil when none of
// them is present. Errors are S3's for each malformed part.
func parseCustomerKey(h http.Header, prefix string) (*customerKey, error) {
	alg, key, sum := h.Get(prefix+"Algorithm"), h.Get(prefix+"Key"), h.Get(prefix+"Key-Md5")
	if _, a := h[prefix+"Algorithm"]; !a {
		if _, k := h[prefix+"Key"]; !k {
			if _, m := h[prefix+"Key-Md5"]; !m {
				return nil, nil
			}
		}
	}
	lp := strings.ToLower(prefix)
	switch {
	case alg == "":
		return nil, s3err.WithMessage(s3err.InvalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.").
			With("ArgumentName", lp+"algorithm")
	case alg != "AES256":
		return nil, s3err.WithMessage(s3err.InvalidArgument, "The encryption algorithm specified is not valid. Supported value: AES256.").
			With("ArgumentName", lp+"algorithm").With("ArgumentValue", truncate(alg, 256))
	case key == "":
		return nil, s3err.WithMessage(s3err.InvalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.").
			With("ArgumentName", lp+"key")
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) != sse.KeySize {
		return nil, s3err.WithMessage(s3err.InvalidArgument, "The secret key was invalid for the specified algorithm.").
			With("ArgumentName", lp+"key")
	}
	if sum == "" {
		return nil, s3err.WithMessage(s3err.InvalidArgument, "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.").
			With("ArgumentName", lp+"key-MD5")
	}
	want := md5.Sum(raw)
	if got, err := base64.StdEncoding.DecodeString(sum); err != nil || string(got) != string(want[:]) {
		return nil, s3err.WithMessage(s3err.InvalidArgument, "The calculated MD5 hash of the key did not match the hash that was provided.").
			With("ArgumentName", lp+"key-MD5")
	}
	return &customerKey{key: raw, keyMD5: sum}, nil
}

// secure reports whether the client's request reached Meridian over TLS:
// the direct listener's own connection, or — on the edge link — the edge's
// word for its client connection (regionalclient.HeaderClientTLS).
func (g *Gateway) secure(req *request) bool {
	if g.cfg.SSECOverHTTP {
		return true
	}
	if _, ok := edgeFrom(req.r); ok {
		return req.r.Header.Get(regionalclient.HeaderClientTLS) == "1"
	}
	return req.r.TLS != nil
}

// sseWrite is the encryption of one write: the stored description (no IV
// yet) and the object key in clear (SSE-C: the customer's key; SSE-S3: the
// data key).
type sseWrite struct {
	enc    *metapb.Encryption
	key    []byte
	keyMD5 string // SSE-C: echoed in responses
}

// writeEncryption is the encryption a PutObject, CreateMultipartUpload or
// CopyObject (destination) asks for: the request's headers, else the
// bucket's default encryption; nil = none.
func (g *Gateway) writeEncryption(req *request, b bucketsvc.Bucket) (*sseWrite, error) {
	h := req.r.Header
	ck, err := parseCustomerKey(h, prefixSSEC)
	if err != nil {
		return nil, err
	}
	mode := h.Get(hdrSSE)
	_, named := h[hdrSSE]
	if ck != nil {
		if named {
			return nil, s3err.WithMessage(s3err.InvalidArgument, "Server Side Encryption with Customer provided key is incompatible with the encryption method specified").
				With("ArgumentName", "x-amz-server-side-encryption").With("ArgumentValue", truncate(mode, 256))
		}
		if !g.secure(req) {
			return nil, errSSECInsecure()
		}
		salt, mac := sse.KeyCheck(ck.key)
		return &sseWrite{enc: &metapb.Encryption{Algorithm: metapb.SSEAlgCustomer, KeySalt: salt, KeyMAC: mac}, key: ck.key, keyMD5: ck.keyMD5}, nil
	}
	for _, k := range []string{hdrSSEKMSKeyID, hdrSSEContext, hdrSSEBucketKey} {
		if _, ok := h[k]; ok && mode != metapb.SSEAlgKMS {
			if mode == "" || mode == metapb.SSEAlgAES256 {
				return nil, s3err.WithMessage(s3err.InvalidArgument, "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms").
					With("ArgumentName", strings.ToLower(k))
			}
		}
	}
	switch {
	case !named && b.Encryption == nil:
		return nil, nil
	case !named && b.Encryption.Algorithm == metapb.SSEAlgAES256:
		return g.newSSES3(req.r.Context())
	case !named:
		return g.newSSEKMS(req, b.Owner, b.Encryption.KMSKeyID, b.Encryption.BucketKey, "")
	case mode == metapb.SSEAlgAES256:
		return g.newSSES3(req.r.Context())
	case mode == metapb.SSEAlgKMS:
		return g.newSSEKMS(req, b.Owner, h.Get(hdrSSEKMSKeyID), strings.EqualFold(h.Get(hdrSSEBucketKey), "true"), h.Get(hdrSSEContext))
	case mode == "aws:kms:dsse":
		return nil, s3err.WithMessage(s3err.NotImplemented, "Dual-layer SSE-KMS (aws:kms:dsse) is not supported; Meridian refuses the request rather than store the object under one layer.").
			With("Header", "x-amz-server-side-encryption")
	}
	return nil, errSSEMethod(mode)
}

// namesEncryption reports whether a request names the encryption of what it
// writes (x-amz-server-side-encryption or SSE-C), as opposed to getting the
// bucket's default.
func namesEncryption(h http.Header) bool {
	_, sse := h[hdrSSE]
	_, ssec := h[prefixSSEC+"Algorithm"]
	return sse || ssec
}

// newSSES3 makes a fresh SSE-S3 data key sealed by the region master key.
func (g *Gateway) newSSES3(ctx context.Context) (*sseWrite, error) {
	if g.cfg.SSEKeys == nil {
		return nil, s3err.WithMessage(s3err.NotImplemented, "SSE-S3 is not configured on this region (no master key service); Meridian refuses the request rather than store the object unencrypted.").
			With("Header", "x-amz-server-side-encryption")
	}
	key, sealed, kid, err := g.cfg.SSEKeys.NewDataKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("regional: new SSE-S3 data key: %w", err)
	}
	return &sseWrite{enc: &metapb.Encryption{Algorithm: metapb.SSEAlgAES256, SealedKey: sealed, KeyID: kid}, key: key}, nil
}

// newSSEKMS makes a fresh data key under the bucket owner's KMS key keyID.
func (g *Gateway) newSSEKMS(req *request, owner, keyID string, bucketKey bool, ctxHdr string) (*sseWrite, error) {
	if g.cfg.KMS == nil {
		return nil, s3err.WithMessage(s3err.NotImplemented, "SSE-KMS is not configured on this region (no key service); Meridian refuses the request rather than store the object under another key.").
			With("Header", "x-amz-server-side-encryption")
	}
	if req.auth != nil && req.auth.SignatureV2 {
		return nil, s3err.WithMessage(s3err.InvalidArgument, "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4.").
			With("ArgumentName", "Authorization")
	}
	encCtx, err := parseEncryptionContext(ctxHdr)
	if err != nil {
		return nil, err
	}
	key, sealed, arn, err := g.cfg.KMS.GenerateDataKey(req.r.Context(), owner, keyID, encCtx)
	if err != nil {
		return nil, kmsError(err)
	}
	return &sseWrite{enc: &metapb.Encryption{Algorithm: metapb.SSEAlgKMS, SealedKey: sealed, KeyID: arn, BucketKey: bucketKey, Context: ctxHdr}, key: key}, nil
}

// kmsError translates a key service's unknown-key error to S3's answer.
func kmsError(err error) error {
	var nf *sse.KeyNotFoundError
	if errors.As(err, &nf) {
		return s3err.WithMessage(s3err.KMSNotFound, nf.Msg)
	}
	return err
}

// parseEncryptionContext checks x-amz-server-side-encryption-context: base64
// of a JSON object of strings. The decoded bytes bind the data key.
func parseEncryptionContext(v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	var m map[string]string
	if err != nil || json.Unmarshal(raw, &m) != nil {
		return nil, s3err.WithMessage(s3err.InvalidArgument, "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON which represents a string-string map").
			With("ArgumentName", "x-amz-server-side-encryption-context")
	}
	return raw, nil
}

// checkDefaultEncryption refuses a bucket default this region cannot apply.
func (g *Gateway) checkDefaultEncryption(req *request, e *bucketsvc.BucketEncryption) error {
	switch e.Algorithm {
	case metapb.SSEAlgAES256:
		if g.cfg.SSEKeys == nil {
			return s3err.WithMessage(s3err.NotImplemented, "SSE-S3 is not configured on this region (no master key service).")
		}
		return nil
	}
	if g.cfg.KMS == nil {
		return s3err.WithMessage(s3err.NotImplemented, "SSE-KMS is not configured on this region (no key service).")
	}
	// The key must exist now, as S3 checks (a data key is made and dropped).
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	_, err = g.newSSEKMS(req, b.Owner, e.KMSKeyID, e.BucketKey, "")
	return err
}

// refuseReadSSEHeaders: GetObject and HeadObject take no
// x-amz-server-side-encryption* request header but the SSE-C triple.
func refuseReadSSEHeaders(h http.Header) error {
	for name := range h {
		if strings.HasPrefix(name, "X-Amz-Server-Side-Encryption") && !strings.HasPrefix(name, prefixSSEC) {
			return s3err.WithMessage(s3err.InvalidArgument, "x-amz-server-side-encryption header is not supported for this operation.").
				With("ArgumentName", strings.ToLower(name))
		}
	}
	return nil
}

// objectKey is the key that opens v's bytes, checked against the request's
// SSE-C headers (prefix: the object's or the copy source's): nil for an
// unencrypted object. keyMD5 is the SSE-C key's MD5 to echo.
func (g *Gateway) objectKey(req *request, enc *metapb.Encryption, prefix string) (key []byte, keyMD5 string, err error) {
	ck, err := parseCustomerKey(req.r.Header, prefix)
	if err != nil {
		return nil, "", err
	}
	switch {
	case enc == nil:
		if ck != nil {
			return nil, "", errSSENotApplicable()
		}
		return nil, "", nil
	case enc.Algorithm == metapb.SSEAlgCustomer:
		if ck == nil {
			return nil, "", errSSEStored()
		}
		if !g.secure(req) {
			return nil, "", errSSECInsecure()
		}
		if !sse.CheckKey(ck.key, enc.KeySalt, enc.KeyMAC) {
			return nil, "", s3err.New(s3err.AccessDenied)
		}
		return ck.key, ck.keyMD5, nil
	case enc.Algorithm == metapb.SSEAlgAES256 || enc.Algorithm == metapb.SSEAlgKMS:
		if ck != nil {
			return nil, "", errSSENotApplicable()
		}
		k, err := g.openManaged(req.r.Context(), enc)
		return k, "", err
	}
	return nil, "", fmt.Errorf("regional: unknown encryption %q", enc.Algorithm)
}

// openManaged opens the data key of an SSE-S3 or SSE-KMS object.
func (g *Gateway) openManaged(ctx context.Context, enc *metapb.Encryption) ([]byte, error) {
	if enc.Algorithm == metapb.SSEAlgKMS {
		if g.cfg.KMS == nil {
			return nil, errors.New("regional: an SSE-KMS object, but no key service is configured")
		}
		encCtx, err := parseEncryptionContext(enc.Context)
		if err != nil {
			return nil, err
		}
		k, err := g.cfg.KMS.Decrypt(ctx, enc.KeyID, enc.SealedKey, encCtx)
		if err != nil {
			return nil, fmt.Errorf("regional: open SSE-KMS data key (%s): %w", enc.KeyID, err)
		}
		return k, nil
	}
	if g.cfg.SSEKeys == nil {
		return nil, errors.New("regional: an SSE-S3 object, but no master key service is configured")
	}
	k, err := g.cfg.SSEKeys.OpenDataKey(ctx, enc.KeyID, enc.SealedKey)
	if err != nil {
		return nil, fmt.Errorf("regional: open SSE-S3 data key (master key %s): %w", enc.KeyID, err)
	}
	return k, nil
}

// uploadKey is the key of a part of upload u: the upload's SSE-C key (the
// request must repeat it) or its data key. nil for an unencrypted upload.
func (g *Gateway) uploadKey(req *request, u *metapb.Upload) (*sseWrite, error) {
	h := req.r.Header
	ck, err := parseCustomerKey(h, prefixSSEC)
	if err != nil {
		return nil, err
	}
	if mode := h.Get(hdrSSE); mode != "" && (u.SSE == nil || u.SSE.Algorithm != mode) {
		return nil, s3err.WithMessage(s3err.InvalidArgument, "x-amz-server-side-encryption header is not supported for this operation.").
			With("ArgumentName", "x-amz-server-side-encryption")
	}
	enc := u.SSE
	switch {
	case enc == nil:
		if ck != nil {
			return nil, errSSENotApplicable()
		}
		return nil, nil
	case enc.Algorithm == metapb.SSEAlgCustomer:
		if ck == nil {
			return nil, errSSEUploadEncrypted()
		}
		if !g.secure(req) {
			return nil, errSSECInsecure()
		}
		if !sse.CheckKey(ck.key, enc.KeySalt, enc.KeyMAC) {
			return nil, errSSEUploadMismatch()
		}
		return &sseWrite{enc: enc, key: ck.key, keyMD5: ck.keyMD5}, nil
	}
	if ck != nil {
		return nil, errSSENotApplicable()
	}
	key, err := g.openManaged(req.r.Context(), enc)
	if err != nil {
		return nil, err
	}
	return &sseWrite{enc: enc, key: key}, nil
}

// encryptBody wraps a body so the coordinator stores its ciphertext under a
// fresh stream IV (returned, for the record). The ETag stays the plaintext
// MD5 for SSE-S3 and becomes opaque for SSE-C, as S3's do.
func (s *sseWrite) encryptBody(b commit.Body) (commit.Body, []byte, error) {
	iv := sse.NewIV()
	st, err := sse.NewStream(s.key, iv, b.Size)
	if err != nil {
		return b, nil, err
	}
	b.Reader = st.Encrypt(b.Reader)
	b.Size = st.EncryptedSize()
	switch plain := b.ETag; s.enc.Algorithm {
	case metapb.SSEAlgCustomer:
		key := s.key
		b.ETag = func() string {
			m, _ := hex.DecodeString(plain())
			return sse.OpaqueETag(key, m)
		}
	case metapb.SSEAlgKMS:
		// Not the plaintext MD5 (as S3), and the same for a retried PUT.
		arn := s.enc.KeyID
		b.ETag = func() string {
			m, _ := hex.DecodeString(plain())
			return kmsETag(m, arn) // replicasse.go
		}
	}
	return b, iv, nil
}

// withIV is a copy of enc naming a single stream's IV.
func withIV(enc *metapb.Encryption, iv []byte) *metapb.Encryption {
	c := *enc
	c.IV = iv
	return &c
}

// setSSEHeaders writes the encryption response headers S3 sends for an
// object with enc (nil: none).
func setSSEHeaders(h http.Header, enc *metapb.Encryption, keyMD5 string) {
	if enc == nil {
		return
	}
	switch enc.Algorithm {
	case metapb.SSEAlgCustomer:
		h.Set("x-amz-server-side-encryption-customer-algorithm", "AES256")
		if keyMD5 != "" {
			h.Set("x-amz-server-side-encryption-customer-key-MD5", keyMD5)
		}
	case metapb.SSEAlgKMS:
		h.Set("x-amz-server-side-encryption", metapb.SSEAlgKMS)
		h.Set("x-amz-server-side-encryption-aws-kms-key-id", enc.KeyID)
		if enc.BucketKey {
			h.Set("x-amz-server-side-encryption-bucket-key-enabled", "true")
		}
	default:
		h.Set("x-amz-server-side-encryption", enc.Algorithm)
	}
}

// readObject streams the plaintext [off, off+length) of v to w: the stored
// bytes as they are, or — encrypted — only the packages of each stream the
// range overlaps, decrypted with key and written once they authenticate.
func (g *Gateway) readObject(ctx context.Context, v *metapb.ObjectVersion, key []byte, off, length int64, w io.Writer) error {
	if v.SSE == nil {
		return g.readRange(ctx, v, off, length, w)
	}
	if key == nil {
		return errors.New("regional: encrypted object read without its key")
	}
	type stream struct {
		iv   []byte
		size int64
	}
	var streams []stream
	if len(v.Parts) > 0 && v.SSE.IV == nil {
		for _, p := range v.Parts {
			streams = append(streams, stream{p.SSEIV, p.Size})
		}
	} else {
		streams = []stream{{v.SSE.IV, v.Size}}
	}
	end := off + length
	var plainOff, storedOff int64
	for _, s := range streams {
		st, err := sse.NewStream(key, s.iv, s.size)
		if err != nil {
			return err
		}
		from, to := max(off, plainOff), min(end, plainOff+s.size)
		if from < to {
			co, cl := st.CiphertextRange(from-plainOff, to-from)
			d := st.NewDecrypter(w, from-plainOff, to-from)
			if err := g.readRange(ctx, v, storedOff+co, cl, d); err != nil {
				return err
			}
			if err := d.Close(); err != nil {
				return err
			}
		}
		plainOff += s.size
		storedOff += st.EncryptedSize()
	}
	return nil
}

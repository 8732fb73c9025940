package regional

// Replicas of encrypted versions (docs/replication.md, "Encrypted
// versions"; docs/sse.md, "Replication"). The replicator sends an SSE-S3
// or SSE-KMS version as plaintext over the mutual-TLS link (its source
// region decrypted it with its own key); this region encrypts it before
// the commit coordinator sees a byte — under a fresh data key of its own
// SSE-S3 master key, or of the KMS key the rule names (ReplicaKmsKeyID) —
// with one new stream IV per part, so multipart replicas keep their part
// boundaries. An SSE-C version arrives as the source's ciphertext, kept as
// it is with the source's IVs and key check: the same customer key opens it.

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"slices"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/sse"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/commit"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// kmsETag is the ETag of an SSE-KMS object or part whose plaintext MD5 is
// sum, under the key arn: MD5(MD5 || ARN) (docs/sse.md, "SSE-KMS").
func kmsETag(sum []byte, arn string) string {
	e := md5.Sum(append(append([]byte(nil), sum...), arn...))
	return hex.EncodeToString(e[:])
}

// replicaKey is the encryption a replica is stored under: the record's
// description (no IV yet) and the data key; nil for none.
func (g *Gateway) replicaKey(ctx context.Context, b bucketsvc.Bucket, rep regionalclient.Replica) (*sseWrite, error) {
	e := rep.SSE
	alg, kmsKey, bucketKey, encCtx := "", "", false, ""
	switch {
	case e != nil:
		alg, kmsKey, bucketKey, encCtx = e.Algorithm, e.KMSKeyID, e.BucketKey, e.Context
	case b.Encryption != nil:
		// An unencrypted source version: the destination bucket's default
		// encryption applies to its replica, as to any write there.
		alg, kmsKey, bucketKey = b.Encryption.Algorithm, b.Encryption.KMSKeyID, b.Encryption.BucketKey
	default:
		return nil, nil
	}
	switch alg {
	case metapb.SSEAlgAES256:
		return g.newSSES3(ctx)
	case metapb.SSEAlgKMS:
		if g.cfg.KMS == nil {
			return nil, s3err.WithMessage(s3err.NotImplemented, "SSE-KMS is not configured on this region (no key service); the replica is refused rather than stored under another key.")
		}
		raw, err := parseEncryptionContext(encCtx)
		if err != nil {
			return nil, err
		}
		key, sealed, arn, err := g.cfg.KMS.GenerateDataKey(ctx, b.Owner, kmsKey, raw)
		if err != nil {
			return nil, fmt.Errorf("regional: replica key %q: %w", kmsKey, kmsError(err))
		}
		return &sseWrite{enc: &metapb.Encryption{Algorithm: metapb.SSEAlgKMS, SealedKey: sealed, KeyID: arn, BucketKey: bucketKey, Context: encCtx}, key: key}, nil
	}
	return nil, fmt.Errorf("regional: replica encryption %q", alg)
}

// replicaBodyFor is the body the commit coordinator stores for rep, read
// from src (the link's body), and sets v's encryption (and its parts'
// IVs). Plaintext bodies are verified against the source's ETag and part
// ETags as they stream (replicaBody) and encrypted after that check; an
// SSE-C body (ciphertext) can only be length-checked here — its packages
// authenticate when the customer reads it with the key.
func (g *Gateway) replicaBodyFor(ctx context.Context, b bucketsvc.Bucket, rep regionalclient.Replica, v *metapb.ObjectVersion, src io.ReadCloser) (commit.Body, error) {
	body := commit.Body{ETag: func() string { return rep.ETag }, Checksums: func() map[string]string { return rep.Checksums }}
	if rep.Raw() {
		e := rep.SSE
		v.SSE = &metapb.Encryption{Algorithm: metapb.SSEAlgCustomer, IV: e.IV, KeySalt: e.KeySalt, KeyMAC: e.KeyMAC}
		eb := &edgeBody{src: src, want: rep.BodySize()}
		body.Size, body.Reader = rep.BodySize(), eb
		body.Finish = func() error {
			if _, err := io.Copy(io.Discard, eb); err != nil {
				return err
			}
			if eb.n != eb.want {
				return s3err.New(s3err.IncompleteBody)
			}
			return nil
		}
		return body, nil
	}
	vb := newReplicaBody(&edgeBody{src: src, want: rep.Size}, rep)
	body.Size, body.Reader, body.Finish = rep.Size, vb, vb.finish
	k, err := g.replicaKey(ctx, b, rep)
	if err != nil || k == nil {
		return body, err
	}
	// New IVs: one stream per part (the parts list is the source's, its
	// IVs replaced), else one.
	var iv []byte
	if len(v.Parts) > 0 {
		v.Parts = slices.Clone(v.Parts)
		for i := range v.Parts {
			v.Parts[i].SSEIV = sse.NewIV()
		}
	} else {
		iv = sse.NewIV()
	}
	r := rep
	r.Parts = v.Parts
	spans := r.Spans(iv)
	enc, err := sse.EncryptSpans(k.key, spans, vb)
	if err != nil {
		return body, err
	}
	body.Size, body.Reader = sse.StoredSize(spans), enc
	v.SSE = withIV(k.enc, iv)
	return body, nil
}

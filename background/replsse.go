package background

// Replication of encrypted versions (docs/replication.md, "Encrypted
// versions"). Shards hold ciphertext under this region's keys, which never
// leave the region:
//
//   - SSE-S3 (replicated by default) and SSE-KMS (only when the rule's
//     SourceSelectionCriteria enable SseKmsEncryptedObjects): the data key
//     is opened here — SSE-S3 by this region's master key ring, SSE-KMS by
//     this region's key service — the stored packages are authenticated and
//     decrypted as they stream, and the plaintext goes to the destination
//     gateway only over the mutual-TLS inter-region link. The destination
//     encrypts it under its own SSE-S3 master key or the rule's
//     ReplicaKmsKeyID before storing a byte (regional/replicasse.go).
//   - SSE-C (replicated by default, as in S3): the customer key is not
//     here, and need not be: the stream keys derive from it and each
//     stream's IV, and only a salted HMAC of it is stored, so the stored
//     ciphertext, the IVs and the key check are copied as they are and the
//     replica opens with the same customer key.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/meridian-s3/meridian/internal/s3replication"
	"github.com/meridian-s3/meridian/internal/sse"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// ReplSSEKeys opens the data keys of this region's SSE-S3 versions
// (regional/ssekeys.Ring implements it).
type ReplSSEKeys interface {
	OpenDataKey(ctx context.Context, keyID string, sealed []byte) ([]byte, error)
}

// ReplKMS opens the data keys of this region's SSE-KMS versions
// (regional/ssekms.Service implements it).
type ReplKMS interface {
	Decrypt(ctx context.Context, arn string, sealed, encCtx []byte) ([]byte, error)
}

// errNoKeyService: an encrypted version, but this process was given no key
// service to open it (Config.SSEKeys / Config.KMS).
var errNoKeyService = errors.New("background: no key service for this region's encrypted versions (the replicator needs the catalog's server keys)")

// ruleForVersion is the rule that replicates v now: SSE-KMS versions only
// by rules that select them (SourceSelectionCriteria).
func ruleForVersion(c *s3replication.Configuration, v metapb.ObjectVersion) (s3replication.Rule, bool) {
	return c.RuleForObject(v.Key, v.Tags, v.SSE != nil && v.SSE.Algorithm == metapb.SSEAlgKMS)
}

// replicaSSE is how v's replica is encrypted (nil: v is not) and the key
// that decrypts v's stored bytes here (nil: sent as stored — unencrypted,
// or SSE-C ciphertext).
func (r *replicator) replicaSSE(ctx context.Context, v metapb.ObjectVersion, rule s3replication.Rule) (*regionalclient.ReplicaSSE, []byte, error) {
	e := v.SSE
	if e == nil || v.IsDeleteMarker() {
		return nil, nil, nil
	}
	switch e.Algorithm {
	case metapb.SSEAlgAES256:
		if r.cfg.SSEKeys == nil {
			return nil, nil, errNoKeyService
		}
		key, err := r.cfg.SSEKeys.OpenDataKey(ctx, e.KeyID, e.SealedKey)
		if err != nil {
			return nil, nil, fmt.Errorf("open SSE-S3 data key (master key %s): %w", e.KeyID, err)
		}
		return &regionalclient.ReplicaSSE{Algorithm: metapb.SSEAlgAES256}, key, nil
	case metapb.SSEAlgKMS:
		if rule.Destination.ReplicaKMSKeyID == "" { // ruleForVersion selected it: a valid rule names one
			return nil, nil, errors.New("the rule names no ReplicaKmsKeyID")
		}
		if r.cfg.KMS == nil {
			return nil, nil, errNoKeyService
		}
		encCtx, err := base64.StdEncoding.DecodeString(e.Context)
		if err != nil {
			return nil, nil, fmt.Errorf("SSE-KMS encryption context: %w", err)
		}
		if e.Context == "" {
			encCtx = nil
		}
		key, err := r.cfg.KMS.Decrypt(ctx, e.KeyID, e.SealedKey, encCtx)
		if err != nil {
			return nil, nil, fmt.Errorf("open SSE-KMS data key (%s): %w", e.KeyID, err)
		}
		return &regionalclient.ReplicaSSE{Algorithm: metapb.SSEAlgKMS, KMSKeyID: rule.Destination.ReplicaKMSKeyID,
			SourceKeyID: e.KeyID, BucketKey: e.BucketKey, Context: e.Context}, key, nil
	case metapb.SSEAlgCustomer:
		return &regionalclient.ReplicaSSE{Algorithm: metapb.SSEAlgCustomer, IV: e.IV, KeySalt: e.KeySalt, KeyMAC: e.KeyMAC}, nil, nil
	}
	return nil, nil, fmt.Errorf("unknown encryption %q", e.Algorithm)
}

// versionSpans are an encrypted version's streams as stored.
func versionSpans(v *metapb.ObjectVersion) []sse.Span {
	if len(v.Parts) > 0 && v.SSE.IV == nil {
		out := make([]sse.Span, len(v.Parts))
		for i, p := range v.Parts {
			out[i] = sse.Span{IV: p.SSEIV, Size: p.Size}
		}
		return out
	}
	return []sse.Span{{IV: v.SSE.IV, Size: v.Size}}
}

// readSource writes v's replica body to w: its bytes as stored when it is
// unencrypted or key is nil (SSE-C: the ciphertext), else the plaintext of
// its stored streams, each package written once it authenticated.
func (r *replicator) readSource(ctx context.Context, v *metapb.ObjectVersion, key []byte, w io.Writer) error {
	stored := v.Size
	var dec *sse.SpansDecrypter
	if v.SSE != nil {
		spans := versionSpans(v)
		stored = sse.StoredSize(spans)
		if key != nil {
			var err error
			if dec, err = sse.DecryptSpans(key, spans, w); err != nil {
				return err
			}
			w = dec
		}
	}
	var err error
	if len(v.Segments) == 0 {
		if int64(len(v.Inline)) != stored {
			return fmt.Errorf("inline version holds %d bytes, want %d", len(v.Inline), stored)
		}
		_, err = w.Write(v.Inline)
	} else {
		err = r.src.Read(ctx, v.Segments, v.Scheme, 0, stored, w)
	}
	if err == nil && dec != nil {
		err = dec.Close()
	}
	return err
}

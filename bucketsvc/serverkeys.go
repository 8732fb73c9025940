package bucketsvc

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"time"
)

// ServerKey is a key-encryption key Meridian keeps in the catalog: a
// version of a region's SSE-S3 master key, or a key of the built-in KMS
// (docs/sse.md, "Key hierarchy"). Stores keep Material sealed by the
// catalog's own key — the key that seals access-key secrets
// (bucketsvc/secretcrypt) — bound to (Scope, ID).
type ServerKey struct {
	// Scope groups keys: "sse-s3/<region>" or "kms/<account>".
	Scope string
	// ID is unique within Scope: an SSE-S3 master key version ("1", "2",
	// …) or a KMS key id.
	ID string
	// Name is an optional alias (KMS keys).
	Name string
	// Material is the 32-byte key in clear; never logged.
	Material []byte
	Created  time.Time
}

// LogValue keeps the key material out of logs.
func (k ServerKey) LogValue() any {
	return map[string]any{"scope": k.Scope, "id": k.ID, "name": k.Name, "created": k.Created}
}

// ErrServerKeyExists: a server key with that (Scope, ID) is stored already.
var ErrServerKeyExists = errors.New("bucketsvc: server key exists")

// ServerKeyStore is the optional capability of a Store to keep server keys
// (both stores implement it). Keys are only added, never changed: rotation
// adds a version, so everything sealed by an older one stays readable.
type ServerKeyStore interface {
	// PutServerKey stores k (ErrServerKeyExists when its Scope and ID are
	// taken).
	PutServerKey(ctx context.Context, k ServerKey) error
	// ListServerKeys returns the keys of scope with their material, oldest
	// first (ties by ID).
	ListServerKeys(ctx context.Context, scope string) ([]ServerKey, error)
}

// ServerKeyAAD binds a sealed server key to its scope and id.
func ServerKeyAAD(scope, id string) []byte {
	return []byte("meridian server key\x00" + scope + "\x00" + id)
}

// SSES3Scope is the scope of a region's SSE-S3 master key versions.
func SSES3Scope(region string) string { return "sse-s3/" + region }

// AddKeyVersion stores material as the next numeric version of scope
// ("1", "2", …): the first version of a new scope, or a rotation. Two
// concurrent callers never store the same version; the loser retries with
// the next number, so both end up stored (two rotations).
func AddKeyVersion(ctx context.Context, s ServerKeyStore, scope string, material []byte) (ServerKey, error) {
	for range 5 {
		keys, err := s.ListServerKeys(ctx, scope)
		if err != nil {
			return ServerKey{}, err
		}
		next := 1
		for _, k := range keys {
			if n, err := strconv.Atoi(k.ID); err == nil && n >= next {
				next = n + 1
			}
		}
		k := ServerKey{Scope: scope, ID: strconv.Itoa(next), Material: material, Created: time.Now().UTC()}
		err = s.PutServerKey(ctx, k)
		if errors.Is(err, ErrServerKeyExists) {
			continue
		}
		return k, err
	}
	return ServerKey{}, errors.New("bucketsvc: could not add a key version (too many concurrent additions)")
}

// RotateSSES3Key adds a new SSE-S3 master key version for region (docs/sse.md):
// gateways seal new objects' data keys with it; objects sealed by older
// versions stay readable, since versions are never removed.
func RotateSSES3Key(ctx context.Context, s ServerKeyStore, region string) (ServerKey, error) {
	m := make([]byte, 32)
	rand.Read(m) // crypto/rand.Read never fails (Go ≥1.24)
	return AddKeyVersion(ctx, s, SSES3Scope(region), m)
}

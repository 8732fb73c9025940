// Package bucketsvc is the global bucket catalog: accounts, access keys and
// buckets (name → home region, versioning, erasure scheme, policy,
// replication rules). Store is the contract every implementation passes
// (bucketsvc/catalogtest holds the shared contract suite): the embedded store
// (bbolt, the single-machine default) and the SQL store (CockroachDB in
// production, PostgreSQL in tests).
package bucketsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/meridian-s3/meridian/internal/s3acl"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3cors"
	"github.com/meridian-s3/meridian/internal/s3lifecycle"
	"github.com/meridian-s3/meridian/internal/s3lock"
	"github.com/meridian-s3/meridian/internal/s3replication"
)

// Sentinel errors.
var (
	ErrNoSuchBucket    = errors.New("bucketsvc: no such bucket")
	ErrNoSuchAccessKey = errors.New("bucketsvc: no such access key")
	ErrNoSuchAccount   = errors.New("bucketsvc: no such account")
	ErrAccessKeyExists = errors.New("bucketsvc: access key exists")
	ErrAccountExists   = errors.New("bucketsvc: account exists")
	ErrInvalidUpdate   = errors.New("bucketsvc: update may not change a bucket's name, creation time or incarnation")
	ErrClosed          = errors.New("bucketsvc: store closed")
)

// BucketExistsError reports a CreateBucket on a taken name. Owner tells the
// gateway whether to answer BucketAlreadyOwnedByYou or BucketAlreadyExists.
type BucketExistsError struct {
	Name  string
	Owner string
}

func (e *BucketExistsError) Error() string {
	return fmt.Sprintf("bucketsvc: bucket %q exists (owner %s)", e.Name, e.Owner)
}

// KeyStatus is an access key's state.
type KeyStatus string

const (
	KeyActive  KeyStatus = "Active"
	KeyRevoked KeyStatus = "Revoked"
)

// VersioningState of a bucket, as S3 names it ("" = never enabled).
type VersioningState string

const (
	VersioningOff       VersioningState = ""
	VersioningEnabled   VersioningState = "Enabled"
	VersioningSuspended VersioningState = "Suspended"
)

// Account owns buckets and access keys.
type Account struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"display_name"`
	Created     time.Time `json:"created"`
}

// AccessKey is a SigV4 credential. Stores keep Secret encrypted at rest.
type AccessKey struct {
	ID        string    `json:"id"`
	Secret    string    `json:"secret"`
	AccountID string    `json:"account_id"`
	Status    KeyStatus `json:"status"`
	Created   time.Time `json:"created"`
}

// ErasureScheme of a bucket's objects.
type ErasureScheme struct {
	Data   int `json:"data"`
	Parity int `json:"parity"`
}

// Bucket is a catalog entry. Name is globally unique (invariant 7).
//
// Incarnation is the bucket's identity (invariant 11): an immutable id given
// at creation, different for every creation of the same name. The region
// keys the bucket's object records by it (MetaKey), so a re-created name
// never sees an earlier incarnation's data. Buckets created before
// incarnations existed have "" (the legacy incarnation, keyed by name).
type Bucket struct {
	Name        string          `json:"name"`
	Incarnation string          `json:"incarnation,omitempty"`
	Owner       string          `json:"owner"` // account id
	Region      string          `json:"region"`
	Versioning  VersioningState `json:"versioning,omitempty"`
	Scheme      ErasureScheme   `json:"scheme"`
	Policy      string          `json:"policy,omitempty"` // bucket policy JSON
	// Replication is the bucket's replication configuration (nil: none),
	// as PutBucketReplication validated it (internal/s3replication).
	Replication *s3replication.Configuration `json:"replication,omitempty"`
	// Lifecycle is the bucket's lifecycle configuration (nil: none), as
	// PutBucketLifecycleConfiguration validated it (docs/lifecycle.md).
	Lifecycle *s3lifecycle.Configuration `json:"lifecycle,omitempty"`
	Created   time.Time                  `json:"created"`
	// Tags are the bucket's tags (PutBucketTagging; nil: none), as
	// s3api.ValidateTags validated them.
	Tags map[string]string `json:"tags,omitempty"`
	// Ownership is the bucket's ownership controls (docs/access-control.md):
	// "" when it has none (deleted, or created before they existed).
	Ownership s3acl.Ownership `json:"ownership,omitempty"`
	// ACL is the bucket ACL (nil: S3's default, the owner's FULL_CONTROL),
	// resolved to canonical users and groups (internal/s3acl).
	ACL *s3acl.ACL `json:"acl,omitempty"`
	// CORS is the bucket's CORS configuration (nil: none), as
	// PutBucketCors validated it (internal/s3cors).
	CORS *s3cors.Configuration `json:"cors,omitempty"`
	// ObjectLock is the bucket's Object Lock configuration (nil: Object
	// Lock not enabled), set by CreateBucket with
	// x-amz-bucket-object-lock-enabled or PutObjectLockConfiguration
	// (docs/object-lock.md); once set it is never removed.
	ObjectLock *s3lock.Configuration `json:"object_lock,omitempty"`
	// Encryption is the bucket's default encryption
	// (PutBucketEncryption; nil: none configured, docs/sse.md).
	Encryption *BucketEncryption `json:"encryption,omitempty"`
	// PublicAccessBlock is the bucket's Block Public Access configuration
	// (PutPublicAccessBlock; nil: none, docs/access-control.md).
	PublicAccessBlock *s3authz.PublicAccessBlock `json:"public_access_block,omitempty"`
}

// BucketEncryption is a bucket's default server-side encryption: applied to
// every new object whose request names none.
type BucketEncryption struct {
	// Algorithm: "AES256" (SSE-S3) or "aws:kms" (SSE-KMS).
	Algorithm string `json:"alg"`
	// KMSKeyID is the KMS key of aws:kms ("" = the account's default key).
	KMSKeyID string `json:"kms,omitempty"`
	// BucketKey is BucketKeyEnabled, kept as configured.
	BucketKey bool `json:"bkey,omitempty"`
}

// NewIncarnation returns a fresh incarnation id: 128 random bits, hex.
func NewIncarnation() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥1.24)
	return hex.EncodeToString(b[:])
}

// MetaKey is the bucket's key in the metadata service: "<name>/<incarnation>"
// ('/' never occurs in a bucket name, so it cannot collide with a legacy
// bucket's key), or the bare name for the legacy incarnation "".
func (b Bucket) MetaKey() string {
	if b.Incarnation == "" {
		return b.Name
	}
	return b.Name + "/" + b.Incarnation
}

// Store is the catalog. Every method is safe for concurrent use; every
// mutation is one serializable transaction.
type Store interface {
	CreateAccount(ctx context.Context, a Account) (Account, error) // ID generated when empty
	GetAccount(ctx context.Context, id string) (Account, error)

	// PutAccessKey stores a key (ErrAccessKeyExists if the id is taken);
	// NewAccessKey generates and stores one for an account.
	PutAccessKey(ctx context.Context, k AccessKey) error
	NewAccessKey(ctx context.Context, accountID string) (AccessKey, error)
	RevokeAccessKey(ctx context.Context, id string) error
	// LookupAccessKey returns the key with its secret in clear text
	// (ErrNoSuchAccessKey when absent). Revoked keys are returned with their status.
	LookupAccessKey(ctx context.Context, id string) (AccessKey, error)

	// CreateBucket inserts b; a taken name gives *BucketExistsError. An
	// empty b.Incarnation is filled with NewIncarnation(); callers that need
	// the id set it themselves before the call.
	CreateBucket(ctx context.Context, b Bucket) error
	GetBucket(ctx context.Context, name string) (Bucket, error)
	// UpdateBucket applies fn to the bucket in one transaction; fn may not
	// change the name, creation time or incarnation (ErrInvalidUpdate).
	UpdateBucket(ctx context.Context, name string, fn func(*Bucket) error) error
	// DeleteBucket deletes the bucket named name, whatever its incarnation.
	DeleteBucket(ctx context.Context, name string) error
	// DeleteBucketIncarnation deletes the bucket only if name still holds
	// that incarnation ("" = the legacy one); otherwise ErrNoSuchBucket.
	DeleteBucketIncarnation(ctx context.Context, name, incarnation string) error
	// ListBuckets lists buckets ordered by name; owner "" lists all.
	ListBuckets(ctx context.Context, owner string) ([]Bucket, error)

	Close() error
}

package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	json "github.com/goccy/go-json" // drop-in encoding/json; the catalog is read on every request
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/secretcrypt"
	"github.com/meridian-s3/meridian/internal/s3authz"
)

// ErrCorruptRecord reports a stored record that does not decode.
var ErrCorruptRecord = errors.New("embedded: corrupt record")

// Config configures a Store.
type Config struct {
	// EncryptionKey seals access-key secrets (32 bytes, AES-256-GCM).
	EncryptionKey []byte
	// OldEncryptionKeys open secrets sealed before a key rotation.
	OldEncryptionKeys [][]byte
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// LockTimeout bounds the wait for the file lock held by another process.
	LockTimeout time.Duration
}

// DefaultConfig returns a Config without an encryption key (the caller must
// set one).
func DefaultConfig() Config { return Config{LockTimeout: 5 * time.Second} }

// Validate checks the configuration.
func (c Config) Validate() error {
	if len(c.EncryptionKey) != secretcrypt.KeySize {
		return fmt.Errorf("embedded: %w (got %d)", secretcrypt.ErrKeySize, len(c.EncryptionKey))
	}
	for i, k := range c.OldEncryptionKeys {
		if len(k) != secretcrypt.KeySize {
			return fmt.Errorf("embedded: old key %d: %w", i, secretcrypt.ErrKeySize)
		}
	}
	if c.LockTimeout < 0 {
		return errors.New("embedded: negative LockTimeout")
	}
	return nil
}

var (
	bkMeta    = []byte("meta")
	bkAccount = []byte("accounts")
	bkKeys    = []byte("access_keys")
	bkBuckets = []byte("buckets")
	bkByOwner = []byte("buckets_by_owner")
)

const formatVersion = 1

// Store is the bbolt-backed catalog. It implements bucketsvc.Store.
type Store struct {
	log  *slog.Logger
	ring *secretcrypt.Keyring

	mu     sync.RWMutex // held shared by operations, exclusively by Close
	closed bool
	db     *bolt.DB
}

var _ bucketsvc.Store = (*Store)(nil)

// Open opens (creating if needed) the catalog file at path.
func Open(path string, cfg Config) (*Store, error) {
	if cfg.LockTimeout == 0 {
		cfg.LockTimeout = DefaultConfig().LockTimeout
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ring, err := secretcrypt.NewKeyring(cfg.EncryptionKey, cfg.OldEncryptionKeys...)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cfg.LockTimeout})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bkMeta, bkAccount, bkKeys, bkBuckets, bkByOwner} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bkMeta)
		switch v := meta.Get([]byte("format")); {
		case v == nil:
			return meta.Put([]byte("format"), []byte("1"))
		case string(v) != "1":
			return fmt.Errorf("embedded: catalog format %q is newer than this binary understands (1)", v)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: init %s: %w", path, err)
	}
	log.Info("bucket catalog opened", "path", path, "key_id", ring.PrimaryKeyID())
	return &Store{log: log, ring: ring, db: db}, nil
}

// Close closes the file. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return bucketsvc.ErrClosed
	}
	return s.db.View(fn)
}

func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return bucketsvc.ErrClosed
	}
	return s.db.Update(fn)
}

// now is the store's timestamp: UTC, microsecond precision (what the SQL
// store keeps too, so both stores return equal times).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Records.

type accountRecord struct {
	V           int       `json:"v"`
	ID          string    `json:"id"`
	DisplayName string    `json:"display_name"`
	Created     time.Time `json:"created"`
	// PublicAccessBlock is the account's Block Public Access (accountpab.go).
	PublicAccessBlock *s3authz.PublicAccessBlock `json:"public_access_block,omitempty"`
}

type keyRecord struct {
	V            int                 `json:"v"`
	ID           string              `json:"id"`
	AccountID    string              `json:"account_id"`
	Status       bucketsvc.KeyStatus `json:"status"`
	Created      time.Time           `json:"created"`
	SealedSecret []byte              `json:"sealed_secret"`
	SecretKeyID  string              `json:"secret_key_id"`
}

type bucketRecord struct {
	V int `json:"v"`
	bucketsvc.Bucket
}

func decode(raw []byte, v any, wantV *int) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptRecord, err)
	}
	if *wantV != formatVersion {
		return fmt.Errorf("%w: format version %d", ErrCorruptRecord, *wantV)
	}
	return nil
}

func put(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// Accounts.

// CreateAccount implements bucketsvc.Store.
func (s *Store) CreateAccount(ctx context.Context, a bucketsvc.Account) (bucketsvc.Account, error) {
	if a.ID == "" {
		a.ID = bucketsvc.NewAccountID()
	}
	a.Created = normTime(a.Created)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bkAccount)
		if b.Get([]byte(a.ID)) != nil {
			return fmt.Errorf("%w: %s", bucketsvc.ErrAccountExists, a.ID)
		}
		return put(b, []byte(a.ID), accountRecord{V: formatVersion, ID: a.ID, DisplayName: a.DisplayName, Created: a.Created})
	})
	if err != nil {
		return bucketsvc.Account{}, err
	}
	return a, nil
}

// GetAccount implements bucketsvc.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (bucketsvc.Account, error) {
	var rec accountRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bkAccount).Get([]byte(id))
		if raw == nil {
			return bucketsvc.ErrNoSuchAccount
		}
		return decode(raw, &rec, &rec.V)
	})
	if err != nil {
		return bucketsvc.Account{}, err
	}
	return bucketsvc.Account{ID: rec.ID, DisplayName: rec.DisplayName, Created: rec.Created}, nil
}

// Access keys.

// PutAccessKey implements bucketsvc.Store.
func (s *Store) PutAccessKey(ctx context.Context, k bucketsvc.AccessKey) error {
	if k.ID == "" || k.Secret == "" {
		return errors.New("embedded: access key needs an id and a secret")
	}
	if k.Status == "" {
		k.Status = bucketsvc.KeyActive
	}
	rec := keyRecord{
		V: formatVersion, ID: k.ID, AccountID: k.AccountID, Status: k.Status, Created: normTime(k.Created),
		SealedSecret: s.ring.Seal([]byte(k.Secret), []byte(k.ID)),
		SecretKeyID:  s.ring.PrimaryKeyID(),
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bkAccount).Get([]byte(k.AccountID)) == nil {
			return fmt.Errorf("%w: %s", bucketsvc.ErrNoSuchAccount, k.AccountID)
		}
		keys := tx.Bucket(bkKeys)
		if keys.Get([]byte(k.ID)) != nil {
			return fmt.Errorf("%w: %s", bucketsvc.ErrAccessKeyExists, k.ID)
		}
		return put(keys, []byte(k.ID), rec)
	})
}

// NewAccessKey implements bucketsvc.Store.
func (s *Store) NewAccessKey(ctx context.Context, accountID string) (bucketsvc.AccessKey, error) {
	k := bucketsvc.AccessKey{
		ID: bucketsvc.NewAccessKeyID(), Secret: bucketsvc.NewSecretKey(),
		AccountID: accountID, Status: bucketsvc.KeyActive, Created: now(),
	}
	if err := s.PutAccessKey(ctx, k); err != nil {
		return bucketsvc.AccessKey{}, err
	}
	s.log.InfoContext(ctx, "access key created", "key", k)
	return k, nil
}

// RevokeAccessKey implements bucketsvc.Store.
func (s *Store) RevokeAccessKey(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		keys := tx.Bucket(bkKeys)
		raw := keys.Get([]byte(id))
		if raw == nil {
			return bucketsvc.ErrNoSuchAccessKey
		}
		var rec keyRecord
		if err := decode(raw, &rec, &rec.V); err != nil {
			return err
		}
		rec.Status = bucketsvc.KeyRevoked
		return put(keys, []byte(id), rec)
	})
}

// LookupAccessKey implements bucketsvc.Store.
func (s *Store) LookupAccessKey(ctx context.Context, id string) (bucketsvc.AccessKey, error) {
	var rec keyRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bkKeys).Get([]byte(id))
		if raw == nil {
			return bucketsvc.ErrNoSuchAccessKey
		}
		return decode(raw, &rec, &rec.V)
	})
	if err != nil {
		return bucketsvc.AccessKey{}, err
	}
	secret, err := s.ring.Open(rec.SealedSecret, []byte(rec.ID))
	if err != nil {
		return bucketsvc.AccessKey{}, fmt.Errorf("embedded: access key %s: %w", id, err)
	}
	return bucketsvc.AccessKey{ID: rec.ID, Secret: string(secret), AccountID: rec.AccountID, Status: rec.Status, Created: rec.Created}, nil
}

// Buckets.

func ownerKey(owner, name string) []byte {
	k := make([]byte, 0, len(owner)+1+len(name))
	k = append(k, owner...)
	k = append(k, 0)
	return append(k, name...)
}

// CreateBucket implements bucketsvc.Store.
func (s *Store) CreateBucket(ctx context.Context, b bucketsvc.Bucket) error {
	if err := bucketsvc.ValidateBucketName(b.Name); err != nil {
		return err
	}
	b.Created = normTime(b.Created)
	if b.Incarnation == "" {
		b.Incarnation = bucketsvc.NewIncarnation()
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		buckets := tx.Bucket(bkBuckets)
		if raw := buckets.Get([]byte(b.Name)); raw != nil {
			var rec bucketRecord
			if err := decode(raw, &rec, &rec.V); err != nil {
				return err
			}
			return &bucketsvc.BucketExistsError{Name: b.Name, Owner: rec.Owner}
		}
		if err := put(buckets, []byte(b.Name), bucketRecord{V: formatVersion, Bucket: b}); err != nil {
			return err
		}
		return tx.Bucket(bkByOwner).Put(ownerKey(b.Owner, b.Name), nil)
	})
}

// GetBucket implements bucketsvc.Store.
func (s *Store) GetBucket(ctx context.Context, name string) (bucketsvc.Bucket, error) {
	var rec bucketRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bkBuckets).Get([]byte(name))
		if raw == nil {
			return bucketsvc.ErrNoSuchBucket
		}
		return decode(raw, &rec, &rec.V)
	})
	return rec.Bucket, err
}

// UpdateBucket implements bucketsvc.Store. fn runs inside the write
// transaction, exactly once per call.
func (s *Store) UpdateBucket(ctx context.Context, name string, fn func(*bucketsvc.Bucket) error) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		buckets := tx.Bucket(bkBuckets)
		raw := buckets.Get([]byte(name))
		if raw == nil {
			return bucketsvc.ErrNoSuchBucket
		}
		var rec bucketRecord
		if err := decode(raw, &rec, &rec.V); err != nil {
			return err
		}
		old := rec.Bucket
		if err := fn(&rec.Bucket); err != nil {
			return err
		}
		if rec.Name != old.Name || !rec.Created.Equal(old.Created) || rec.Incarnation != old.Incarnation {
			return bucketsvc.ErrInvalidUpdate
		}
		if rec.Owner != old.Owner {
			idx := tx.Bucket(bkByOwner)
			if err := idx.Delete(ownerKey(old.Owner, name)); err != nil {
				return err
			}
			if err := idx.Put(ownerKey(rec.Owner, name), nil); err != nil {
				return err
			}
		}
		return put(buckets, []byte(name), rec)
	})
}

// DeleteBucket implements bucketsvc.Store. Emptiness of the bucket is the
// regional gateway's check (it owns the objects), made before this call.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	return s.deleteBucket(ctx, name, nil)
}

// DeleteBucketIncarnation implements bucketsvc.Store.
func (s *Store) DeleteBucketIncarnation(ctx context.Context, name, incarnation string) error {
	return s.deleteBucket(ctx, name, &incarnation)
}

func (s *Store) deleteBucket(ctx context.Context, name string, incarnation *string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		buckets := tx.Bucket(bkBuckets)
		raw := buckets.Get([]byte(name))
		if raw == nil {
			return bucketsvc.ErrNoSuchBucket
		}
		var rec bucketRecord
		if err := decode(raw, &rec, &rec.V); err != nil {
			return err
		}
		if incarnation != nil && rec.Incarnation != *incarnation {
			return bucketsvc.ErrNoSuchBucket
		}
		if err := tx.Bucket(bkByOwner).Delete(ownerKey(rec.Owner, name)); err != nil {
			return err
		}
		return buckets.Delete([]byte(name))
	})
}

// ListBuckets implements bucketsvc.Store.
func (s *Store) ListBuckets(ctx context.Context, owner string) ([]bucketsvc.Bucket, error) {
	var out []bucketsvc.Bucket
	err := s.view(ctx, func(tx *bolt.Tx) error {
		buckets := tx.Bucket(bkBuckets)
		add := func(raw []byte) error {
			var rec bucketRecord
			if err := decode(raw, &rec, &rec.V); err != nil {
				return err
			}
			out = append(out, rec.Bucket)
			return nil
		}
		if owner == "" {
			return buckets.ForEach(func(_, v []byte) error { return add(v) })
		}
		prefix := ownerKey(owner, "")
		c := tx.Bucket(bkByOwner).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			raw := buckets.Get(k[len(prefix):])
			if raw == nil {
				return fmt.Errorf("%w: owner index names missing bucket %q", ErrCorruptRecord, k[len(prefix):])
			}
			if err := add(raw); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

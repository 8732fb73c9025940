package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/secretcrypt"
	"github.com/meridian-s3/meridian/internal/s3acl"
	"github.com/meridian-s3/meridian/internal/s3replication"
)

// Errors.
var (
	ErrTooManyRetries  = errors.New("sqlstore: transaction still conflicting after the maximum number of attempts")
	ErrAmbiguousCommit = errors.New("sqlstore: commit outcome unknown")
)

func errClosed() error { return bucketsvc.ErrClosed }

// Config configures a Store.
type Config struct {
	// EncryptionKey seals access-key secrets (32 bytes, AES-256-GCM).
	EncryptionKey []byte
	// OldEncryptionKeys open secrets sealed before a key rotation.
	OldEncryptionKeys [][]byte
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// MaxConns bounds the connection pool.
	MaxConns int32
	// Regions, on CockroachDB, make the database multi-region with
	// Regions[0] as primary and the catalog tables GLOBAL. Ignored on
	// PostgreSQL.
	Regions []string
	// MaxTxAttempts bounds how often one transaction runs (≥1).
	MaxTxAttempts int
	// RetryBackoff is the first restart's maximum delay; it doubles per
	// attempt up to MaxRetryBackoff (full jitter).
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// OnTxRetry, if set, is called before every restart (tests, metrics).
	OnTxRetry func(TxRetry)
}

// DefaultConfig returns the defaults (the caller sets EncryptionKey).
func DefaultConfig() Config {
	return Config{MaxConns: 16, MaxTxAttempts: 30, RetryBackoff: 2 * time.Millisecond, MaxRetryBackoff: 200 * time.Millisecond}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxConns == 0 {
		c.MaxConns = d.MaxConns
	}
	if c.MaxTxAttempts == 0 {
		c.MaxTxAttempts = d.MaxTxAttempts
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = d.RetryBackoff
	}
	if c.MaxRetryBackoff == 0 {
		c.MaxRetryBackoff = d.MaxRetryBackoff
	}
	return c
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if len(c.EncryptionKey) != secretcrypt.KeySize {
		return fmt.Errorf("sqlstore: %w (got %d)", secretcrypt.ErrKeySize, len(c.EncryptionKey))
	}
	for i, k := range c.OldEncryptionKeys {
		if len(k) != secretcrypt.KeySize {
			return fmt.Errorf("sqlstore: old key %d: %w", i, secretcrypt.ErrKeySize)
		}
	}
	switch {
	case c.MaxConns < 1:
		return errors.New("sqlstore: MaxConns must be at least 1")
	case c.MaxTxAttempts < 1:
		return errors.New("sqlstore: MaxTxAttempts must be at least 1")
	case c.RetryBackoff < 0 || c.MaxRetryBackoff < c.RetryBackoff:
		return errors.New("sqlstore: need 0 ≤ RetryBackoff ≤ MaxRetryBackoff")
	}
	seen := map[string]bool{}
	for _, r := range c.Regions {
		if r == "" || seen[r] {
			return fmt.Errorf("sqlstore: empty or duplicate region %q", r)
		}
		seen[r] = true
	}
	return nil
}

// Store is the SQL catalog. It implements bucketsvc.Store.
type Store struct {
	cfg    Config
	log    *slog.Logger
	ring   *secretcrypt.Keyring
	pool   *pgxpool.Pool
	flavor Flavor
	closed atomic.Bool
	stats  struct {
		commits, retries, commitRetries, gaveUp atomic.Int64
	}
}

var _ bucketsvc.Store = (*Store)(nil)

// Open connects, applies pending migrations and, on CockroachDB, the
// multi-region statements.
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ring, err := secretcrypt.NewKeyring(cfg.EncryptionKey, cfg.OldEncryptionKeys...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: parse dsn: %w", err)
	}
	pcfg.MaxConns = cfg.MaxConns
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, log: log, ring: ring, pool: pool}
	if err := s.init(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	log.Info("bucket catalog opened", "flavor", s.flavor, "key_id", ring.PrimaryKeyID(), "regions", cfg.Regions)
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	var version string
	if err := s.pool.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return fmt.Errorf("sqlstore: connect: %w", err)
	}
	s.flavor = DetectFlavor(version)
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if s.flavor != FlavorCockroach || len(s.cfg.Regions) == 0 {
		return nil
	}
	var db, primary string
	if err := s.pool.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	err := s.pool.QueryRow(ctx, "SELECT COALESCE(primary_region, '') FROM [SHOW DATABASES] WHERE database_name = $1", db).Scan(&primary)
	if err != nil {
		return fmt.Errorf("sqlstore: read primary region: %w", err)
	}
	for _, stmt := range MultiRegionStatements(s.flavor, db, s.cfg.Regions, primary) {
		if _, err := s.pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("sqlstore: %s: %w", stmt, err)
		}
	}
	return nil
}

// Migrate applies pending migrations; Open calls it.
func (s *Store) migrate(ctx context.Context) error {
	// Concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL's
	// catalog (23505 on pg_type); a second try sees the table.
	var err error
	for range 3 {
		if _, err = s.pool.Exec(ctx, createMigrationsTable); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		applied := false
		err := s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			applied = false
			// Claiming the row first makes a concurrent opener wait for us
			// and then skip (or restart and skip).
			tag, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING", m.version, m.name)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			for _, stmt := range m.statements {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("sqlstore: migration %d (%s): %w", m.version, m.name, err)
		}
		if applied {
			s.log.Info("applied schema migration", "version", m.version, "name", m.name)
		}
	}
	return nil
}

// Flavor is the server kind detected at Open.
func (s *Store) Flavor() Flavor { return s.flavor }

// Close closes the pool, waiting for in-flight operations. Safe twice.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
	return nil
}

// check maps errors seen after Close to ErrClosed.
func (s *Store) check(err error) error {
	if err != nil && s.closed.Load() {
		return errClosed()
	}
	return err
}

func (s *Store) alive() error {
	if s.closed.Load() {
		return errClosed()
	}
	return nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Accounts.

// CreateAccount implements bucketsvc.Store.
func (s *Store) CreateAccount(ctx context.Context, a bucketsvc.Account) (bucketsvc.Account, error) {
	if a.ID == "" {
		a.ID = bucketsvc.NewAccountID()
	}
	a.Created = normTime(a.Created)
	err := s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO accounts (id, display_name, created) VALUES ($1, $2, $3)", a.ID, a.DisplayName, a.Created)
		return err
	})
	if sqlState(err) == codeUniqueViolation {
		return bucketsvc.Account{}, fmt.Errorf("%w: %s", bucketsvc.ErrAccountExists, a.ID)
	}
	if err != nil {
		return bucketsvc.Account{}, s.check(err)
	}
	return a, nil
}

// GetAccount implements bucketsvc.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (bucketsvc.Account, error) {
	if err := s.alive(); err != nil {
		return bucketsvc.Account{}, err
	}
	a := bucketsvc.Account{ID: id}
	err := s.pool.QueryRow(ctx, "SELECT display_name, created FROM accounts WHERE id = $1", id).Scan(&a.DisplayName, &a.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return bucketsvc.Account{}, bucketsvc.ErrNoSuchAccount
	}
	if err != nil {
		return bucketsvc.Account{}, s.check(err)
	}
	a.Created = a.Created.UTC()
	return a, nil
}

// Access keys.

// PutAccessKey implements bucketsvc.Store.
func (s *Store) PutAccessKey(ctx context.Context, k bucketsvc.AccessKey) error {
	if k.ID == "" || k.Secret == "" {
		return errors.New("sqlstore: access key needs an id and a secret")
	}
	if k.Status == "" {
		k.Status = bucketsvc.KeyActive
	}
	sealed := s.ring.Seal([]byte(k.Secret), []byte(k.ID))
	err := s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO access_keys (id, account_id, status, secret_sealed, secret_key_id, created)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, k.AccountID, string(k.Status), sealed, s.ring.PrimaryKeyID(), normTime(k.Created))
		return err
	})
	switch sqlState(err) {
	case codeUniqueViolation:
		return fmt.Errorf("%w: %s", bucketsvc.ErrAccessKeyExists, k.ID)
	case codeForeignKeyViolation:
		return fmt.Errorf("%w: %s", bucketsvc.ErrNoSuchAccount, k.AccountID)
	}
	return s.check(err)
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
	return s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE access_keys SET status = $2 WHERE id = $1", id, string(bucketsvc.KeyRevoked))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return bucketsvc.ErrNoSuchAccessKey
		}
		return nil
	})
}

// LookupAccessKey implements bucketsvc.Store.
func (s *Store) LookupAccessKey(ctx context.Context, id string) (bucketsvc.AccessKey, error) {
	if err := s.alive(); err != nil {
		return bucketsvc.AccessKey{}, err
	}
	k := bucketsvc.AccessKey{ID: id}
	var status string
	var sealed []byte
	err := s.pool.QueryRow(ctx, "SELECT account_id, status, secret_sealed, created FROM access_keys WHERE id = $1", id).
		Scan(&k.AccountID, &status, &sealed, &k.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return bucketsvc.AccessKey{}, bucketsvc.ErrNoSuchAccessKey
	}
	if err != nil {
		return bucketsvc.AccessKey{}, s.check(err)
	}
	secret, err := s.ring.Open(sealed, []byte(id))
	if err != nil {
		return bucketsvc.AccessKey{}, fmt.Errorf("sqlstore: access key %s: %w", id, err)
	}
	k.Secret, k.Status, k.Created = string(secret), bucketsvc.KeyStatus(status), k.Created.UTC()
	return k, nil
}

// Buckets.

const bucketColumns = "name, owner, region, versioning, erasure_data, erasure_parity, policy, replication, created, incarnation, lifecycle, tags, ownership, acl, cors, object_lock, encryption, public_access_block"

func scanBucket(row pgx.Row) (bucketsvc.Bucket, error) {
	var b bucketsvc.Bucket
	var versioning string
	var replication, lifecycle, tags, acl, cors, lock, encryption, pab []byte
	var ownership string
	err := row.Scan(&b.Name, &b.Owner, &b.Region, &versioning, &b.Scheme.Data, &b.Scheme.Parity, &b.Policy, &replication, &b.Created, &b.Incarnation, &lifecycle, &tags, &ownership, &acl, &cors, &lock, &encryption, &pab)
	if err != nil {
		return bucketsvc.Bucket{}, err
	}
	if lock != nil {
		if err := json.Unmarshal(lock, &b.ObjectLock); err != nil {
			return bucketsvc.Bucket{}, fmt.Errorf("sqlstore: bucket %s: object lock configuration: %w", b.Name, err)
		}
	}
	b.Ownership = s3acl.Ownership(ownership)
	if acl != nil {
		if err := json.Unmarshal(acl, &b.ACL); err != nil {
			return bucketsvc.Bucket{}, fmt.Errorf("sqlstore: bucket %s: acl: %w", b.Name, err)
		}
	}
	if pab != nil {
		if err := json.Unmarshal(pab, &b.PublicAccessBlock); err != nil {
			return bucketsvc.Bucket{}, fmt.Errorf("sqlstore: bucket %s: public access block: %w", b.Name, err)
		}
	}
	if encryption != nil {
		if err := json.Unmarshal(encryption, &b.Encryption); err != nil {
			return bucketsvc.Bucket{}, fmt.Errorf("sqlstore: bucket %s: encryption: %w", b.Name, err)
		}
	}
	if tags != nil {
		if err := json.Unmarshal(tags, &b.Tags); err != nil {
			return bucketsvc.Bucket{}, fmt.Errorf("sqlstore: bucket %s: tags: %w", b.Name, err)
		}
	}
	if cors != nil {
		if err := json.Unmarshal(cors, &b.CORS); err != nil {
			return bucketsvc.Bucket{}, fmt.Errorf("sqlstore: bucket %s: CORS configuration: %w", b.Name, err)
		}
	}
	if lifecycle != nil {
		if err := json.Unmarshal(lifecycle, &b.Lifecycle); err != nil {
			return bucketsvc.Bucket{}, fmt.Errorf("sqlstore: bucket %s: lifecycle configuration: %w", b.Name, err)
		}
	}
	b.Versioning, b.Created = bucketsvc.VersioningState(versioning), b.Created.UTC()
	// The column predates the configuration: '[]' (its default) or null
	// means none; an object is a configuration.
	if t := strings.TrimSpace(string(replication)); t != "" && t != "[]" && t != "null" {
		if err := json.Unmarshal(replication, &b.Replication); err != nil {
			return bucketsvc.Bucket{}, fmt.Errorf("sqlstore: bucket %s: replication configuration: %w", b.Name, err)
		}
	}
	return b, nil
}

// replicationJSON is the replication column's value: '[]' for none.
func replicationJSON(c *s3replication.Configuration) (string, error) {
	if c == nil {
		return "[]", nil
	}
	raw, err := json.Marshal(c)
	return string(raw), err
}

// tagsJSON is the tags column's value: NULL for none.
func tagsJSON(tags map[string]string) (*string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	raw, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	s := string(raw)
	return &s, nil
}

// bucketJSON holds a bucket's JSONB column values (NULL: nil).
type bucketJSON struct {
	repl                                string
	lc, tags, acl, cors, lock, enc, pab *string
}

// encodeBucketJSON encodes b's configurations for CreateBucket and
// UpdateBucket.
func encodeBucketJSON(b bucketsvc.Bucket) (bucketJSON, error) {
	var j bucketJSON
	var errs [8]error
	j.repl, errs[0] = replicationJSON(b.Replication)
	j.lc, errs[1] = jsonOrNull(b.Lifecycle)
	j.tags, errs[2] = tagsJSON(b.Tags)
	j.acl, errs[3] = jsonOrNull(b.ACL)
	j.cors, errs[4] = jsonOrNull(b.CORS)
	j.lock, errs[5] = jsonOrNull(b.ObjectLock)
	j.enc, errs[6] = jsonOrNull(b.Encryption)
	j.pab, errs[7] = jsonOrNull(b.PublicAccessBlock)
	if err := errors.Join(errs[:]...); err != nil {
		return j, fmt.Errorf("sqlstore: bucket %s: %w", b.Name, err)
	}
	return j, nil
}

// jsonOrNull is a JSONB column's value: NULL for a nil pointer.
func jsonOrNull[T any](v *T) (*string, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	s := string(raw)
	return &s, nil
}

// CreateBucket implements bucketsvc.Store. A unique violation on the name
// becomes *bucketsvc.BucketExistsError naming the owner, read in a fresh
// transaction (the failed one is aborted).
func (s *Store) CreateBucket(ctx context.Context, b bucketsvc.Bucket) error {
	if err := bucketsvc.ValidateBucketName(b.Name); err != nil {
		return err
	}
	b.Created = normTime(b.Created)
	if b.Incarnation == "" {
		b.Incarnation = bucketsvc.NewIncarnation()
	}
	j, err := encodeBucketJSON(b)
	if err != nil {
		return err
	}
	// A name can be freed between our failed insert and the owner read;
	// then the insert is tried again. Three rounds make that race moot.
	for range 3 {
		err := s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO buckets ("+bucketColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8::JSONB, $9, $10, $11::JSONB, $12::JSONB, $13, $14::JSONB, $15::JSONB, $16::JSONB, $17::JSONB, $18::JSONB)",
				b.Name, b.Owner, b.Region, string(b.Versioning), b.Scheme.Data, b.Scheme.Parity, b.Policy, j.repl, b.Created, b.Incarnation, j.lc, j.tags,
				string(b.Ownership), j.acl, j.cors, j.lock, j.enc, j.pab)
			return err
		})
		if sqlState(err) != codeUniqueViolation {
			return s.check(err)
		}
		var owner string
		err = s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT owner FROM buckets WHERE name = $1", b.Name).Scan(&owner)
		})
		if err == nil {
			return &bucketsvc.BucketExistsError{Name: b.Name, Owner: owner}
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return s.check(err)
		}
	}
	return fmt.Errorf("sqlstore: bucket %q: created and deleted concurrently too often", b.Name)
}

// GetBucket implements bucketsvc.Store.
func (s *Store) GetBucket(ctx context.Context, name string) (bucketsvc.Bucket, error) {
	if err := s.alive(); err != nil {
		return bucketsvc.Bucket{}, err
	}
	b, err := scanBucket(s.pool.QueryRow(ctx, "SELECT "+bucketColumns+" FROM buckets WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return bucketsvc.Bucket{}, bucketsvc.ErrNoSuchBucket
	}
	return b, s.check(err)
}

// UpdateBucket implements bucketsvc.Store. fn runs inside the transaction
// and runs again if the transaction restarts, each time on a fresh copy
// read in that attempt.
func (s *Store) UpdateBucket(ctx context.Context, name string, fn func(*bucketsvc.Bucket) error) error {
	return s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		old, err := scanBucket(tx.QueryRow(ctx, "SELECT "+bucketColumns+" FROM buckets WHERE name = $1 FOR UPDATE", name))
		if errors.Is(err, pgx.ErrNoRows) {
			return bucketsvc.ErrNoSuchBucket
		}
		if err != nil {
			return err
		}
		b := old
		if err := fn(&b); err != nil {
			return err
		}
		if b.Name != old.Name || !b.Created.Equal(old.Created) || b.Incarnation != old.Incarnation {
			return bucketsvc.ErrInvalidUpdate
		}
		j, err := encodeBucketJSON(b)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE buckets SET owner = $2, region = $3, versioning = $4, erasure_data = $5,
			erasure_parity = $6, policy = $7, replication = $8::JSONB, lifecycle = $9::JSONB, tags = $10::JSONB,
			ownership = $11, acl = $12::JSONB, cors = $13::JSONB, object_lock = $14::JSONB, encryption = $15::JSONB,
			public_access_block = $16::JSONB WHERE name = $1`,
			name, b.Owner, b.Region, string(b.Versioning), b.Scheme.Data, b.Scheme.Parity, b.Policy, j.repl, j.lc, j.tags,
			string(b.Ownership), j.acl, j.cors, j.lock, j.enc, j.pab)
		return err
	})
}

// DeleteBucket implements bucketsvc.Store. Emptiness of the bucket is the
// regional gateway's check (it owns the objects), made before this call.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	return s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM buckets WHERE name = $1", name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return bucketsvc.ErrNoSuchBucket
		}
		return nil
	})
}

// DeleteBucketIncarnation implements bucketsvc.Store.
func (s *Store) DeleteBucketIncarnation(ctx context.Context, name, incarnation string) error {
	return s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM buckets WHERE name = $1 AND incarnation = $2", name, incarnation)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return bucketsvc.ErrNoSuchBucket
		}
		return nil
	})
}

// ListBuckets implements bucketsvc.Store.
func (s *Store) ListBuckets(ctx context.Context, owner string) ([]bucketsvc.Bucket, error) {
	if err := s.alive(); err != nil {
		return nil, err
	}
	q, args := "SELECT "+bucketColumns+" FROM buckets ORDER BY name", []any{}
	if owner != "" {
		q, args = "SELECT "+bucketColumns+" FROM buckets WHERE owner = $1 ORDER BY name", []any{owner}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.check(err)
	}
	defer rows.Close()
	var out []bucketsvc.Bucket
	for rows.Next() {
		b, err := scanBucket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, s.check(rows.Err())
}

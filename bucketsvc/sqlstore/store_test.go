package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/catalogtest"
	"github.com/meridian-s3/meridian/bucketsvc/secretcrypt"
	"github.com/meridian-s3/meridian/bucketsvc/sqlstore"
	"github.com/meridian-s3/meridian/testbed/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func key(b byte) []byte { return bytes.Repeat([]byte{b}, secretcrypt.KeySize) }

func openStore(t *testing.T, dsn string, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	if cfg.EncryptionKey == nil {
		cfg.EncryptionKey = key(9)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlstore.Open(ctx, dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T) bucketsvc.Store {
		return openStore(t, pgtest.Start(t), sqlstore.Config{})
	})
}

func TestSecretsEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	s := openStore(t, dsn, sqlstore.Config{EncryptionKey: key(3)})
	a, err := s.CreateAccount(ctx, bucketsvc.Account{DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.NewAccessKey(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rowText, keyID string
	var sealed []byte
	err = conn.QueryRow(ctx, "SELECT access_keys::text, secret_sealed, secret_key_id FROM access_keys WHERE id = $1", k.ID).Scan(&rowText, &sealed, &keyID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rowText, k.ID) {
		t.Fatalf("row text %q lacks the key id: the check below would prove nothing", rowText)
	}
	if strings.Contains(rowText, k.Secret) || bytes.Contains(sealed, []byte(k.Secret)) {
		t.Fatal("the stored row contains the secret in clear text")
	}
	if keyID != secretcrypt.KeyID(key(3)) || secretcrypt.SealedKeyID(sealed) != keyID {
		t.Fatalf("secret_key_id %q, sealed key id %q, want %q", keyID, secretcrypt.SealedKeyID(sealed), secretcrypt.KeyID(key(3)))
	}
	// A store with another key cannot read it; with the old key listed it can.
	s.Close()
	other := openStore(t, dsn, sqlstore.Config{EncryptionKey: key(4)})
	if _, err := other.LookupAccessKey(ctx, k.ID); !errors.Is(err, secretcrypt.ErrUnknownKey) {
		t.Fatalf("lookup under a foreign key: err = %v, want ErrUnknownKey", err)
	}
	rotated := openStore(t, dsn, sqlstore.Config{EncryptionKey: key(4), OldEncryptionKeys: [][]byte{key(3)}})
	if got, err := rotated.LookupAccessKey(ctx, k.ID); err != nil || got.Secret != k.Secret {
		t.Fatalf("lookup after rotation: %v, %v", got, err)
	}
}

func TestMigrationsIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	// Four processes' worth of Opens race on an empty database.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := sqlstore.Open(ctx, dsn, sqlstore.Config{EncryptionKey: key(1)})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
	}
	s := openStore(t, dsn, sqlstore.Config{})
	if s.Flavor() != sqlstore.FlavorPostgres {
		t.Fatalf("flavor = %v, want postgresql", s.Flavor())
	}
	a, _ := s.CreateAccount(ctx, bucketsvc.Account{DisplayName: "kept"})
	s.Close()
	s = openStore(t, dsn, sqlstore.Config{}) // re-open applies nothing and keeps data
	if _, err := s.GetAccount(ctx, a.ID); err != nil {
		t.Fatalf("account lost across re-open: %v", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, maxV int
	if err := conn.QueryRow(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if want := sqlstore.SchemaVersion(); n != want || maxV != want {
		t.Fatalf("schema_migrations has %d rows (max version %d), want exactly 1 per migration", n, maxV)
	}
}

func TestDetectFlavor(t *testing.T) {
	tests := []struct {
		version string
		want    sqlstore.Flavor
	}{
		{"PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc", sqlstore.FlavorPostgres},
		{"CockroachDB CCL v24.1.0 (x86_64-pc-linux-gnu, built 2024/05/15 21:28:29, go1.22.2)", sqlstore.FlavorCockroach},
		{"", sqlstore.FlavorPostgres},
	}
	for _, tt := range tests {
		if got := sqlstore.DetectFlavor(tt.version); got != tt.want {
			t.Errorf("DetectFlavor(%q) = %v, want %v", tt.version, got, tt.want)
		}
	}
}

func TestMultiRegionStatements(t *testing.T) {
	globals := []string{
		`ALTER TABLE "accounts" SET LOCALITY GLOBAL`,
		`ALTER TABLE "access_keys" SET LOCALITY GLOBAL`,
		`ALTER TABLE "buckets" SET LOCALITY GLOBAL`,
		`ALTER TABLE "server_keys" SET LOCALITY GLOBAL`,
	}
	tests := []struct {
		name    string
		flavor  sqlstore.Flavor
		regions []string
		primary string
		want    []string
	}{
		{"postgres skips", sqlstore.FlavorPostgres, []string{"us-east1", "eu-west1"}, "", nil},
		{"cockroach without regions", sqlstore.FlavorCockroach, nil, "", nil},
		{"cockroach one region", sqlstore.FlavorCockroach, []string{"us-east1"}, "", append([]string{
			`ALTER DATABASE "meridian" SET PRIMARY REGION "us-east1"`,
		}, globals...)},
		{"cockroach three regions", sqlstore.FlavorCockroach, []string{"us-east1", "eu-west1", "ap-south1"}, "", append([]string{
			`ALTER DATABASE "meridian" SET PRIMARY REGION "us-east1"`,
			`ALTER DATABASE "meridian" ADD REGION IF NOT EXISTS "eu-west1"`,
			`ALTER DATABASE "meridian" ADD REGION IF NOT EXISTS "ap-south1"`,
		}, globals...)},
		{"cockroach re-open keeps primary", sqlstore.FlavorCockroach, []string{"us-east1", "eu-west1"}, "us-east1", append([]string{
			`ALTER DATABASE "meridian" ADD REGION IF NOT EXISTS "eu-west1"`,
		}, globals...)},
		{"cockroach primary moves", sqlstore.FlavorCockroach, []string{"eu-west1", "us-east1"}, "us-east1", append([]string{
			`ALTER DATABASE "meridian" SET PRIMARY REGION "eu-west1"`,
			`ALTER DATABASE "meridian" ADD REGION IF NOT EXISTS "us-east1"`,
		}, globals...)},
	}
	for _, tt := range tests {
		got := sqlstore.MultiRegionStatements(tt.flavor, "meridian", tt.regions, tt.primary)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
	// Identifiers are quoted, so hostile names cannot inject SQL.
	got := sqlstore.MultiRegionStatements(sqlstore.FlavorCockroach, `db"; DROP TABLE x; --`, []string{"r"}, "")
	if got[0] != `ALTER DATABASE "db""; DROP TABLE x; --" SET PRIMARY REGION "r"` {
		t.Errorf("unquoted identifier: %s", got[0])
	}
}

func TestConfigValidate(t *testing.T) {
	ok := sqlstore.DefaultConfig()
	ok.EncryptionKey = key(1)
	tests := []struct {
		name   string
		mutate func(*sqlstore.Config)
		valid  bool
	}{
		{"default with key", func(*sqlstore.Config) {}, true},
		{"no key", func(c *sqlstore.Config) { c.EncryptionKey = nil }, false},
		{"zero conns", func(c *sqlstore.Config) { c.MaxConns = 0 }, false},
		{"zero attempts", func(c *sqlstore.Config) { c.MaxTxAttempts = 0 }, false},
		{"backoff above max", func(c *sqlstore.Config) { c.RetryBackoff = time.Second }, false},
		{"duplicate region", func(c *sqlstore.Config) { c.Regions = []string{"a", "a"} }, false},
		{"regions", func(c *sqlstore.Config) { c.Regions = []string{"a", "b"} }, true},
	}
	for _, tt := range tests {
		c := ok
		tt.mutate(&c)
		if err := c.Validate(); (err == nil) != tt.valid {
			t.Errorf("%s: Validate() = %v, want valid=%v", tt.name, err, tt.valid)
		}
	}
}

func startDB(t *testing.T) string { return pgtest.Start(t) }

// TestLegacyBucketsWithoutIncarnation: a catalog made before migration 2
// (no incarnation column) upgrades in place; its buckets keep the legacy
// incarnation "" (keyed by name in the region) and can still be deleted.
func TestLegacyBucketsWithoutIncarnation(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	s := openStore(t, dsn, sqlstore.Config{})
	a, err := s.CreateAccount(ctx, bucketsvc.Account{DisplayName: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(ctx, bucketsvc.Bucket{Name: "old-bucket", Owner: a.ID, Region: "r1", Scheme: bucketsvc.ErasureScheme{Data: 2, Parity: 1}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Roll the schema back to version 1, as an old deployment left it.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"ALTER TABLE buckets DROP COLUMN incarnation", "DELETE FROM schema_migrations WHERE version = 2"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s = openStore(t, dsn, sqlstore.Config{}) // applies migration 2
	b, err := s.GetBucket(ctx, "old-bucket")
	if err != nil || b.Incarnation != "" || b.MetaKey() != "old-bucket" {
		t.Fatalf("legacy bucket = %+v, %v", b, err)
	}
	if err := s.DeleteBucketIncarnation(ctx, "old-bucket", "ffffffffffffffffffffffffffffffff"); !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		t.Fatalf("delete with another id: %v", err)
	}
	if err := s.DeleteBucketIncarnation(ctx, "old-bucket", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(ctx, bucketsvc.Bucket{Name: "old-bucket", Owner: a.ID, Region: "r1", Scheme: bucketsvc.ErasureScheme{Data: 2, Parity: 1}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.GetBucket(ctx, "old-bucket"); b.Incarnation == "" {
		t.Fatal("a bucket created after the migration has no incarnation")
	}
}

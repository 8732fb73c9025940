package sqlstore

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Flavor is the SQL server behind the DSN.
type Flavor int

const (
	FlavorPostgres Flavor = iota
	FlavorCockroach
)

func (f Flavor) String() string {
	if f == FlavorCockroach {
		return "cockroachdb"
	}
	return "postgresql"
}

// DetectFlavor classifies the result of SELECT version().
func DetectFlavor(version string) Flavor {
	if strings.Contains(version, "CockroachDB") {
		return FlavorCockroach
	}
	return FlavorPostgres
}

// migration is one schema step; its statements run in one transaction.
type migration struct {
	version    int
	name       string
	statements []string
}

// migrations are applied in order; never edit or reorder a released one,
// only append.
var migrations = []migration{
	{1, "accounts, access keys, buckets", []string{
		`CREATE TABLE IF NOT EXISTS accounts (
			id           TEXT PRIMARY KEY,
			display_name TEXT NOT NULL DEFAULT '',
			created      TIMESTAMPTZ NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS access_keys (
			id            TEXT PRIMARY KEY,
			account_id    TEXT NOT NULL REFERENCES accounts (id),
			status        TEXT NOT NULL,
			secret_sealed BYTEA NOT NULL,
			secret_key_id TEXT NOT NULL,
			created       TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS access_keys_account_idx ON access_keys (account_id)`,
		`CREATE TABLE IF NOT EXISTS buckets (
			name           TEXT PRIMARY KEY,
			owner          TEXT NOT NULL,
			region         TEXT NOT NULL,
			versioning     TEXT NOT NULL DEFAULT '',
			erasure_data   INT NOT NULL,
			erasure_parity INT NOT NULL,
			policy         TEXT NOT NULL DEFAULT '',
			replication    JSONB NOT NULL DEFAULT '[]',
			created        TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS buckets_owner_idx ON buckets (owner, name)`,
	}},
	// Rows from before this migration keep '' (the legacy incarnation,
	// keyed by name in the region); the application never updates it.
	{2, "bucket incarnation ids", []string{
		`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS incarnation TEXT NOT NULL DEFAULT ''`,
	}},
	// NULL = no lifecycle configuration (every row before this migration).
	{3, "bucket lifecycle configuration", []string{
		`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS lifecycle JSONB`,
	}},
	// NULL = no tags (every row before this migration).
	{4, "bucket tags", []string{
		`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS tags JSONB`,
	}},
	// '' = no ownership controls, NULL = the default ACL (every row before
	// this migration: ACLs enabled, owner FULL_CONTROL, as S3 treats
	// buckets older than ownership controls).
	{5, "bucket ownership controls and ACL", []string{
		`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS ownership TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS acl JSONB`,
	}},
	// NULL = no CORS configuration (every row before this migration).
	{6, "bucket CORS configuration", []string{
		`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS cors JSONB`,
	}},
	// NULL = Object Lock not enabled (every row before this migration).
	{7, "bucket object lock configuration", []string{
		`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS object_lock JSONB`,
	}},
	// Server-side encryption (docs/sse.md): the server keys (SSE-S3 master
	// key versions, built-in KMS keys), sealed by the catalog key; and the
	// bucket default encryption (NULL: none).
	{8, "server keys and bucket default encryption", []string{
		`CREATE TABLE IF NOT EXISTS server_keys (
			scope         TEXT NOT NULL,
			id            TEXT NOT NULL,
			name          TEXT NOT NULL DEFAULT '',
			sealed        BYTEA NOT NULL,
			sealed_key_id TEXT NOT NULL,
			created       TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (scope, id)
		)`,
		`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS encryption JSONB`,
	}},
	// NULL = no Block Public Access configuration (every row before this
	// migration; docs/access-control.md).
	{9, "bucket public access block", []string{
		`ALTER TABLE buckets ADD COLUMN IF NOT EXISTS public_access_block JSONB`,
	}},
	// NULL = no account-level Block Public Access (every row before this
	// migration).
	{10, "account public access block", []string{
		`ALTER TABLE accounts ADD COLUMN IF NOT EXISTS public_access_block JSONB`,
	}},
}

// SchemaVersion is the version of the newest migration (tests check that
// each is applied exactly once).
func SchemaVersion() int { return migrations[len(migrations)-1].version }

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INT PRIMARY KEY,
	name    TEXT NOT NULL,
	applied TIMESTAMPTZ NOT NULL DEFAULT now()
)`

// globalTables are read in every region and written rarely.
var globalTables = []string{"accounts", "access_keys", "buckets", "server_keys"}

// MultiRegionStatements returns the statements that make database a
// multi-region database over regions (the first is the primary) with the
// catalog tables GLOBAL. currentPrimary is the database's primary region now
// ("" for none); the SET PRIMARY REGION statement is left out when it is
// already regions[0], the rest are idempotent. PostgreSQL, or no regions,
// gives none.
func MultiRegionStatements(f Flavor, database string, regions []string, currentPrimary string) []string {
	if f != FlavorCockroach || len(regions) == 0 {
		return nil
	}
	db := pgx.Identifier{database}.Sanitize()
	var out []string
	if currentPrimary != regions[0] {
		out = append(out, fmt.Sprintf("ALTER DATABASE %s SET PRIMARY REGION %s", db, pgx.Identifier{regions[0]}.Sanitize()))
	}
	for _, r := range regions[1:] {
		out = append(out, fmt.Sprintf("ALTER DATABASE %s ADD REGION IF NOT EXISTS %s", db, pgx.Identifier{r}.Sanitize()))
	}
	for _, t := range globalTables {
		out = append(out, fmt.Sprintf("ALTER TABLE %s SET LOCALITY GLOBAL", pgx.Identifier{t}.Sanitize()))
	}
	return out
}

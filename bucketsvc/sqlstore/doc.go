// Package sqlstore is the bucket catalog on a PostgreSQL-wire SQL server:
// CockroachDB (multi-region) in production, PostgreSQL 15 in tests. It
// speaks pgx/v5 through a pgxpool and uses only SQL both servers accept.
//
// # Transactions
//
// Every transaction runs SERIALIZABLE through Store.RunTx, which restarts
// the WHOLE transaction — BEGIN, fn, COMMIT — when any step, COMMIT
// included, fails with SQLSTATE 40001 (serialization_failure), 40P01
// (deadlock_detected) or CR000 (CockroachDB's legacy retry code), with
// jittered exponential backoff and a bounded number of attempts
// (Config.MaxTxAttempts; then ErrTooManyRetries).
//
// We do not use cockroach-go's crdb.ExecuteTx for this. It retries inside
// one transaction with SAVEPOINT cockroach_restart and treats RELEASE
// SAVEPOINT as the commit, ignoring the error of the real COMMIT. That is
// right on CockroachDB, where RELEASE of that savepoint commits, and wrong
// on PostgreSQL, where RELEASE only merges the savepoint and serializable
// conflicts are often detected at COMMIT: the failure would be dropped and
// a lost write reported as success. TestNaiveSavepointLoopLosesWriteOnPostgres
// shows this against a real server; our whole-transaction loop is correct on
// both servers, so one code path serves both. cockroach-go is used as that
// reference in the tests, and its error classification (40001, CR000) is
// what retryable mirrors (the library keeps its classifier unexported).
//
// A COMMIT that fails without a server answer (connection lost) may or may
// not have committed; RunTx reports ErrAmbiguousCommit and does not retry.
//
// # Schema
//
// Versioned migrations (migrations in schema.go) are applied in order at
// Open, each in its own serializable transaction that first claims its row
// in schema_migrations; re-opening applies nothing twice, and concurrent
// openers serialize on that row. On CockroachDB (detected from
// SELECT version()), Open then applies the multi-region statements of
// MultiRegionStatements for Config.Regions: primary region, added regions,
// and GLOBAL locality for accounts, access_keys and buckets so every region
// reads the catalog locally. They are skipped on PostgreSQL.
//
// Secrets are sealed with bucketsvc/secretcrypt (AES-256-GCM, key id
// stored with the ciphertext and in secret_key_id for rotation).
package sqlstore

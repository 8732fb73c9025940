package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/cockroach-go/v2/crdb/crdbpgxv5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meridian-s3/meridian/bucketsvc/sqlstore"
)

func exec(t *testing.T, s *sqlstore.Store, stmts ...string) {
	t.Helper()
	err := s.RunTx(context.Background(), func(ctx context.Context, tx pgx.Tx) error {
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentCounterRestarts: N goroutines read a counter and write
// counter+1 through RunTx. Conflicts are forced (a pause between read and
// write); the final value must equal the number of transactions that
// reported success, and restarts must have happened.
func TestConcurrentCounterRestarts(t *testing.T) {
	var hookRetries atomic.Int64
	s := openStore(t, startDB(t), sqlstore.Config{
		MaxConns: 20, MaxTxAttempts: 100, MaxRetryBackoff: 20 * time.Millisecond,
		OnTxRetry: func(sqlstore.TxRetry) { hookRetries.Add(1) },
	})
	exec(t, s, "CREATE TABLE counters (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO counters VALUES (1, 0)")
	before := s.Stats()
	const workers, each = 16, 4
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				err := s.RunTx(t.Context(), func(ctx context.Context, tx pgx.Tx) error {
					var v int
					if err := tx.QueryRow(ctx, "SELECT v FROM counters WHERE id = 1").Scan(&v); err != nil {
						return err
					}
					time.Sleep(time.Millisecond)
					_, err := tx.Exec(ctx, "UPDATE counters SET v = $1 WHERE id = 1", v+1)
					return err
				})
				if err != nil {
					failed.Add(1)
					if !errors.Is(err, sqlstore.ErrTooManyRetries) {
						t.Errorf("RunTx: %v", err)
					}
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	var v int64
	if err := s.RunTx(t.Context(), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT v FROM counters WHERE id = 1").Scan(&v)
	}); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("successes %d, gave up %d, retries %d (at commit %d)", ok.Load(), failed.Load(), st.Retries-before.Retries, st.CommitRetries-before.CommitRetries)
	if v != ok.Load() {
		t.Fatalf("counter = %d but %d transactions reported success", v, ok.Load())
	}
	if ok.Load() == 0 {
		t.Fatal("no transaction succeeded")
	}
	if st.Retries-before.Retries == 0 || hookRetries.Load() != st.Retries-before.Retries {
		t.Fatalf("retries: stats %d, hook %d; want > 0 and equal", st.Retries-before.Retries, hookRetries.Load())
	}
}

// writeSkew runs the classic on-call write skew between two transactions
// in a fixed interleaving — both read, both write (different rows), T1
// commits, then T2 commits — which PostgreSQL's SSI can only reject at T2's
// COMMIT. Each transaction takes its doctor off call if at least two are on
// call. run executes one transaction with some retry strategy; first
// reports whether this is that transaction's first attempt. It returns
// what each transaction reported and how many doctors are really off call.
func writeSkew(t *testing.T, setup *sqlstore.Store, run func(fn func(ctx context.Context, tx pgx.Tx) error) error) (reported [2]bool, errs [2]error, offCall int) {
	t.Helper()
	exec(t, setup, "CREATE TABLE oncall (doctor TEXT PRIMARY KEY, on_call BOOL NOT NULL)",
		"INSERT INTO oncall VALUES ('alice', true), ('bob', true)")
	doctors := [2]string{"alice", "bob"}
	read := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	wrote := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	t1done := make(chan struct{})
	var onceRead, onceWrote [2]sync.Once
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			attempts := 0
			errs[i] = run(func(ctx context.Context, tx pgx.Tx) error {
				attempts++
				first := attempts == 1
				reported[i] = false
				if first {
					defer onceRead[i].Do(func() { close(read[i]) })
					defer onceWrote[i].Do(func() { close(wrote[i]) })
				}
				var n int
				if err := tx.QueryRow(ctx, "SELECT count(*) FROM oncall WHERE on_call").Scan(&n); err != nil {
					return err
				}
				if first {
					onceRead[i].Do(func() { close(read[i]) })
					<-read[1-i]
					if i == 1 {
						<-wrote[0] // T1 writes first
					}
				}
				if n >= 2 {
					if _, err := tx.Exec(ctx, "UPDATE oncall SET on_call = false WHERE doctor = $1", doctors[i]); err != nil {
						return err
					}
					reported[i] = true
				}
				if first {
					onceWrote[i].Do(func() { close(wrote[i]) })
					<-wrote[1-i] // both have written before either commits
					if i == 1 {
						<-t1done // T2 commits after T1
					}
				}
				return nil
			})
			if i == 0 {
				close(t1done)
			}
		})
	}
	wg.Wait()
	if err := setup.RunTx(context.Background(), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM oncall WHERE NOT on_call").Scan(&offCall)
	}); err != nil {
		t.Fatal(err)
	}
	return reported, errs, offCall
}

// TestWriteSkewRestartsAtCommit proves RunTx restarts a transaction whose
// COMMIT fails with 40001: T2's commit is rejected, T2 runs again, sees
// only one doctor on call and stays; what both report matches the table.
func TestWriteSkewRestartsAtCommit(t *testing.T) {
	var mu sync.Mutex
	var retries []sqlstore.TxRetry
	s := openStore(t, startDB(t), sqlstore.Config{OnTxRetry: func(r sqlstore.TxRetry) {
		mu.Lock()
		retries = append(retries, r)
		mu.Unlock()
	}})
	reported, errs, offCall := writeSkew(t, s, func(fn func(context.Context, pgx.Tx) error) error {
		return s.RunTx(context.Background(), fn)
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errors: %v", errs)
	}
	if len(retries) != 1 || !retries[0].AtCommit {
		t.Fatalf("retries = %+v; want exactly one, at COMMIT", retries)
	}
	if st := s.Stats(); st.CommitRetries != 1 {
		t.Fatalf("Stats().CommitRetries = %d, want 1", st.CommitRetries)
	}
	want := 0
	for _, r := range reported {
		if r {
			want++
		}
	}
	if reported != [2]bool{true, false} || offCall != want {
		t.Fatalf("reported off call %v, table has %d off call; want [true false] and 1", reported, offCall)
	}
}

// TestNaiveSavepointLoopLosesWriteOnPostgres runs the same interleaving
// through cockroach-go's crdbpgx.ExecuteTx (SAVEPOINT cockroach_restart,
// RELEASE as commit, COMMIT error ignored). On PostgreSQL the 40001 at
// COMMIT is dropped: T2 reports success and that it went off call, but its
// write was rolled back. This is why sqlstore has its own loop.
func TestNaiveSavepointLoopLosesWriteOnPostgres(t *testing.T) {
	dsn := startDB(t)
	s := openStore(t, dsn, sqlstore.Config{})
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reported, errs, offCall := writeSkew(t, s, func(fn func(context.Context, pgx.Tx) error) error {
		ctx := context.Background()
		return crdbpgx.ExecuteTx(ctx, pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error { return fn(ctx, tx) })
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("naive loop reported errors %v; expected it to report success", errs)
	}
	if reported != [2]bool{true, true} || offCall != 1 {
		t.Fatalf("reported %v with %d off call; expected the naive loop to report both off call while only 1 is", reported, offCall)
	}
}

// TestRunTxGivesUp: with one attempt allowed, the commit-time conflict is
// reported as ErrTooManyRetries wrapping the 40001, never as success.
func TestRunTxGivesUp(t *testing.T) {
	s := openStore(t, startDB(t), sqlstore.Config{MaxTxAttempts: 1})
	reported, errs, offCall := writeSkew(t, s, func(fn func(context.Context, pgx.Tx) error) error {
		return s.RunTx(context.Background(), fn)
	})
	if errs[0] != nil || !errors.Is(errs[1], sqlstore.ErrTooManyRetries) {
		t.Fatalf("errs = %v; want T1 ok and T2 ErrTooManyRetries", errs)
	}
	if offCall != 1 || !reported[0] {
		t.Fatalf("off call %d, reported %v", offCall, reported)
	}
	if st := s.Stats(); st.GaveUp != 1 {
		t.Fatalf("GaveUp = %d", st.GaveUp)
	}
}

package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes the store acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeCockroachRetry       = "CR000" // legacy CockroachDB retry code, still honoured by cockroach-go
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
)

// TxRetry describes one restart of a transaction, for Config.OnTxRetry.
type TxRetry struct {
	Attempt  int   // the attempt that failed (1 = first)
	AtCommit bool  // the failure came from COMMIT
	Err      error // the retryable error
}

// TxStats counts transaction outcomes since Open.
type TxStats struct {
	Commits       int64 // transactions that committed
	Retries       int64 // restarts after a retryable error
	CommitRetries int64 // restarts caused by a retryable error at COMMIT
	GaveUp        int64 // transactions that ran out of attempts
}

// sqlState returns err's SQLSTATE, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// retryable reports errors after which the whole transaction may run again.
func retryable(err error) bool {
	switch sqlState(err) {
	case codeSerializationFailure, codeDeadlockDetected, codeCockroachRetry:
		return true
	}
	return false
}

type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// RunTx runs fn in a SERIALIZABLE transaction and commits it. When any
// statement, or the COMMIT itself, fails with a serialization failure or
// deadlock, the transaction is rolled back and fn runs again in a new one,
// after a jittered exponential backoff, up to Config.MaxTxAttempts times.
// fn may therefore run more than once: it must have no effects outside tx
// except ones it resets itself, and it must return (or wrap with %w) the
// errors tx gives it.
func (s *Store) RunTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if s.closed.Load() {
		return errClosed()
	}
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil {
			s.stats.commits.Add(1)
			return nil
		}
		if s.closed.Load() {
			return errClosed()
		}
		if !retryable(err) {
			var ce *commitError
			if errors.As(err, &ce) && sqlState(err) == "" && !errors.Is(err, pgx.ErrTxCommitRollback) {
				return fmt.Errorf("%w: %w", ErrAmbiguousCommit, ce.err)
			}
			return err
		}
		var ce *commitError
		atCommit := errors.As(err, &ce)
		if attempt >= s.cfg.MaxTxAttempts {
			s.stats.gaveUp.Add(1)
			return fmt.Errorf("%w (%d attempts): %w", ErrTooManyRetries, attempt, err)
		}
		s.stats.retries.Add(1)
		if atCommit {
			s.stats.commitRetries.Add(1)
		}
		if s.cfg.OnTxRetry != nil {
			s.cfg.OnTxRetry(TxRetry{Attempt: attempt, AtCommit: atCommit, Err: err})
		}
		s.log.DebugContext(ctx, "restarting transaction", "attempt", attempt, "at_commit", atCommit, "sqlstate", sqlState(err))
		if err := sleepCtx(ctx, s.backoff(attempt)); err != nil {
			return err
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return err
	}
	// Rollback after a successful Commit is a no-op; after a failure it
	// returns the connection clean to the pool.
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return &commitError{err}
	}
	return nil
}

// backoff is full-jitter exponential: uniform in [0, min(max, base·2^(n-1))].
func (s *Store) backoff(attempt int) time.Duration {
	d := s.cfg.RetryBackoff << min(attempt-1, 20)
	if d <= 0 || d > s.cfg.MaxRetryBackoff {
		d = s.cfg.MaxRetryBackoff
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stats returns transaction counters since Open.
func (s *Store) Stats() TxStats {
	return TxStats{
		Commits:       s.stats.commits.Load(),
		Retries:       s.stats.retries.Load(),
		CommitRetries: s.stats.commitRetries.Load(),
		GaveUp:        s.stats.gaveUp.Load(),
	}
}

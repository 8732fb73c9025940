package quorum

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors.
var (
	ErrQuorum   = errors.New("quorum: not enough successes")
	ErrStrategy = errors.New("quorum: invalid strategy")
)

// Strategy is how Run fans out; see the package comment.
type Strategy struct {
	Need       int           // successes that decide success (1..n)
	Start      int           // tasks started at once; 0 means all n
	Timeout    time.Duration // per attempt; 0 means none
	HedgeAfter time.Duration // while undecided, start one spare this often; 0 disables
	Attempts   int           // attempts per index (first + replacements); 0 means 1
	WaitAll    bool          // after success, let running tasks finish instead of cancelling them
}

// Validate checks s for n tasks.
func (s Strategy) Validate(n int) error {
	switch {
	case n < 1:
		return fmt.Errorf("%w: %d tasks", ErrStrategy, n)
	case s.Need < 1 || s.Need > n:
		return fmt.Errorf("%w: need %d of %d", ErrStrategy, s.Need, n)
	case s.Start < 0 || s.Start > n:
		return fmt.Errorf("%w: start %d of %d", ErrStrategy, s.Start, n)
	case s.Timeout < 0 || s.HedgeAfter < 0 || s.Attempts < 0:
		return fmt.Errorf("%w: negative timeout, hedge or attempts", ErrStrategy)
	}
	return nil
}

// Task runs attempt (0-based) of task index. A nil error is a success.
type Task[T any] func(ctx context.Context, index, attempt int) (T, error)

// Result reports every index. A task that succeeded after the outcome was
// decided is still reported as succeeded.
type Result[T any] struct {
	Values    []T     // by index; set where OK
	OK        []bool  // index succeeded
	Errs      []error // last error of a failed index; nil if OK or never started
	Started   []bool  // index was started at least once
	Late      []bool  // index was still running when the outcome was decided (a straggler)
	Successes int
}

type report[T any] struct {
	index, attempt int
	value          T
	err            error
}

// Run fans out n tasks under s and returns when the outcome is decided and
// every started task has returned. The error is nil on success, else wraps
// ErrQuorum (joined with the tasks' errors) or the context's error.
func Run[T any](ctx context.Context, n int, s Strategy, task Task[T]) (Result[T], error) {
	res := Result[T]{
		Values: make([]T, n), OK: make([]bool, n), Errs: make([]error, n),
		Started: make([]bool, n), Late: make([]bool, n),
	}
	if err := s.Validate(n); err != nil {
		return res, err
	}
	start, attempts := s.Start, s.Attempts
	if start == 0 {
		start = n
	}
	if attempts == 0 {
		attempts = 1
	}

	runCtx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	reports := make(chan report[T], n) // at most one attempt per index in flight
	running := make([]bool, n)
	inflight, next, failed := 0, 0, 0

	launch := func(i, attempt int) {
		res.Started[i] = true
		running[i] = true
		inflight++
		go func() {
			actx, cancel := runCtx, context.CancelFunc(func() {})
			if s.Timeout > 0 {
				actx, cancel = context.WithTimeout(runCtx, s.Timeout)
			}
			v, err := task(actx, i, attempt)
			cancel()
			reports <- report[T]{index: i, attempt: attempt, value: v, err: err}
		}()
	}
	spare := func() bool {
		if next >= n {
			return false
		}
		launch(next, 0)
		next++
		return true
	}
	for next < start {
		spare()
	}

	var hedge <-chan time.Time
	var ticker *time.Ticker
	if s.HedgeAfter > 0 && start < n {
		ticker = time.NewTicker(s.HedgeAfter)
		defer ticker.Stop()
		hedge = ticker.C
	}

	decided := false
	var outcome error
	decide := func(err error) {
		decided, outcome = true, err
		for i := range running {
			if running[i] {
				res.Late[i] = true
			}
		}
		if ticker != nil {
			ticker.Stop()
			hedge = nil
		}
	}
	done := ctx.Done()
	for inflight > 0 {
		select {
		case r := <-reports:
			inflight--
			running[r.index] = false
			if r.err == nil {
				res.Values[r.index], res.OK[r.index], res.Errs[r.index] = r.value, true, nil
				res.Successes++
				break
			}
			res.Errs[r.index] = r.err
			if decided {
				break
			}
			if r.attempt+1 < attempts && runCtx.Err() == nil {
				launch(r.index, r.attempt+1)
				break
			}
			failed++
			// Start spares until success is again reachable by what runs.
			for res.Successes+inflight < s.Need && spare() {
			}
		case <-hedge:
			spare()
		case <-done:
			done = nil
			if !decided {
				decide(fmt.Errorf("quorum: %d of %d succeeded: %w", res.Successes, s.Need, ctx.Err()))
				cancelAll()
			}
		}
		if decided {
			continue
		}
		switch {
		case res.Successes >= s.Need && (!s.WaitAll || inflight == 0):
			decide(nil)
			cancelAll()
		case res.Successes+inflight+(n-next) < s.Need:
			errs := []error{ErrQuorum}
			for _, e := range res.Errs {
				if e != nil {
					errs = append(errs, e)
				}
			}
			decide(fmt.Errorf("quorum: %d of %d needed succeeded, %d failed: %w",
				res.Successes, s.Need, failed, errors.Join(errs...)))
			cancelAll()
		}
	}
	if !decided {
		// Every task returned without a decision: only possible if all ran.
		if res.Successes >= s.Need {
			return res, nil
		}
		return res, fmt.Errorf("quorum: %d of %d needed succeeded: %w", res.Successes, s.Need, ErrQuorum)
	}
	return res, outcome
}

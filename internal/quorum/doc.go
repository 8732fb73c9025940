// Package quorum is Meridian's one fan-out helper (STYLE 11): run tasks
// 0..n-1 in parallel under an explicit Strategy and decide when enough of
// them have succeeded.
//
// A Strategy says how many successes decide the outcome (Need), how many
// tasks start at once (Start; the rest are spares, started in index order
// when a started task fails for good or when hedging fires), the timeout of
// one attempt, the hedging delay (HedgeAfter: while undecided, start one more
// spare every HedgeAfter), how many attempts an index gets (Attempts: attempt
// a+1 of index i is the caller's replacement for a failed attempt a, e.g.
// the same shard on another node), and whether to wait for every started task
// (WaitAll, writes) or to cancel the stragglers once Need succeeded (reads).
//
// The outcome is decided as soon as it is known: success when Need tasks
// succeeded (and, with WaitAll, nothing is still running), failure when the
// successes plus everything still running or startable cannot reach Need.
// Then every remaining task's context is cancelled and Run waits for all of
// them to return, so no goroutine outlives Run. Tasks must honour their
// context.
package quorum

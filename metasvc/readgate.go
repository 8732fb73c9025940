package metasvc

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// readGate makes a group's leader-local reads linearizable.
//
// A read may proceed when (1) this node is the leader, (2) a Barrier has
// completed in the current term — so every entry committed by earlier
// leaders is applied to the local state machine — and (3) a VerifyLeader
// round that started after the read arrived confirmed, through a quorum,
// that the node still leads in that same term. Writes acknowledged before
// the read started were applied before their acknowledgement (same term) or
// are covered by the barrier (earlier terms), so the read observes them.
//
// Concurrent reads share VerifyLeader rounds: while a round runs, arriving
// reads join the next round; one of them starts it when the running round
// ends. No goroutine is spawned: callers run rounds themselves.
type readGate struct {
	r       *raft.Raft
	timeout time.Duration
	onRound func()

	bmu       sync.Mutex // serializes barriers
	mu        sync.Mutex
	readyTerm uint64
	running   *verifyRound
	next      *verifyRound
}

type verifyRound struct {
	started bool
	done    chan struct{}
	err     error
}

func newReadGate(r *raft.Raft, timeout time.Duration, onRound func()) *readGate {
	return &readGate{r: r, timeout: timeout, onRound: onRound}
}

// ready reports whether a barrier completed in term.
func (g *readGate) ready(term uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.readyTerm == term
}

// ensureBarrier runs a Barrier unless one already completed in the current term.
func (g *readGate) ensureBarrier() (uint64, error) {
	term := g.r.CurrentTerm()
	if g.ready(term) {
		return term, nil
	}
	g.bmu.Lock()
	defer g.bmu.Unlock()
	if g.ready(term) {
		return term, nil
	}
	if g.r.State() != raft.Leader {
		return 0, raft.ErrNotLeader
	}
	if err := g.r.Barrier(g.timeout).Error(); err != nil {
		return 0, err
	}
	g.mu.Lock()
	g.readyTerm = term
	g.mu.Unlock()
	return term, nil
}

// check returns nil when a linearizable read may be served now.
func (g *readGate) check(ctx context.Context) error {
	if g.r.State() != raft.Leader {
		return raft.ErrNotLeader
	}
	term, err := g.ensureBarrier()
	if err != nil {
		return err
	}
	if err := g.verify(ctx); err != nil {
		return err
	}
	if g.r.CurrentTerm() != term {
		// Leadership changed hands meanwhile; the caller retries.
		return raft.ErrLeadershipLost
	}
	return nil
}

// verify waits for a VerifyLeader round that started after the call.
func (g *readGate) verify(ctx context.Context) error {
	g.mu.Lock()
	if g.next == nil {
		g.next = &verifyRound{done: make(chan struct{})}
	}
	mine := g.next
	for !mine.started {
		if g.running == nil {
			// Start our round.
			mine.started = true
			g.next = nil
			g.running = mine
			g.mu.Unlock()
			if g.onRound != nil {
				g.onRound()
			}
			mine.err = g.r.VerifyLeader().Error()
			g.mu.Lock()
			g.running = nil
			close(mine.done)
			break
		}
		wait := g.running.done
		g.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			// Our round still runs for the others; we just stop waiting.
			return ctx.Err()
		}
		g.mu.Lock()
	}
	g.mu.Unlock()
	select {
	case <-mine.done:
		return mine.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

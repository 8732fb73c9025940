package background

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// State is a worker's lifecycle state.
type State string

const (
	StateIdle    State = "idle"    // between passes
	StateRunning State = "running" // in a pass over its partitions
	StatePaused  State = "paused"  // stopped by Pause until Resume
	StateFailed  State = "failed"  // the last pass ended with an error; retried after Interval
)

// States lists every State (metrics export one gauge per state).
var States = []State{StateIdle, StateRunning, StatePaused, StateFailed}

// ErrNoSuchWorker is returned by Pause and Resume for an unknown name.
var ErrNoSuchWorker = errors.New("background: no such worker")

// Task is one kind of background work. A worker runs it on one partition at
// a time, in bounded steps, and checkpoints after every step.
type Task interface {
	Name() string
	// Step does one bounded step of a pass over partition p, starting at
	// cursor ("" at the start of a pass). It returns the cursor to resume
	// from, how many items it handled, and whether the pass over p is
	// complete. valid reports whether the lease on p is still held; a
	// step checks it before every destructive action.
	Step(ctx context.Context, p int, cursor string, valid func() bool) (next string, n int, done bool, err error)
}

// intervaler is a Task with its own pause between passes (default
// Config.Interval).
type intervaler interface{ interval() time.Duration }

// concurrent is a Task whose partitions a pass runs at the same time
// (one goroutine per held partition) rather than one after another: the
// replicator, whose steps wait on another region.
type concurrent interface{ concurrentPartitions() bool }

// reporter is a Task that keeps a per-partition summary in its checkpoint
// (metapb.Checkpoint.Report): report is written with every checkpoint,
// restore is called when a checkpoint is loaded (restart, takeover).
type reporter interface {
	report(p int) string
	restore(p int, report string)
}

// flusher is a Task that must make its checkpoint durable in the middle
// of a step: the replicator writes its retry list (in its report) before
// it acknowledges the feed past the entries on it (replretry.go). The
// worker hands it flush, which writes p's checkpoint now under the step's
// lease epoch and fails when that lease is gone.
type flusher interface {
	setFlush(flush func(ctx context.Context, p int) error)
}

// lazyCheckpointer is a Task whose checkpoint after a step is only a
// status (progress shown by `meridian status`), never a resume position it
// relies on: the worker writes it at most every reportChangeRefresh. The
// replicator resumes from the feed's acknowledged position and flushes its
// retry list itself; its report can reach megabytes (the retry list), too
// much to write through Raft after every step.
type lazyCheckpointer interface{ lazyCheckpoint() bool }

// Status is a worker's state and progress.
type Status struct {
	Name       string
	State      State
	Partitions []int   // partitions it works on (leased by this process)
	Done       uint64  // items handled since start
	Passes     uint64  // completed passes since start
	Rate       float64 // items per second over the last pass
	LastError  string
	LastPass   time.Time // end of the last completed pass
}

// partProgress is a worker's resumable position in one partition, as in
// its checkpoint there.
type partProgress struct {
	epoch  uint64 // lease epoch the position was loaded or written under
	cursor string
	done   uint64
	pass   uint64
	// What the last checkpoint write recorded, so idle steps do not
	// write one each (a Raft entry per partition per pass).
	written     time.Time
	wroteDone   uint64
	wroteSt     State
	wroteReport string
	// passStart is when the pass in progress over p began (local clock).
	passStart time.Time
	// ended is when this process last completed a pass over p (local
	// clock): a pass is not started again before the worker's interval.
	ended time.Time
}

// checkpointRefresh is how often a checkpoint is rewritten while nothing
// changes (status shows the worker alive and its pass count).
const checkpointRefresh = time.Minute

// worker is the state machine that runs one Task.
type worker struct {
	task   Task
	cfg    *Config
	leases *leaser
	m      *metrics
	// onStep, if set (tests), is told of every step with its local start
	// and end time.
	onStep func(p int, start, end time.Time)

	mu      sync.Mutex
	state   State
	paused  bool
	force   bool // the next pass covers every partition, however recently passed
	wake    chan struct{}
	done    uint64
	passes  uint64
	rate    float64
	lastErr string
	last    time.Time
	// parts is guarded by partsMu (a concurrent task's partitions run at once).
	partsMu sync.Mutex
	parts   map[int]*partProgress
}

func newWorker(t Task, cfg *Config, l *leaser, m *metrics) *worker {
	w := &worker{task: t, cfg: cfg, leases: l, m: m, state: StateIdle, wake: make(chan struct{}, 1), parts: map[int]*partProgress{}}
	if f, ok := t.(flusher); ok {
		f.setFlush(w.flush)
	}
	return w
}

// flush writes p's checkpoint as it stands, from within a step of p (the
// partition's goroutine, so pp is not written concurrently).
func (w *worker) flush(ctx context.Context, p int) error {
	w.partsMu.Lock()
	pp := w.parts[p]
	w.partsMu.Unlock()
	if pp == nil {
		return errLeaseLost
	}
	if err := w.checkpoint(ctx, p, pp, StateRunning, nil); err != nil {
		return err
	}
	if e, ok := w.leases.Epoch(p); !ok || e != pp.epoch {
		return errLeaseLost // checkpoint answered a conflict: the write did not happen
	}
	return nil
}

func (w *worker) status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Status{Name: w.task.Name(), State: w.state, Partitions: w.leases.Held(), Done: w.done, Passes: w.passes,
		Rate: w.rate, LastError: w.lastErr, LastPass: w.last}
}

func (w *worker) setPaused(p bool) {
	w.mu.Lock()
	w.paused = p
	if p && w.state != StateRunning {
		w.state = StatePaused
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) interval() time.Duration {
	if iv, ok := w.task.(intervaler); ok {
		return iv.interval()
	}
	return w.cfg.Interval
}

// kick starts the next pass now (or right after the current one); it
// covers partitions not passed within the interval, or, with force, all.
func (w *worker) kick(force bool) {
	if force {
		w.mu.Lock()
		w.force = true
		w.mu.Unlock()
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) isPaused() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.paused
}

func (w *worker) setState(s State) {
	w.mu.Lock()
	w.state = s
	w.mu.Unlock()
}

// run loops over passes until ctx ends.
func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		if w.isPaused() {
			w.setState(StatePaused)
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
			continue
		}
		w.setState(StateRunning)
		start := time.Now()
		n, err := w.pass(ctx)
		elapsed := time.Since(start)
		w.mu.Lock()
		w.done += uint64(n)
		if elapsed > 0 {
			w.rate = float64(n) / elapsed.Seconds()
		}
		switch {
		case err != nil && ctx.Err() == nil:
			w.state, w.lastErr = StateFailed, err.Error()
			w.cfg.Logger.Warn("background: pass failed", "worker", w.task.Name(), "err", err)
		case err == nil:
			w.state, w.lastErr = StateIdle, ""
			w.passes++
			w.last = time.Now()
		}
		if w.paused {
			w.state = StatePaused
		}
		w.mu.Unlock()
		w.m.items.WithLabelValues(w.task.Name()).Add(float64(n))
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-time.After(w.interval()):
		}
	}
}

// pass runs the task over every partition held, each to the end of its
// pass or until the lease is lost, and returns the items handled and the
// first error.
func (w *worker) pass(ctx context.Context) (int, error) {
	total := 0
	var first error
	w.mu.Lock()
	force := w.force
	w.force = false
	w.mu.Unlock()
	if c, ok := w.task.(concurrent); ok && c.concurrentPartitions() {
		return w.passConcurrent(ctx, force)
	}
	for _, p := range w.leases.Held() {
		if ctx.Err() != nil || w.isPaused() {
			break
		}
		n, err := w.partition(ctx, p, force)
		total += n
		if err != nil && first == nil {
			first = fmt.Errorf("partition %d: %w", p, err)
		}
	}
	return total, first
}

// passConcurrent is pass with every held partition in its own goroutine.
func (w *worker) passConcurrent(ctx context.Context, force bool) (int, error) {
	held := w.leases.Held()
	ns := make([]int, len(held))
	errs := make([]error, len(held))
	var wg sync.WaitGroup
	for i, p := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns[i], errs[i] = w.partition(ctx, p, force)
		}()
	}
	wg.Wait()
	total := 0
	var first error
	for i, p := range held {
		total += ns[i]
		if errs[i] != nil && first == nil {
			first = fmt.Errorf("partition %d: %w", p, errs[i])
		}
	}
	return total, first
}

func (w *worker) partition(ctx context.Context, p int, force bool) (int, error) {
	epoch, ok := w.leases.Epoch(p)
	if !ok {
		return 0, nil
	}
	pp, err := w.progress(ctx, p, epoch)
	if err != nil {
		return 0, err
	}
	if !force && pp.cursor == "" && !pp.ended.IsZero() && time.Since(pp.ended) < w.interval() {
		return 0, nil // passed recently (a kick for another partition)
	}
	valid := func() bool {
		e, ok := w.leases.Epoch(p)
		return ok && e == epoch
	}
	total := 0
	for ctx.Err() == nil && !w.isPaused() {
		n, done, err := w.step(ctx, p, epoch, pp, valid)
		total += n
		if err != nil || done {
			return total, err
		}
	}
	return total, nil
}

// step runs one step of p and checkpoints it, marked in-use so the leaser
// gives p back (balancing) only between steps. done: the pass over p
// ended or the lease is gone.
func (w *worker) step(ctx context.Context, p int, epoch uint64, pp *partProgress, valid func() bool) (int, bool, error) {
	if !w.leases.begin(p, epoch) {
		return 0, true, nil
	}
	defer w.leases.end(p)
	start := time.Now()
	if pp.cursor == "" {
		pp.passStart = start
	}
	next, n, done, err := w.task.Step(ctx, p, pp.cursor, valid)
	if w.onStep != nil {
		w.onStep(p, start, time.Now())
	}
	pp.done += uint64(n)
	if err != nil {
		_ = w.checkpoint(ctx, p, pp, StateFailed, err)
		return n, true, err
	}
	pp.cursor = next
	state := StateRunning
	if done {
		pp.pass++
		pp.cursor = ""
		pp.ended = time.Now()
		state = StateIdle
	}
	// A pass that has handled nothing yet does not write "running": an
	// idle pass of a multi-step task (the janitor's) otherwise wrote two
	// Raft entries per partition per pass, "running" then "idle", for
	// nothing (docs/performance.md "Idle CPU"). A pass that handles items,
	// or has run for reportChangeRefresh, still shows as running.
	quiet := state == StateRunning && pp.done == pp.wroteDone && time.Since(pp.passStart) < reportChangeRefresh
	write := pp.done != pp.wroteDone || (state != pp.wroteSt && !quiet) || time.Since(pp.written) >= checkpointRefresh || w.reportChanged(p, pp)
	if l, ok := w.task.(lazyCheckpointer); ok && l.lazyCheckpoint() && time.Since(pp.written) < reportChangeRefresh {
		write = false // what must be durable, the task flushes itself
	}
	if write {
		if err := w.checkpoint(ctx, p, pp, state, nil); err != nil {
			return n, true, err
		}
	}
	return n, done, nil
}

// progress returns the worker's position in p, loading it from the
// partition's checkpoint when the lease epoch is new to this process (a
// restart, or a takeover from another holder).
func (w *worker) progress(ctx context.Context, p int, epoch uint64) (*partProgress, error) {
	w.partsMu.Lock()
	pp := w.parts[p]
	w.partsMu.Unlock()
	if pp != nil && pp.epoch == epoch {
		return pp, nil
	}
	_, cps, err := w.cfg.Meta.Background(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	pp = &partProgress{epoch: epoch}
	rep, _ := w.task.(reporter)
	if rep != nil {
		rep.restore(p, "")
	}
	for _, c := range cps {
		if c.Worker == w.task.Name() {
			pp.cursor, pp.done, pp.pass = c.Cursor, c.Done, c.Pass
			if rep != nil {
				rep.restore(p, c.Report)
			}
			w.cfg.Logger.Info("background: resuming from checkpoint", "worker", c.Worker, "partition", p,
				"cursor", c.Cursor, "done", c.Done, "pass", c.Pass, "previous_holder", c.Holder)
		}
	}
	w.partsMu.Lock()
	w.parts[p] = pp
	w.partsMu.Unlock()
	return pp, nil
}

// checkpoint writes p's position, fenced by the lease epoch. Losing the
// lease meanwhile answers ErrConflict: the position is then another
// holder's to keep.
func (w *worker) checkpoint(ctx context.Context, p int, pp *partProgress, state State, stepErr error) error {
	c := metapb.Checkpoint{Worker: w.task.Name(), Holder: w.cfg.ID, Epoch: pp.epoch, State: string(state),
		Cursor: pp.cursor, Pass: pp.pass, Done: pp.done}
	if stepErr != nil {
		c.LastError = stepErr.Error()
	}
	if rep, ok := w.task.(reporter); ok {
		c.Report = rep.report(p)
	}
	_, err := w.cfg.Meta.Checkpoint(ctx, p, metapb.CheckpointRequest{Lease: LeaseName, Checkpoint: c})
	if errors.Is(err, metaclient.ErrConflict) {
		w.leases.drop(p, pp.epoch)
		w.partsMu.Lock()
		delete(w.parts, p)
		w.partsMu.Unlock()
		return nil // lease lost: stop working p, without calling it a failure
	}
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	pp.written, pp.wroteDone, pp.wroteSt, pp.wroteReport = time.Now(), pp.done, state, c.Report
	return nil
}

// reportChangeRefresh bounds how often a changed report alone (a backlog
// appearing or clearing while nothing completes) rewrites a checkpoint.
const reportChangeRefresh = 5 * time.Second

// reportChanged reports whether a reporter's summary of p differs from the
// one last written, and the last write is older than reportChangeRefresh.
func (w *worker) reportChanged(p int, pp *partProgress) bool {
	rep, ok := w.task.(reporter)
	if !ok || time.Since(pp.written) < reportChangeRefresh {
		return false
	}
	return rep.report(p) != pp.wroteReport
}

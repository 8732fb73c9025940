package quorum

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// behaviour of one fake task index.
type behaviour struct {
	failAttempts int           // attempts 0..failAttempts-1 fail
	delay        time.Duration // before answering
	hang         bool          // block until the context ends
	hangAttempts int           // attempts 0..hangAttempts-1 block until the context ends
}

var errFake = errors.New("fake task failure")

type fakeTasks struct {
	b       map[int]behaviour
	running atomic.Int64
	calls   atomic.Int64
}

func (f *fakeTasks) task(ctx context.Context, i, attempt int) (int, error) {
	f.running.Add(1)
	defer f.running.Add(-1)
	f.calls.Add(1)
	b := f.b[i]
	if b.hang || attempt < b.hangAttempts {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if b.delay > 0 {
		select {
		case <-time.After(b.delay):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if attempt < b.failAttempts {
		return 0, errFake
	}
	return i*100 + attempt, nil
}

func TestRun(t *testing.T) {
	tests := []struct {
		name        string
		n           int
		s           Strategy
		b           map[int]behaviour
		wantErr     error
		wantOK      []int // indexes that must have succeeded
		wantNotRun  []int // indexes that must not have started
		wantLate    []int
		wantValue   map[int]int
		maxDuration time.Duration
	}{
		{name: "all succeed", n: 14, s: Strategy{Need: 14}, wantOK: []int{0, 5, 13}},
		{name: "read spares on failure", n: 14, s: Strategy{Need: 10, Start: 10},
			b:      map[int]behaviour{2: {failAttempts: 9}, 5: {failAttempts: 9}},
			wantOK: []int{0, 10, 11}, wantNotRun: []int{12, 13}},
		{name: "five of fourteen fail", n: 14, s: Strategy{Need: 10, Start: 10},
			b:       map[int]behaviour{0: {failAttempts: 9}, 1: {failAttempts: 9}, 2: {failAttempts: 9}, 3: {failAttempts: 9}, 12: {failAttempts: 9}},
			wantErr: ErrQuorum},
		{name: "hedge past a hung task", n: 4, s: Strategy{Need: 2, Start: 2, HedgeAfter: 10 * time.Millisecond},
			b:      map[int]behaviour{1: {hang: true}},
			wantOK: []int{0, 2}, wantLate: []int{1}, wantNotRun: []int{3}, maxDuration: 2 * time.Second},
		{name: "timeout then replacement", n: 3, s: Strategy{Need: 3, Timeout: 20 * time.Millisecond, Attempts: 2},
			b:         map[int]behaviour{1: {hangAttempts: 1}},
			wantOK:    []int{0, 1, 2},
			wantValue: map[int]int{1: 101}},
		{name: "replacement attempts exhausted", n: 3, s: Strategy{Need: 3, Attempts: 3},
			b:       map[int]behaviour{2: {failAttempts: 3}},
			wantErr: ErrQuorum},
		{name: "replacement succeeds on third attempt", n: 3, s: Strategy{Need: 3, Attempts: 3},
			b:         map[int]behaviour{2: {failAttempts: 2}},
			wantValue: map[int]int{2: 202}},
		{name: "cancel stragglers", n: 3, s: Strategy{Need: 2},
			b:      map[int]behaviour{2: {hang: true}},
			wantOK: []int{0, 1}, wantLate: []int{2}, maxDuration: 2 * time.Second},
		{name: "wait all keeps slow task", n: 3, s: Strategy{Need: 2, WaitAll: true},
			b:      map[int]behaviour{2: {delay: 30 * time.Millisecond}},
			wantOK: []int{0, 1, 2}},
		{name: "wait all with failure", n: 14, s: Strategy{Need: 11, WaitAll: true},
			b:      map[int]behaviour{4: {failAttempts: 1}, 9: {failAttempts: 1}},
			wantOK: []int{0, 13}},
		{name: "invalid need", n: 3, s: Strategy{Need: 4}, wantErr: ErrStrategy},
		{name: "invalid start", n: 3, s: Strategy{Need: 1, Start: 5}, wantErr: ErrStrategy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTasks{b: tt.b}
			t0 := time.Now()
			res, err := Run(context.Background(), tt.n, tt.s, f.task)
			if d := time.Since(t0); tt.maxDuration > 0 && d > tt.maxDuration {
				t.Errorf("took %v", d)
			}
			if n := f.running.Load(); n != 0 {
				t.Fatalf("%d tasks still running after Run returned", n)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err=%v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err=%v", err)
			}
			for _, i := range tt.wantOK {
				if !res.OK[i] {
					t.Errorf("index %d not OK (err %v)", i, res.Errs[i])
				}
			}
			for _, i := range tt.wantNotRun {
				if res.Started[i] {
					t.Errorf("index %d started", i)
				}
			}
			for _, i := range tt.wantLate {
				if !res.Late[i] || res.OK[i] || !errors.Is(res.Errs[i], context.Canceled) {
					t.Errorf("index %d: late=%v ok=%v err=%v, want a cancelled straggler", i, res.Late[i], res.OK[i], res.Errs[i])
				}
			}
			for i, v := range tt.wantValue {
				if res.Values[i] != v {
					t.Errorf("value[%d]=%d want %d", i, res.Values[i], v)
				}
			}
			if res.Successes < tt.s.Need {
				t.Errorf("successes %d < need %d", res.Successes, tt.s.Need)
			}
		})
	}
}

func TestRunParentCancel(t *testing.T) {
	f := &fakeTasks{b: map[int]behaviour{0: {hang: true}, 1: {hang: true}}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := Run(ctx, 2, Strategy{Need: 2}, f.task)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err=%v, want context.Canceled", err)
	}
	if n := f.running.Load(); n != 0 {
		t.Fatalf("%d tasks still running", n)
	}
}

// Hedging starts spares one per HedgeAfter, not all at once.
func TestRunHedgePace(t *testing.T) {
	f := &fakeTasks{b: map[int]behaviour{0: {delay: 120 * time.Millisecond}}}
	for i := 1; i < 10; i++ {
		f.b[i] = behaviour{hang: true}
	}
	res, err := Run(context.Background(), 10, Strategy{Need: 1, Start: 1, HedgeAfter: 50 * time.Millisecond}, f.task)
	if err != nil {
		t.Fatal(err)
	}
	started := 0
	for _, s := range res.Started {
		if s {
			started++
		}
	}
	if started < 2 || started > 4 {
		t.Fatalf("%d tasks started in ~120ms with a 50ms hedge, want 2..4", started)
	}
}

package nodeview

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// source is a control plane with fault hooks: it answers n healthy nodes,
// can fail, and can hold every read until release is closed.
type source struct {
	n     atomic.Int64
	fail  atomic.Bool
	calls atomic.Int64
	hold  atomic.Pointer[chan struct{}] // nil: answer at once
}

// holdReads makes reads wait until the returned channel is closed.
func (s *source) holdReads() chan struct{} {
	ch := make(chan struct{})
	s.hold.Store(&ch)
	return ch
}

func (s *source) StorageNodes(ctx context.Context) ([]metapb.StorageNode, error) {
	s.calls.Add(1)
	if h := s.hold.Load(); h != nil {
		select {
		case <-*h:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.fail.Load() {
		return nil, errors.New("source: control plane unavailable")
	}
	out := make([]metapb.StorageNode, s.n.Load())
	for i := range out {
		out[i] = metapb.StorageNode{ID: string(rune('a' + i)), Healthy: true}
	}
	return out, nil
}

// Fresh answers what the control plane says now, not what the last
// periodic refresh saw.
func TestFreshReadsNow(t *testing.T) {
	src := &source{}
	src.n.Store(11)
	v := New(src, time.Hour, nil) // no periodic refresh after the first
	defer v.Close()
	if err := v.Wait(context.Background(), 11); err != nil {
		t.Fatal(err)
	}
	src.n.Store(16) // five nodes send their first heartbeats
	if got := len(v.Nodes()); got != 11 {
		t.Fatalf("cached view has %d nodes, want the stale 11", got)
	}
	if got := len(v.Fresh(context.Background())); got != 16 {
		t.Fatalf("Fresh: %d nodes, want 16", got)
	}
	if got := len(v.Nodes()); got != 16 {
		t.Fatalf("cached view after Fresh: %d nodes, want 16", got)
	}
}

// Callers arriving while a forced read is in flight share it.
func TestFreshShared(t *testing.T) {
	src := &source{}
	src.n.Store(16)
	v := New(src, time.Hour, nil)
	defer v.Close()
	if err := v.Wait(context.Background(), 16); err != nil {
		t.Fatal(err)
	}
	before := src.calls.Load()
	hold := src.holdReads()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := len(v.Fresh(context.Background())); got != 16 {
				t.Errorf("Fresh: %d nodes", got)
			}
		}()
	}
	for src.calls.Load() == before { // the first caller's read is in flight
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the others join it
	close(hold)
	wg.Wait()
	if n := src.calls.Load() - before; n > 2 {
		t.Fatalf("%d reads for 8 concurrent callers, want 1 (2 if one arrived after it ended)", n)
	}
}

// A failed forced read returns the last known list, and for one interval
// later callers get it without another attempt.
func TestFreshFailureBacksOff(t *testing.T) {
	src := &source{}
	src.n.Store(16)
	v := New(src, time.Hour, nil)
	defer v.Close()
	if err := v.Wait(context.Background(), 16); err != nil {
		t.Fatal(err)
	}
	src.fail.Store(true)
	before := src.calls.Load()
	for range 5 {
		if got := len(v.Fresh(context.Background())); got != 16 {
			t.Fatalf("Fresh with the control plane down: %d nodes, want the last known 16", got)
		}
	}
	if n := src.calls.Load() - before; n != 1 {
		t.Fatalf("%d reads after a failure, want 1 (back off for an interval)", n)
	}
	// A cancelled caller is not a control-plane failure.
	v2 := New(src, time.Hour, nil)
	defer v2.Close()
	src.fail.Store(false)
	hold := src.holdReads()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_ = v2.Fresh(ctx)
	close(hold)
	if got := len(v2.Fresh(context.Background())); got != 16 {
		t.Fatalf("Fresh after a cancelled caller: %d nodes, want 16 (no back-off)", got)
	}
}

// A control plane that hangs costs a caller at most one interval, and the
// callers of the next interval nothing.
func TestFreshBounded(t *testing.T) {
	src := &source{}
	src.n.Store(16)
	hold := src.holdReads()
	v := New(src, 100*time.Millisecond, nil)
	defer v.Close()
	defer close(hold)
	start := time.Now()
	_ = v.Fresh(context.Background())
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Fresh against a hanging control plane took %v, want about one interval (100ms)", d)
	}
	start = time.Now()
	_ = v.Fresh(context.Background())
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("the next Fresh took %v, want no new read right after a failed one", d)
	}
}

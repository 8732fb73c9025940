package benchtool

import (
	"testing"
	"time"
)

func TestMergeSlices(t *testing.T) {
	a := Result{Ops: 2, Bytes: 2 << 20, Elapsed: time.Second, Concurrency: 4, ServerCPU: 10 * time.Millisecond, Metered: true,
		lat: []time.Duration{1 * time.Millisecond, 3 * time.Millisecond}}
	b := Result{Ops: 2, Bytes: 2 << 20, Elapsed: time.Second, Concurrency: 4, ServerCPU: 30 * time.Millisecond, Metered: true,
		lat: []time.Duration{2 * time.Millisecond, 4 * time.Millisecond}}
	m := Result{}.merge(a).merge(b)
	if m.Ops != 4 || m.Bytes != 4<<20 || m.Elapsed != 2*time.Second || m.ServerCPU != 40*time.Millisecond || !m.Metered {
		t.Fatalf("merged %+v", m)
	}
	if m.P50 != 3*time.Millisecond || m.P99 != 4*time.Millisecond {
		t.Fatalf("p50 %v p99 %v", m.P50, m.P99)
	}
	if got := m.ServerCPUPerMiB(); got != 10*time.Millisecond {
		t.Fatalf("CPU per MiB %v, want 10ms", got)
	}
	if m2 := m.merge(Result{Concurrency: 4, Ops: 1, lat: []time.Duration{time.Millisecond}}); m2.Metered {
		t.Fatal("an unmetered slice left the merge metered")
	}
}

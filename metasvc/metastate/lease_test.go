package metastate

import (
	"bytes"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// leaseStep is one command of a lease table test: at (offset from t0), the
// request, and what must come out.
type leaseStep struct {
	at        time.Duration
	req       *metapb.LeaseRequest
	ckpt      *metapb.CheckpointRequest
	wantErr   string
	wantHold  string // holder of the record after the step ("" = none)
	wantEpoch uint64
}

func acq(h string, ttl time.Duration) *metapb.LeaseRequest {
	return &metapb.LeaseRequest{Op: metapb.LeaseAcquire, Name: "bg", Holder: h, TTL: ttl}
}
func renew(h string, e uint64, ttl time.Duration) *metapb.LeaseRequest {
	return &metapb.LeaseRequest{Op: metapb.LeaseRenew, Name: "bg", Holder: h, Epoch: e, TTL: ttl}
}
func release(h string, e uint64) *metapb.LeaseRequest {
	return &metapb.LeaseRequest{Op: metapb.LeaseRelease, Name: "bg", Holder: h, Epoch: e}
}
func ckpt(h string, e uint64, cursor string) *metapb.CheckpointRequest {
	return &metapb.CheckpointRequest{Lease: "bg", Checkpoint: metapb.Checkpoint{Worker: "janitor", Holder: h, Epoch: e, State: "running", Cursor: cursor}}
}

func TestLease(t *testing.T) {
	s := time.Second
	tests := []struct {
		name  string
		steps []leaseStep
	}{
		{"acquire free", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
		}},
		{"held lease refused to another", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 5 * s, req: acq("B", 10*s), wantErr: metapb.ErrConflict, wantHold: "A", wantEpoch: 1},
			{at: 9 * s, req: acq("B", 10*s), wantErr: metapb.ErrConflict, wantHold: "A", wantEpoch: 1},
		}},
		{"taken over after expiry, new epoch", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 10 * s, req: acq("B", 10*s), wantHold: "B", wantEpoch: 2},
			{at: 11 * s, req: renew("A", 1, 10*s), wantErr: metapb.ErrConflict, wantHold: "B", wantEpoch: 2},
			{at: 11 * s, ckpt: ckpt("A", 1, "x"), wantErr: metapb.ErrConflict, wantHold: "B", wantEpoch: 2},
			{at: 12 * s, ckpt: ckpt("B", 2, "y"), wantHold: "B", wantEpoch: 2},
		}},
		{"renew keeps epoch and extends", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 8 * s, req: renew("A", 1, 10*s), wantHold: "A", wantEpoch: 1},
			{at: 15 * s, req: acq("B", 10*s), wantErr: metapb.ErrConflict, wantHold: "A", wantEpoch: 1},
			{at: 17 * s, req: renew("A", 1, 10*s), wantHold: "A", wantEpoch: 1},
		}},
		{"renew after expiry refused even if free", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 10 * s, req: renew("A", 1, 10*s), wantErr: metapb.ErrConflict, wantHold: "", wantEpoch: 1},
			{at: 10 * s, req: acq("A", 10*s), wantHold: "A", wantEpoch: 2},
		}},
		{"renew with a wrong epoch refused", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 1 * s, req: renew("A", 7, 10*s), wantErr: metapb.ErrConflict, wantHold: "A", wantEpoch: 1},
		}},
		{"re-acquire while held extends, same epoch", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 9 * s, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 15 * s, req: acq("B", 10*s), wantErr: metapb.ErrConflict, wantHold: "A", wantEpoch: 1},
		}},
		{"release frees at once", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 1 * s, req: release("A", 1), wantHold: "", wantEpoch: 1},
			{at: 1 * s, ckpt: ckpt("A", 1, "x"), wantErr: metapb.ErrConflict, wantHold: "", wantEpoch: 1},
			{at: 2 * s, req: acq("B", 10*s), wantHold: "B", wantEpoch: 2},
		}},
		{"release by a non-holder changes nothing", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 1 * s, req: release("B", 1), wantHold: "A", wantEpoch: 1},
			{at: 1 * s, req: release("A", 0), wantHold: "A", wantEpoch: 1},
		}},
		{"a proposer clock behind does not revive or extend", []leaseStep{
			{at: 0, req: acq("A", 10*s), wantHold: "A", wantEpoch: 1},
			{at: 20 * s, req: acq("B", 10*s), wantHold: "B", wantEpoch: 2},
			// A leader whose clock reads 5 s: expiry is judged against
			// the largest applied time (20 s), so B still holds and A
			// cannot take it back.
			{at: 5 * s, req: acq("A", 10*s), wantErr: metapb.ErrConflict, wantHold: "B", wantEpoch: 2},
			{at: 29 * s, req: acq("A", 10*s), wantErr: metapb.ErrConflict, wantHold: "B", wantEpoch: 2},
			{at: 30 * s, req: acq("A", 10*s), wantHold: "A", wantEpoch: 3},
		}},
		{"bad requests", []leaseStep{
			{at: 0, req: &metapb.LeaseRequest{Op: metapb.LeaseAcquire, Name: "bg", Holder: "A"}, wantErr: metapb.ErrBadRequest},
			{at: 0, req: &metapb.LeaseRequest{Op: metapb.LeaseAcquire, Name: "bg", Holder: "A", TTL: time.Hour}, wantErr: metapb.ErrBadRequest},
			{at: 0, req: &metapb.LeaseRequest{Op: metapb.LeaseAcquire, Name: "", Holder: "A", TTL: s}, wantErr: metapb.ErrBadRequest},
			{at: 0, req: &metapb.LeaseRequest{Op: 9, Name: "bg", Holder: "A", TTL: s}, wantErr: metapb.ErrBadRequest},
			{at: 0, ckpt: &metapb.CheckpointRequest{Lease: "bg"}, wantErr: metapb.ErrBadRequest},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			for i, st := range tc.steps {
				cmd := &metapb.Command{Time: t0.Add(st.at)}
				if st.req != nil {
					cmd.Type, cmd.Lease = metapb.CmdLease, st.req
				} else {
					cmd.Type, cmd.Checkpoint = metapb.CmdCheckpoint, st.ckpt
				}
				res := s.Apply(uint64(i+1), cmd)
				if res.Err != st.wantErr {
					t.Fatalf("step %d: err %q (%s), want %q", i, res.Err, res.ErrMsg, st.wantErr)
				}
				leases, _, _ := s.Background()
				var hold string
				var epoch uint64
				for _, l := range leases {
					if l.Name == "bg" && l.Expires.After(t0.Add(st.at)) {
						hold = l.Holder
					}
					if l.Name == "bg" {
						epoch = l.Epoch
					}
				}
				if st.wantErr != metapb.ErrBadRequest && (hold != st.wantHold || epoch != st.wantEpoch) {
					t.Fatalf("step %d: holder %q epoch %d, want %q %d", i, hold, epoch, st.wantHold, st.wantEpoch)
				}
			}
		})
	}
}

func TestCheckpointFencedAndSnapshotted(t *testing.T) {
	h := newHarness(t)
	if r := h.apply(metapb.Command{Type: metapb.CmdLease, Lease: acq("A", time.Minute)}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdCheckpoint, Checkpoint: ckpt("A", 1, "cursor-1")}); r.Err != "" {
		t.Fatal(r.ErrMsg)
	}
	if r := h.apply(metapb.Command{Type: metapb.CmdCheckpoint, Checkpoint: ckpt("B", 1, "cursor-2")}); r.Err != metapb.ErrConflict {
		t.Fatalf("checkpoint by a non-holder: %q", r.Err)
	}
	_, cps, clock := h.s.Background()
	if len(cps) != 1 || cps[0].Cursor != "cursor-1" || cps[0].Holder != "A" || !clock.Equal(h.now) {
		t.Fatalf("checkpoints %+v clock %v (want %v)", cps, clock, h.now)
	}
	// Leases, checkpoints and the clock survive a snapshot, byte-identically.
	b := snapBytes(t, h.s)
	r := New()
	if err := r.Restore(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, snapBytes(t, r)) {
		t.Fatal("restored state snapshots differently")
	}
	l2, c2, clock2 := r.Background()
	if len(l2) != 1 || l2[0].Holder != "A" || len(c2) != 1 || c2[0].Cursor != "cursor-1" || !clock2.Equal(clock) {
		t.Fatalf("restored %+v %+v %v", l2, c2, clock2)
	}
	// The restored clock still fences: B cannot take the unexpired lease.
	res := r.Apply(100, &metapb.Command{Type: metapb.CmdLease, Time: t0, Lease: acq("B", time.Minute)})
	if res.Err != metapb.ErrConflict || res.Lease == nil || res.Lease.Holder != "A" {
		t.Fatalf("restored lease not enforced: %+v", res)
	}
}

// TestLeaseWaiter: a refused acquire records its caller as the waiter (the
// holder sees the demand on its next renew); the waiter mark goes once the
// waiter gets the lease.
func TestLeaseWaiter(t *testing.T) {
	s := New()
	apply := func(i int, at time.Duration, r *metapb.LeaseRequest) metapb.Result {
		return s.Apply(uint64(i), &metapb.Command{Type: metapb.CmdLease, Time: t0.Add(at), Lease: r})
	}
	apply(1, 0, acq("A", 10*time.Second))
	if r := apply(2, time.Second, acq("B", 10*time.Second)); r.Err != metapb.ErrConflict || r.Lease.Waiter != "B" {
		t.Fatalf("refused acquire: %+v", r)
	}
	r := apply(3, 2*time.Second, renew("A", 1, 10*time.Second))
	if r.Err != "" || r.Lease.Waiter != "B" || !r.Lease.WaitUntil.After(r.Lease.Expires.Add(-10*time.Second)) {
		t.Fatalf("renew does not show the waiter: %+v", r.Lease)
	}
	apply(4, 3*time.Second, release("A", 1))
	r = apply(5, 3*time.Second, acq("B", 10*time.Second))
	if r.Err != "" || r.Lease.Holder != "B" || r.Lease.Epoch != 2 || r.Lease.Waiter != "" || !r.Lease.PrevEnded.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("waiter's acquire: %+v", r.Lease)
	}
}

package metapb

import "time"

// ---- Background work: leases and checkpoints (kept in each partition). ----
//
// Work of the background processes (background/) is split by metadata
// partition. A process works on a partition only while it holds that
// partition's lease, a record applied through the partition's own Raft group.
//
// Clock: the leader stamps every Command with its clock (Command.Time). The
// state machine keeps Clock = the largest Time applied so far and judges
// every expiry against it, never against a local clock, so every replica
// decides the same. A holder treats its lease as valid only until
// (local time when it sent the request) + TTL − margin; this is safe as long
// as no meta node's clock runs ahead of the holder's by more than margin
// (docs/background.md).

// LeaseOp selects what a LeaseRequest does.
type LeaseOp uint8

const (
	LeaseAcquire LeaseOp = 1 // take a free or expired lease, or extend one's own
	LeaseRenew   LeaseOp = 2 // extend a lease held with the given Epoch, before it expires
	LeaseRelease LeaseOp = 3 // give a held lease back (it expires at once)
)

// Lease is the record of one named lease in a partition. Epoch increases
// each time the lease changes holder; it fences checkpoints.
type Lease struct {
	Name     string    `json:"name"`
	Holder   string    `json:"holder,omitempty"` // empty once released
	Epoch    uint64    `json:"epoch"`
	Acquired time.Time `json:"acquired"` // state-machine clock when Epoch began
	Expires  time.Time `json:"expires"`  // state-machine clock after which it is free
	// PrevEnded is when the previous tenure ended (its expiry, or its
	// release); Acquired ≥ PrevEnded always.
	PrevEnded time.Time `json:"prev_ended,omitempty"`
	// Waiter is the last process refused this lease while it was held,
	// until WaitUntil: the holder sees demand and may give partitions
	// back so that work spreads over the processes (balancing).
	Waiter    string    `json:"waiter,omitempty"`
	WaitUntil time.Time `json:"wait_until,omitempty"`
}

// LeaseRequest acquires, renews or releases a lease. Renew and Release must
// name the holder and the epoch it was granted; a renew of an expired or
// taken lease answers ErrConflict (the holder must stop its work).
type LeaseRequest struct {
	Op     LeaseOp       `json:"op"`
	Name   string        `json:"name"`
	Holder string        `json:"holder"`
	Epoch  uint64        `json:"epoch,omitempty"`
	TTL    time.Duration `json:"ttl,omitempty"` // acquire and renew: 0 < TTL ≤ MaxLeaseTTL
}

// MaxLeaseTTL bounds a lease's duration.
const MaxLeaseTTL = 10 * time.Minute

// Checkpoint is a background worker's resumable position and status in one
// partition (one record per worker name per partition).
type Checkpoint struct {
	Format    int       `json:"fmt"`
	Worker    string    `json:"worker"`
	Holder    string    `json:"holder"`           // process that wrote it
	Epoch     uint64    `json:"epoch"`            // lease epoch it was written under
	State     string    `json:"state"`            // worker state (idle, running, paused, failed)
	Cursor    string    `json:"cursor,omitempty"` // worker-defined resume position
	Pass      uint64    `json:"pass"`             // completed passes
	Done      uint64    `json:"done"`             // items handled in total
	LastError string    `json:"last_error,omitempty"`
	Updated   time.Time `json:"updated"` // state-machine clock of the write
	// Report is the worker's own summary of the partition (the scrubber's
	// durability counts, background/durability.go), opaque to metasvc.
	Report string `json:"report,omitempty"`
}

// CheckpointRequest writes a checkpoint, fenced by a lease: it is applied
// only while Lease is held by Checkpoint.Holder with Checkpoint.Epoch and has
// not expired; otherwise ErrConflict.
type CheckpointRequest struct {
	Lease      string     `json:"lease"`
	Checkpoint Checkpoint `json:"checkpoint"`
}

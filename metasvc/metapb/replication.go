package metapb

import "time"

// Cross-region replication (docs/replication.md). A source version that a
// rule replicates is committed with Replication PENDING; the replicator sets
// COMPLETED once the destination committed it, or FAILED while it cannot
// (and keeps retrying). The copy at the destination is committed with
// Replication REPLICA and the source's version id; a REPLICA is never
// replicated again.
const (
	ReplPending   = "PENDING"
	ReplCompleted = "COMPLETED"
	ReplFailed    = "FAILED"
	ReplReplica   = "REPLICA"
)

// ReplicaMarker is a delete marker copied from a source bucket: Ver is the
// source marker's version id, Created its Last-Modified.
type ReplicaMarker struct {
	Ver     string    `json:"ver"`
	Created time.Time `json:"created"`
	Null    bool      `json:"null,omitempty"` // the source's null delete marker: the key's null version here
}

// ReplStatusRequest sets the replication status of the version Ver of a
// key. COMPLETED or FAILED (the replicator): only PENDING and FAILED records
// change; COMPLETED is final (a late FAILED from a replicator that lost its
// lease never overwrites it) and a REPLICA or a record without status is
// left alone. PENDING (a resync, `meridian admin replication resync`): a
// record without status or FAILED becomes PENDING and gets a new feed entry,
// so the replicator copies it; null versions, REPLICAs, PENDING and
// COMPLETED records are left alone. An absent version succeeds (it was
// deleted meanwhile).
type ReplStatusRequest struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Ver    string `json:"ver"`
	Status string `json:"status"` // COMPLETED, FAILED, or PENDING (resync)
}

package metapb

import "time"

// ---- Healing: compare-and-swap of a record's shard map (background/). ----

// ShardSwap replaces one shard of a segment: the shard at Old.Index must
// still be Old (same node and id) for the swap to apply; New takes its
// place (New.Index == Old.Index).
type ShardSwap struct {
	Old ShardRef `json:"old"`
	New ShardRef `json:"new"`
}

// ReplaceShardsRequest swaps rebuilt shards into a committed record: the
// key's committed version (current or noncurrent) with record id VersionID, or, when UploadID is set, the COMMITTED
// part attempt (UploadID, Number, Attempt). It is a compare-and-swap: it
// applies only if the record still exists in that state and every Old is
// still in place (a swap whose New is already in place counts as done, so
// a retry succeeds). Then the Old shards are queued as garbage ("healed").
// Otherwise it answers ErrConflict and queues, in the same command, the New
// shards the record does not reference ("heal superseded"): an object
// overwritten or deleted meanwhile leaves nothing behind.
type ReplaceShardsRequest struct {
	Bucket    string      `json:"bucket"`
	Key       string      `json:"key"`
	VersionID string      `json:"vid,omitempty"`
	UploadID  string      `json:"uid,omitempty"`
	Number    int         `json:"n,omitempty"`
	Attempt   string      `json:"att,omitempty"`
	Segment   int         `json:"seg"` // index into the record's Segments
	Swaps     []ShardSwap `json:"swaps"`
	// NotAfter, if set, refuses the swap (like a conflict: the new shards
	// are queued as garbage) when the command's time is past it: the new
	// shards were written unreferenced, and the orphan scan may delete an
	// unreferenced shard once it is OrphanMinAge old (docs/gc-safety.md, R5).
	NotAfter time.Time `json:"not_after,omitempty"`
}

// ShardCursor is a position in a partition's committed records for a scan:
// objects in (bucket, key) order, then committed part attempts in (bucket,
// key, upload, number, attempt) order. The zero value is the start.
type ShardCursor struct {
	Parts    bool   `json:"parts,omitempty"` // in the part attempts
	Bucket   string `json:"bucket,omitempty"`
	Key      string `json:"key,omitempty"`
	Ver      string `json:"ver,omitempty"` // the version of Key (versions are walked newest first)
	UploadID string `json:"uid,omitempty"`
	Number   int    `json:"n,omitempty"`
	Attempt  string `json:"att,omitempty"`
}

// ShardRecord is one committed record with shards, as a scan returns it:
// a version (VersionID set) or a committed part attempt (UploadID set).
// Inline bytes are never included.
type ShardRecord struct {
	Bucket    string    `json:"bucket"`
	Key       string    `json:"key"`
	VersionID string    `json:"vid,omitempty"`
	UploadID  string    `json:"uid,omitempty"`
	Number    int       `json:"n,omitempty"`
	Attempt   string    `json:"att,omitempty"`
	Size      int64     `json:"size"`
	Scheme    Scheme    `json:"scheme"`
	Segments  []Segment `json:"segs,omitempty"`
}

// ShardScanResponse answers a "shardscan" read: up to Max records after
// Cursor, and the cursor to continue from (Done: the scan reached the end).
type ShardScanResponse struct {
	Records []ShardRecord `json:"records,omitempty"`
	Next    ShardCursor   `json:"next"`
	Done    bool          `json:"done,omitempty"`
}

// Suspect names a committed version a reader found damaged (a GET that had
// to reconstruct): the healer verifies and heals it without waiting for the
// next scrub pass. Key: (Bucket, Key, VersionID).
type Suspect struct {
	Bucket    string    `json:"bucket"`
	Key       string    `json:"key"`
	VersionID string    `json:"vid"`
	Reason    string    `json:"reason,omitempty"`
	Time      time.Time `json:"time"` // state-machine clock when added
}

// SuspectRequest adds suspects (gateways) or acknowledges handled ones
// (the healer). A partition keeps at most MaxSuspects; adds beyond are
// dropped (the scrub pass still finds the damage).
type SuspectRequest struct {
	Add []Suspect `json:"add,omitempty"`
	Ack []Suspect `json:"ack,omitempty"`
}

// MaxSuspects bounds a partition's suspect list.
const MaxSuspects = 10000

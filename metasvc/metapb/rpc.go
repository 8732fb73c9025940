package metapb

import "time"

// ---- HTTP RPC envelopes of a meta node (metasvc serves, metaclient calls). ----
//
// Writes: POST /v1/p/{n}/apply with a Command body answers a Result.
// Reads:  POST /v1/p/{n}/{get|version|list|upload|uploads|parts|part|attempt|
//         scan|scanparts|scanuploads|feed|garbage|background|unreferenced}
//         with a ReadRequest body answer a ReadResponse.
// Control: POST /v1/ctl/heartbeat (StorageNode), GET /v1/ctl/status
//         (RegionStatus), GET /v1/ctl/nodes ([]StorageNode).
// A node that does not lead the addressed group answers 421 Misdirected
// Request with an RPCError naming the leader it knows of (if any); a node
// that cannot serve (no leader known, shutting down) answers 503 with an
// RPCError{Err: ErrUnavailable}.

// ReadRequest is the body of every partition read. Each read uses the fields
// it needs:
//
//	get:     Bucket, Key                      → Version (committed current)
//	version: Bucket, Key, VersionID           → Version (any state)
//	list:    List                             → List
//	upload:  Bucket, Key, UploadID            → Upload
//	uploads: ListUploads                      → Uploads
//	parts:   ListParts                        → Parts
//	part:    Bucket, Key, UploadID, Number    → Part (committed)
//	attempt: Bucket, Key, UploadID, Number, Attempt → Part (any state)
//	scan:    OlderThan, Max                   → Versions (PREPARING)
//	scanparts:   OlderThan, Max               → PartList (PREPARING part attempts)
//	scanuploads: OlderThan, Max               → UploadList (initiated before OlderThan)
//	feed:    After, Max                       → Feed
//	garbage: Max                              → Garbage
//	background: (nothing)                     → Leases, Checkpoints
//	shardscan: Cursor, Max                    → ShardScan (committed records with shards)
//	suspects: Max                             → Suspects
//	unreferenced: Shards                      → Shards (those no record of the
//	         partition references, on one consistent state; docs/gc-safety.md)
//	latest:  Bucket, Key                      → Version (newest committed record: object or delete marker)
//	ver:     Bucket, Key, Ver ("null" or id)  → Version (that version or delete marker)
//	versions: ListVersions                    → ListVersions
type ReadRequest struct {
	Bucket      string              `json:"bucket,omitempty"`
	Key         string              `json:"key,omitempty"`
	VersionID   string              `json:"vid,omitempty"`
	UploadID    string              `json:"uid,omitempty"`
	Number      int                 `json:"n,omitempty"`
	Attempt     string              `json:"att,omitempty"`
	OlderThan   time.Time           `json:"older,omitempty"`
	After       uint64              `json:"after,omitempty"`
	Max         int                 `json:"max,omitempty"`
	List        *ListRequest        `json:"list,omitempty"`
	ListUploads *ListUploadsRequest `json:"luploads,omitempty"`
	ListParts   *ListPartsRequest   `json:"lparts,omitempty"`
	Cursor      *ShardCursor        `json:"cursor,omitempty"`
	Shards      []ShardRef          `json:"shards,omitempty"` // unreferenced: the copies to check (Node, ID)
	Node        string              `json:"node,omitempty"`   // noderefs: the storage node

	Ver          string               `json:"ver,omitempty"`
	ListVersions *ListVersionsRequest `json:"lversions,omitempty"`
}

// ReadResponse answers a ReadRequest. Err is empty on success, else a
// Result error code (ErrNotFound, ErrNoSuchUpload, ErrBadRequest).
type ReadResponse struct {
	Err        string               `json:"err,omitempty"`
	ErrMsg     string               `json:"errmsg,omitempty"`
	Version    *ObjectVersion       `json:"version,omitempty"`
	Upload     *Upload              `json:"upload,omitempty"`
	Part       *Part                `json:"part,omitempty"`
	List       *ListResponse        `json:"list,omitempty"`
	Uploads    *ListUploadsResponse `json:"uploads,omitempty"`
	Parts      *ListPartsResponse   `json:"parts,omitempty"`
	Versions   []ObjectVersion      `json:"versions,omitempty"`
	Feed       []FeedEntry          `json:"feed,omitempty"`
	Garbage    []Garbage            `json:"garbage,omitempty"`
	PartList   []Part               `json:"part_list,omitempty"`
	UploadList []Upload             `json:"upload_list,omitempty"`

	Shards       []ShardRef            `json:"shards,omitempty"` // unreferenced
	ListVersions *ListVersionsResponse `json:"versions_list,omitempty"`

	Leases      []Lease      `json:"leases,omitempty"`      // background
	Checkpoints []Checkpoint `json:"checkpoints,omitempty"` // background

	ShardScan *ShardScanResponse `json:"shardscan,omitempty"`
	Suspects  []Suspect          `json:"suspects,omitempty"`

	NodeRefs *NodeRefs `json:"noderefs,omitempty"`
}

// NodeRefs counts the shards a partition's records place on one storage
// node (the "noderefs" read; remove-node is refused while any is held).
type NodeRefs struct {
	Records   int64 `json:"records"`   // records naming at least one shard on the node
	Shards    int64 `json:"shards"`    // shards on the node named by committed records
	Bytes     int64 `json:"bytes"`     // their bytes
	Preparing int64 `json:"preparing"` // shards on the node planned by PREPARING versions and part attempts
}

// RPCError is the body of a 4xx/5xx RPC answer that is not a Result/ReadResponse:
// ErrNotLeader (with the leader, when known), ErrUnavailable, ErrBadRequest.
type RPCError struct {
	Err        string `json:"err"`
	ErrMsg     string `json:"errmsg,omitempty"`
	LeaderID   string `json:"leader_id,omitempty"`
	LeaderAddr string `json:"leader_addr,omitempty"`
}

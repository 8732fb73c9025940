// Package metapb holds the wire and record types of the metadata service
// (metasvc): object version records, multipart upload records, the change
// feed, the garbage queue, the region control plane, and the commands that
// the partition state machines apply. It has no logic beyond trivial helpers.
//
// Records carry a Format version (STYLE 13); decoders accept older formats.
package metapb

import "time"

// FormatV1 is the current record format.
const FormatV1 = 1

// State is an object version's lifecycle state.
type State uint8

const (
	StateUnknown      State = 0
	StatePreparing    State = 1 // shards being written; never visible to readers
	StateCommitted    State = 2 // visible
	StateDeleteMarker State = 3 // a delete marker (versioned or suspended buckets): no data
)

func (s State) String() string {
	switch s {
	case StatePreparing:
		return "PREPARING"
	case StateCommitted:
		return "COMMITTED"
	case StateDeleteMarker:
		return "DELETE_MARKER"
	}
	return "UNKNOWN"
}

// Scheme is an erasure scheme: Data+Parity shards per segment, each shard
// made of ChunkSize-byte chunks, one per stripe (stripe = Data*ChunkSize
// bytes of object data).
type Scheme struct {
	Data      int   `json:"k"`
	Parity    int   `json:"m"`
	ChunkSize int64 `json:"chunk"`
}

// ShardRef names one stored shard of a segment.
type ShardRef struct {
	Index  int    `json:"i"`    // 0..Data+Parity-1
	Node   string `json:"node"` // storage node id
	AZ     string `json:"az"`
	ID     string `json:"id"` // shard id on that node
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc"` // of the whole shard; 0 until written
}

// Segment is a contiguous run of object bytes stored as one erasure-coded set.
type Segment struct {
	Offset int64      `json:"off"`  // offset of the segment in the object
	Size   int64      `json:"size"` // object bytes in this segment
	Shards []ShardRef `json:"shards"`
	// Inline holds the segment's bytes when it has no shards: a completed
	// multipart object keeps an inline part as one such segment (metastate).
	Inline []byte `json:"inline,omitempty"`
}

// PartInfo describes one part of a completed multipart object.
type PartInfo struct {
	Number int    `json:"n"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"` // quoted-less hex MD5 of the part
	// Checksums of the part as uploaded ("CRC32" … → base64), kept for
	// GetObjectAttributes' ObjectParts (tagging.go, checksums).
	Checksums map[string]string `json:"cks,omitempty"`
	// SSEIV is the part's stream IV when the object is encrypted (sse.go).
	SSEIV []byte `json:"sseiv,omitempty"`
}

// ObjectVersion is one version of one key. Key of the record: (Bucket, Key, VersionID).
type ObjectVersion struct {
	Format    int    `json:"fmt"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"vid"` // record id chosen by the writer: unique, names the shards ("<vid>.<seg>.<idx>"); never shown to clients
	// Ver is the S3 version id, assigned by the partition when the record
	// is committed (metastate/version.go): 16 characters that sort by commit
	// time, unique across regions, kept identical when replicated. Records
	// committed before versioning existed get one on restore.
	Ver string `json:"ver,omitempty"`
	// Null marks the key's null version (unversioned or suspended bucket):
	// clients see the version id "null". At most one per key.
	Null        bool              `json:"null,omitempty"`
	State       State             `json:"state"`
	Token       string            `json:"token,omitempty"` // idempotency token of the PUT
	Size        int64             `json:"size"`
	ETag        string            `json:"etag"`                // without quotes; "<hex>-<n>" for multipart
	Checksums   map[string]string `json:"cks,omitempty"`       // "CRC32","CRC32C","CRC64NVME","SHA1","SHA256" → base64
	ContentType string            `json:"ctype,omitempty"`     // Content-Type
	Headers     map[string]string `json:"hdrs,omitempty"`      // Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires
	UserMeta    map[string]string `json:"meta,omitempty"`      // x-amz-meta-* (lower-case names without the prefix)
	Owner       string            `json:"owner,omitempty"`     // account id
	Created     time.Time         `json:"created"`             // set by the gateway at PREPARE; Last-Modified
	Scheme      Scheme            `json:"scheme"`              //
	Inline      []byte            `json:"inline,omitempty"`    // whole object when small; then Segments is empty
	Segments    []Segment         `json:"segs,omitempty"`      //
	Parts       []PartInfo        `json:"parts,omitempty"`     // multipart objects only
	UploadID    string            `json:"upid,omitempty"`      // the multipart upload completed into this version (a repeated Complete answers it)
	Replication string            `json:"repl,omitempty"`      // replication status: "", PENDING, COMPLETED, FAILED or REPLICA (replication.go)
	PreparedAt  time.Time         `json:"prepared,omitempty"`  // leader time of PREPARE (janitor backstop age)
	CommittedAt time.Time         `json:"committed,omitempty"` // leader time of COMMIT
	// Tags are the object tags (x-amz-tagging, PutObjectTagging): at most
	// MaxObjectTags, validated by the gateway; changed in place by
	// CmdPutTags (tagging.go). Nil: no tags.
	Tags map[string]string `json:"tags,omitempty"`
	// ChecksumType is how Checksums were computed: ChecksumFullObject
	// (over the whole object; "" means the same) or ChecksumComposite
	// (over the parts' checksums, "<base64>-<parts>"; multipart only).
	ChecksumType string `json:"cktype,omitempty"`
	// SSE: the bytes are encrypted at rest (sse.go); Inline and Segments
	// then hold ciphertext and Size stays the plaintext size.
	SSE *Encryption `json:"sse,omitempty"`
	// ACL is the version's access control list (acl.go; nil: the owner's
	// FULL_CONTROL), set at write and replaced in place by CmdPutACL.
	ACL *ObjectACL `json:"acl,omitempty"`
	// Lock is the version's Object Lock state (retention, legal hold; nil:
	// none), enforced by the partition (objectlock.go).
	Lock *ObjectLock `json:"lock,omitempty"`
}

// Upload is an in-progress multipart upload. Key: (Bucket, Key, UploadID).
type Upload struct {
	Format      int               `json:"fmt"`
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	UploadID    string            `json:"uid"`
	Token       string            `json:"token,omitempty"`
	ContentType string            `json:"ctype,omitempty"`
	Headers     map[string]string `json:"hdrs,omitempty"`
	UserMeta    map[string]string `json:"meta,omitempty"`
	Checksum    string            `json:"ckalg,omitempty"` // x-amz-checksum-algorithm at create
	Owner       string            `json:"owner,omitempty"`
	Initiated   time.Time         `json:"initiated"`
	Scheme      Scheme            `json:"scheme"`
	// ChecksumType is x-amz-checksum-type at create (ChecksumComposite or
	// ChecksumFullObject; "" = the algorithm's default).
	ChecksumType string `json:"cktype,omitempty"`
	// Tags (x-amz-tagging at create) are given to the object at Complete.
	Tags map[string]string `json:"tags,omitempty"`
	// SSE: every part is encrypted with this key material (no IV: each
	// part has its own, Part.SSEIV); the completed object gets it.
	SSE *Encryption `json:"sse,omitempty"`
	// ACL (x-amz-acl or x-amz-grant-* at create) is given to the object at Complete.
	ACL *ObjectACL `json:"acl,omitempty"`
	// Lock (x-amz-object-lock-* at create) is given to the object at Complete.
	Lock *ObjectLock `json:"lock,omitempty"`
}

// Part is one uploaded part. Key: (Bucket, Key, UploadID, Number). A part is
// PREPARED before its shards are written and COMMITTED after, like an object.
type Part struct {
	Format    int               `json:"fmt"`
	Bucket    string            `json:"bucket"`
	Key       string            `json:"key"`
	UploadID  string            `json:"uid"`
	Number    int               `json:"n"`     // 1..10000
	Attempt   string            `json:"att"`   // unique per upload attempt of this part number
	State     State             `json:"state"` // PREPARING or COMMITTED
	Size      int64             `json:"size"`
	ETag      string            `json:"etag"`
	Checksums map[string]string `json:"cks,omitempty"`
	Inline    []byte            `json:"inline,omitempty"`
	Segments  []Segment         `json:"segs,omitempty"`
	Created   time.Time         `json:"created"`
	// SSEIV is the part's stream IV in an encrypted upload; Inline and
	// Segments then hold ciphertext and Size stays the plaintext size.
	SSEIV []byte `json:"sseiv,omitempty"`
}

// FeedOp is the kind of a change feed entry.
type FeedOp uint8

const (
	FeedPut    FeedOp = 1
	FeedDelete FeedOp = 2
)

// FeedEntry is one committed mutation in a partition's change feed.
type FeedEntry struct {
	Seq       uint64    `json:"seq"` // strictly increasing per partition
	Op        FeedOp    `json:"op"`
	Bucket    string    `json:"bucket"`
	Key       string    `json:"key"`
	VersionID string    `json:"vid"`
	Time      time.Time `json:"time"`
	// Ver is the S3 version id the entry concerns (the committed version,
	// the new delete marker, or the permanently deleted version); Null marks
	// the null version.
	Ver  string `json:"ver,omitempty"`
	Null bool   `json:"null,omitempty"`
}

// Garbage is a set of shards no committed record references any more (an
// overwritten or deleted version, an aborted PREPARE, a replaced part). It
// waits in the partition's garbage queue until a reclaimer deletes the
// shards and acknowledges it.
type Garbage struct {
	ID       uint64    `json:"id"` // strictly increasing per partition
	Reason   string    `json:"reason"`
	Bucket   string    `json:"bucket"`
	Key      string    `json:"key"`
	Segments []Segment `json:"segs"`
	Time     time.Time `json:"time"`
}

// ---- Commands applied by a partition's state machine (through Raft). ----

// CommandType selects the field of Command that is set.
type CommandType uint8

const (
	CmdPrepare CommandType = iota + 1
	CmdCommit
	CmdAbort
	CmdDelete
	CmdCreateUpload
	CmdPreparePart
	CmdCommitPart
	CmdCompleteUpload
	CmdAbortUpload
	CmdAckFeed
	CmdAckGarbage
	CmdAbortPart
	CmdSealBucket
	CmdUnsealBucket
	CmdDropBucket
	CmdLease         // background work lease (background.go)
	CmdCheckpoint    // background worker checkpoint (background.go)
	CmdReplaceShards // healer: compare-and-swap of a record's shards (heal.go)
	CmdSuspect       // readers report damaged versions to the healer (heal.go)
	CmdPutTags       // replace a committed version's tags (tagging.go)
	CmdReplStatus    // replicator: a source version's replication status (replication.go)
	CmdPutACL        // replace a committed version's ACL (acl.go)
	CmdPutLock       // change a committed version's retention or legal hold (objectlock.go)

	CmdLimit // one past the last command type: add new types above it
)

// Command is one Raft log entry of a partition. Time is the leader's clock
// when it proposed the command; the state machine uses it, never its own
// clock, so every replica computes the same state.
type Command struct {
	Type CommandType `json:"t"`
	Time time.Time   `json:"time"`
	// Region is the leader's region, set with Time: it is part of every
	// version id the command assigns (unique across regions).
	Region string `json:"region,omitempty"`

	Prepare        *PrepareRequest        `json:"prepare,omitempty"`
	Commit         *CommitRequest         `json:"commit,omitempty"`
	Abort          *AbortRequest          `json:"abort,omitempty"`
	Delete         *DeleteRequest         `json:"delete,omitempty"`
	CreateUpload   *CreateUploadRequest   `json:"cupload,omitempty"`
	PreparePart    *PreparePartRequest    `json:"ppart,omitempty"`
	CommitPart     *CommitPartRequest     `json:"cpart,omitempty"`
	CompleteUpload *CompleteUploadRequest `json:"complete,omitempty"`
	AbortUpload    *AbortUploadRequest    `json:"aupload,omitempty"`
	AckFeed        *AckFeedRequest        `json:"ackfeed,omitempty"`
	AckGarbage     *AckGarbageRequest     `json:"ackgc,omitempty"`
	AbortPart      *AbortPartRequest      `json:"apart,omitempty"`
	SealBucket     *SealBucketRequest     `json:"seal,omitempty"`
	UnsealBucket   *SealBucketRequest     `json:"unseal,omitempty"`
	DropBucket     *SealBucketRequest     `json:"drop,omitempty"`
	Lease          *LeaseRequest          `json:"lease,omitempty"`
	Checkpoint     *CheckpointRequest     `json:"ckpt,omitempty"`
	ReplaceShards  *ReplaceShardsRequest  `json:"rshards,omitempty"`
	Suspect        *SuspectRequest        `json:"suspect,omitempty"`
	PutTags        *PutTagsRequest        `json:"puttags,omitempty"`
	ReplStatus     *ReplStatusRequest     `json:"replstatus,omitempty"`
	PutACL         *PutACLRequest         `json:"putacl,omitempty"`
	PutLock        *PutLockRequest        `json:"putlock,omitempty"`
}

// Result is what applying a Command returns. Err is empty on success, else
// one of the Err* codes below (with a message in ErrMsg).
type Result struct {
	Err    string `json:"err,omitempty"`
	ErrMsg string `json:"errmsg,omitempty"`

	Version  *ObjectVersion `json:"version,omitempty"`  // Prepare, Commit, Delete(removed), CompleteUpload
	Replaced *ObjectVersion `json:"replaced,omitempty"` // Commit / CompleteUpload: the version it replaced
	Existed  bool           `json:"existed,omitempty"`  // Prepare/Commit: idempotent retry hit an existing record
	Upload   *Upload        `json:"upload,omitempty"`
	Part     *Part          `json:"part,omitempty"`
	Seq      uint64         `json:"seq,omitempty"`   // feed seq written by this command, if any
	Lease    *Lease         `json:"lease,omitempty"` // Lease: the record after the command (ErrConflict: the current one)
}

// Result error codes.
const (
	ErrNotFound         = "NotFound"     // no such record (object, version, upload, part)
	ErrNoSuchUpload     = "NoSuchUpload" //
	ErrInvalidPart      = "InvalidPart"  // CompleteUpload: part missing or ETag mismatch
	ErrInvalidPartOrder = "InvalidPartOrder"
	ErrEntityTooSmall   = "EntityTooSmall" // a non-last part under MinPartSize
	ErrConflict         = "Conflict"       // record not in the expected state (e.g. COMMIT of an aborted PREPARE)
	ErrPrecondition     = "PreconditionFailed"
	ErrBadRequest       = "BadRequest"
	// ErrBucketNotEmpty: SealBucket of a bucket with committed objects in this partition.
	ErrBucketNotEmpty = "BucketNotEmpty"
	// ErrBucketSealed: a write to a bucket incarnation whose delete is in
	// progress (sealed, not yet dropped).
	ErrBucketSealed = "BucketSealed"
	// ErrBucketGone: a write to a deleted (dropped) bucket incarnation.
	ErrBucketGone  = "BucketGone"
	ErrNotLeader   = "NotLeader"   // RPC layer only
	ErrUnavailable = "Unavailable" // RPC layer only: no quorum / shutting down
)

// MinPartSize is S3's minimum size of every part but the last.
const MinPartSize = 5 << 20

// MaxParts is S3's maximum number of parts.
const MaxParts = 10000

// PrepareRequest creates a PREPARING version (placement chosen, shards not yet
// written). Idempotent on (Bucket, Key, Version.Token): when a version with
// that token exists (PREPARING or COMMITTED) it is returned with Existed=true
// and nothing changes.
type PrepareRequest struct {
	Version ObjectVersion `json:"version"` // State is set to PREPARING by the FSM
}

// CommitRequest makes a version visible, atomically making it the key's
// current version (the previous one is returned as Result.Replaced; it is
// queued as Garbage when it was the null version of an unversioned or
// suspended bucket, else kept as a noncurrent version; Versioning). Two forms:
//   - VersionID names a PREPARING record: it becomes COMMITTED with the
//     fields from Final (size, etag, checksums, segment CRCs…).
//   - No PREPARING record and Final has no Segments (inline object): the
//     version is created and committed in one step. Idempotent on Final.Token
//     like Prepare.
//
// Committing a version that was aborted fails with ErrConflict (the janitor's
// fence). If IfMatch/IfNoneMatch are set they are checked against the current
// version's ETag atomically (IfNoneMatch "*" = only if no current version).
type CommitRequest struct {
	Bucket      string        `json:"bucket"`
	Key         string        `json:"key"`
	VersionID   string        `json:"vid"`
	Final       ObjectVersion `json:"final"`
	IfMatch     string        `json:"ifmatch,omitempty"`
	IfNoneMatch string        `json:"ifnonematch,omitempty"`
	// Versioning is the bucket's mode at write time: Enabled keeps the
	// replaced current version as a noncurrent version; Off and Suspended
	// replace the key's null version (garbage).
	Versioning Versioning `json:"versioning,omitempty"`
	// Replica: the replicator's write of a version copied from another
	// bucket (replication.go): Final.Ver is the source's version id, kept.
	Replica bool `json:"replica,omitempty"`
}

// AbortRequest removes a PREPARING version (failed write, or the janitor).
// Only a PREPARING record is removed; a COMMITTED one answers ErrConflict.
// The removed record's segments are queued as Garbage.
type AbortRequest struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"vid"`
	Reason    string `json:"reason,omitempty"`
}

// DeleteRequest removes the key's current committed version (unversioned
// bucket semantics). Deleting an absent key succeeds (S3 answers 204).
// Result.Version is the removed version, if any; its segments are queued as Garbage.
// IfMatch (an ETag list or "*") is evaluated against the current version in
// the same apply: absent key → ErrNotFound, no match → ErrPrecondition, and
// nothing is deleted.
//
// Versioned buckets: with Version set ("null" or a version id) that one
// version (object or delete marker) is removed permanently, whatever the
// mode; Result.Version is it, and when it was the newest the next one
// becomes current. An absent version succeeds with no Version. Without
// Version, Versioning Enabled adds a delete marker (Result.Version, State
// DELETE_MARKER) and keeps every version; Suspended removes the null
// version and adds a null delete marker; Off removes the null version.
type DeleteRequest struct {
	Bucket     string     `json:"bucket"`
	Key        string     `json:"key"`
	IfMatch    string     `json:"ifmatch,omitempty"`
	Version    string     `json:"version,omitempty"`
	Versioning Versioning `json:"versioning,omitempty"`
	Owner      string     `json:"owner,omitempty"` // of a new delete marker
	// Replication is a new delete marker's replication status (PENDING
	// when a rule replicates it; replication.go).
	Replication string `json:"repl,omitempty"`
	// Replica, if set, adds a delete marker replicated from another bucket
	// with the source's version id (replication.go); the other fields but
	// Bucket, Key and Owner are ignored.
	Replica *ReplicaMarker `json:"replica,omitempty"`
	// BypassGovernance: the requester asked to bypass GOVERNANCE retention
	// and holds the permission (decided by the gateway; objectlock.go).
	BypassGovernance bool `json:"bypassgov,omitempty"`
}

// CreateUploadRequest starts a multipart upload. Idempotent on Upload.Token.
type CreateUploadRequest struct {
	Upload Upload `json:"upload"`
}

// PreparePartRequest records a part attempt as PREPARING.
type PreparePartRequest struct {
	Part Part `json:"part"`
}

// CommitPartRequest commits a prepared part attempt; it replaces an earlier
// committed part with the same number (queued as Garbage).
type CommitPartRequest struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID string `json:"uid"`
	Number   int    `json:"n"`
	Attempt  string `json:"att"`
	Final    Part   `json:"final"` // Size, ETag, Checksums, Segments (with CRCs), Inline
}

// CompletePart is one entry of a CompleteMultipartUpload request.
type CompletePart struct {
	Number int    `json:"n"`
	ETag   string `json:"etag"` // quotes stripped
	// Checksums the client listed for the part (Checksum<ALG> elements);
	// each must equal the part's stored checksum (ErrInvalidPart).
	Checksums map[string]string `json:"cks,omitempty"`
}

// CompleteUploadRequest turns an upload's listed parts into one committed
// object version (VersionID, Created given by the gateway), replacing the
// current version. Checks, in S3's order: upload exists (ErrNoSuchUpload),
// parts ascending (ErrInvalidPartOrder), each exists with that ETag
// (ErrInvalidPart), each but the last ≥ MinPartSize (ErrEntityTooSmall).
// Unlisted parts are queued as Garbage. ETag = hex(MD5(concat of part MD5
// digests)) + "-" + count. Idempotent: completing an upload whose completion
// with the same Token already committed returns that version (Existed=true).
type CompleteUploadRequest struct {
	Bucket    string         `json:"bucket"`
	Key       string         `json:"key"`
	UploadID  string         `json:"uid"`
	VersionID string         `json:"vid"`
	Token     string         `json:"token,omitempty"`
	Parts     []CompletePart `json:"parts"`
	Created   time.Time      `json:"created"`
	// Checksums are full-object checksums the client claims (x-amz-checksum-*
	// on Complete); the computed multipart checksum of that algorithm must
	// equal them (ErrBadDigest). The object's checksum is computed by the
	// apply from the parts (tagging.go in metastate: multipartChecksum).
	Checksums map[string]string `json:"cks,omitempty"`
	// IfMatch / IfNoneMatch condition the completion on the key's current
	// version, in the same apply (after the idempotency check): IfMatch on an
	// absent key → ErrNotFound, no match → ErrPrecondition; IfNoneMatch "*"
	// on an existing key → ErrPrecondition. The upload is left untouched.
	IfMatch     string `json:"ifmatch,omitempty"`
	IfNoneMatch string `json:"ifnonematch,omitempty"`
	// Versioning: as CommitRequest.Versioning.
	Versioning Versioning `json:"versioning,omitempty"`
	// Replication is the new version's replication status (PENDING when a
	// rule replicates it; replication.go).
	Replication string `json:"repl,omitempty"`
	// DefaultLock is the bucket's default retention as of the completion
	// (objectlock.go): given to the version when the upload has no
	// retention of its own.
	DefaultLock *ObjectLock `json:"deflock,omitempty"`
}

// AbortPartRequest removes a PREPARING part attempt (failed part write, or
// the janitor) and queues its segments as Garbage; like AbortRequest it is the
// fence against a late CommitPart. A COMMITTED attempt answers ErrConflict;
// an absent one succeeds.
type AbortPartRequest struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID string `json:"uid"`
	Number   int    `json:"n"`
	Attempt  string `json:"att"`
}

// AbortUploadRequest removes an upload and queues all its parts as Garbage.
//
// Token is the request's idempotency token: a replay of an abort that was
// applied (an RPC retried after a lost answer, or the client's own retry of
// the same request) finds it and answers success again instead of
// NoSuchUpload.
type AbortUploadRequest struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID string `json:"uid"`
	Token    string `json:"tok,omitempty"`
}

// SealBucketRequest names a bucket incarnation (the Bucket field of its
// records) in one partition. Deleting a bucket runs, on every partition:
//
//   - SealBucket: refuse (ErrBucketNotEmpty) if the partition holds a
//     committed object of the bucket, else seal it. From then on every write
//     of the bucket (Prepare, Commit, CreateUpload, PreparePart, CommitPart,
//     CompleteUpload) fails with ErrBucketSealed; aborts and deletes still run.
//   - UnsealBucket (when another partition refused): remove a seal that was
//     not dropped; writes resume.
//   - DropBucket (after the catalog entry is deleted): the seal becomes a
//     permanent tombstone (writes fail with ErrBucketGone) and the bucket's
//     multipart uploads are removed, their parts queued as Garbage.
type SealBucketRequest struct {
	Bucket string `json:"bucket"`
}

// BucketSeal is the state a partition keeps for a sealed or dropped bucket
// incarnation. Key: Bucket.
type BucketSeal struct {
	Format  int       `json:"fmt"`
	Bucket  string    `json:"bucket"`
	Dropped bool      `json:"dropped,omitempty"`
	Sealed  time.Time `json:"sealed"`
}

// AckFeedRequest records that Consumer has processed the feed up to Seq;
// entries every registered consumer has acknowledged are dropped.
type AckFeedRequest struct {
	Consumer string `json:"consumer"`
	Seq      uint64 `json:"seq"`
}

// AckGarbageRequest drops garbage entries whose shards were deleted.
type AckGarbageRequest struct {
	IDs []uint64 `json:"ids"`
}

// ---- Reads (served by the partition leader after confirming leadership). ----

// ListRequest lists one bucket's committed keys in one partition or, through
// metaclient, merged over all partitions.
type ListRequest struct {
	Bucket     string `json:"bucket"`
	Prefix     string `json:"prefix,omitempty"`
	Delimiter  string `json:"delim,omitempty"`
	StartAfter string `json:"after,omitempty"` // exclusive; if it is a common prefix (ends with Delimiter after Prefix) every key under it is skipped too
	MaxKeys    int    `json:"max"`             // 1..1000
}

// ListEntry is a key (Version set) or a common prefix (Prefix set).
type ListEntry struct {
	Prefix  string         `json:"prefix,omitempty"`
	Version *ObjectVersion `json:"version,omitempty"` // listing form: Inline, Segments and Parts omitted
}

// Name returns the sort key of the entry.
func (e ListEntry) Name() string {
	if e.Version != nil {
		return e.Version.Key
	}
	return e.Prefix
}

// ListResponse is the ordered result; Truncated when more entries follow.
type ListResponse struct {
	Entries   []ListEntry `json:"entries"`
	Truncated bool        `json:"truncated"`
}

// ListUploadsRequest lists in-progress uploads (ListMultipartUploads).
type ListUploadsRequest struct {
	Bucket         string `json:"bucket"`
	Prefix         string `json:"prefix,omitempty"`
	Delimiter      string `json:"delim,omitempty"`
	KeyMarker      string `json:"keymarker,omitempty"`
	UploadIDMarker string `json:"uidmarker,omitempty"`
	MaxUploads     int    `json:"max"`
}

// ListUploadsResponse: uploads ordered by (key, initiated, upload id).
type ListUploadsResponse struct {
	Uploads        []Upload `json:"uploads"`
	CommonPrefixes []string `json:"prefixes,omitempty"`
	Truncated      bool     `json:"truncated"`
}

// ListPartsRequest lists committed parts of one upload.
type ListPartsRequest struct {
	Bucket           string `json:"bucket"`
	Key              string `json:"key"`
	UploadID         string `json:"uid"`
	PartNumberMarker int    `json:"marker,omitempty"`
	MaxParts         int    `json:"max"`
}

// ListPartsResponse: committed parts ordered by number.
type ListPartsResponse struct {
	Upload    Upload `json:"upload"`
	Parts     []Part `json:"parts"` // Inline omitted
	Truncated bool   `json:"truncated"`
}

// ---- Region control plane (its own Raft group on the meta nodes). ----

// StorageNode is a registered storage node.
type StorageNode struct {
	ID            string    `json:"id"`
	AZ            string    `json:"az"`
	Addr          string    `json:"addr"` // host:port of its HTTP API
	CapacityBytes int64     `json:"capacity"`
	UsedBytes     int64     `json:"used"`
	Registered    time.Time `json:"registered"`
	// Draining (set by `meridian admin drain`, replicated): the node gets
	// no new shards (placement skips it) and the background drainer moves
	// its shards away; DrainStarted is the control plane's time of the
	// drain command (docs/background.md, "Node lifecycle").
	Draining     bool      `json:"draining,omitempty"`
	DrainStarted time.Time `json:"drain_started,omitempty"`
	// Filled by the control-plane leader from heartbeats (not replicated):
	LastHeartbeat time.Time `json:"last_heartbeat"`
	Healthy       bool      `json:"healthy"`
}

// DrainRequest starts (On) or cancels a storage node's drain. Starting a
// drain that is on keeps its start time.
type DrainRequest struct {
	ID string `json:"id"`
	On bool   `json:"on"`
}

// RemoveNodeRequest removes a storage node from the region. It applies only
// if the node is draining and has been for at least MinDrained (by the
// command times), so that every gateway's node view (refreshed every
// second) has long seen the drain and places nothing new there. The
// caller checks, before sending it, that no record names a shard on the
// node (docs/background.md, "Node lifecycle").
type RemoveNodeRequest struct {
	ID         string        `json:"id"`
	MinDrained time.Duration `json:"min_drained"`
}

// MetaNode is one metadata node.
type MetaNode struct {
	ID   string `json:"id"`
	AZ   string `json:"az"`
	Addr string `json:"addr"` // host:port of its API and Raft listener
}

// PartitionInfo names a partition's replicas and, as last seen, its leader.
type PartitionInfo struct {
	ID       int      `json:"id"`
	Replicas []string `json:"replicas"` // meta node ids, in 3 AZs
	Leader   string   `json:"leader,omitempty"`
}

// RegionStatus is the control plane's view of the region.
type RegionStatus struct {
	Region     string          `json:"region"`
	Partitions []PartitionInfo `json:"partitions"`
	MetaNodes  []MetaNode      `json:"meta_nodes"`
	Storage    []StorageNode   `json:"storage_nodes"`
	// AZ-loss tolerance for the default scheme (invariant 5).
	AZs            int    `json:"azs"`
	AZLossTolerant bool   `json:"az_loss_tolerant"`
	Note           string `json:"note,omitempty"`
}

// Package metastate is the state machine of one metadata partition: a
// pure, deterministic, in-memory store of object versions, multipart
// uploads, idempotency tokens, the change feed and the garbage queue,
// changed only by Apply(index, *metapb.Command) and captured by cheap
// copy-on-write snapshots. metasvc wraps a State in a raft.FSM; this
// package knows nothing of Raft, the network or the clock.
//
// # Record model
//
// All records live in ordered B-trees (github.com/google/btree, generic,
// with lazy copy-on-write Clone):
//
//   - vers (bucket, key, Ver descending) → every committed record of a key:
//     the current version, noncurrent versions and delete markers, newest
//     first. ListVersions walks it like List walks cur.
//   - cur (bucket, key) → the key's current version: the newest record in
//     vers when it is not a delete marker (the same pointer; no entry when
//     the newest is a marker). Its byte order is the listing order: List
//     seeks to max(prefix, StartAfter) and, at each rolled-up common
//     prefix, seeks past the prefix's range, so a page costs
//     O((entries + prefixes) · log n), never a bucket scan, and never steps
//     over old versions or markers.
//   - nulls (bucket, key) → the key's null version or null delete marker
//     (an index of vers; at most one per key).
//   - prep (bucket, key, version id) → PREPARING versions (placement chosen,
//     shards being written). Several may exist per key (concurrent PUTs).
//   - uploads (bucket, key, upload id) and parts (bucket, key, upload id,
//     number, attempt): part attempts are PREPARING or COMMITTED; at most
//     one attempt per number is COMMITTED (a newer committed attempt
//     replaces the older, which becomes garbage).
//   - tokens (bucket, key, kind, token) and its expiry index.
//   - feed (seq) with the consumers' acknowledged positions, and garbage (id).
//
// # Versions
//
// Every committed record gets its S3 version id (Ver) in the apply that
// commits it (version.go): 16 URL-safe characters encoding 8 bytes of Unix
// nanoseconds — the command's time, or one more than the last id this
// partition assigned when the leader's clock did not move forward — and 4
// bytes of FNV-1a of the leader's region (Command.Region). Ids of a key
// therefore grow in commit order, sort by time across regions, and differ
// between regions; a replica keeps its source's id. The writer-chosen
// VersionID stays the record id (shard names, idempotency); clients never
// see it.
//
// Commit and CompleteUpload carry the bucket's versioning mode (read by the
// gateway from the catalog at write time). Enabled: the new version is
// added and the previous current one stays in vers, noncurrent, its shards
// referenced. Off and Suspended: the new version is the key's null version
// and replaces the previous null version (removed, shards queued as
// "overwritten"), leaving other versions alone. Delete without a version id:
// Off removes the null version ("deleted"); Enabled adds a delete marker;
// Suspended removes the null version and adds a null delete marker. Delete
// with a version id ("null" or an id) removes that record for good
// ("deleted"); when it was the newest, the next record becomes current (or
// none, if that is a marker). A bucket whose partition holds any record in
// vers — markers included — cannot be sealed (not empty, as in S3).
//
// GetVersion finds a record by its VersionID (committed, marker or
// PREPARING); GetVer by its S3 version id; Latest returns the newest
// record, marker or not (GET answers 404 with x-amz-delete-marker).
//
// Records in the trees are immutable: every change inserts a fresh record,
// so a snapshot's cloned trees and the live trees can share them. Apply
// deep-copies its input before storing it and every read returns deep
// copies, so no caller can alias state.
//
// Inline data: a small object is stored whole in ObjectVersion.Inline
// (Segments empty). A completed multipart upload whose parts are all
// inline becomes an inline object. Otherwise its Segments are the listed
// parts' segments in order, Offsets rebased to the object; an inline part
// (typically a small last part) is carried as a Segment with no Shards and
// its bytes in Segment.Inline (field added to metapb for this). Readers
// serve such a segment from the record. Listings omit all inline bytes.
//
// # Idempotency
//
// Tokens are remembered for at least TokenTTL (24 h) after the Time of the
// command that wrote them, in three namespaces per (bucket, key):
//
//   - object (Prepare, inline Commit): a retried PUT answers Existed=true
//     with the version its token created — PREPARING, COMMITTED, or, when
//     that version has since been replaced or deleted, a byte-less summary
//     (version id, ETag, size, times) — and changes nothing. A token whose
//     PREPARE was aborted is forgotten: the retry starts afresh.
//   - upload (CreateUpload): the retry returns the upload it created.
//   - complete (CompleteUpload): the retry returns the committed version.
//
// Without tokens, retries are idempotent by record identity: Prepare of an
// existing version id, Commit of the current version, PreparePart/
// CommitPart of an existing attempt, CompleteUpload of a version id that is
// current once the upload is gone all answer Existed=true. Commit checks
// idempotency before its If-Match/If-None-Match condition, so a retried
// conditional commit that already succeeded still succeeds.
//
// Expired tokens are pruned during Apply, by cmd.Time (never the local
// clock), at most 16 per command: each command adds at most one token, so
// the backlog drains, and every replica prunes identically. The contract
// for callers: version ids and part attempt ids are never reused for new
// data (metapb: "unique").
//
// # Garbage and the fence (invariant 4: nothing referenced is deleted)
//
// A shard becomes garbage only when the record that referenced it leaves
// the state in the same Apply: a replaced null version or a permanently
// deleted version ("overwritten", "deleted"; a noncurrent version stays
// referenced until it is deleted by id), an aborted PREPARE or part attempt
// ("aborted"), a replaced part ("replaced"), parts not listed in a
// completion or belonging to an aborted upload ("unlisted part", "upload
// aborted"), and planned shards a commit did not use ("unused"). So every
// planned shard is referenced by exactly one of: a committed version in
// vers (current or noncurrent), a PREPARING version, a part attempt, or a garbage entry (the tests check
// this accounting over random histories).
//
// Why a queued shard is never referenced again:
//
//  1. Commit (and CommitPart) only accepts shards that the PREPARING record
//     planned (every Final shard id was planned, else BadRequest; its node
//     may differ when the writer replaced a failed node, and the planned
//     copies Final does not use are queued as "unused"), and only
//     while that record is still PREPARING. An aborted record is gone, so a
//     late Commit naming it with segments fails with ErrConflict: the
//     janitor's Abort is a fence, decided by Raft order, not by time.
//     Likewise a late CommitPart after AbortPart/AbortUpload/CompleteUpload
//     fails (ErrConflict or ErrNoSuchUpload).
//  2. A record's shards are queued exactly when the record is removed, and
//     a removed record cannot come back: Prepare of an existing token or
//     version id returns the existing record, and new records carry fresh
//     ids (caller contract above).
//  3. A current version is replaced atomically with its successor in one
//     Apply, so readers see the old or the new record, and the old shards
//     are queued only once no record points at them. (A reader that
//     fetched the old record a moment earlier may still be streaming it;
//     the reclaimer's grace delay protects that read, not safety of data.)
//
// Inline bytes never become garbage (they die with their record). Garbage
// ids increase; AckGarbage removes entries once their shards are deleted.
//
// # Change feed
//
// Every committed visible change appends FeedEntry{Seq: next} with the
// version's Ver and Null: FeedPut (Commit, CompleteUpload), FeedMarker (a
// delete marker was added), FeedDelete (a version was removed for good, or
// the null version of an unversioned bucket was deleted). AckFeed registers a consumer
// (or advances it; positions never move back or beyond the last seq) and
// entries ≤ min over registered consumers are dropped. With no consumer at
// most FeedRetainNoConsumer entries are kept.
//
// # Bucket incarnations and seals
//
// The Bucket field of every record is the bucket's incarnation key (the
// regional gateway passes "<name>/<incarnation id>", or the bare name for a
// legacy bucket created before incarnation ids), so a re-created bucket of
// the same name shares no record with the deleted one. Deleting a bucket
// seals its incarnation on every partition (SealBucket refuses when the
// partition holds a committed object; UnsealBucket undoes it when another
// partition refused; DropBucket makes it a permanent tombstone and removes
// the bucket's uploads). Every write command checks the seal in its own
// apply (seal.go), so a PUT prepared before the delete cannot commit after
// it. Tombstones are small and kept forever (one per deleted bucket per
// partition).
//
// # Object Lock (objectlock.go)
//
// ObjectVersion.Lock holds a version's retention and legal hold. Every path
// that removes a committed record — a delete naming its version, the null
// version's delete or replacement — first asks internal/s3lock.Protected
// with the command's Time and its BypassGovernance flag, and fails with
// ErrObjectLocked, changing nothing, when the version is protected. A
// protected record therefore never leaves vers, and its shards are never
// queued as garbage (the janitor reclaims only garbage). CmdPutLock changes
// a version's lock in place (replaceRecord) as s3lock.RetentionChange
// allows; it writes no feed entry. docs/object-lock.md states the clock
// rule (leader time, Until written by the gateway).
//
// # Background leases and checkpoints
//
// lease.go keeps the background servers' records of the partition: named
// leases (acquire / renew / release, compared on holder and epoch) and
// lease-fenced worker checkpoints. Expiry is judged against the largest
// Command.Time applied so far (never the local clock, never moving back);
// docs/background.md states the clock assumption. Snapshot format v3 adds
// their frames (11, 12) and the clock.
//
// # Healing (heal.go)
//
// CmdReplaceShards swaps rebuilt shards into a committed version (current
// or noncurrent) or COMMITTED part attempt by compare-and-swap on the
// replaced shards' (node, id); the replaced shards are queued as garbage
// ("healed"), and a refused swap queues the rebuilt shards the record does
// not name ("heal superseded") in the same apply, so the accounting above
// holds. ScanShards walks the committed records holding shards for the
// scrubber. CmdSuspect keeps a bounded set of versions readers found
// damaged (bgState, snapshot frame 14) for the healer.
//
// # Snapshots
//
// Snapshot clones the trees (O(1) per tree, copy-on-write; the consumer map
// is copied); WriteTo streams the clone while Applies continue. Format v4
// (v1–v3 are still restored: their frame-2 records become null versions
// with an id from their commit time):
//
//	header  = "MRDNMETA" uint32be(4)
//	frame   = kind:u8 uvarint(len) payload[len]        payload = JSON record
//	kinds   = 1 meta (counters, record counts) — always first
//	          2 current version (v1–v3 only)  3 PREPARING version  4 upload
//	          5 part  6 token  7 feed entry  8 consumer  9 garbage
//	          10 bucket seal (v2+; meta counts them in "seals")
//	          11 lease  12 checkpoint (v3+)
//	          13 committed version or delete marker (v4+; meta "versions",
//	             "ver_clock"; cur and nulls are rebuilt from them)
//	          14 heal suspect (v4+, heal.go)
//	trailer = 0xFF uint32be(CRC-32C of every preceding byte and the 0xFF)
//
// Frames are written in tree order (consumers sorted), and JSON sorts map
// keys, so equal states produce byte-identical snapshots (the determinism
// tests compare bytes). A token whose outcome is the current version is
// written with done_current instead of a copy. Restore decodes the whole
// stream into fresh trees, checks magic, version (ErrSnapshotFormat for an
// unknown one), frame sizes, duplicates, the checksum, the counts in the
// meta frame and the counters, and only then swaps the state; any failure
// (ErrCorruptSnapshot) leaves the state unchanged.
package metastate

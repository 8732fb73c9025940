// Package metaclient is the client of the metadata service (metasvc).
//
// It hashes (bucket, key) to a partition with metasvc/partition, remembers
// the leader of every partition and of the control plane, and sends each
// RPC to that leader as JSON over HTTP/1.1 with keep-alive.
//
// Leader tracking and retries. A node that does not lead the addressed group
// answers 421 with the leader it knows; the client follows it at once. A
// connection error, a timeout, or a 503 (no leader yet, leadership lost
// mid-write, node shutting down) makes the client forget the leader, back off
// exponentially with full jitter, and try the next seed. It keeps trying
// until the context ends (or MaxAttempts, if set), so an election is
// invisible to callers apart from latency.
//
// Writes are retried too, which is safe because every metapb command is
// idempotent by construction:
//   - Prepare and inline Commit carry the PUT's idempotency token: a replay
//     finds the record by token and returns it (Existed=true).
//   - Commit of a PREPARING version names the version id; a replay after
//     success finds the committed version and returns it.
//   - CreateUpload, CompleteUpload and AbortUpload carry a token (a
//     replayed AbortUpload answers success, not NoSuchUpload);
//     PreparePart/CommitPart name a unique part attempt.
//   - Abort, AbortPart, AbortUpload, Delete, AckFeed and AckGarbage converge:
//     applying them twice leaves the state applying them once leaves. (A
//     replayed Delete may remove a version written concurrently with it —
//     which linearizability allows, since the Delete had not returned.)
//
// Reads are linearizable: the server answers only from the leader after a
// barrier and a quorum check (see metasvc).
//
// Domain outcomes come back as *ResultError values matching the sentinel
// errors (ErrNotFound, ErrConflict, …) under errors.Is.
package metaclient

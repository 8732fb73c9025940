// Package metasvc is the metadata service's server: one meta node hosting
// the region's Raft groups on one TCP listener and serving their HTTP RPC API.
//
// # Groups
//
// Every meta node hosts the same groups, each with all (three, one per AZ)
// meta nodes as voters:
//   - "ctl", the region control plane (package controlplane): region name,
//     meta nodes, the partition table, registered storage nodes. Storage
//     node heartbeats go to the ctl leader and live in its memory only; a
//     (re-)registration is a Raft write.
//   - "p0" … "p<N-1>", one per metadata partition (package partition maps
//     (bucket, key) to a partition). Each applies JSON metapb.Commands to a
//     metastate.State through partitionFSM, passing the log index; the
//     apply future's response is the metapb.Result.
//
// Each group keeps its own bbolt log+stable store (raft-boltdb/v2) and file
// snapshot store under DataDir/<group>/. Bootstrap: a node with no state and
// Bootstrap set bootstraps every group with Peers; all initial nodes may do
// so (identical configurations). A restarted node catches up from its log, or
// from a leader's snapshot when the leader has compacted past it
// (SnapshotThreshold/TrailingLogs).
//
// # Transport framing
//
// The listener speaks only mutual TLS 1.3 with the region CA (Config.TLS;
// docs/security.md). Package raftmux completes each inbound handshake, then
// a connection that negotiated ALPN "meridian-raft" from a meta node of the
// region carries "MRFT", a length byte and the group name, which select a
// group's raft.NetworkTransport (one raft.StreamLayer per group, whose Dial
// does the same over TLS); any other connection is HTTP/1.1 for the RPC API
// on the same port, each route admitting the roles in Access, and a
// heartbeat only for the storage node its certificate names.
//
// # Write path
//
// POST /v1/p/{n}/apply: the node checks that it leads partition n and that
// the command's key hashes to n, stamps Command.Time with its clock (the
// state machine never reads its own), proposes it with raft.Apply, and
// answers the Result once the entry is committed by a quorum and applied
// locally. ErrLeadershipLost makes the outcome unknown: the node answers 503
// and the client retries, which is safe because commands are idempotent.
//
// # Read path (linearizable)
//
// Only the leader serves reads. After winning an election it runs a Barrier
// (so every entry of earlier terms is applied); each read then waits for a
// VerifyLeader round started after it arrived (concurrent reads share a
// round) and checks the term did not change, then reads metastate. A write
// acknowledged before the read started is therefore visible to it.
//
// # Errors and redirects
//
// A node that does not lead the addressed group answers 421 with
// metapb.RPCError{LeaderID, LeaderAddr}; one that knows no leader or is
// shutting down answers 503. Domain outcomes (NotFound, Conflict, …) are 200
// with Result.Err/ReadResponse.Err. Request bodies are bounded (MaxBodyBytes).
//
// # Client retries and idempotency
//
// metaclient follows redirects and retries connection errors, timeouts and
// 503s with jittered exponential backoff until its context ends. Every
// command is idempotent (tokens for Prepare/inline Commit/CreateUpload/
// CompleteUpload, version ids and part attempts for Commit/CommitPart,
// convergent Abort/Delete/Ack), so a retried write that had in fact
// committed returns the same outcome (Existed=true) instead of applying twice.
//
// # Lifecycle
//
// New validates the Config and opens the listener and stores; Run starts the
// groups and serves until its context ends or Close is called, then stops
// accepting, drains HTTP, shuts Raft down and closes the stores. Close is
// safe twice. Ready is true while every group knows a leader.
//
// Shutdown is bounded (Server.shutdown has the full order): every wait lasts
// at most ShutdownTimeout. hashicorp/raft's Shutdown waits for its goroutines,
// and a peer that stalls in the middle of a snapshot transfer keeps one of
// them in transport I/O: the follower's main loop reads the inbound snapshot
// with no deadline at all. So when a group has not stopped within
// ShutdownTimeout, the node closes the mux and the socket under every Raft
// connection (raftmux.AbortRaftConns), which Raft sees as a network failure,
// and waits once more. A log store is closed only after its group's Raft has
// stopped; a group still running after that is logged and its store left
// open for the exiting process (bolt commits are atomic).
package metasvc

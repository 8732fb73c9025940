// Package storagesvc is the storage node: an HTTP server (API in storagepb)
// in front of a shardstore.Store. It stores erasure-coded shards durably —
// a PUT is answered 201 only after the fdatasync that covers its record —
// checks every block's CRC-32C on every read, never serves bytes that fail
// it, heartbeats its capacity to a Registrar, and compacts its log in the
// background.
//
// It serves only mutual TLS with the region CA (Config.TLS): shard
// operations are for the region's gateway and background roles, status for
// admins too (Access; docs/security.md).
//
// GET streams a range block group by block group. The first group is read
// and verified before the status line is sent, so a corrupt first block is
// answered 422 Corrupt; a later corrupt block aborts the connection before
// any of its bytes are written, so the client sees a truncated body
// (io.ErrUnexpectedEOF), never bad bytes.
package storagesvc

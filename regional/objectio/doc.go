// Package objectio is the regional gateway's erasure-coded data path: the
// Engine plans, writes, reads and deletes the segments of an object on the
// storage nodes. See docs/erasure.md for the layout and the protocols.
//
//   - Plan splits an object into segments of Config.SegmentSize bytes, places
//     each segment's Data+Parity shards with regional/placement (seeded by the
//     version id and segment index) and names shards "<vid>.<seg>.<idx>".
//   - Write encodes the body stripe by stripe (regional/erasure) and streams
//     every shard to its node through one Put whose body is a bounded chunk
//     queue (memory O(shards × WriteQueue × ChunkSize), never a segment).
//     Shards that fail, stall or are acknowledged with the wrong CRC-32C are
//     rebuilt after the segment's stream from the stored shards onto
//     replacement nodes (option (b) of the design: no spill buffers).
//     Write returns only when every segment has WriteQuorum shards stored
//     (default all; never fewer than Data+1), else deletes what it wrote.
//   - Read fetches windows of whole stripes, Data shards first, failing over
//     and hedging to parity shards through internal/quorum, reconstructs
//     missing data and writes bytes as each window is decoded. A range inside
//     one stripe fetches only the data chunks it overlaps.
//   - Delete removes every shard, best effort.
//
// The engine depends on a consumer-side ShardClient interface, which
// storagesvc/storageclient satisfies and objectiotest fakes with fault hooks.
// It starts no background goroutines; every goroutine a call starts has
// ended when the call returns.
package objectio

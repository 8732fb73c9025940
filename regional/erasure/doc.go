// Package erasure is Meridian's streaming Reed–Solomon codec (k data + m
// parity shards, 10+4 by default) on top of github.com/klauspost/reedsolomon.
//
// Layout of one segment of Size object bytes (see docs/erasure.md):
//
//	stripe      = k chunks of ChunkSize bytes = k*ChunkSize object bytes
//	stripe j    = object bytes [j*stripe, (j+1)*stripe) of the segment
//	c_j         = chunk length of stripe j: ChunkSize, except in the last stripe
//	chunk (j,i) = bytes [i*c_j, (i+1)*c_j) of stripe j for i < k,
//	              parity chunk i-k of stripe j for i >= k
//	shard i     = chunk (0,i) ‖ chunk (1,i) ‖ … ‖ chunk (last,i)
//
// Every stripe but the last is full. The last stripe holds r = Size mod
// stripe bytes (or a full stripe); its chunks are shrunk to ceil(r/k) bytes
// and the bytes past the end of the segment are zero padding. So every shard of a
// segment has the same size, ShardSize(Size) = (stripes-1)*ChunkSize +
// ceil(r/k), small segments do not pay for full chunks, and the real object
// size is known from the segment size alone.
//
// The Encoder reads a segment's bytes stripe by stripe, computes parity with
// reusable buffers, and hands the k+m chunks of each stripe to a callback: its
// memory is one stripe, never the segment. The decoder works on windows of
// consecutive stripes: given the same window of at least k shards it
// reconstructs missing data chunks (ReconstructData, only when a data shard
// is missing) and writes the requested object bytes.
package erasure

// Package shardstore is the storage node's on-disk shard store: a
// log-structured, checksummed, group-committed store of immutable shards.
//
// # Layout
//
// A data directory holds append-only volume files named vol-NNNNNNNN.log. Each
// volume starts with a 16-byte volume header (magic "MRDNVOL\x00", format
// version, volume number) followed by records:
//
//	header   magic "MREC" u32 | version u8 | flags u8 (1=put, 2=delete) |
//	         id length u16 | data length u64 | block size u32 |
//	         header CRC-32C u32 (over the 20 bytes before it and the id) | id
//	blocks   for each block of up to BlockSize data bytes: data | CRC-32C u32
//	trailer  shard CRC-32C u32 | record sum u32 (CRC-32C of all block CRCs) |
//	         magic "MEND" u32 | trailer CRC-32C u32 (over the header CRC and
//	         the 12 bytes before it)
//
// All integers are little-endian. A delete is a tombstone record with no data.
//
// # Writes and group commit
//
// A writer reserves the record's bytes at the end of the active volume under
// the append lock and writes at least the record header before releasing it,
// so every header below a reserved offset is in the page cache before any
// later record is synced. Small records are written whole under the lock;
// large ones stream the body in chunks of 16 blocks outside the lock with
// pwrite. The writer then asks the single syncer goroutine for an fdatasync
// that starts after its writes; the syncer batches every request waiting at
// that moment into one fdatasync per volume (group commit). Put returns only
// after that sync, and only then is the record visible in the index.
//
// # Recovery
//
// Open scans every volume's record headers and trailers (skipping data with
// positioned reads), rebuilding the in-memory index id → (volume, offset,
// size, CRC) in log order, so the last record for an id wins. A header that
// is torn or runs past the end of the file marks the torn tail, which is
// truncated. A record whose header is valid but whose trailer is not (a write
// that never finished) is skipped as dead space. Records in the last
// RecoverVerifyBytes of the newest volume are read in full and their block
// checksums checked, because writeback may have persisted their trailer but
// not their data before a crash.
//
// # Reads
//
// Every block read is checked against its CRC-32C before its bytes are
// returned; a range read touches only the blocks that overlap the range.
//
// # Compaction
//
// A sealed (not active) volume whose live bytes fall under CompactRatio of
// its size is compacted: each live put record is copied verbatim (block CRCs
// included, so corruption stays detectable) to the active volume under the
// id's lock, synced, and re-pointed in the index; a tombstone is copied only
// if its id is absent and an older volume still exists (a put it deletes may
// live there). Then the old volume is unlinked and the directory synced. A
// crash at any point leaves either both copies (the later wins on recovery,
// and they are identical) or only the new one.
package shardstore

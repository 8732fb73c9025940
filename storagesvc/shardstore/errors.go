package shardstore

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test with errors.Is.
var (
	ErrNotFound      = errors.New("shardstore: shard not found")
	ErrCorrupt       = errors.New("shardstore: stored bytes fail their checksum")
	ErrChecksum      = errors.New("shardstore: body does not match the expected CRC-32C")
	ErrBadID         = errors.New("shardstore: invalid shard id")
	ErrBadRange      = errors.New("shardstore: invalid byte range")
	ErrShortBody     = errors.New("shardstore: body shorter than its declared size")
	ErrNoSpace       = errors.New("shardstore: no space left")
	ErrClosed        = errors.New("shardstore: store closed")
	ErrCorruptVolume = errors.New("shardstore: corrupt volume file")
)

// CorruptError says where stored bytes failed their checksum. It matches ErrCorrupt.
type CorruptError struct {
	ID     string
	Volume uint32
	Offset int64 // file offset of the failing block (or record)
	Block  int64 // block index, -1 for the whole-record checks
	What   string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("shardstore: shard %q corrupt: %s (volume %d, offset %d, block %d)", e.ID, e.What, e.Volume, e.Offset, e.Block)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

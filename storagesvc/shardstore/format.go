package shardstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Format constants. Changing any of them changes the on-disk format.
const (
	// BlockSize is the number of data bytes covered by one block CRC.
	BlockSize = 64 << 10

	formatVersion   = 1
	volumeMagic     = "MRDNVOL\x00"
	volumeHeaderLen = 16
	recordMagic     = 0x4345524D // "MREC" little-endian
	trailerMagic    = 0x444E454D // "MEND" little-endian
	headerFixedLen  = 24
	trailerLen      = 16
	crcLen          = 4

	flagPut    = 1
	flagDelete = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c returns the CRC-32C of b.
func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// crcUpdate extends crc with b.
func crcUpdate(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli, b) }

// CRC32C returns the CRC-32C (Castagnoli) of b, the checksum ShardInfo uses.
func CRC32C(b []byte) uint32 { return crc32c(b) }

// recordHeader is a decoded record header.
type recordHeader struct {
	flags     uint8
	id        string
	dataLen   int64
	blockSize int64
	crc       uint32 // header CRC
}

func (h recordHeader) headerLen() int64 { return headerFixedLen + int64(len(h.id)) }

func (h recordHeader) blocks() int64 { return numBlocks(h.dataLen, h.blockSize) }

// recordLen is the total length of the record on disk.
func (h recordHeader) recordLen() int64 {
	return h.headerLen() + h.dataLen + crcLen*h.blocks() + trailerLen
}

func numBlocks(dataLen, bs int64) int64 { return (dataLen + bs - 1) / bs }

func recordLenFor(idLen int, dataLen int64) int64 {
	return headerFixedLen + int64(idLen) + dataLen + crcLen*numBlocks(dataLen, BlockSize) + trailerLen
}

// appendHeader encodes a header for id/flags/dataLen and returns dst and the header CRC.
func appendHeader(dst []byte, flags uint8, id string, dataLen int64) ([]byte, uint32) {
	var b [headerFixedLen]byte
	binary.LittleEndian.PutUint32(b[0:], recordMagic)
	b[4] = formatVersion
	b[5] = flags
	binary.LittleEndian.PutUint16(b[6:], uint16(len(id)))
	binary.LittleEndian.PutUint64(b[8:], uint64(dataLen))
	binary.LittleEndian.PutUint32(b[16:], BlockSize)
	c := crcUpdate(crc32c(b[:20]), []byte(id))
	binary.LittleEndian.PutUint32(b[20:], c)
	dst = append(dst, b[:]...)
	dst = append(dst, id...)
	return dst, c
}

// errBadHeader marks bytes that are not a valid record header.
type errBadHeader struct{ reason string }

func (e errBadHeader) Error() string { return "shardstore: bad record header: " + e.reason }

// decodeHeader decodes a header from b, which must hold at least the fixed
// part; it reports how many bytes it needs when the id does not fit.
func decodeHeader(b []byte) (recordHeader, int, error) {
	if len(b) < headerFixedLen {
		return recordHeader{}, headerFixedLen, errBadHeader{"short"}
	}
	if binary.LittleEndian.Uint32(b[0:]) != recordMagic {
		return recordHeader{}, 0, errBadHeader{"magic"}
	}
	if b[4] != formatVersion {
		return recordHeader{}, 0, errBadHeader{fmt.Sprintf("version %d", b[4])}
	}
	idLen := int(binary.LittleEndian.Uint16(b[6:]))
	if idLen == 0 || idLen > maxIDLen {
		return recordHeader{}, 0, errBadHeader{"id length"}
	}
	need := headerFixedLen + idLen
	if len(b) < need {
		return recordHeader{}, need, errBadHeader{"short"}
	}
	h := recordHeader{
		flags:     b[5],
		id:        string(b[headerFixedLen:need]),
		dataLen:   int64(binary.LittleEndian.Uint64(b[8:])),
		blockSize: int64(binary.LittleEndian.Uint32(b[16:])),
		crc:       binary.LittleEndian.Uint32(b[20:]),
	}
	if crcUpdate(crc32c(b[:20]), b[headerFixedLen:need]) != h.crc {
		return recordHeader{}, 0, errBadHeader{"checksum"}
	}
	if h.flags != flagPut && h.flags != flagDelete {
		return recordHeader{}, 0, errBadHeader{"flags"}
	}
	if h.blockSize <= 0 || h.dataLen < 0 || (h.flags == flagDelete && h.dataLen != 0) {
		return recordHeader{}, 0, errBadHeader{"lengths"}
	}
	return h, need, nil
}

// appendTrailer encodes a trailer.
func appendTrailer(dst []byte, hdrCRC, shardCRC, recSum uint32) []byte {
	var b [trailerLen]byte
	binary.LittleEndian.PutUint32(b[0:], shardCRC)
	binary.LittleEndian.PutUint32(b[4:], recSum)
	binary.LittleEndian.PutUint32(b[8:], trailerMagic)
	var hc [4]byte
	binary.LittleEndian.PutUint32(hc[:], hdrCRC)
	binary.LittleEndian.PutUint32(b[12:], crcUpdate(crc32c(hc[:]), b[:12]))
	return append(dst, b[:]...)
}

// decodeTrailer checks a trailer against its header CRC.
func decodeTrailer(b []byte, hdrCRC uint32) (shardCRC, recSum uint32, ok bool) {
	if len(b) < trailerLen || binary.LittleEndian.Uint32(b[8:]) != trailerMagic {
		return 0, 0, false
	}
	var hc [4]byte
	binary.LittleEndian.PutUint32(hc[:], hdrCRC)
	if crcUpdate(crc32c(hc[:]), b[:12]) != binary.LittleEndian.Uint32(b[12:]) {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:]), true
}

func appendVolumeHeader(dst []byte, num uint32) []byte {
	var b [volumeHeaderLen]byte
	copy(b[:], volumeMagic)
	binary.LittleEndian.PutUint32(b[8:], formatVersion)
	binary.LittleEndian.PutUint32(b[12:], num)
	return append(dst, b[:]...)
}

func checkVolumeHeader(b []byte, num uint32) error {
	if len(b) < volumeHeaderLen || string(b[:8]) != volumeMagic {
		return fmt.Errorf("%w: bad volume magic", ErrCorruptVolume)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != formatVersion {
		return fmt.Errorf("%w: volume format version %d", ErrCorruptVolume, v)
	}
	if n := binary.LittleEndian.Uint32(b[12:]); n != num {
		return fmt.Errorf("%w: volume header names %d, file %d", ErrCorruptVolume, n, num)
	}
	return nil
}

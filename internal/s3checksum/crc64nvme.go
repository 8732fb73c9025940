package s3checksum

import (
	"encoding/binary"
	"hash"
)

// crc64NVMEPoly is the reflected CRC-64/NVME polynomial (0xAD93D23594C93659
// bit-reversed).
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

// nvmeTables holds the slicing-by-8 tables. It is computed once at init
// and never written afterwards.
var nvmeTables = makeSlicing8(crc64NVMEPoly)

func makeSlicing8(poly uint64) *[8][256]uint64 {
	t := new([8][256]uint64)
	for i := range 256 {
		crc := uint64(i)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
		t[0][i] = crc
	}
	for i := range 256 {
		crc := t[0][i]
		for j := 1; j < 8; j++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[j][i] = crc
		}
	}
	return t
}

// UpdateCRC64NVME returns the CRC-64/NVME of p appended to data whose
// CRC is crc (0 for none).
func UpdateCRC64NVME(crc uint64, p []byte) uint64 {
	t := nvmeTables
	crc = ^crc
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return ^crc
}

type crc64nvme struct{ crc uint64 }

// NewCRC64NVME returns a hash.Hash64 computing CRC-64/NVME; Sum appends
// the big-endian digest.
func NewCRC64NVME() hash.Hash64 { return &crc64nvme{} }

func (d *crc64nvme) Write(p []byte) (int, error) {
	d.crc = UpdateCRC64NVME(d.crc, p)
	return len(p), nil
}
func (d *crc64nvme) Sum64() uint64        { return d.crc }
func (d *crc64nvme) Sum(in []byte) []byte { return binary.BigEndian.AppendUint64(in, d.crc) }
func (d *crc64nvme) Reset()               { d.crc = 0 }
func (d *crc64nvme) Size() int            { return 8 }
func (d *crc64nvme) BlockSize() int       { return 1 }

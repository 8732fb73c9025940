package s3checksum

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
)

// Multipart checksums (S3's two checksum types of a multipart object):
//
//   - COMPOSITE: the algorithm applied to the concatenated binary digests of
//     the parts, base64, then "-<number of parts>" (every algorithm but
//     CRC64NVME).
//   - FULL_OBJECT: the checksum of the whole object, which for the CRCs
//     (CRC32, CRC32C, CRC64NVME) is combined from the parts' CRCs and sizes
//     without reading the data (Combine).

// SupportsFullObject reports whether a can be a FULL_OBJECT checksum of a
// multipart object (the CRCs).
func (a Algorithm) SupportsFullObject() bool { _, _, ok := crcParams(a); return ok }

// SupportsComposite reports whether a can be a COMPOSITE checksum (all but
// CRC64NVME).
func (a Algorithm) SupportsComposite() bool { return a.Valid() && a != CRC64NVME }

// crcParams returns the reflected polynomial and width of a CRC algorithm.
func crcParams(a Algorithm) (poly uint64, width int, ok bool) {
	switch a {
	case CRC32:
		return 0xedb88320, 32, true
	case CRC32C:
		return 0x82f63b78, 32, true
	case CRC64NVME:
		return crc64NVMEPoly, 64, true
	}
	return 0, 0, false
}

// Composite returns the COMPOSITE checksum of parts' digests (wire values
// of a, in part order): base64(a(digest1 ‖ digest2 ‖ …)) + "-" + len.
func Composite(a Algorithm, parts []string) (string, error) {
	if !a.SupportsComposite() {
		return "", fmt.Errorf("%w: %s has no composite checksum", ErrUnknownAlgorithm, a)
	}
	h := New(a)
	for _, p := range parts {
		d, err := Decode(a, p)
		if err != nil {
			return "", err
		}
		h.Write(d)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)), nil
}

// Part is one part's CRC (wire value) and size, for FullObject.
type Part struct {
	Checksum string
	Size     int64
}

// FullObject returns the wire value of a CRC algorithm over the parts'
// data concatenated, computed from their CRCs and sizes.
func FullObject(a Algorithm, parts []Part) (string, error) {
	poly, width, ok := crcParams(a)
	if !ok {
		return "", fmt.Errorf("%w: %s has no full-object combination", ErrUnknownAlgorithm, a)
	}
	var crc uint64
	for i, p := range parts {
		d, err := Decode(a, p.Checksum)
		if err != nil {
			return "", err
		}
		var c uint64
		if width == 32 {
			c = uint64(binary.BigEndian.Uint32(d))
		} else {
			c = binary.BigEndian.Uint64(d)
		}
		if i == 0 {
			crc = c
			continue
		}
		crc = combineCRC(poly, width, crc, c, p.Size)
	}
	if width == 32 {
		return Encode(binary.BigEndian.AppendUint32(nil, uint32(crc))), nil
	}
	return Encode(binary.BigEndian.AppendUint64(nil, crc)), nil
}

// combineCRC returns the CRC of A‖B from crc1 = CRC(A), crc2 = CRC(B) and
// len2 = len(B), for a reflected CRC whose init and xorout are all ones
// (CRC-32, CRC-32C, CRC-64/NVME): crc1 is advanced over len2 zero bytes by
// repeated squaring of the one-zero-bit operator over GF(2), then crc2 is
// added.
func combineCRC(poly uint64, width int, crc1, crc2 uint64, len2 int64) uint64 {
	if len2 <= 0 {
		return crc1
	}
	odd := make([]uint64, width)  // operator for an odd power of two zero bits
	even := make([]uint64, width) // and for an even one
	odd[0] = poly
	row := uint64(1)
	for n := 1; n < width; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(even, odd) // 2 zero bits
	gf2Square(odd, even) // 4 zero bits
	for {
		gf2Square(even, odd) // 8, 32, … zero bits: first one zero byte
		if len2&1 != 0 {
			crc1 = gf2Times(even, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
		gf2Square(odd, even)
		if len2&1 != 0 {
			crc1 = gf2Times(odd, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat []uint64) {
	for n := range mat {
		square[n] = gf2Times(mat, mat[n])
	}
}

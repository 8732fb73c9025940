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
// (CRC-32, CRC-32C, CRC-64/NVME): crc1 times x^(8·len2) modulo the
// polynomial, plus crc2. x^(8·len2) is the product of the precomputed
// x^(2^k) for the bits of len2, so a combination costs O(width·log len2)
// (≈1 µs), not the O(width²·log len2) of squaring GF(2) matrices — which
// matters: CompleteMultipartUpload combines up to 10,000 parts inside a
// Raft apply.
func combineCRC(poly uint64, width int, crc1, crc2 uint64, len2 int64) uint64 {
	if len2 <= 0 {
		return crc1
	}
	t := x2nTable(poly, width)
	p := uint64(1) << (width - 1)                           // x^0
	for k, n := 3, uint64(len2); n != 0; k, n = k+1, n>>1 { // 2^3 bits per byte
		if n&1 != 0 {
			p = multModP(poly, width, t[k], p)
		}
	}
	return multModP(poly, width, p, crc1) ^ crc2
}

// multModP returns a·b modulo the reflected polynomial poly of width bits
// (bit width-1 is the coefficient of x^0). a must not be zero.
func multModP(poly uint64, width int, a, b uint64) uint64 {
	m := uint64(1) << (width - 1)
	var p uint64
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ poly
		} else {
			b >>= 1
		}
	}
	return p
}

// x2nTables holds x^(2^k) mod P for k < 3+64 for each CRC polynomial,
// computed once at init and never written afterwards.
var x2nTables = map[uint64]*[67]uint64{
	0xedb88320:    makeX2nTable(0xedb88320, 32),
	0x82f63b78:    makeX2nTable(0x82f63b78, 32),
	crc64NVMEPoly: makeX2nTable(crc64NVMEPoly, 64),
}

func x2nTable(poly uint64, width int) *[67]uint64 {
	if t, ok := x2nTables[poly]; ok {
		return t
	}
	return makeX2nTable(poly, width)
}

func makeX2nTable(poly uint64, width int) *[67]uint64 {
	t := new([67]uint64)
	p := uint64(1) << (width - 2) // x^1
	for k := range t {
		t[k] = p
		p = multModP(poly, width, p, p)
	}
	return t
}

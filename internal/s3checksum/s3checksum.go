package s3checksum

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"
)

// Algorithm names an S3 additional checksum algorithm, spelled as S3
// spells it in x-amz-sdk-checksum-algorithm and in XML (e.g. "CRC32C").
type Algorithm string

// The algorithms S3 supports.
const (
	CRC32     Algorithm = "CRC32"
	CRC32C    Algorithm = "CRC32C"
	CRC64NVME Algorithm = "CRC64NVME"
	SHA1      Algorithm = "SHA1"
	SHA256    Algorithm = "SHA256"
)

// HeaderPrefix starts every checksum header and trailer name.
const HeaderPrefix = "x-amz-checksum-"

// ErrUnknownAlgorithm is returned by Parse for a name that is not an S3
// checksum algorithm.
var ErrUnknownAlgorithm = errors.New("s3checksum: unknown algorithm")

// ErrInvalidValue is returned by Decode for a value that is not the
// base64 encoding of a digest of the algorithm's size.
var ErrInvalidValue = errors.New("s3checksum: invalid checksum value")

// Algorithms returns every supported algorithm in a fixed order.
func Algorithms() []Algorithm {
	return []Algorithm{CRC32, CRC32C, CRC64NVME, SHA1, SHA256}
}

// Parse returns the algorithm named by name, case-insensitively. It
// accepts the bare name ("crc32c") and the header name
// ("x-amz-checksum-crc32c").
func Parse(name string) (Algorithm, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, strings.ToUpper(HeaderPrefix))
	switch a := Algorithm(n); a {
	case CRC32, CRC32C, CRC64NVME, SHA1, SHA256:
		return a, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownAlgorithm, name)
}

// Valid reports whether a is a supported algorithm.
func (a Algorithm) Valid() bool {
	_, err := Parse(string(a))
	return err == nil && strings.ToUpper(string(a)) == string(a)
}

// Size returns the digest size of a in bytes, or 0 for an unknown one.
func (a Algorithm) Size() int {
	switch a {
	case CRC32, CRC32C:
		return 4
	case CRC64NVME:
		return 8
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	}
	return 0
}

// HeaderName returns the header (and trailer) name that carries a's
// value, e.g. "x-amz-checksum-crc32".
func HeaderName(a Algorithm) string {
	return HeaderPrefix + strings.ToLower(string(a))
}

// New returns a new hash for a. Its Sum is the big-endian digest S3
// encodes. New panics if a is not a supported algorithm: callers obtain
// algorithms from Parse or the constants.
func New(a Algorithm) hash.Hash {
	switch a {
	case CRC32:
		return crc32.NewIEEE()
	case CRC32C:
		return crc32.New(castagnoli)
	case CRC64NVME:
		return NewCRC64NVME()
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	}
	panic("s3checksum: New called with unsupported algorithm " + string(a))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns the S3 wire form (standard base64) of a digest.
func Encode(sum []byte) string { return base64.StdEncoding.EncodeToString(sum) }

// Decode parses an S3 wire value for a, checking its length.
func Decode(a Algorithm, value string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(b) != a.Size() || a.Size() == 0 {
		return nil, fmt.Errorf("%w for %s: %q", ErrInvalidValue, a, value)
	}
	return b, nil
}

// Sum returns the S3 wire value of a over data.
func Sum(a Algorithm, data []byte) string {
	h := New(a)
	h.Write(data)
	return Encode(h.Sum(nil))
}

// MultiHasher computes several algorithms over one stream. The zero
// value computes nothing. It is not safe for concurrent use.
type MultiHasher struct {
	algs   []Algorithm
	hashes []hash.Hash
}

// NewMultiHasher returns a MultiHasher for algs; duplicates are ignored.
// It panics on an unsupported algorithm, like New.
func NewMultiHasher(algs ...Algorithm) *MultiHasher {
	m := &MultiHasher{}
	for _, a := range algs {
		m.Add(a)
	}
	return m
}

// Add starts computing a as well (from the next Write on). Adding an
// algorithm already present does nothing.
func (m *MultiHasher) Add(a Algorithm) {
	if m.Has(a) {
		return
	}
	m.algs = append(m.algs, a)
	m.hashes = append(m.hashes, New(a))
}

// Has reports whether m computes a.
func (m *MultiHasher) Has(a Algorithm) bool {
	for _, x := range m.algs {
		if x == a {
			return true
		}
	}
	return false
}

// Algorithms returns the algorithms m computes, in the order added.
func (m *MultiHasher) Algorithms() []Algorithm { return append([]Algorithm(nil), m.algs...) }

// Write feeds p to every hash. It never fails.
func (m *MultiHasher) Write(p []byte) (int, error) {
	for _, h := range m.hashes {
		h.Write(p)
	}
	return len(p), nil
}

// Sum returns the current wire value of a, and false if m does not
// compute a. It does not change the state.
func (m *MultiHasher) Sum(a Algorithm) (string, bool) {
	for i, x := range m.algs {
		if x == a {
			return Encode(m.hashes[i].Sum(nil)), true
		}
	}
	return "", false
}

// Sums returns the current wire value of every algorithm m computes.
func (m *MultiHasher) Sums() map[Algorithm]string {
	out := make(map[Algorithm]string, len(m.algs))
	for i, a := range m.algs {
		out[a] = Encode(m.hashes[i].Sum(nil))
	}
	return out
}

// Reset restarts every hash.
func (m *MultiHasher) Reset() {
	for _, h := range m.hashes {
		h.Reset()
	}
}

// Reader returns a reader that feeds everything read from r to m.
func (m *MultiHasher) Reader(r io.Reader) io.Reader { return io.TeeReader(r, m) }

package s3checksum

import (
	"bytes"
	"errors"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// Vectors: "hello world" values are the AWS SDK for Go v2 test vectors
// (service/internal/checksum); "" values are the algorithms' empty digests.
func TestKnownVectors(t *testing.T) {
	cases := []struct {
		alg  Algorithm
		in   string
		want string
	}{
		{CRC32, "hello world", "DUoRhQ=="},
		{CRC32C, "hello world", "yZRlqg=="},
		{CRC64NVME, "hello world", "jSnVw/bqjr4="},
		{SHA1, "hello world", "Kq5sNclPz7QV2+lfQIuc6R7oRu0="},
		{SHA256, "hello world", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="},
		{CRC32, "Hello world", "i9aeUg=="},
		{CRC32, "", "AAAAAA=="},
		{CRC32C, "", "AAAAAA=="},
		{CRC64NVME, "", "AAAAAAAAAAA="},
		{SHA1, "", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
		{SHA256, "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
		// AWS docs trailer example: 66560 bytes of 'a' has CRC32C sOO8/Q==.
		{CRC32C, strings.Repeat("a", 66560), "sOO8/Q=="},
	}
	for _, c := range cases {
		t.Run(string(c.alg)+"/"+c.in[:min(len(c.in), 12)], func(t *testing.T) {
			if got := Sum(c.alg, []byte(c.in)); got != c.want {
				t.Fatalf("Sum(%s, %q) = %s, want %s", c.alg, c.in, got, c.want)
			}
			// Streaming in odd pieces gives the same value.
			h := New(c.alg)
			for p := []byte(c.in); len(p) > 0; {
				n := min(len(p), 7)
				h.Write(p[:n])
				p = p[n:]
			}
			if got := Encode(h.Sum(nil)); got != c.want {
				t.Fatalf("streamed %s = %s, want %s", c.alg, got, c.want)
			}
		})
	}
}

// CRC-64/NVME catalogue values: check for "123456789" (reveng), and the
// SPDK unit-test vectors for 4096 zero and 4096 0xFF bytes.
func TestCRC64NVMECatalogue(t *testing.T) {
	cases := []struct {
		in   []byte
		want uint64
	}{
		{[]byte("123456789"), 0xae8b14860a799888},
		{make([]byte, 4096), 0x6482d367eb22b64e},
		{bytes.Repeat([]byte{0xff}, 4096), 0xc0ddba7302eca3ac},
	}
	for _, c := range cases {
		if got := UpdateCRC64NVME(0, c.in); got != c.want {
			t.Errorf("CRC64NVME(%d bytes) = %#x, want %#x", len(c.in), got, c.want)
		}
	}
}

// The slicing-by-8 loop agrees with the standard library's table-driven
// CRC for the same reflected polynomial, at every length and split.
func TestCRC64NVMEMatchesStdlib(t *testing.T) {
	tab := crc64.MakeTable(crc64NVMEPoly)
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 3000)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for n := 0; n < len(buf); n += 37 {
		want := crc64.Checksum(buf[:n], tab)
		split := n / 3
		got := UpdateCRC64NVME(UpdateCRC64NVME(0, buf[:split]), buf[split:n])
		if got != want {
			t.Fatalf("len %d: got %#x want %#x", n, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		want    Algorithm
		wantErr bool
	}{
		{"crc32", CRC32, false},
		{"CRC32C", CRC32C, false},
		{"x-amz-checksum-crc64nvme", CRC64NVME, false},
		{"X-Amz-Checksum-Sha1", SHA1, false},
		{" sha256 ", SHA256, false},
		{"md5", "", true},
		{"", "", true},
		{"x-amz-checksum-", "", true},
		{"crc32x", "", true},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("Parse(%q) = %q, %v; want %q, err=%v", c.in, got, err, c.want, c.wantErr)
		}
		if err != nil && !errors.Is(err, ErrUnknownAlgorithm) {
			t.Errorf("Parse(%q) error %v is not ErrUnknownAlgorithm", c.in, err)
		}
	}
}

func TestHeaderNameAndSize(t *testing.T) {
	cases := []struct {
		a      Algorithm
		header string
		size   int
	}{
		{CRC32, "x-amz-checksum-crc32", 4},
		{CRC32C, "x-amz-checksum-crc32c", 4},
		{CRC64NVME, "x-amz-checksum-crc64nvme", 8},
		{SHA1, "x-amz-checksum-sha1", 20},
		{SHA256, "x-amz-checksum-sha256", 32},
	}
	for _, c := range cases {
		if got := HeaderName(c.a); got != c.header {
			t.Errorf("HeaderName(%s) = %s", c.a, got)
		}
		if got := c.a.Size(); got != c.size {
			t.Errorf("%s.Size() = %d", c.a, got)
		}
		if got := New(c.a).Size(); got != c.size {
			t.Errorf("New(%s).Size() = %d", c.a, got)
		}
		if back, err := Parse(HeaderName(c.a)); err != nil || back != c.a {
			t.Errorf("Parse(HeaderName(%s)) = %s, %v", c.a, back, err)
		}
	}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		a  Algorithm
		v  string
		ok bool
	}{
		{CRC32, "DUoRhQ==", true},
		{CRC32, "jSnVw/bqjr4=", false}, // 8 bytes for a 4-byte digest
		{CRC64NVME, "jSnVw/bqjr4=", true},
		{SHA256, "not base64!", false},
		{SHA1, "", false},
	}
	for _, c := range cases {
		_, err := Decode(c.a, c.v)
		if (err == nil) != c.ok {
			t.Errorf("Decode(%s, %q) err=%v, want ok=%v", c.a, c.v, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidValue) {
			t.Errorf("Decode error %v is not ErrInvalidValue", err)
		}
	}
}

func TestMultiHasher(t *testing.T) {
	data := []byte("hello world")
	m := NewMultiHasher(Algorithms()...)
	m.Add(CRC32) // duplicate: ignored
	if len(m.Algorithms()) != 5 {
		t.Fatalf("algorithms = %v", m.Algorithms())
	}
	got, err := io.ReadAll(m.Reader(bytes.NewReader(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("tee read = %q, %v", got, err)
	}
	sums := m.Sums()
	for _, a := range Algorithms() {
		if sums[a] != Sum(a, data) {
			t.Errorf("%s: multi %s, single %s", a, sums[a], Sum(a, data))
		}
		if v, ok := m.Sum(a); !ok || v != sums[a] {
			t.Errorf("Sum(%s) = %s, %v", a, v, ok)
		}
	}
	m.Reset()
	if v, _ := m.Sum(CRC32); v != "AAAAAA==" {
		t.Errorf("after Reset CRC32 = %s", v)
	}
	var zero MultiHasher
	if _, ok := zero.Sum(SHA1); ok {
		t.Error("zero MultiHasher claims SHA1")
	}
	zero.Write(data)
}

func TestNewPanicsOnUnknown(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(MD5) did not panic")
		}
	}()
	New("MD5")
}

func BenchmarkHash(b *testing.B) {
	buf := make([]byte, 1<<20)
	for _, a := range Algorithms() {
		b.Run(string(a), func(b *testing.B) {
			h := New(a)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h.Write(buf)
			}
		})
	}
}

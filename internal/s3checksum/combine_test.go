package s3checksum

import (
	"bytes"
	"strings"
	"testing"
)

// TestFullObject: the combined CRC of parts equals the CRC of their
// concatenation, for every CRC algorithm and uneven part sizes.
func TestFullObject(t *testing.T) {
	data := bytes.Repeat([]byte("meridian full-object checksum "), 3000)
	cuts := [][]int{{0, len(data)}, {0, 1, len(data)}, {0, 5000, 5001, 77777, len(data)}, {0, 0, len(data)}}
	for _, a := range []Algorithm{CRC32, CRC32C, CRC64NVME} {
		want := Sum(a, data)
		for _, c := range cuts {
			var parts []Part
			for i := 1; i < len(c); i++ {
				p := data[c[i-1]:c[i]]
				parts = append(parts, Part{Checksum: Sum(a, p), Size: int64(len(p))})
			}
			got, err := FullObject(a, parts)
			if err != nil || got != want {
				t.Fatalf("%s cuts %v: got %q %v, want %q", a, c, got, err, want)
			}
		}
	}
	if _, err := FullObject(SHA256, nil); err == nil {
		t.Fatal("FullObject(SHA256) accepted")
	}
}

func TestComposite(t *testing.T) {
	p1, p2 := []byte("part one"), []byte("part two")
	for _, a := range []Algorithm{CRC32, CRC32C, SHA1, SHA256} {
		got, err := Composite(a, []string{Sum(a, p1), Sum(a, p2)})
		if err != nil {
			t.Fatal(err)
		}
		d1, _ := Decode(a, Sum(a, p1))
		d2, _ := Decode(a, Sum(a, p2))
		want := Sum(a, append(d1, d2...)) + "-2"
		if got != want || !strings.HasSuffix(got, "-2") {
			t.Fatalf("%s: %q, want %q", a, got, want)
		}
	}
	if _, err := Composite(CRC64NVME, []string{Sum(CRC64NVME, p1)}); err == nil {
		t.Fatal("composite CRC64NVME accepted")
	}
	if _, err := Composite(CRC32, []string{"not base64!"}); err == nil {
		t.Fatal("bad part checksum accepted")
	}
}

// BenchmarkFullObject10000Parts: the cost CompleteMultipartUpload's apply
// pays to combine the CRCs of S3's maximum 10,000 parts of 5 MiB.
func BenchmarkFullObject10000Parts(b *testing.B) {
	parts := make([]Part, 10000)
	for i := range parts {
		parts[i] = Part{Checksum: Sum(CRC64NVME, []byte{byte(i), byte(i >> 8)}), Size: 5 << 20}
	}
	for b.Loop() {
		if _, err := FullObject(CRC64NVME, parts); err != nil {
			b.Fatal(err)
		}
	}
}

package erasure

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func randBytes(seed uint64, n int64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encodeAll returns the N shards of data.
func encodeAll(t testing.TB, c *Codec, data []byte) [][]byte {
	t.Helper()
	bufs := make([]bytes.Buffer, c.N())
	sinks := make([]io.Writer, c.N())
	for i := range sinks {
		sinks[i] = &bufs[i]
	}
	if err := c.EncodeTo(bytes.NewReader(data), int64(len(data)), sinks); err != nil {
		t.Fatalf("encode: %v", err)
	}
	out := make([][]byte, c.N())
	for i := range bufs {
		out[i] = bufs[i].Bytes()
	}
	return out
}

func TestLayout(t *testing.T) {
	l, err := NewLayout(metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		size              int64
		stripes, lastChnk int64
		shard             int64
	}{
		{0, 0, 0, 0},
		{1, 1, 1, 1},
		{10, 1, 1, 1},
		{11, 1, 2, 2},
		{999, 1, 100, 100},
		{1000, 1, 100, 100},
		{1001, 2, 1, 101},
		{2500, 3, 50, 250},
	}
	for _, tt := range tests {
		if got := l.Stripes(tt.size); got != tt.stripes {
			t.Errorf("Stripes(%d)=%d want %d", tt.size, got, tt.stripes)
		}
		if got := l.ChunkLen(tt.size, tt.stripes-1); got != tt.lastChnk {
			t.Errorf("ChunkLen(%d, last)=%d want %d", tt.size, got, tt.lastChnk)
		}
		if got := l.ShardSize(tt.size); got != tt.shard {
			t.Errorf("ShardSize(%d)=%d want %d", tt.size, got, tt.shard)
		}
	}
	for _, s := range []metapb.Scheme{{Data: 0, Parity: 4, ChunkSize: 64}, {Data: 10, Parity: 0, ChunkSize: 64}, {Data: 10, Parity: 4, ChunkSize: 0}, {Data: 60, Parity: 10, ChunkSize: 64}} {
		if _, err := NewLayout(s); !errors.Is(err, ErrScheme) {
			t.Errorf("NewLayout(%+v) err=%v, want ErrScheme", s, err)
		}
	}
}

func TestRoundTripSizes(t *testing.T) {
	const chunk = 64
	c, err := New(metapb.Scheme{Data: 10, Parity: 4, ChunkSize: chunk})
	if err != nil {
		t.Fatal(err)
	}
	stripe := int64(10 * chunk)
	sizes := []int64{1, chunk - 1, chunk, chunk + 1, stripe - 1, stripe, stripe + 1, 3*stripe + 17, 7 * stripe}
	for _, size := range sizes {
		data := randBytes(uint64(size), size)
		shards := encodeAll(t, c, data)
		for i, s := range shards {
			if int64(len(s)) != c.ShardSize(size) {
				t.Fatalf("size %d: shard %d has %d bytes, want %d", size, i, len(s), c.ShardSize(size))
			}
		}
		// Full decode from data shards only, then from parity-heavy sets.
		for _, missing := range [][]int{nil, {0, 1, 2, 3}, {9, 10, 11, 12}, {3, 5, 7, 13}, {10, 11, 12, 13}} {
			readers := make([]io.Reader, c.N())
			for i := range readers {
				readers[i] = bytes.NewReader(shards[i])
			}
			for _, m := range missing {
				readers[m] = nil
			}
			var out bytes.Buffer
			if err := c.Decode(&out, size, readers, 0, size); err != nil {
				t.Fatalf("size %d missing %v: %v", size, missing, err)
			}
			if !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("size %d missing %v: decoded bytes differ", size, missing)
			}
		}
	}
}

func TestEncodeZero(t *testing.T) {
	c, _ := New(metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 64})
	shards := encodeAll(t, c, nil)
	for i, s := range shards {
		if len(s) != 0 {
			t.Fatalf("shard %d of empty segment has %d bytes", i, len(s))
		}
	}
}

func TestEncodeShortBody(t *testing.T) {
	c, _ := New(metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 64})
	sinks := make([]io.Writer, c.N())
	for i := range sinks {
		sinks[i] = io.Discard
	}
	for _, tt := range []struct{ have, size int64 }{{0, 1}, {639, 640}, {640, 641}, {1000, 5000}} {
		err := c.EncodeTo(bytes.NewReader(make([]byte, tt.have)), tt.size, sinks)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("have %d size %d: err=%v, want ErrUnexpectedEOF", tt.have, tt.size, err)
		}
	}
}

// Every combination of 4 missing shards out of 14 reconstructs identical bytes.
func TestAnyFourMissing(t *testing.T) {
	c, _ := New(metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 32})
	size := int64(3*320 + 77)
	data := randBytes(7, size)
	shards := encodeAll(t, c, data)
	combos := 0
	for a := 0; a < 14; a++ {
		for b := a + 1; b < 14; b++ {
			for x := b + 1; x < 14; x++ {
				for d := x + 1; d < 14; d++ {
					win := make([][]byte, 14)
					copy(win, shards)
					win[a], win[b], win[x], win[d] = nil, nil, nil, nil
					var out bytes.Buffer
					if err := c.DecodeWindow(&out, size, 0, win, 0, size); err != nil {
						t.Fatalf("missing %d,%d,%d,%d: %v", a, b, x, d, err)
					}
					if !bytes.Equal(out.Bytes(), data) {
						t.Fatalf("missing %d,%d,%d,%d: bytes differ", a, b, x, d)
					}
					combos++
				}
			}
		}
	}
	if combos != 1001 {
		t.Fatalf("tested %d combinations, want 1001", combos)
	}
	// Five missing is a clean error.
	win := make([][]byte, 14)
	copy(win, shards)
	win[0], win[1], win[2], win[3], win[13] = nil, nil, nil, nil, nil
	if err := c.DecodeWindow(io.Discard, size, 0, win, 0, size); !errors.Is(err, ErrTooFewShards) {
		t.Fatalf("5 missing: err=%v, want ErrTooFewShards", err)
	}
}

func TestDecodeRanges(t *testing.T) {
	c, _ := New(metapb.Scheme{Data: 4, Parity: 2, ChunkSize: 16})
	size := int64(5*64 + 9)
	data := randBytes(3, size)
	shards := encodeAll(t, c, data)
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 500; iter++ {
		off := r.Int64N(size)
		length := 1 + r.Int64N(size-off)
		first, last, err := c.StripeRange(size, off, length)
		if err != nil {
			t.Fatal(err)
		}
		// Window of exactly the needed stripes; drop up to 2 random shards.
		a := c.ShardOffset(first)
		b := a + c.WindowLen(size, first, last-first+1)
		win := make([][]byte, c.N())
		for i := range win {
			win[i] = shards[i][a:b]
		}
		for k := r.IntN(3); k > 0; k-- {
			win[r.IntN(c.N())] = nil
		}
		var out bytes.Buffer
		if err := c.DecodeWindow(&out, size, first, win, off, off+length); err != nil {
			t.Fatalf("range [%d,+%d): %v", off, length, err)
		}
		if !bytes.Equal(out.Bytes(), data[off:off+length]) {
			t.Fatalf("range [%d,+%d): bytes differ", off, length)
		}
	}
}

func TestReconstructWindow(t *testing.T) {
	c, _ := New(metapb.Scheme{Data: 10, Parity: 4, ChunkSize: 64})
	size := int64(2*640 + 300)
	data := randBytes(11, size)
	shards := encodeAll(t, c, data)
	for _, lost := range [][]int{{0}, {13}, {2, 11}, {0, 5, 10, 13}} {
		win := make([][]byte, 14)
		want := make([]bool, 14)
		copy(win, shards)
		for _, i := range lost {
			win[i] = make([]byte, len(shards[i]))
			want[i] = true
		}
		if err := c.ReconstructWindow(size, 0, win, want); err != nil {
			t.Fatalf("lost %v: %v", lost, err)
		}
		for _, i := range lost {
			if !bytes.Equal(win[i], shards[i]) {
				t.Fatalf("lost %v: shard %d rebuilt wrong", lost, i)
			}
		}
	}
}

func BenchmarkEncodeRaw(b *testing.B) {
	for _, chunk := range []int64{16 << 10, 64 << 10, 256 << 10, 1 << 20} {
		b.Run(sizeName(chunk), func(b *testing.B) {
			c, _ := New(metapb.Scheme{Data: 10, Parity: 4, ChunkSize: chunk})
			shards := make([][]byte, 14)
			for i := range shards {
				shards[i] = randBytes(uint64(i), chunk)
			}
			b.SetBytes(10 * chunk)
			b.ResetTimer()
			for b.Loop() {
				if err := c.enc.Encode(shards); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPipelineEncode(b *testing.B) {
	const size = 64 << 20
	data := randBytes(1, size)
	for _, chunk := range []int64{16 << 10, 64 << 10, 256 << 10, 1 << 20} {
		b.Run(sizeName(chunk), func(b *testing.B) {
			c, _ := New(metapb.Scheme{Data: 10, Parity: 4, ChunkSize: chunk})
			sinks := make([]io.Writer, 14)
			for i := range sinks {
				sinks[i] = io.Discard
			}
			b.SetBytes(size)
			b.ResetTimer()
			for b.Loop() {
				if err := c.EncodeTo(bytes.NewReader(data), size, sinks); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func sizeName(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + "MiB"
	}
	return strconv.FormatInt(n>>10, 10) + "KiB"
}

package erasure

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/reedsolomon"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Errors.
var (
	ErrScheme       = errors.New("erasure: invalid scheme")
	ErrTooFewShards = errors.New("erasure: too few shards to decode")
	ErrShardSize    = errors.New("erasure: shard data has the wrong size")
	ErrRange        = errors.New("erasure: range outside the segment")
)

// MaxShards bounds Data+Parity (the GF(2^8) Reed–Solomon limit is 256; we
// never need more than a few dozen).
const MaxShards = 64

// Layout is the pure arithmetic of a scheme: where each object byte of a
// segment lives in which stripe, chunk and shard. It has no state.
type Layout struct {
	K, M  int   // data and parity shards
	Chunk int64 // chunk size of every stripe but the last
}

// NewLayout checks a scheme and returns its layout.
func NewLayout(s metapb.Scheme) (Layout, error) {
	if s.Data < 1 || s.Parity < 1 || s.Data+s.Parity > MaxShards {
		return Layout{}, fmt.Errorf("%w: %d+%d shards", ErrScheme, s.Data, s.Parity)
	}
	if s.ChunkSize < 1 || s.ChunkSize > 64<<20 {
		return Layout{}, fmt.Errorf("%w: chunk size %d", ErrScheme, s.ChunkSize)
	}
	return Layout{K: s.Data, M: s.Parity, Chunk: s.ChunkSize}, nil
}

// N is the number of shards, K+M.
func (l Layout) N() int { return l.K + l.M }

// StripeSize is the object bytes of a full stripe.
func (l Layout) StripeSize() int64 { return int64(l.K) * l.Chunk }

// Stripes is the number of stripes of a segment of size bytes.
func (l Layout) Stripes(size int64) int64 {
	if size <= 0 {
		return 0
	}
	return (size + l.StripeSize() - 1) / l.StripeSize()
}

// ChunkLen is the chunk length of stripe j of a segment of size bytes.
func (l Layout) ChunkLen(size, j int64) int64 {
	n := l.Stripes(size)
	if j < 0 || j >= n {
		return 0
	}
	if j < n-1 {
		return l.Chunk
	}
	rem := size - j*l.StripeSize()
	return (rem + int64(l.K) - 1) / int64(l.K)
}

// ShardSize is the size of every shard of a segment of size bytes.
func (l Layout) ShardSize(size int64) int64 {
	n := l.Stripes(size)
	if n == 0 {
		return 0
	}
	return (n-1)*l.Chunk + l.ChunkLen(size, n-1)
}

// ShardOffset is the offset of stripe j's chunk inside every shard.
func (l Layout) ShardOffset(j int64) int64 { return j * l.Chunk }

// StripeRange returns the stripes [first, last] holding segment bytes
// [off, off+length). length must be > 0 and the range inside the segment.
func (l Layout) StripeRange(size, off, length int64) (first, last int64, err error) {
	if off < 0 || length <= 0 || off+length > size {
		return 0, 0, fmt.Errorf("%w: [%d,+%d) of %d", ErrRange, off, length, size)
	}
	return off / l.StripeSize(), (off + length - 1) / l.StripeSize(), nil
}

// WindowLen is the number of shard bytes of stripes [first, first+n).
func (l Layout) WindowLen(size, first, n int64) int64 {
	total := l.Stripes(size)
	if first+n > total {
		n = total - first
	}
	if n <= 0 {
		return 0
	}
	return (n-1)*l.Chunk + l.ChunkLen(size, first+n-1)
}

// Codec encodes and decodes segments of one scheme. It is safe for
// concurrent use; buffers come from internal pools.
type Codec struct {
	Layout
	enc     reedsolomon.Encoder
	stripes sync.Pool // *[]byte of N()*Chunk bytes
	scratch sync.Pool // *[][]byte: K buffers of Chunk bytes for reconstruction
}

// New returns a codec for s.
func New(s metapb.Scheme) (*Codec, error) {
	l, err := NewLayout(s)
	if err != nil {
		return nil, err
	}
	enc, err := reedsolomon.New(l.K, l.M)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrScheme, err)
	}
	c := &Codec{Layout: l, enc: enc}
	c.stripes.New = func() any { b := make([]byte, int64(l.N())*l.Chunk); return &b }
	c.scratch.New = func() any {
		s := make([][]byte, l.N())
		for i := range s {
			s[i] = make([]byte, l.Chunk)
		}
		return &s
	}
	return c, nil
}

// Encode reads exactly size bytes from r and, stripe by stripe, computes
// parity and calls emit with the stripe index and its N() chunks (data
// chunks first). The chunks are only valid during the call: emit must copy
// what it keeps. Memory is one stripe buffer. If r ends early the error
// wraps io.ErrUnexpectedEOF; an error from emit stops encoding and is
// returned as is.
func (c *Codec) Encode(r io.Reader, size int64, emit func(stripe int64, chunks [][]byte) error) error {
	if size < 0 {
		return fmt.Errorf("%w: negative size", ErrRange)
	}
	bp := c.stripes.Get().(*[]byte)
	defer c.stripes.Put(bp)
	buf := *bp
	chunks := make([][]byte, c.N())
	n := c.Stripes(size)
	for j := int64(0); j < n; j++ {
		cl := c.ChunkLen(size, j)
		want := min(c.StripeSize(), size-j*c.StripeSize())
		if got, err := io.ReadFull(r, buf[:want]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("erasure: body ended after %d of %d bytes: %w",
					j*c.StripeSize()+int64(got), size, io.ErrUnexpectedEOF)
			}
			return fmt.Errorf("erasure: read body: %w", err)
		}
		dataLen := int64(c.K) * cl
		clear(buf[want:dataLen])
		for i := range chunks {
			chunks[i] = buf[int64(i)*cl : int64(i+1)*cl]
		}
		if err := c.enc.Encode(chunks); err != nil {
			return fmt.Errorf("erasure: encode: %w", err)
		}
		if err := emit(j, chunks); err != nil {
			return err
		}
	}
	return nil
}

// EncodeTo is Encode writing chunk i of every stripe to sinks[i].
func (c *Codec) EncodeTo(r io.Reader, size int64, sinks []io.Writer) error {
	if len(sinks) != c.N() {
		return fmt.Errorf("%w: %d sinks for %d shards", ErrTooFewShards, len(sinks), c.N())
	}
	return c.Encode(r, size, func(_ int64, chunks [][]byte) error {
		for i, ch := range chunks {
			if _, err := sinks[i].Write(ch); err != nil {
				return fmt.Errorf("erasure: write shard %d: %w", i, err)
			}
		}
		return nil
	})
}

// window describes shards[i] holding stripes [first, first+n) of a segment.
func (c *Codec) checkWindow(size, first int64, shards [][]byte, minHave int) (n, wlen int64, err error) {
	if len(shards) != c.N() {
		return 0, 0, fmt.Errorf("%w: %d shard slots for %d shards", ErrTooFewShards, len(shards), c.N())
	}
	wlen = -1
	have := 0
	for _, s := range shards {
		if len(s) == 0 {
			continue
		}
		have++
		if wlen >= 0 && int64(len(s)) != wlen {
			return 0, 0, fmt.Errorf("%w: %d vs %d bytes", ErrShardSize, len(s), wlen)
		}
		wlen = int64(len(s))
	}
	if have < minHave || have == 0 {
		return 0, 0, fmt.Errorf("%w: %d of %d needed", ErrTooFewShards, have, minHave)
	}
	total := c.Stripes(size)
	if first < 0 || first >= total {
		return 0, 0, fmt.Errorf("%w: stripe %d of %d", ErrRange, first, total)
	}
	// Number of whole stripes the window covers.
	n = (wlen + c.Chunk - 1) / c.Chunk
	if first+n > total || c.WindowLen(size, first, n) != wlen {
		return 0, 0, fmt.Errorf("%w: %d bytes at stripe %d", ErrShardSize, wlen, first)
	}
	return n, wlen, nil
}

// DecodeWindow writes segment bytes [from, to) to w. shards[i] holds the
// bytes of shard i for stripes [first, first+n) (all present shards the same
// length; nil or empty for a missing shard); at least K must be present.
// [from, to) must lie inside those stripes. Missing data chunks are
// reconstructed only for stripes that are needed, into pooled scratch
// buffers; shards is not modified.
func (c *Codec) DecodeWindow(w io.Writer, size, first int64, shards [][]byte, from, to int64) error {
	n, _, err := c.checkWindow(size, first, shards, 1)
	if err != nil {
		return err
	}
	ss := c.StripeSize()
	if from < first*ss || to > min(size, (first+n)*ss) || from >= to {
		return fmt.Errorf("%w: [%d,%d) not in stripes %d..%d", ErrRange, from, to, first, first+n-1)
	}
	have := 0
	for _, s := range shards {
		if len(s) > 0 {
			have++
		}
	}
	var scratch [][]byte
	views := make([][]byte, c.N())
	for j := from / ss; j <= (to-1)/ss; j++ {
		cl := c.ChunkLen(size, j)
		rel := (j - first) * c.Chunk
		// Data chunks [lo, hi] of stripe j hold the wanted bytes.
		sOff := j * ss
		lo, hi := max(from, sOff)-sOff, min(to, sOff+int64(c.K)*cl)-sOff
		missingData := false
		for i := lo / cl; i <= (hi-1)/cl; i++ {
			missingData = missingData || len(shards[i]) == 0
		}
		if missingData && have < c.K {
			return fmt.Errorf("%w: %d of %d needed", ErrTooFewShards, have, c.K)
		}
		if missingData && scratch == nil {
			sp := c.scratch.Get().(*[][]byte)
			defer c.scratch.Put(sp)
			scratch = *sp
		}
		for i := range views {
			if len(shards[i]) == 0 {
				views[i] = nil
				if i < c.K && scratch != nil {
					views[i] = scratch[i][:0]
				}
				continue
			}
			views[i] = shards[i][rel : rel+cl]
		}
		if missingData {
			if err := c.enc.ReconstructData(views); err != nil {
				return fmt.Errorf("erasure: reconstruct stripe %d: %w", j, err)
			}
		}
		// Object bytes of stripe j are data chunks 0..K-1 concatenated.
		for i := lo / cl; i < int64(c.K) && i*cl < hi; i++ {
			a, b := max(lo, i*cl), min(hi, (i+1)*cl)
			if _, err := w.Write(views[i][a-i*cl : b-i*cl]); err != nil {
				return fmt.Errorf("erasure: write: %w", err)
			}
		}
	}
	return nil
}

// ReconstructWindow recomputes the shards i with want[i] set, for the whole
// window of stripes starting at first. shards is as for DecodeWindow, except
// that every wanted shard must be a buffer of the window's length (its
// content is overwritten) and does not count as present.
func (c *Codec) ReconstructWindow(size, first int64, shards [][]byte, want []bool) error {
	if len(want) != c.N() || len(shards) != c.N() {
		return fmt.Errorf("%w: want has %d slots", ErrTooFewShards, len(want))
	}
	have := make([][]byte, c.N())
	for i := range shards {
		if !want[i] {
			have[i] = shards[i]
		}
	}
	n, wlen, err := c.checkWindow(size, first, have, c.K)
	if err != nil {
		return err
	}
	for i, wt := range want {
		if wt && int64(len(shards[i])) != wlen {
			return fmt.Errorf("%w: output shard %d has %d bytes, want %d", ErrShardSize, i, len(shards[i]), wlen)
		}
	}
	views := make([][]byte, c.N())
	for j := first; j < first+n; j++ {
		cl := c.ChunkLen(size, j)
		rel := (j - first) * c.Chunk
		for i := range views {
			switch {
			case want[i]:
				views[i] = shards[i][rel:rel]
			case len(have[i]) == 0:
				views[i] = nil
			default:
				views[i] = have[i][rel : rel+cl]
			}
		}
		if err := c.enc.ReconstructSome(views, want); err != nil {
			return fmt.Errorf("erasure: reconstruct stripe %d: %w", j, err)
		}
	}
	return nil
}

// Decode streams segment bytes [off, off+length) to w from shard readers.
// readers[i] (nil when shard i is unavailable) must be positioned at
// ShardOffset(first stripe of off); at least K must be non-nil. It reads
// and decodes one stripe at a time. A reader error is returned; callers that
// want to fail over to other shards use DecodeWindow.
func (c *Codec) Decode(w io.Writer, size int64, readers []io.Reader, off, length int64) error {
	if length == 0 {
		return nil
	}
	first, last, err := c.StripeRange(size, off, length)
	if err != nil {
		return err
	}
	if len(readers) != c.N() {
		return fmt.Errorf("%w: %d readers", ErrTooFewShards, len(readers))
	}
	bp := c.stripes.Get().(*[]byte)
	defer c.stripes.Put(bp)
	buf := *bp
	shards := make([][]byte, c.N())
	for j := first; j <= last; j++ {
		cl := c.ChunkLen(size, j)
		for i, r := range readers {
			shards[i] = nil
			if r == nil {
				continue
			}
			b := buf[int64(i)*c.Chunk : int64(i)*c.Chunk+cl]
			if _, err := io.ReadFull(r, b); err != nil {
				return fmt.Errorf("erasure: read shard %d stripe %d: %w", i, j, err)
			}
			shards[i] = b
		}
		ss := c.StripeSize()
		from, to := max(off, j*ss), min(off+length, (j+1)*ss)
		if err := c.DecodeWindow(w, size, j, shards, from, to); err != nil {
			return err
		}
	}
	return nil
}

package objectio

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/meridian-s3/meridian/internal/quorum"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/erasure"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Read writes object bytes [off, off+length) to w. segs are the object's
// segments in order (their Offset fields are not used: offsets are the
// running sum of sizes, so a multipart object's part segments may be passed
// concatenated); scheme is the one they were written with.
//
// Each segment is read in windows of whole stripes (Config.ReadWindow shard
// bytes per shard): only the stripes holding the range, only the data shards
// at first; a shard that fails, reports corruption or is slower than
// ReadHedge is replaced by another shard and the window is reconstructed.
// Bytes are written to w window by window as they are decoded; a window
// that cannot be decoded (fewer than Data shards answer) ends the Read with
// an error wrapping ErrUnavailable, after the bytes before it were written.
func (e *Engine) Read(ctx context.Context, segs []metapb.Segment, scheme metapb.Scheme, off, length int64, w io.Writer) error {
	var total int64
	for _, s := range segs {
		total += s.Size
	}
	if off < 0 || length < 0 || off+length > total {
		return fmt.Errorf("%w: [%d,+%d) of %d bytes", ErrRange, off, length, total)
	}
	if length == 0 {
		return nil
	}
	codec, err := e.codec(scheme)
	if err != nil {
		return err
	}
	view := e.view()
	var segOff int64
	for _, seg := range segs {
		a, b := max(off, segOff)-segOff, min(off+length, segOff+seg.Size)-segOff
		segOff += seg.Size
		if a >= b {
			continue
		}
		if len(seg.Shards) != codec.N() {
			return fmt.Errorf("%w: segment has %d shards, scheme %d", ErrSegments, len(seg.Shards), codec.N())
		}
		if err := e.readSegment(ctx, codec, view, seg, a, b, w); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) readSegment(ctx context.Context, codec *erasure.Codec, view nodeView, seg metapb.Segment, a, b int64, w io.Writer) error {
	r := e.newSegReader(codec, view, seg, nil)
	defer r.close()
	first, last, err := codec.StripeRange(seg.Size, a, b-a)
	if err != nil {
		return err
	}
	per := max(1, e.cfg.ReadWindow/codec.Chunk)
	ss := codec.StripeSize()
	for ws := first; ws <= last; ws += per {
		n := min(per, last-ws+1)
		from, to := max(a, ws*ss), min(b, (ws+n)*ss)
		present, err := r.fetch(ctx, ws, n, from, to)
		if err != nil {
			return err
		}
		if err := codec.DecodeWindow(w, seg.Size, ws, present, from, to); err != nil {
			return err
		}
		e.m.readWindows.Add(1)
		e.m.bytesRead.Add(to - from)
	}
	return nil
}

// segReader fetches windows of one segment's shards, remembering which
// shards failed or lagged so later windows ask others first.
type segReader struct {
	e       *Engine
	codec   *erasure.Codec
	view    nodeView
	seg     metapb.Segment
	penalty []int  // per shard: failures/lags so far
	base    []int  // base preference rank
	usable  []bool // has a node in the view and is not excluded
	bufs    []*[]byte
}

// newSegReader: skip[i] excludes shard i (e.g. the one being rebuilt).
func (e *Engine) newSegReader(codec *erasure.Codec, view nodeView, seg metapb.Segment, skip []bool) *segReader {
	n := codec.N()
	r := &segReader{e: e, codec: codec, view: view, seg: seg,
		penalty: make([]int, n), base: make([]int, n), usable: make([]bool, n), bufs: make([]*[]byte, n)}
	for i, ref := range seg.Shards {
		node, ok := view[ref.Node]
		r.usable[i] = ref.Node != "" && ok && (skip == nil || !skip[i])
		// Data shards on healthy nodes first, then parity, then unhealthy.
		r.base[i] = i
		if !node.Healthy {
			r.base[i] += 2 * n
		}
	}
	return r
}

func (r *segReader) close() {
	for i, b := range r.bufs {
		if b != nil {
			r.e.windows.Put(b)
			r.bufs[i] = nil
		}
	}
}

func (r *segReader) buf(i int, n int64) []byte {
	if r.bufs[i] == nil || int64(cap(*r.bufs[i])) < n {
		b, _ := r.e.windows.Get().(*[]byte)
		if b == nil || int64(cap(*b)) < n {
			nb := make([]byte, n)
			b = &nb
		}
		r.bufs[i] = b
	}
	return (*r.bufs[i])[:n]
}

// order returns usable shards, best first.
func (r *segReader) order() []int {
	var out []int
	for i, ok := range r.usable {
		if ok {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(x, y int) int {
		if r.penalty[x] != r.penalty[y] {
			return r.penalty[x] - r.penalty[y]
		}
		return r.base[x] - r.base[y]
	})
	return out
}

// fetch reads stripes [first, first+n) of at least Data shards and returns
// them (nil for shards not read). [from, to) is the segment byte range the
// caller needs from the window: when it lies inside one stripe and the data
// chunks holding it answer, only those are fetched.
func (r *segReader) fetch(ctx context.Context, first, n, from, to int64) ([][]byte, error) {
	c := r.codec
	if n == 1 && from >= 0 {
		if out := r.fetchNarrow(ctx, first, from, to); out != nil {
			return out, nil
		}
	}
	off := c.ShardOffset(first)
	wlen := c.WindowLen(r.seg.Size, first, n)
	cand := r.order()
	if len(cand) < c.K {
		return nil, fmt.Errorf("%w: %d of %d shards reachable, need %d", ErrUnavailable, len(cand), c.N(), c.K)
	}
	res, err := quorum.Run(ctx, len(cand), quorum.Strategy{
		Need: c.K, Start: c.K, Timeout: r.e.cfg.ReadTimeout, HedgeAfter: r.e.cfg.ReadHedge,
	}, func(ctx context.Context, pos, _ int) (struct{}, error) {
		return struct{}{}, r.get(ctx, cand[pos], off, wlen, 0, wlen)
	})
	started := 0
	for pos, idx := range cand {
		if res.Started[pos] {
			started++
		}
		if res.Started[pos] && !res.OK[pos] {
			r.penalty[idx]++
			r.e.m.shardGetFailures.Add(1)
			if e := res.Errs[pos]; e != nil && !errors.Is(e, context.Canceled) && !errors.Is(e, context.DeadlineExceeded) {
				markDegraded(ctx) // failed, corrupt or missing: not just slower than a hedge
			}
		}
	}
	if len(cand) < c.N() {
		markDegraded(ctx) // a shard without a usable node
	}
	r.e.m.hedged.Add(int64(max(0, started-c.K)))
	if err != nil {
		return nil, fmt.Errorf("%w: stripes %d..%d: %v", ErrUnavailable, first, first+n-1, err)
	}
	out := make([][]byte, c.N())
	missingData := false
	for pos, idx := range cand {
		if res.OK[pos] {
			out[idx] = (*r.bufs[idx])[:wlen]
		}
	}
	for i := 0; i < c.K; i++ {
		missingData = missingData || out[i] == nil
	}
	if missingData {
		r.e.m.reconstructed.Add(1)
	}
	return out, nil
}

// get reads shard idx bytes [off, off+wlen) into its buffer at [at, at+l).
func (r *segReader) get(ctx context.Context, idx int, off, wlen, at, l int64) error {
	ref := r.seg.Shards[idx]
	node := r.view[ref.Node]
	buf := r.buf(idx, wlen)
	r.e.m.shardGets.Add(1)
	rc, err := r.e.cfg.Client.Get(ctx, node.Addr, ref.ID, off+at, l)
	if err != nil {
		return fmt.Errorf("shard %d (%s on %s): %w", idx, ref.ID, ref.Node, err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, buf[at:at+l]); err != nil {
		return fmt.Errorf("shard %d (%s on %s): read: %w", idx, ref.ID, ref.Node, err)
	}
	// End-to-end check when the request covered the whole shard.
	if off+at == 0 && l == ref.Size && ref.CRC32C != 0 && crc32.Checksum(buf[at:at+l], castagnoli) != ref.CRC32C {
		return fmt.Errorf("shard %d (%s on %s): %w", idx, ref.ID, ref.Node, ErrCorruptShard)
	}
	return nil
}

// fetchNarrow handles a range inside one stripe: it fetches only the data
// chunks overlapping [from, to) and fills the window with those, leaving
// the others nil; DecodeWindow then never touches the missing ones. It
// returns nil (caller falls back to a full window) on any failure.
func (r *segReader) fetchNarrow(ctx context.Context, j, from, to int64) [][]byte {
	c := r.codec
	cl := c.ChunkLen(r.seg.Size, j)
	ss := c.StripeSize()
	lo, hi := (from-j*ss)/cl, (to-1-j*ss)/cl
	if hi-lo+1 >= int64(c.K) {
		return nil // needs every data chunk anyway
	}
	var want []int
	for i := lo; i <= hi; i++ {
		if !r.usable[i] || r.penalty[i] > 0 {
			return nil
		}
		want = append(want, int(i))
	}
	off := c.ShardOffset(j)
	res, err := quorum.Run(ctx, len(want), quorum.Strategy{Need: len(want), Timeout: r.e.cfg.ReadTimeout},
		func(ctx context.Context, pos, _ int) (struct{}, error) {
			return struct{}{}, r.get(ctx, want[pos], off, cl, 0, cl)
		})
	if err != nil {
		for pos, idx := range want {
			if res.Started[pos] && !res.OK[pos] {
				r.penalty[idx]++
				r.e.m.shardGetFailures.Add(1)
				if e := res.Errs[pos]; e != nil && !errors.Is(e, context.Canceled) && !errors.Is(e, context.DeadlineExceeded) {
					markDegraded(ctx)
				}
			}
		}
		return nil
	}
	out := make([][]byte, c.N())
	for _, idx := range want {
		out[idx] = (*r.bufs[idx])[:cl]
	}
	return out
}

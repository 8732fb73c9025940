package objectio

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/internal/quorum"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/erasure"
	"github.com/meridian-s3/meridian/regional/placement"
	"github.com/meridian-s3/meridian/storagesvc/storagepb"
)

var (
	errTooFewStreams = errors.New("objectio: fewer than Data shard streams alive")
	errFinishTimeout = errors.New("objectio: shard not acknowledged within WriteFinish")
	errAbandoned     = errors.New("objectio: shard stream abandoned")
)

// Write streams exactly the planned bytes (the sum of the segments' sizes)
// from body, segment by segment. Each segment is encoded stripe by stripe
// and its Data+Parity shards are streamed in parallel, one Put per shard,
// to the planned nodes. A shard whose Put fails, stalls (WriteStall) or is
// acknowledged with the wrong size or CRC is rebuilt after the segment's
// stream ends: its bytes are reconstructed from the stored shards and put
// on a replacement node (same AZ when possible; RebuildAttempts nodes at
// most). Nodes that failed are avoided for the rest of the object.
//
// Write returns the final segments (actual nodes, sizes, CRC-32C per
// shard; a shard that could not be stored has an empty Node) only when
// every segment has at least WriteQuorum shards stored. If body ends early
// the error wraps io.ErrUnexpectedEOF. On any error it deletes, best
// effort, every shard it stored.
func (e *Engine) Write(ctx context.Context, segs []metapb.Segment, body io.Reader) ([]metapb.Segment, error) {
	codec, err := e.codec(e.cfg.Scheme)
	if err != nil {
		return nil, err
	}
	for i, s := range segs {
		if s.Size <= 0 || s.Size > e.cfg.SegmentSize || len(s.Shards) != codec.N() {
			return nil, fmt.Errorf("%w: segment %d: size %d, %d shards", ErrSegments, i, s.Size, len(s.Shards))
		}
		for j, r := range s.Shards {
			if r.ID == "" || r.Index != j {
				return nil, fmt.Errorf("%w: segment %d shard %d: index %d id %q", ErrSegments, i, j, r.Index, r.ID)
			}
		}
	}
	view := e.view()
	bad := map[string]bool{} // nodes that failed during this write
	out := make([]metapb.Segment, 0, len(segs))
	for i, seg := range segs {
		final, garbage, err := e.writeSegment(ctx, codec, view, seg, body, bad)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		if err != nil {
			refs := append(garbage, allRefs(append(out, final))...)
			if derr := e.deleteRefs(cctx, view, refs); derr != nil {
				e.log.WarnContext(ctx, "objectio: cleanup after failed write", "err", derr)
			}
			cancel()
			if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
				// The caller gave up: say so, whatever the segment saw first.
				return nil, fmt.Errorf("objectio: segment %d: %w (%v)", i, cerr, err)
			}
			return nil, fmt.Errorf("objectio: segment %d: %w", i, err)
		}
		if len(garbage) > 0 {
			// Attempts that failed may have left a shard behind.
			_ = e.deleteRefs(cctx, view, garbage)
		}
		cancel()
		out = append(out, final)
		e.m.bytesWritten.Add(seg.Size)
	}
	return out, nil
}

// shardStream is the body of one shard's Put, fed chunk by chunk by the
// encoder through a bounded queue.
type shardStream struct {
	e      *Engine
	size   int64
	ch     chan *[]byte
	ctx    context.Context // the Put's context
	cancel context.CancelCauseFunc

	once    sync.Once
	dead    chan struct{}
	deadErr error // set before dead is closed

	cur    []byte // read side: unread part of the current chunk
	curBuf *[]byte

	mu  sync.Mutex
	n   int64 // bytes handed to the Put
	crc uint32
}

func (s *shardStream) kill(err error) {
	s.once.Do(func() {
		s.deadErr = err
		close(s.dead)
		s.cancel(err)
	})
}

func (s *shardStream) alive() bool {
	select {
	case <-s.dead:
		return false
	default:
		return true
	}
}

func (s *shardStream) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(s.cur) == 0 {
		if s.curBuf != nil {
			s.e.chunks.Put(s.curBuf)
			s.curBuf = nil
		}
		select {
		case b, ok := <-s.ch:
			if !ok {
				s.mu.Lock()
				n := s.n
				s.mu.Unlock()
				if n == s.size {
					return 0, io.EOF
				}
				if !s.alive() {
					return 0, s.deadErr
				}
				return 0, fmt.Errorf("objectio: shard stream ended at %d of %d bytes: %w", n, s.size, io.ErrUnexpectedEOF)
			}
			s.curBuf, s.cur = b, *b
		case <-s.dead:
			return 0, s.deadErr
		case <-s.ctx.Done():
			return 0, context.Cause(s.ctx)
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	s.mu.Lock()
	s.crc = crc32.Update(s.crc, castagnoli, p[:n])
	s.n += int64(n)
	s.mu.Unlock()
	return n, nil
}

// check compares a Put's acknowledgement with what was streamed.
func (s *shardStream) check(info storagepb.ShardInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n != s.size || info.Size != s.size || info.CRC32C != s.crc {
		return fmt.Errorf("%w: sent %d bytes crc %08x, acked %d bytes crc %08x", ErrShardAck, s.n, s.crc, info.Size, info.CRC32C)
	}
	return nil
}

// send queues a copy of chunk on s, abandoning s if its queue stays full
// until deadline (one deadline per stripe, so several stalled shards cost
// one WriteStall, not one each). Only a context error is returned.
func (e *Engine) send(ctx context.Context, s *shardStream, chunk []byte, t *time.Timer, deadline *time.Time) error {
	bp := e.chunks.Get().(*[]byte)
	*bp = (*bp)[:len(chunk)]
	copy(*bp, chunk)
	select {
	case s.ch <- bp:
		return nil
	default:
	}
	if deadline.IsZero() {
		*deadline = time.Now().Add(e.cfg.WriteStall)
	}
	t.Reset(max(time.Until(*deadline), 0))
	defer t.Stop()
	select {
	case s.ch <- bp:
	case <-s.dead:
		e.chunks.Put(bp)
	case <-t.C:
		e.chunks.Put(bp)
		s.kill(fmt.Errorf("%w for %v", ErrStalled, e.cfg.WriteStall))
	case <-ctx.Done():
		e.chunks.Put(bp)
		return context.Cause(ctx)
	}
	return nil
}

// writeSegment writes one segment. It returns the segment's refs (stored
// shards have Node set; on error too, for cleanup) and the refs of failed
// attempts that may have left bytes behind.
func (e *Engine) writeSegment(ctx context.Context, codec *erasure.Codec, view nodeView, seg metapb.Segment,
	body io.Reader, bad map[string]bool) (metapb.Segment, []metapb.ShardRef, error) {
	n, k := codec.N(), codec.K
	shardSize := codec.ShardSize(seg.Size)
	refs := append([]metapb.ShardRef(nil), seg.Shards...)
	var garbage []metapb.ShardRef

	// Move shards off nodes that already failed in this write, or that the
	// control plane no longer knows or reports unhealthy.
	nodes := e.nodes()
	for i := range refs {
		refs[i].Size, refs[i].CRC32C = shardSize, 0
		if nd, ok := view[refs[i].Node]; ok && nd.Healthy && !bad[refs[i].Node] {
			continue
		}
		if nd, err := placement.Replacement(refs, i, nodes, codec.M, placement.HashString(refs[i].ID), bad); err == nil {
			refs[i].Node, refs[i].AZ = nd.ID, nd.AZ
			view[nd.ID] = nd
		}
	}

	streams := make([]*shardStream, n)
	for i := range streams {
		sctx, cancel := context.WithCancelCause(ctx)
		streams[i] = &shardStream{e: e, size: shardSize, ch: make(chan *[]byte, e.cfg.WriteQueue),
			ctx: sctx, cancel: cancel, dead: make(chan struct{})}
	}
	defer func() {
		for _, s := range streams {
			s.cancel(errAbandoned)
		}
	}()

	// Phase 1: one streamed Put per shard, all in parallel.
	var res quorum.Result[storagepb.ShardInfo]
	var runErr error
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		res, runErr = quorum.Run(ctx, n, quorum.Strategy{Need: k, WaitAll: true},
			func(qctx context.Context, i, _ int) (storagepb.ShardInfo, error) {
				s := streams[i]
				stop := context.AfterFunc(qctx, func() { s.kill(context.Cause(qctx)) })
				defer stop()
				nd, ok := view[refs[i].Node]
				if !ok {
					err := fmt.Errorf("%w: %s", ErrUnknownNode, refs[i].Node)
					s.kill(err)
					return storagepb.ShardInfo{}, err
				}
				e.m.shardPuts.Add(1)
				info, err := e.cfg.Client.Put(s.ctx, nd.Addr, refs[i].ID, s, shardSize, 0)
				if err == nil {
					err = s.check(info)
				}
				if err != nil {
					s.kill(err)
				}
				return info, err
			})
	}()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	encErr := codec.Encode(body, seg.Size, func(_ int64, chunks [][]byte) error {
		alive := 0
		var deadline time.Time
		for i, c := range chunks {
			s := streams[i]
			if !s.alive() {
				continue
			}
			if err := e.send(ctx, s, c, timer, &deadline); err != nil {
				return err
			}
			if s.alive() {
				alive++
			}
		}
		if alive < k {
			return errTooFewStreams
		}
		return nil
	})
	for _, s := range streams {
		if encErr != nil {
			s.kill(encErr)
		}
		close(s.ch)
	}
	finish := time.NewTimer(e.cfg.WriteFinish)
	select {
	case <-runDone:
	case <-finish.C:
		for _, s := range streams {
			s.kill(errFinishTimeout)
		}
		<-runDone
	}
	finish.Stop()

	var failed []int
	stored := 0
	for i := range refs {
		if res.OK[i] {
			refs[i].CRC32C = res.Values[i].CRC32C
			stored++
			continue
		}
		e.m.shardPutFailures.Add(1)
		bad[refs[i].Node] = true
		if encErr == nil {
			e.suspect(refs[i].Node) // the node failed, not the body
		}
		garbage = append(garbage, refs[i])
		failed = append(failed, i)
		if encErr == nil {
			e.log.WarnContext(ctx, "objectio: shard put failed", "shard", refs[i].ID, "node", refs[i].Node, "err", res.Errs[i])
		}
	}
	final := metapb.Segment{Offset: seg.Offset, Size: seg.Size, Shards: refs}
	markMissing := func() {
		for _, i := range failed {
			refs[i].Node, refs[i].AZ, refs[i].CRC32C = "", "", 0
		}
	}
	if encErr != nil && !errors.Is(encErr, errTooFewStreams) {
		markMissing()
		return final, garbage, encErr
	}
	if stored < k {
		markMissing()
		return final, garbage, fmt.Errorf("%w: %d of %d shards stored, need %d: %w", ErrWriteQuorum, stored, n, e.cfg.WriteQuorum, runErr)
	}

	// Phase 2: rebuild failed shards onto replacement nodes.
	if len(failed) > 0 {
		g := e.rebuild(ctx, codec, view, nodes, seg.Size, refs, failed, bad)
		garbage = append(garbage, g...)
		stored = 0
		for _, r := range refs {
			if r.Node != "" {
				stored++
			}
		}
	}
	if stored < e.cfg.WriteQuorum {
		return final, garbage, fmt.Errorf("%w: %d of %d shards stored, need %d", ErrWriteQuorum, stored, n, e.cfg.WriteQuorum)
	}
	return final, garbage, nil
}

// rebuild reconstructs each failed shard from the stored ones and puts it
// on a replacement node, up to RebuildAttempts nodes per shard, all failed
// shards in parallel. It updates refs in place (Node "" where it failed)
// and returns refs of failed attempts.
func (e *Engine) rebuild(ctx context.Context, codec *erasure.Codec, view nodeView, nodes []metapb.StorageNode,
	segSize int64, refs []metapb.ShardRef, failed []int, bad map[string]bool) []metapb.ShardRef {
	// Sources: the shards stored in phase 1 (never modified below).
	src := metapb.Segment{Size: segSize, Shards: append([]metapb.ShardRef(nil), refs...)}
	for _, i := range failed {
		src.Shards[i].Node = ""
	}

	var mu sync.Mutex // guards refs, exclude, garbage, view
	exclude := map[string]bool{}
	for id := range bad {
		exclude[id] = true
	}
	var garbage []metapb.ShardRef
	res, _ := quorum.Run(ctx, len(failed), quorum.Strategy{
		Need: len(failed), WaitAll: true, Attempts: e.cfg.RebuildAttempts, Timeout: e.cfg.WriteFinish,
	}, func(qctx context.Context, j, attempt int) (metapb.ShardRef, error) {
		idx := failed[j]
		mu.Lock()
		nd, err := placement.Replacement(refs, idx, nodes, codec.M, placement.HashString(refs[idx].ID)+uint64(attempt), exclude)
		if err == nil {
			exclude[nd.ID] = true // never two attempts on one node
			refs[idx].Node, refs[idx].AZ = nd.ID, nd.AZ
		}
		ref := refs[idx]
		mu.Unlock()
		if err != nil {
			return metapb.ShardRef{}, err
		}
		crc, err := e.rebuildShard(qctx, codec, view, src, idx, nd, ref)
		if err != nil {
			e.m.rebuildFailures.Add(1)
			e.log.WarnContext(ctx, "objectio: shard rebuild failed", "shard", ref.ID, "node", nd.ID, "err", err)
			mu.Lock()
			garbage = append(garbage, ref)
			mu.Unlock()
			return metapb.ShardRef{}, err
		}
		e.m.shardsRebuilt.Add(1)
		ref.CRC32C = crc
		return ref, nil
	})
	for j, idx := range failed {
		if res.OK[j] {
			refs[idx] = res.Values[j]
		} else {
			refs[idx].Node, refs[idx].AZ, refs[idx].CRC32C = "", "", 0
		}
	}
	return garbage
}

// rebuildShard regenerates shard idx of src and streams it into a Put on nd.
func (e *Engine) rebuildShard(ctx context.Context, codec *erasure.Codec, view nodeView, src metapb.Segment,
	idx int, nd metapb.StorageNode, ref metapb.ShardRef) (uint32, error) {
	pr, pw := io.Pipe()
	genDone := make(chan error, 1)
	go func() {
		err := e.regenerate(ctx, codec, view, src, idx, pw)
		pw.CloseWithError(err)
		genDone <- err
	}()
	cr := &crcReader{r: pr}
	e.m.shardPuts.Add(1)
	info, err := e.cfg.Client.Put(ctx, nd.Addr, ref.ID, cr, ref.Size, 0)
	pr.CloseWithError(errAbandoned) // unblock the generator if the Put quit early
	genErr := <-genDone
	if err != nil {
		if genErr != nil && !errors.Is(genErr, errAbandoned) {
			return 0, fmt.Errorf("%w (regenerate: %v)", err, genErr)
		}
		return 0, err
	}
	sent, crc := cr.sum()
	if sent != ref.Size || info.Size != ref.Size || info.CRC32C != crc {
		return 0, fmt.Errorf("%w: sent %d bytes crc %08x, acked %d bytes crc %08x", ErrShardAck, sent, crc, info.Size, info.CRC32C)
	}
	return crc, nil
}

// regenerate writes shard idx of src to w, window by window, reconstructed
// from the other shards.
func (e *Engine) regenerate(ctx context.Context, codec *erasure.Codec, view nodeView, src metapb.Segment, idx int, w io.Writer) error {
	skip := make([]bool, codec.N())
	skip[idx] = true
	r := e.newSegReader(codec, view, src, skip)
	defer r.close()
	per := max(1, e.cfg.ReadWindow/codec.Chunk)
	total := codec.Stripes(src.Size)
	want := make([]bool, codec.N())
	want[idx] = true
	var out []byte
	for ws := int64(0); ws < total; ws += per {
		n := min(per, total-ws)
		present, err := r.fetch(ctx, ws, n, -1, -1)
		if err != nil {
			return err
		}
		wlen := codec.WindowLen(src.Size, ws, n)
		if int64(cap(out)) < wlen {
			out = make([]byte, wlen)
		}
		present[idx] = out[:wlen]
		if err := codec.ReconstructWindow(src.Size, ws, present, want); err != nil {
			return err
		}
		if _, err := w.Write(out[:wlen]); err != nil {
			return err
		}
	}
	return nil
}

// crcReader counts and checksums what a Put read. The mutex matters: an
// HTTP client reads the body on its own goroutine.
type crcReader struct {
	r   io.Reader
	mu  sync.Mutex
	n   int64
	crc uint32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	c.n += int64(n)
	c.mu.Unlock()
	return n, err
}

func (c *crcReader) sum() (int64, uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.crc
}

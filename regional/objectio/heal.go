package objectio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/erasure"
)

// ErrRebuild wraps a failed RebuildShards.
var ErrRebuild = errors.New("objectio: shard rebuild failed")

// RebuildShards regenerates shards of a stored segment (the healer's
// rebuild): src is the segment as recorded, with the shards that must not
// be read (missing, corrupt, on dead nodes) given an empty Node; targets
// name where each rebuilt shard goes (Index, Node, AZ, ID, Size). The
// segment is read once, window by window, from Data healthy shards (hedged
// and replaced like a GET), every target shard reconstructed and streamed
// into its own Put. It returns the targets with their CRC-32C filled in,
// or, if any Put fails, an error after deleting (best effort) the targets
// it stored.
func (e *Engine) RebuildShards(ctx context.Context, scheme metapb.Scheme, src metapb.Segment, targets []metapb.ShardRef) ([]metapb.ShardRef, error) {
	codec, err := e.codec(scheme)
	if err != nil {
		return nil, err
	}
	if len(src.Shards) != codec.N() || len(targets) == 0 {
		return nil, fmt.Errorf("%w: %d shards, %d targets", ErrSegments, len(src.Shards), len(targets))
	}
	view := e.view()
	skip := make([]bool, codec.N())
	want := make([]bool, codec.N())
	for _, t := range targets {
		if t.Index < 0 || t.Index >= codec.N() || want[t.Index] {
			return nil, fmt.Errorf("%w: target index %d", ErrSegments, t.Index)
		}
		if _, ok := view[t.Node]; !ok {
			return nil, fmt.Errorf("%w: %w: %s", ErrRebuild, ErrUnknownNode, t.Node)
		}
		skip[t.Index], want[t.Index] = true, true
	}
	// One Put per target, fed through a pipe.
	type put struct {
		pw   *io.PipeWriter
		cr   *crcReader
		done chan error
		info chan metapb.ShardRef
	}
	puts := make([]*put, len(targets))
	for i, t := range targets {
		pr, pw := io.Pipe()
		p := &put{pw: pw, cr: &crcReader{r: pr}, done: make(chan error, 1)}
		puts[i] = p
		e.m.shardPuts.Add(1)
		go func() {
			info, err := e.cfg.Client.Put(ctx, view[t.Node].Addr, t.ID, p.cr, t.Size, 0)
			pr.CloseWithError(errAbandoned)
			if err == nil {
				sent, crc := p.cr.sum()
				if sent != t.Size || info.Size != t.Size || info.CRC32C != crc {
					err = fmt.Errorf("%w: sent %d bytes crc %08x, acked %d bytes crc %08x", ErrShardAck, sent, crc, info.Size, info.CRC32C)
				}
			}
			p.done <- err
		}()
	}
	genErr := e.regenerateMany(ctx, codec, view, src, skip, want, targets, func(i int, b []byte) error {
		_, err := puts[i].pw.Write(b)
		return err
	})
	for _, p := range puts {
		p.pw.CloseWithError(genErr)
	}
	var first error
	out := make([]metapb.ShardRef, len(targets))
	var stored []metapb.ShardRef
	for i, p := range puts {
		err := <-p.done
		if err != nil {
			if first == nil {
				first = fmt.Errorf("shard %d (%s on %s): %w", targets[i].Index, targets[i].ID, targets[i].Node, err)
			}
			e.m.rebuildFailures.Add(1)
			continue
		}
		_, crc := p.cr.sum()
		out[i] = targets[i]
		out[i].CRC32C = crc
		stored = append(stored, out[i])
	}
	if genErr != nil && first == nil {
		first = genErr
	}
	if first != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		_ = e.deleteRefs(cctx, view, stored)
		cancel()
		return nil, fmt.Errorf("%w: %w", ErrRebuild, first)
	}
	e.m.shardsRebuilt.Add(int64(len(targets)))
	return out, nil
}

// regenerateMany reads src window by window (skipping skip) and hands the
// reconstructed bytes of every wanted shard to emit (target position i).
func (e *Engine) regenerateMany(ctx context.Context, c *erasure.Codec, view nodeView, src metapb.Segment, skip, want []bool,
	targets []metapb.ShardRef, emit func(i int, b []byte) error) error {
	r := e.newSegReader(c, view, src, skip)
	defer r.close()
	per := max(1, e.cfg.ReadWindow/c.Chunk)
	total := c.Stripes(src.Size)
	outs := make([][]byte, len(targets))
	for ws := int64(0); ws < total; ws += per {
		n := min(per, total-ws)
		present, err := r.fetch(ctx, ws, n, -1, -1)
		if err != nil {
			return err
		}
		wlen := c.WindowLen(src.Size, ws, n)
		for i, t := range targets {
			if int64(cap(outs[i])) < wlen {
				outs[i] = make([]byte, wlen)
			}
			present[t.Index] = outs[i][:wlen]
		}
		if err := c.ReconstructWindow(src.Size, ws, present, want); err != nil {
			return err
		}
		for i := range targets {
			if err := emit(i, outs[i][:wlen]); err != nil {
				return err
			}
		}
	}
	return nil
}

// HealDeadline bounds one RebuildShards call for size shard bytes at a
// floor rate of 1 MiB/s (plus a minute): a stuck rebuild ends.
func HealDeadline(size int64) time.Duration {
	return time.Minute + time.Duration(size/(1<<20))*time.Second
}

// ReadReport tells a caller of Read whether the read had to reconstruct
// (a data shard failed, was corrupt, missing or too slow): the gateway then
// reports the version to the healer. Attach one with WithReadReport.
type ReadReport struct{ degraded atomic.Bool }

type readReportKey struct{}

// WithReadReport returns ctx carrying a fresh ReadReport.
func WithReadReport(ctx context.Context) (context.Context, *ReadReport) {
	r := &ReadReport{}
	return context.WithValue(ctx, readReportKey{}, r), r
}

// Degraded reports whether a read under the report reconstructed a window.
func (r *ReadReport) Degraded() bool { return r != nil && r.degraded.Load() }

func markDegraded(ctx context.Context) {
	if r, ok := ctx.Value(readReportKey{}).(*ReadReport); ok {
		r.degraded.Store(true)
	}
}

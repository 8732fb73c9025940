package shardstore

import (
	"context"
	"fmt"
	"os"
	"time"
)

// CompactResult reports what Compact did.
type CompactResult struct {
	Volumes     int   // volumes removed
	Records     int   // records copied
	BytesCopied int64 // bytes appended to the active volume
	BytesFreed  int64 // bytes of removed volume files

	pace *pacer
}

const (
	compactBatchRecords = 256
	compactBatchBytes   = 16 << 20
)

// Compact rewrites every sealed volume whose live ratio is below
// Options.CompactRatio and removes it, after sealing the active volume
// early when it holds Options.CompactMinBytes of dead bytes (sealed, it is
// compacted by this call if no write is still in flight there, else by the
// next). Copying is paced to Options.CompactBytesPerSec. It may be stopped
// with ctx; a partial compaction is safe and is resumed by the next call.
func (s *Store) Compact(ctx context.Context) (CompactResult, error) {
	if err := s.enter(); err != nil {
		return CompactResult{}, err
	}
	defer s.leave()
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	var res CompactResult
	if err := s.sealIfDead(); err != nil {
		return res, err
	}
	res.pace = newPacer(s.opts.CompactBytesPerSec)
	for _, v := range s.candidates() {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := s.compactVolume(ctx, v, &res); err != nil {
			return res, fmt.Errorf("shardstore: compact volume %d: %w", v.num, err)
		}
	}
	return res, nil
}

// sealIfDead starts a new active volume when the current one holds at least
// CompactMinBytes dead bytes and less than CompactRatio of it is live.
func (s *Store) sealIfDead() error {
	if s.opts.CompactMinBytes <= 0 {
		return nil
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	v := s.active
	s.mu.RLock()
	total := v.size - volumeHeaderLen - v.tomb
	dead := total - v.live
	s.mu.RUnlock()
	if dead < s.opts.CompactMinBytes || float64(v.live) >= s.opts.CompactRatio*float64(total) {
		return nil
	}
	nv, err := s.createVolume(v.num + 1)
	if err != nil {
		return err
	}
	s.active = nv
	s.log.Info("shardstore: active volume sealed for compaction", "volume", v.num, "dead_bytes", dead, "live_bytes", v.live)
	return nil
}

// pacer spreads compaction's copying to a byte rate.
type pacer struct {
	rate  float64 // bytes per second; 0: unlimited
	start time.Time
	bytes int64
}

func newPacer(bytesPerSec int64) *pacer {
	return &pacer{rate: float64(bytesPerSec), start: time.Now()}
}

// wait accounts n bytes copied and sleeps until the rate allows them.
func (p *pacer) wait(ctx context.Context, n int64) error {
	if p == nil || p.rate <= 0 {
		return nil
	}
	p.bytes += n
	ahead := time.Duration(float64(p.bytes)/p.rate*float64(time.Second)) - time.Since(p.start)
	if ahead <= 0 {
		return nil
	}
	t := time.NewTimer(ahead)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// candidates returns the sealed volumes under the live ratio, oldest first.
func (s *Store) candidates() []*volume {
	s.appendMu.Lock()
	active := s.active.num
	s.appendMu.Unlock()
	var out []*volume
	for _, v := range s.sortedVolumes() {
		if v.num >= active || v.writers.Load() > 0 {
			continue
		}
		s.mu.RLock()
		live := v.live
		s.mu.RUnlock()
		total := v.size - volumeHeaderLen
		if total <= 0 || float64(live) < s.opts.CompactRatio*float64(total) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Store) hook(point string) error {
	if s.testHook != nil {
		return s.testHook(point)
	}
	return nil
}

type pendingCopy struct {
	old    *entry // nil for a tombstone
	id     string
	hdrLen int64
	recLen int64
	size   int64
	crc    uint32
	vol    *volume
	pos    int64
}

func (s *Store) compactVolume(ctx context.Context, v *volume, res *CompactResult) error {
	var batch []pendingCopy
	var batchBytes int64
	held := make(map[string]func())
	unlockAll := func() {
		for id, u := range held {
			u()
			delete(held, id)
		}
	}
	defer unlockAll()

	flush := func() error {
		defer func() {
			for _, c := range batch {
				if c.vol != nil {
					s.done(c.vol)
				}
			}
			batch = batch[:0]
			batchBytes = 0
			unlockAll()
		}()
		synced := map[*volume]bool{}
		for _, c := range batch {
			if c.vol != nil && !synced[c.vol] {
				if err := s.syncer.wait(c.vol); err != nil {
					return err
				}
				synced[c.vol] = true
			}
		}
		if err := s.hook("synced-batch"); err != nil {
			return err
		}
		s.mu.Lock()
		for _, c := range batch {
			if c.old != nil {
				s.insertLocked(&entry{id: c.id, vol: c.vol, off: c.pos, hdrLen: c.hdrLen, size: c.size, crc: c.crc, recLen: c.recLen,
					created: c.old.created})
			} else {
				c.vol.tomb += c.recLen
			}
		}
		s.mu.Unlock()
		return nil
	}

	buf, err := s.getBuf(ctx, chunkBlocks)
	if err != nil {
		return err
	}
	defer s.putBuf(buf)
	olderExists := false
	for _, o := range s.sortedVolumes() {
		if o.num < v.num {
			olderExists = true
		}
	}

	_, err = scanVolume(v.f, v.size, func(r scanned) error {
		if !r.ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		id := r.h.id
		if _, dup := held[id]; dup {
			return nil // a second tombstone for an absent id: one suffices
		}
		unlock := s.locks.lock(id)
		e, present := s.lookup(id)
		var c pendingCopy
		switch {
		case r.h.flags == flagPut && present && e.vol == v && e.off == r.pos:
			c = pendingCopy{old: e, id: id, hdrLen: e.hdrLen, recLen: e.recLen, size: e.size, crc: e.crc}
		case r.h.flags == flagDelete && !present && olderExists:
			c = pendingCopy{id: id, recLen: r.h.recordLen()}
		default:
			unlock()
			return nil
		}
		held[id] = unlock
		nv, pos, err := s.copyRecord(v, r.pos, c.recLen, (*buf)[:0])
		if err != nil {
			return err
		}
		c.vol, c.pos = nv, pos
		batch = append(batch, c)
		batchBytes += c.recLen
		res.Records++
		res.BytesCopied += c.recLen
		if len(batch) >= compactBatchRecords || batchBytes >= compactBatchBytes {
			n := batchBytes
			if err := flush(); err != nil {
				return err
			}
			// Paced between batches, with no id lock held.
			return res.pace.wait(ctx, n)
		}
		return nil
	})
	if err != nil {
		// Records reserved but not committed stay dead in the active volume.
		for _, c := range batch {
			s.done(c.vol)
		}
		batch = nil
		return err
	}
	last := batchBytes
	if err := flush(); err != nil {
		return err
	}
	if err := res.pace.wait(ctx, last); err != nil {
		return err
	}
	if err := s.hook("copied"); err != nil {
		return err
	}
	s.mu.Lock()
	if v.live != 0 {
		s.mu.Unlock()
		return fmt.Errorf("%d live bytes remain after copying; not removing", v.live)
	}
	delete(s.volumes, v.num)
	s.mu.Unlock()
	if err := os.Remove(v.path); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if err := s.hook("removed"); err != nil {
		v.retire()
		return err
	}
	if err := syncDir(s.opts.Dir); err != nil {
		return err
	}
	s.used.Add(-v.size)
	res.Volumes++
	res.BytesFreed += v.size
	s.log.Info("shardstore: volume compacted", "volume", v.num, "freed", v.size)
	v.retire()
	return nil
}

// copyRecord appends the raw record at pos in src (recLen bytes) to the
// active volume, verbatim, and returns where it went. The caller must call
// s.done on the returned volume.
func (s *Store) copyRecord(src *volume, pos, recLen int64, buf []byte) (*volume, int64, error) {
	n := min(recLen, int64(cap(buf)))
	buf = buf[:n]
	if _, err := src.f.ReadAt(buf, pos); err != nil {
		return nil, 0, fmt.Errorf("read: %w", err)
	}
	v, npos, err := s.reserve(buf, recLen, false)
	if err != nil {
		return nil, 0, err
	}
	for done := n; done < recLen; {
		m := min(recLen-done, int64(cap(buf)))
		b := buf[:m]
		if _, err := src.f.ReadAt(b, pos+done); err != nil {
			s.done(v)
			return nil, 0, fmt.Errorf("read: %w", err)
		}
		if _, err := v.f.WriteAt(b, npos+done); err != nil {
			s.done(v)
			return nil, 0, fmt.Errorf("write: %w", mapWriteErr(err))
		}
		done += m
	}
	return v, npos, nil
}

package shardstore

import (
	"context"
	"fmt"
	"io"
	"os"
)

// scanned is one record found by scanVolume.
type scanned struct {
	h        recordHeader
	pos      int64
	ok       bool // trailer valid
	shardCRC uint32
}

// scanVolume walks the record chain of f from the volume header to fileSize,
// reading only headers and trailers, and calls fn for every record with a
// valid header. It returns the offset where the chain ends: fileSize, or
// the start of a torn tail.
func scanVolume(f *os.File, fileSize int64, fn func(scanned) error) (int64, error) {
	hb := make([]byte, headerFixedLen+maxIDLen)
	tb := make([]byte, trailerLen)
	pos := int64(volumeHeaderLen)
	for pos < fileSize {
		n, err := f.ReadAt(hb[:min(int64(len(hb)), fileSize-pos)], pos)
		if err != nil && err != io.EOF {
			return pos, fmt.Errorf("shardstore: scan: %w", err)
		}
		h, _, err := decodeHeader(hb[:n])
		if err != nil {
			return pos, nil
		}
		recLen := h.recordLen()
		if pos+recLen > fileSize {
			return pos, nil
		}
		rec := scanned{h: h, pos: pos}
		if _, err := f.ReadAt(tb, pos+recLen-trailerLen); err != nil {
			return pos, fmt.Errorf("shardstore: scan: %w", err)
		}
		rec.shardCRC, _, rec.ok = decodeTrailer(tb, h.crc)
		if err := fn(rec); err != nil {
			return pos, err
		}
		pos += recLen
	}
	return pos, nil
}

// recover rebuilds the index from the volume files, truncating torn tails.
func (s *Store) recover() error {
	nums, err := listVolumeFiles(s.opts.Dir)
	if err != nil {
		return err
	}
	buf, err := s.getBuf(context.Background(), chunkBlocks)
	if err != nil {
		return err
	}
	defer s.putBuf(buf)
	for i, num := range nums {
		newest := i == len(nums)-1
		path := volumePath(s.opts.Dir, num)
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("shardstore: open volume: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return fmt.Errorf("shardstore: open volume: %w", err)
		}
		size := st.Size()
		hdr := make([]byte, volumeHeaderLen)
		n, _ := f.ReadAt(hdr, 0)
		if err := checkVolumeHeader(hdr[:n], num); err != nil {
			if !newest || n == volumeHeaderLen {
				_ = f.Close()
				return fmt.Errorf("%w (%s)", err, path)
			}
			// The newest volume was being created when the process stopped.
			s.log.Warn("shardstore: rewriting torn volume header", "volume", num)
			if err := f.Truncate(0); err != nil {
				_ = f.Close()
				return fmt.Errorf("shardstore: %w", err)
			}
			if _, err := f.WriteAt(appendVolumeHeader(nil, num), 0); err != nil {
				_ = f.Close()
				return fmt.Errorf("shardstore: %w", err)
			}
			if err := f.Sync(); err != nil {
				_ = f.Close()
				return fmt.Errorf("shardstore: %w", err)
			}
			size = volumeHeaderLen
		}
		v := &volume{num: num, path: path, f: f, size: size}
		s.volumes[num] = v
		verifyFrom := int64(-1)
		if newest {
			verifyFrom = size - s.opts.RecoverVerifyBytes
		}
		lastGood := int64(volumeHeaderLen)
		var dead, records int
		end, err := scanVolume(f, size, func(r scanned) error {
			if r.ok && verifyFrom >= 0 && r.pos >= verifyFrom {
				if _, err := verifyRecord(v, r.pos, (*buf)[:0]); err != nil {
					s.log.Warn("shardstore: dropping unverifiable record in volume tail", "volume", num, "offset", r.pos, "id", r.h.id, "err", err)
					r.ok = false
				}
			}
			if !r.ok {
				dead++
				return nil
			}
			records++
			lastGood = r.pos + r.h.recordLen()
			switch r.h.flags {
			case flagPut:
				s.insertLocked(&entry{id: r.h.id, vol: v, off: r.pos, hdrLen: r.h.headerLen(), size: r.h.dataLen, crc: r.shardCRC,
					recLen: r.h.recordLen(), created: s.opened})
			case flagDelete:
				s.removeLocked(r.h.id)
				v.tomb += r.h.recordLen()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if lastGood < size {
			s.log.Warn("shardstore: truncating torn volume tail", "volume", num, "from", size, "to", lastGood, "chain_end", end)
			if err := f.Truncate(lastGood); err != nil {
				return fmt.Errorf("shardstore: truncate: %w", err)
			}
			if err := f.Sync(); err != nil {
				return fmt.Errorf("shardstore: truncate: %w", err)
			}
			v.size = lastGood
		}
		s.used.Add(v.size)
		s.log.Info("shardstore: volume recovered", "volume", num, "records", records, "dead_records", dead, "bytes", v.size)
		if newest {
			if s.opts.DirectWriteMinBytes > 0 {
				if err := v.openDirect(); err != nil {
					return err
				}
			}
			s.active = v
		}
	}
	return nil
}

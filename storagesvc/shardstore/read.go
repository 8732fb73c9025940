package shardstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
)

// Reader streams a byte range of a shard, checking every block's CRC-32C
// before returning any of its bytes. Close it when done.
type Reader struct {
	s        *Store
	e        entry
	off, end int64 // data offsets still to serve: [off, end)
	buf      *[]byte
	pending  []byte // verified bytes not yet returned by Read
	closed   bool
}

// Open returns a Reader over [off, off+length) of shard id; length -1 means
// to the end. The range must lie within the shard.
func (s *Store) Open(id string, off, length int64) (*Reader, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	s.mu.RLock()
	e, ok := s.index.Get(&entry{id: id})
	if ok {
		e.vol.acquire()
	}
	s.mu.RUnlock()
	if !ok {
		return nil, ErrNotFound
	}
	if length < 0 {
		length = e.size - off
	}
	if off < 0 || length < 0 || off > e.size || off+length > e.size {
		e.vol.release()
		return nil, fmt.Errorf("%w: [%d,+%d) of %d bytes", ErrBadRange, off, length, e.size)
	}
	// A buffer for what the range spans (an unaligned range touches one
	// more block), at most chunkBlocks.
	buf, err := s.getBuf(context.Background(), length/BlockSize+2)
	if err != nil {
		e.vol.release()
		return nil, err
	}
	return &Reader{s: s, e: *e, off: off, end: off + length, buf: buf}, nil
}

// Info describes the whole shard.
func (r *Reader) Info() Info { return r.e.info() }

// Len is the number of bytes in the range.
func (r *Reader) Len() int64 { return r.end - r.off + int64(len(r.pending)) }

// Next returns the next verified bytes of the range, valid until the next
// call, or io.EOF at the end. A checksum failure returns a *CorruptError.
func (r *Reader) Next() ([]byte, error) {
	if r.closed {
		return nil, ErrClosed
	}
	if len(r.pending) > 0 {
		p := r.pending
		r.pending = nil
		return p, nil
	}
	if r.off >= r.end {
		return nil, io.EOF
	}
	bs := int64(BlockSize)
	first := r.off / bs
	last := min(first+chunkBlocks-1, (r.end-1)/bs)
	data, err := r.s.readBlocks(&r.e, first, last, (*r.buf)[:0])
	if err != nil {
		return nil, err
	}
	from := r.off - first*bs
	to := min(r.end, (last+1)*bs) - first*bs
	r.off = first*bs + to
	return data[from:to], nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		b, err := r.Next()
		if err != nil {
			return 0, err
		}
		r.pending = b
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// Close releases the reader.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.s.putBuf(r.buf)
	r.e.vol.release()
	return nil
}

// blockPos is the file offset of block i of e.
func blockPos(e *entry, i int64) int64 {
	return e.off + e.hdrLen + i*(BlockSize+crcLen)
}

// readBlocks reads blocks [first,last] of e into buf, checks each against
// its CRC and returns the data bytes packed together.
func (s *Store) readBlocks(e *entry, first, last int64, buf []byte) ([]byte, error) {
	var sum uint32
	return readBlocksRaw(e, first, last, buf, &sum)
}

// Verify reads every block of shard id and checks the block CRCs, the
// record header and trailer, and the whole-shard CRC.
func (s *Store) Verify(id string) error {
	if err := ValidID(id); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.mu.RLock()
	e, ok := s.index.Get(&entry{id: id})
	if ok {
		e.vol.acquire()
	}
	s.mu.RUnlock()
	if !ok {
		return ErrNotFound
	}
	defer e.vol.release()
	buf, err := s.getBuf(context.Background(), chunkBlocks)
	if err != nil {
		return err
	}
	defer s.putBuf(buf)
	_, err = verifyRecord(e.vol, e.off, (*buf)[:0])
	return err
}

// verifyRecord reads and checks the whole record at off in v.
func verifyRecord(v *volume, off int64, buf []byte) (recordHeader, error) {
	corrupt := func(id string, at, block int64, what string) error {
		return &CorruptError{ID: id, Volume: v.num, Offset: at, Block: block, What: what}
	}
	hb := buf[:headerFixedLen+maxIDLen]
	n, err := v.f.ReadAt(hb, off)
	if err != nil && err != io.EOF {
		return recordHeader{}, fmt.Errorf("shardstore: read: %w", err)
	}
	h, _, err := decodeHeader(hb[:n])
	if err != nil {
		return recordHeader{}, corrupt("", off, -1, err.Error())
	}
	e := entry{id: h.id, vol: v, off: off, hdrLen: h.headerLen(), size: h.dataLen}
	var shardCRC, recSum uint32
	nb := h.blocks()
	if h.blockSize != BlockSize {
		return h, corrupt(h.id, off, -1, "unsupported block size")
	}
	for first := int64(0); first < nb; first += chunkBlocks {
		last := min(first+chunkBlocks-1, nb-1)
		// Recompute recSum from the stored CRCs, which readBlocks checks.
		data, err := readBlocksRaw(&e, first, last, buf[:0], &recSum)
		if err != nil {
			return h, err
		}
		shardCRC = crcUpdate(shardCRC, data)
	}
	tb := buf[:trailerLen]
	tpos := off + h.recordLen() - trailerLen
	if _, err := v.f.ReadAt(tb, tpos); err != nil {
		return h, corrupt(h.id, tpos, -1, "trailer unreadable")
	}
	wantShard, wantSum, ok := decodeTrailer(tb, h.crc)
	if !ok {
		return h, corrupt(h.id, tpos, -1, "bad trailer")
	}
	if wantShard != shardCRC || wantSum != recSum {
		return h, corrupt(h.id, tpos, -1, "record checksum mismatch")
	}
	return h, nil
}

// readBlocksRaw reads blocks [first,last] of e into buf, checks each against
// its CRC, folds the stored CRCs into recSum and returns the data bytes
// packed together.
func readBlocksRaw(e *entry, first, last int64, buf []byte, recSum *uint32) ([]byte, error) {
	bs := int64(BlockSize)
	lastLen := min(bs, e.size-last*bs)
	span := (last-first)*(bs+crcLen) + lastLen + crcLen
	buf = buf[:span]
	pos := blockPos(e, first)
	if n, err := e.vol.f.ReadAt(buf, pos); err != nil {
		if err == io.EOF {
			return nil, &CorruptError{ID: e.id, Volume: e.vol.num, Offset: pos + int64(n), Block: first, What: "volume file too short"}
		}
		return nil, fmt.Errorf("shardstore: read: %w", err)
	}
	for i := first; i <= last; i++ {
		k := i - first
		n := min(bs, e.size-i*bs)
		src := buf[k*(bs+crcLen) : k*(bs+crcLen)+n]
		stored := buf[k*(bs+crcLen)+n : k*(bs+crcLen)+n+crcLen]
		if crc32c(src) != binary.LittleEndian.Uint32(stored) {
			return nil, &CorruptError{ID: e.id, Volume: e.vol.num, Offset: pos + k*(bs+crcLen), Block: i, What: "block checksum mismatch"}
		}
		*recSum = crcUpdate(*recSum, stored)
		copy(buf[k*bs:], src)
	}
	return buf[:(last-first)*bs+lastLen], nil
}

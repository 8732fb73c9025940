package shardstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/google/btree"
	"golang.org/x/sys/unix"

	"github.com/meridian-s3/meridian/internal/bufpool"
)

const (
	maxIDLen = 200 // equals storagepb.MaxShardIDLen

	// chunkBlocks blocks are read or written per system call.
	chunkBlocks = 16
	chunkLen    = chunkBlocks * (BlockSize + crcLen)
	bufLen      = headerFixedLen + maxIDLen + chunkLen + trailerLen
)

// Options configures a Store.
type Options struct {
	Dir string
	// MaxVolumeBytes is the size at which the active volume is sealed and a
	// new one started. A record larger than this gets a volume to itself.
	MaxVolumeBytes int64
	// CapacityBytes bounds the bytes of all volume files; 0 means unlimited.
	// Deletes and compaction may exceed it (they free space).
	CapacityBytes int64
	// CompactRatio: sealed volumes whose live bytes are below this fraction
	// of their size are compacted by Compact.
	CompactRatio float64
	// CompactMinBytes: Compact seals the active volume early (so it can be
	// compacted) once it holds at least this many dead bytes and its live
	// fraction is below CompactRatio. Without it dead space in the active
	// volume would wait for the volume to fill (MaxVolumeBytes). 0 disables
	// the early seal.
	CompactMinBytes int64
	// CompactBytesPerSec bounds the bytes compaction copies per second, so
	// foreground writes keep the disk; 0 means unlimited.
	CompactBytesPerSec int64
	// RecoverVerifyBytes: on Open, records in this many trailing bytes of the
	// newest volume are read in full and checked.
	RecoverVerifyBytes int64
	// BufferBytes caps the I/O buffer bytes of all operations at once
	// (each Put and Reader holds one buffer of 1–16 blocks); an operation
	// past the cap waits for a buffer. At least one largest buffer (~1 MiB).
	BufferBytes int64
	// UncachedWriteMinBytes: a record of at least this many bytes is
	// dropped from the page cache (posix_fadvise DONTNEED) once it is
	// durable, so the next writes reuse those pages instead of growing the
	// cache with fresh ones; 0 keeps everything cached. A shard is one of
	// k+m pieces of an object and is rarely read again soon by the node
	// that wrote it; reads of a dropped record go to the disk.
	// docs/performance.md, "Storage node writes".
	UncachedWriteMinBytes int64
	// DirectWriteMinBytes: a record of at least this many bytes is written
	// with O_DIRECT wherever it covers whole 4 KiB pages of the volume (the
	// partial pages at either end of each write, shared with the header,
	// the trailer or a neighbouring record, stay buffered); the group
	// fdatasync makes it durable as before. The bytes skip the copy into
	// page-cache pages, which is the storage node's largest CPU cost when
	// the page cache grows into pages the host has not handed out recently,
	// and like UncachedWriteMinBytes they are not cached afterwards: reads
	// go to the disk. 0 (the default) writes everything buffered. The file
	// system must support O_DIRECT (tmpfs does not: Open fails).
	// docs/performance.md, "O_DIRECT shard writes".
	DirectWriteMinBytes int64
	Logger              *slog.Logger
}

// DefaultOptions returns the production defaults for dir.
func DefaultOptions(dir string) Options {
	return Options{
		Dir:                dir,
		MaxVolumeBytes:     1 << 30,
		CompactRatio:       0.5,
		CompactMinBytes:    64 << 20,
		CompactBytesPerSec: 64 << 20,
		RecoverVerifyBytes: 64 << 20,
		BufferBytes:        32 << 20,
	}
}

// Validate checks the options.
func (o Options) Validate() error {
	switch {
	case o.Dir == "":
		return errors.New("shardstore: Dir is empty")
	case o.MaxVolumeBytes < 1<<20:
		return errors.New("shardstore: MaxVolumeBytes must be at least 1 MiB")
	case o.CapacityBytes < 0:
		return errors.New("shardstore: CapacityBytes is negative")
	case o.CompactRatio < 0 || o.CompactRatio > 1:
		return errors.New("shardstore: CompactRatio must be within [0,1]")
	case o.CompactMinBytes < 0 || o.CompactBytesPerSec < 0:
		return errors.New("shardstore: CompactMinBytes and CompactBytesPerSec must not be negative")
	case o.RecoverVerifyBytes < 0:
		return errors.New("shardstore: RecoverVerifyBytes is negative")
	case o.UncachedWriteMinBytes < 0:
		return errors.New("shardstore: UncachedWriteMinBytes is negative")
	case o.DirectWriteMinBytes < 0:
		return errors.New("shardstore: DirectWriteMinBytes is negative")
	case o.BufferBytes < int64(bufLen+o.bufSlack()):
		return fmt.Errorf("shardstore: BufferBytes must be at least %d", bufLen+o.bufSlack())
	}
	return nil
}

// bufSlack is the extra room of every buffer when direct writes are on, so
// a chunk can start at the address that lines its pages up with the file's.
func (o Options) bufSlack() int {
	if o.DirectWriteMinBytes > 0 {
		return directAlign
	}
	return 0
}

// Info describes one stored shard.
type Info struct {
	ID     string
	Size   int64
	CRC32C uint32
	// Age is a lower bound on how long the shard has been stored, by this
	// process's monotonic clock: since its Put was acknowledged, or since
	// the store was opened for shards found by recovery. Set by List only.
	Age time.Duration
}

// PutOptions are the optional checks of Put.
type PutOptions struct {
	// VerifyCRC makes Put fail with ErrChecksum, before acknowledging, when
	// the body's CRC-32C differs from CRC32C.
	VerifyCRC bool
	CRC32C    uint32
}

// Stats summarises the store.
type Stats struct {
	Shards    int64
	DataBytes int64 // sum of shard sizes
	LiveBytes int64 // bytes of live records, framing included
	UsedBytes int64 // bytes of all volume files
	// DeadBytes is UsedBytes less LiveBytes, volume headers and tombstones:
	// what compaction can give back.
	DeadBytes int64
	Volumes   int
}

type entry struct {
	id     string
	vol    *volume
	off    int64 // record start in the volume file
	hdrLen int64
	size   int64
	crc    uint32
	recLen int64
	// created is when the record became visible here (monotonic): the
	// Put's acknowledgement, the store's opening for recovered records;
	// compaction keeps it.
	created time.Time
}

func (e *entry) info() Info { return Info{ID: e.id, Size: e.size, CRC32C: e.crc} }

func entryLess(a, b *entry) bool { return a.id < b.id }

type volume struct {
	num  uint32
	path string
	f    *os.File
	// direct is a second descriptor of the file opened with O_DIRECT, for
	// the active volume when Options.DirectWriteMinBytes is set; else nil.
	direct *os.File
	size   int64 // end of reserved bytes; guarded by Store.appendMu while active
	live   int64 // guarded by Store.mu
	tomb   int64 // bytes of tombstone records, guarded by Store.mu

	writers atomic.Int64 // appends in flight

	mu      sync.Mutex
	refs    int
	removed bool
}

func (v *volume) acquire() {
	v.mu.Lock()
	v.refs++
	v.mu.Unlock()
}

func (v *volume) release() {
	v.mu.Lock()
	v.refs--
	closeNow := v.removed && v.refs == 0
	v.mu.Unlock()
	if closeNow {
		_ = v.closeFiles()
	}
}

// closeFiles closes the volume's descriptors.
func (v *volume) closeFiles() error {
	err := v.f.Close()
	if v.direct != nil {
		if e := v.direct.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// openDirect opens v's O_DIRECT descriptor.
func (v *volume) openDirect() error {
	f, err := os.OpenFile(v.path, os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return fmt.Errorf("shardstore: open volume %d with O_DIRECT: %w", v.num, err)
	}
	v.direct = f
	return nil
}

// retire closes the file once no reader holds it.
func (v *volume) retire() {
	v.mu.Lock()
	v.removed = true
	closeNow := v.refs == 0
	v.mu.Unlock()
	if closeNow {
		_ = v.closeFiles()
	}
}

// Store is a log-structured shard store. It is safe for concurrent use.
type Store struct {
	opts Options
	log  *slog.Logger

	locks keyLocks
	bufs  *bufpool.Pool

	closeMu sync.RWMutex // held shared by every operation, exclusively by Close
	closed  bool

	appendMu sync.Mutex
	active   *volume

	mu      sync.RWMutex
	index   *btree.BTreeG[*entry]
	volumes map[uint32]*volume
	data    int64 // sum of live shard sizes, guarded by mu

	used atomic.Int64

	syncer    *syncer
	compactMu sync.Mutex
	opened    time.Time // creation time of recovered records

	// testHook, when set, is called at named points of compaction; an error
	// aborts compaction there (simulating a crash between steps).
	testHook func(point string) error
}

func volumePath(dir string, num uint32) string {
	return filepath.Join(dir, fmt.Sprintf("vol-%08d.log", num))
}

// Open opens (creating if needed) the store in opts.Dir and recovers its index.
func Open(opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("shardstore: %w", err)
	}
	s := &Store{
		opts:    opts,
		log:     log,
		index:   btree.NewG(32, entryLess),
		volumes: make(map[uint32]*volume),
		opened:  time.Now(),
	}
	s.locks.m = make(map[string]*keyLock)
	sl := opts.bufSlack()
	s.bufs = bufpool.New(opts.BufferBytes, bufLenFor(1)+sl, bufLenFor(2)+sl, bufLenFor(4)+sl, bufLenFor(8)+sl, bufLen+sl)
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if s.active == nil {
		v, err := s.createVolume(1)
		if err != nil {
			return nil, err
		}
		s.active = v
	}
	s.syncer = newSyncer()
	return s, nil
}

func (s *Store) closeFiles() {
	for _, v := range s.volumes {
		_ = v.closeFiles()
	}
}

// Close waits for operations in flight, stops the syncer and closes the
// volume files. It is safe to call twice.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.syncer.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, v := range s.volumes {
		if err := v.closeFiles(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *Store) enter() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.closeMu.RUnlock() }

// ValidID reports whether id is a valid shard id: [A-Za-z0-9._-]{1,200}.
func ValidID(id string) error {
	if len(id) == 0 || len(id) > maxIDLen {
		return ErrBadID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ErrBadID
		}
	}
	return nil
}

// bufLenFor is the buffer for a record of up to blocks blocks (header and
// trailer included).
func bufLenFor(blocks int64) int {
	return headerFixedLen + maxIDLen + int(blocks)*(BlockSize+crcLen) + trailerLen
}

// getBuf takes a buffer for blocks blocks (at most chunkBlocks are used at
// once), waiting while Options.BufferBytes are out.
func (s *Store) getBuf(ctx context.Context, blocks int64) (*[]byte, error) {
	return s.bufs.Get(ctx, bufLenFor(min(max(blocks, 1), chunkBlocks))+s.opts.bufSlack())
}

func (s *Store) putBuf(b *[]byte) { s.bufs.Put(b) }

// BufferStats reports the buffer bytes out now, the most ever out at once
// and the cap (Options.BufferBytes).
func (s *Store) BufferStats() (inUse, peak, limit int64) { return s.bufs.Stats() }

// createVolume creates, fsyncs and registers volume num.
func (s *Store) createVolume(num uint32) (*volume, error) {
	path := volumePath(s.opts.Dir, num)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("shardstore: create volume: %w", err)
	}
	if _, err := f.WriteAt(appendVolumeHeader(nil, num), 0); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("shardstore: create volume: %w", mapWriteErr(err))
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("shardstore: create volume: %w", err)
	}
	if err := syncDir(s.opts.Dir); err != nil {
		_ = f.Close()
		return nil, err
	}
	v := &volume{num: num, path: path, f: f, size: volumeHeaderLen}
	if s.opts.DirectWriteMinBytes > 0 {
		if err := v.openDirect(); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	s.mu.Lock()
	s.volumes[num] = v
	s.mu.Unlock()
	s.used.Add(volumeHeaderLen)
	return v, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("shardstore: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("shardstore: sync dir: %w", err)
	}
	return nil
}

func mapWriteErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %v", ErrNoSpace, err)
	}
	return err
}

// reserve claims recLen bytes at the end of the active volume and writes
// first (which holds at least the record header) there, all under the append
// lock. The caller must call done(v) when it has finished with the record.
func (s *Store) reserve(first []byte, recLen int64, checkCapacity bool) (*volume, int64, error) {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	if c := s.opts.CapacityBytes; checkCapacity && c > 0 && s.used.Load()+recLen > c {
		return nil, 0, ErrNoSpace
	}
	v := s.active
	if v.size+recLen > s.opts.MaxVolumeBytes && v.size > volumeHeaderLen {
		nv, err := s.createVolume(v.num + 1)
		if err != nil {
			return nil, 0, err
		}
		s.active = nv
		v = nv
		s.log.Info("shardstore: volume rolled", "volume", v.num)
	}
	pos := v.size
	if _, err := v.f.WriteAt(first, pos); err != nil {
		return nil, 0, fmt.Errorf("shardstore: append: %w", mapWriteErr(err))
	}
	v.size += recLen
	s.used.Add(recLen)
	v.writers.Add(1)
	v.acquire()
	return v, pos, nil
}

func (s *Store) done(v *volume) {
	v.writers.Add(-1)
	v.release()
}

// Put stores size bytes from r as shard id, replacing any previous shard
// with that id, and returns once the record is durable.
func (s *Store) Put(ctx context.Context, id string, r io.Reader, size int64, opts PutOptions) (Info, error) {
	if err := ValidID(id); err != nil {
		return Info{}, err
	}
	if size < 0 {
		return Info{}, fmt.Errorf("%w: negative size", ErrBadRange)
	}
	if err := s.enter(); err != nil {
		return Info{}, err
	}
	defer s.leave()
	unlock := s.locks.lock(id)
	defer unlock()

	// A buffer as large as the record needs (up to chunkBlocks blocks),
	// returned as soon as the bytes are written, before the fsync wait.
	buf, err := s.getBuf(ctx, (size+BlockSize-1)/BlockSize)
	if err != nil {
		return Info{}, err
	}
	defer func() { s.putBuf(buf) }()
	out, hcrc := appendHeader((*buf)[:0], flagPut, id, size)
	hdrLen := int64(len(out))
	recLen := recordLenFor(len(id), size)

	var shardCRC, recSum uint32
	remaining := size
	fill := func(out []byte) ([]byte, error) {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		for i := 0; i < chunkBlocks && remaining > 0; i++ {
			n := min(remaining, BlockSize)
			start := len(out)
			out = out[:start+int(n)]
			if _, err := io.ReadFull(r, out[start:]); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = ErrShortBody
				}
				return out, err
			}
			shardCRC = crcUpdate(shardCRC, out[start:])
			out = binary.LittleEndian.AppendUint32(out, crc32c(out[start:]))
			recSum = crcUpdate(recSum, out[len(out)-crcLen:])
			remaining -= n
		}
		return out, nil
	}

	if m := s.opts.DirectWriteMinBytes; m > 0 && recLen >= m {
		release := func() { s.putBuf(buf); buf = nil }
		return s.putDirect(id, size, opts, buf, release, out, hcrc, fill, &shardCRC, &recSum, &remaining)
	}

	out, err = fill(out)
	if err != nil {
		return Info{}, err
	}
	if remaining == 0 {
		// Small record: check, then write it whole under the append lock.
		if opts.VerifyCRC && shardCRC != opts.CRC32C {
			return Info{}, fmt.Errorf("%w: got %08x, want %08x", ErrChecksum, shardCRC, opts.CRC32C)
		}
		out = appendTrailer(out, hcrc, shardCRC, recSum)
		v, pos, err := s.reserve(out, recLen, true)
		if err != nil {
			return Info{}, err
		}
		defer s.done(v)
		s.putBuf(buf)
		buf = nil
		if err := s.syncer.wait(v); err != nil {
			return Info{}, err
		}
		s.dropCached(v, pos, recLen)
		e := &entry{id: id, vol: v, off: pos, hdrLen: hdrLen, size: size, crc: shardCRC, recLen: recLen, created: time.Now()}
		s.commitPut(e)
		return e.info(), nil
	}

	// Large record: header and first chunk under the lock, the rest streamed.
	v, pos, err := s.reserve(out, recLen, true)
	if err != nil {
		return Info{}, err
	}
	defer s.done(v)
	at := pos + int64(len(out))
	for remaining > 0 {
		chunk, err := fill((*buf)[:0])
		if err != nil {
			return Info{}, err // the record has no trailer: dead space
		}
		if _, err := v.f.WriteAt(chunk, at); err != nil {
			return Info{}, fmt.Errorf("shardstore: append: %w", mapWriteErr(err))
		}
		at += int64(len(chunk))
	}
	if opts.VerifyCRC && shardCRC != opts.CRC32C {
		return Info{}, fmt.Errorf("%w: got %08x, want %08x", ErrChecksum, shardCRC, opts.CRC32C)
	}
	tr := appendTrailer((*buf)[:0], hcrc, shardCRC, recSum)
	if _, err := v.f.WriteAt(tr, at); err != nil {
		return Info{}, fmt.Errorf("shardstore: append: %w", mapWriteErr(err))
	}
	s.putBuf(buf)
	buf = nil
	if err := s.syncer.wait(v); err != nil {
		return Info{}, err
	}
	s.dropCached(v, pos, recLen)
	e := &entry{id: id, vol: v, off: pos, hdrLen: hdrLen, size: size, crc: shardCRC, recLen: recLen, created: time.Now()}
	s.commitPut(e)
	return e.info(), nil
}

// putDirect is Put for a record of at least DirectWriteMinBytes: the
// header alone is appended under the append lock, then each chunk is filled
// into buf at the address that lines its bytes up with their file pages and
// written by writeSplit, the trailer with the last chunk. A body that fails
// part way leaves the reserved space dead (no trailer), as in Put.
func (s *Store) putDirect(id string, size int64, opts PutOptions, buf *[]byte, release func(), hdr []byte, hcrc uint32,
	fill func([]byte) ([]byte, error), shardCRC, recSum *uint32, remaining *int64) (Info, error) {
	hdrLen := int64(len(hdr))
	recLen := recordLenFor(len(id), size)
	// The header leaves buf before buf is refilled: reserve writes it.
	v, pos, err := s.reserve(hdr, recLen, true)
	if err != nil {
		return Info{}, err
	}
	defer s.done(v)
	at := pos + hdrLen
	for {
		b := (*buf)[:cap(*buf)]
		skip := alignSkip(b, at)
		chunk, err := fill(b[skip:skip])
		if err != nil {
			return Info{}, err // the record has no trailer: dead space
		}
		last := *remaining == 0
		if last {
			if opts.VerifyCRC && *shardCRC != opts.CRC32C {
				return Info{}, fmt.Errorf("%w: got %08x, want %08x", ErrChecksum, *shardCRC, opts.CRC32C)
			}
			chunk = appendTrailer(chunk, hcrc, *shardCRC, *recSum)
		}
		if err := v.writeSplit(chunk, at); err != nil {
			return Info{}, err
		}
		at += int64(len(chunk))
		if last {
			break
		}
	}
	if at != pos+recLen {
		return Info{}, fmt.Errorf("shardstore: internal error: direct record ends at %d, want %d", at, pos+recLen)
	}
	release()
	if err := s.syncer.wait(v); err != nil {
		return Info{}, err
	}
	s.dropCached(v, pos, recLen)
	e := &entry{id: id, vol: v, off: pos, hdrLen: hdrLen, size: size, crc: *shardCRC, recLen: recLen, created: time.Now()}
	s.commitPut(e)
	return e.info(), nil
}

// directAlign is the alignment of O_DIRECT offsets, lengths and buffer
// addresses: a 4 KiB page, which covers logical blocks of 512 B to 4 KiB.
const directAlign = 4096

// alignSkip returns the index i < directAlign of b at which the address of
// b[i] is congruent to the file offset at modulo directAlign, so that the
// bytes for every whole page of the file start at an aligned address.
func alignSkip(b []byte, at int64) int {
	addr := int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (directAlign - 1))
	return (int(at&(directAlign-1)) - addr + directAlign) & (directAlign - 1)
}

// writeSplit writes b at file offset at: the whole 4 KiB pages through the
// O_DIRECT descriptor (b must be placed by alignSkip), the partial pages at
// either end through the buffered one. Without a direct descriptor it
// writes b buffered.
func (v *volume) writeSplit(b []byte, at int64) error {
	head, mid := len(b), 0
	if v.direct != nil {
		head = min(len(b), int((directAlign-at&(directAlign-1))&(directAlign-1)))
		mid = (len(b) - head) &^ (directAlign - 1)
	}
	if head > 0 {
		if _, err := v.f.WriteAt(b[:head], at); err != nil {
			return fmt.Errorf("shardstore: append: %w", mapWriteErr(err))
		}
	}
	if mid > 0 {
		if _, err := v.direct.WriteAt(b[head:head+mid], at+int64(head)); err != nil {
			return fmt.Errorf("shardstore: append (O_DIRECT): %w", mapWriteErr(err))
		}
	}
	if tail := b[head+mid:]; len(tail) > 0 {
		if _, err := v.f.WriteAt(tail, at+int64(head+mid)); err != nil {
			return fmt.Errorf("shardstore: append: %w", mapWriteErr(err))
		}
	}
	return nil
}

// dropCached drops the durable record at [pos, pos+recLen) of v from the
// page cache when it is at least UncachedWriteMinBytes long. Only the pages
// wholly inside the record are named, so a neighbour's pages (possibly dirty,
// which DONTNEED would start writing back) are left alone. Advisory: an
// error changes nothing but the cache.
func (s *Store) dropCached(v *volume, pos, recLen int64) {
	min := s.opts.UncachedWriteMinBytes
	if min <= 0 || recLen < min {
		return
	}
	start := (pos + pageSize - 1) &^ (pageSize - 1)
	end := (pos + recLen) &^ (pageSize - 1)
	if end <= start {
		return
	}
	_ = unix.Fadvise(int(v.f.Fd()), start, end-start, unix.FADV_DONTNEED)
}

// pageSize is the page-cache granularity dropCached rounds to (4 KiB pages;
// a larger page size only makes the named range cover fewer whole pages).
const pageSize = 4096

func (s *Store) commitPut(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insertLocked(e)
}

func (s *Store) insertLocked(e *entry) {
	if old, ok := s.index.ReplaceOrInsert(e); ok {
		old.vol.live -= old.recLen
		s.data -= old.size
	}
	e.vol.live += e.recLen
	s.data += e.size
}

func (s *Store) removeLocked(id string) {
	if old, ok := s.index.Delete(&entry{id: id}); ok {
		old.vol.live -= old.recLen
		s.data -= old.size
	}
}

func (s *Store) lookup(id string) (*entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index.Get(&entry{id: id})
}

// Delete removes shard id durably. Deleting an absent shard succeeds.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ValidID(id); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	unlock := s.locks.lock(id)
	defer unlock()
	if _, ok := s.lookup(id); !ok {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rec, hcrc := appendHeader(nil, flagDelete, id, 0)
	rec = appendTrailer(rec, hcrc, 0, 0)
	v, _, err := s.reserve(rec, int64(len(rec)), false)
	if err != nil {
		return err
	}
	defer s.done(v)
	if err := s.syncer.wait(v); err != nil {
		return err
	}
	s.mu.Lock()
	s.removeLocked(id)
	v.tomb += int64(len(rec))
	s.mu.Unlock()
	return nil
}

// Stat describes shard id.
func (s *Store) Stat(id string) (Info, error) {
	if err := ValidID(id); err != nil {
		return Info{}, err
	}
	e, ok := s.lookup(id)
	if !ok {
		return Info{}, ErrNotFound
	}
	return e.info(), nil
}

// List returns up to limit shards whose ids start with prefix and sort after
// after, in id order, and whether more remain.
func (s *Store) List(prefix, after string, limit int) ([]Info, bool) {
	if limit <= 0 {
		limit = 1000
	}
	start := prefix
	if after >= start {
		start = after + "\x00"
	}
	var out []Info
	truncated := false
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.index.AscendGreaterOrEqual(&entry{id: start}, func(e *entry) bool {
		if !strings.HasPrefix(e.id, prefix) {
			return false
		}
		if len(out) == limit {
			truncated = true
			return false
		}
		in := e.info()
		in.Age = time.Since(e.created)
		out = append(out, in)
		return true
	})
	return out, truncated
}

// Stats returns current totals.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{Shards: int64(s.index.Len()), DataBytes: s.data, UsedBytes: s.used.Load(), Volumes: len(s.volumes)}
	var framing int64
	for _, v := range s.volumes {
		st.LiveBytes += v.live
		framing += volumeHeaderLen + v.tomb
	}
	st.DeadBytes = max(st.UsedBytes-st.LiveBytes-framing, 0)
	return st
}

// sortedVolumes returns the volumes in number order.
func (s *Store) sortedVolumes() []*volume {
	s.mu.RLock()
	defer s.mu.RUnlock()
	vs := make([]*volume, 0, len(s.volumes))
	for _, v := range s.volumes {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].num < vs[j].num })
	return vs
}

// listVolumeFiles returns the volume numbers found in dir, sorted.
func listVolumeFiles(dir string) ([]uint32, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("shardstore: %w", err)
	}
	var nums []uint32
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "vol-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, "vol-"), ".log"), 10, 32)
		if err != nil || n == 0 {
			continue
		}
		nums = append(nums, uint32(n))
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	return nums, nil
}

// keyLocks serialises operations on one shard id.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyLocks) lock(id string) (unlock func()) {
	k.mu.Lock()
	l := k.m[id]
	if l == nil {
		l = &keyLock{}
		k.m[id] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.m, id)
		}
		k.mu.Unlock()
	}
}

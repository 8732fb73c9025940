package shardstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func testOpts(dir string) Options {
	o := DefaultOptions(dir)
	o.MaxVolumeBytes = 4 << 20
	o.DirectWriteMinBytes = testDirectMin
	return o
}

// testDirectMin is the DirectWriteMinBytes of testOpts: 0, except while
// TestDirectWritesStoreSuite reruns the store's tests with direct writes.
var testDirectMin int64

func openStore(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func data(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

func put(t testing.TB, s *Store, id string, b []byte) Info {
	t.Helper()
	info, err := s.Put(context.Background(), id, bytes.NewReader(b), int64(len(b)), PutOptions{VerifyCRC: true, CRC32C: CRC32C(b)})
	if err != nil {
		t.Fatalf("Put %s: %v", id, err)
	}
	return info
}

func get(t testing.TB, s *Store, id string, off, length int64) ([]byte, error) {
	t.Helper()
	r, err := s.Open(id, off, length)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		if len(b) > 0 {
			t.Fatalf("read of %s served %d bytes before failing", id, len(b))
		}
		return nil, err
	}
	return b, nil
}

func mustGet(t testing.TB, s *Store, id string, want []byte) {
	t.Helper()
	got, err := get(t, s, id, 0, -1)
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get %s: %d bytes differ from the %d put", id, len(got), len(want))
	}
}

func TestPutGetRanges(t *testing.T) {
	s := openStore(t, testOpts(t.TempDir()))
	bs := int64(BlockSize)
	sizes := []int64{0, 1, 4096, bs - 1, bs, bs + 1, 3*bs + 7, chunkBlocks*bs + 5, 2<<20 + 3}
	for i, size := range sizes {
		id := fmt.Sprintf("s%d", i)
		b := data(int(size), uint64(i))
		info := put(t, s, id, b)
		if info.Size != size || info.CRC32C != CRC32C(b) {
			t.Fatalf("%s: info %+v", id, info)
		}
		ranges := []struct{ off, length int64 }{
			{0, -1}, {0, size}, {0, min(1, size)}, {size, 0}, {size / 2, size - size/2},
			{max(0, size-1), min(1, size)}, {max(0, bs-3), min(6, size-max(0, bs-3))},
			{size / 3, size / 3}, {max(0, size-bs-1), min(size, bs+1)},
		}
		for _, rg := range ranges {
			if rg.length < -1 || rg.off+max(rg.length, 0) > size {
				continue
			}
			got, err := get(t, s, id, rg.off, rg.length)
			if err != nil {
				t.Fatalf("%s [%d,+%d): %v", id, rg.off, rg.length, err)
			}
			end := size
			if rg.length >= 0 {
				end = rg.off + rg.length
			}
			if !bytes.Equal(got, b[rg.off:end]) {
				t.Fatalf("%s [%d,+%d): wrong bytes", id, rg.off, rg.length)
			}
		}
		if err := s.Verify(id); err != nil {
			t.Fatalf("Verify %s: %v", id, err)
		}
		if st, err := s.Stat(id); err != nil || st != info {
			t.Fatalf("Stat %s = %+v, %v", id, st, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, testOpts(dir))
	ctx := context.Background()
	b := data(300000, 1)
	put(t, s, "ok", b[:10])
	tests := []struct {
		name string
		err  error
		do   func() error
	}{
		{"empty id", ErrBadID, func() error { _, err := s.Stat(""); return err }},
		{"slash id", ErrBadID, func() error { _, err := s.Put(ctx, "a/b", bytes.NewReader(nil), 0, PutOptions{}); return err }},
		{"long id", ErrBadID, func() error { _, err := s.Stat(string(bytes.Repeat([]byte("a"), 201))); return err }},
		{"absent", ErrNotFound, func() error { _, err := s.Open("nope", 0, -1); return err }},
		{"verify absent", ErrNotFound, func() error { return s.Verify("nope") }},
		{"range past end", ErrBadRange, func() error { _, err := s.Open("ok", 5, 6); return err }},
		{"offset past end", ErrBadRange, func() error { _, err := s.Open("ok", 11, 0); return err }},
		{"negative offset", ErrBadRange, func() error { _, err := s.Open("ok", -1, 1); return err }},
		{"short small body", ErrShortBody, func() error {
			_, err := s.Put(ctx, "short1", bytes.NewReader(b[:5]), 10, PutOptions{})
			return err
		}},
		{"short large body", ErrShortBody, func() error {
			_, err := s.Put(ctx, "short2", bytes.NewReader(b), int64(len(b))*10, PutOptions{})
			return err
		}},
		{"crc mismatch small", ErrChecksum, func() error {
			_, err := s.Put(ctx, "crc1", bytes.NewReader(b[:100]), 100, PutOptions{VerifyCRC: true, CRC32C: CRC32C(b[:100]) + 1})
			return err
		}},
		{"crc mismatch large", ErrChecksum, func() error {
			_, err := s.Put(ctx, "crc2", bytes.NewReader(b), int64(len(b)), PutOptions{VerifyCRC: true, CRC32C: 7})
			return err
		}},
		{"cancelled", context.Canceled, func() error {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := s.Put(cctx, "cancel", bytes.NewReader(b), int64(len(b)), PutOptions{})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
		})
	}
	check := func(s *Store) {
		for _, id := range []string{"short1", "short2", "crc1", "crc2", "cancel"} {
			if _, err := s.Stat(id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("failed put %s is visible: %v", id, err)
			}
		}
		mustGet(t, s, "ok", b[:10])
	}
	check(s)
	put(t, s, "after", b[:1000])
	s.Close()
	s2 := openStore(t, testOpts(dir))
	check(s2)
	mustGet(t, s2, "after", b[:1000])
}

func TestDeleteListStats(t *testing.T) {
	s := openStore(t, testOpts(t.TempDir()))
	ctx := context.Background()
	for i := range 50 {
		put(t, s, fmt.Sprintf("p%02d", i), data(100+i, uint64(i)))
	}
	put(t, s, "q1", data(5, 9))
	for i := 0; i < 50; i += 5 {
		if err := s.Delete(ctx, fmt.Sprintf("p%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "never-existed"); err != nil {
		t.Fatalf("idempotent delete: %v", err)
	}
	if _, err := s.Stat("p05"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted shard still there: %v", err)
	}
	var all []string
	after := ""
	for pages := 0; ; pages++ {
		got, more := s.List("p", after, 7)
		for _, in := range got {
			all = append(all, in.ID)
		}
		if !more {
			break
		}
		after = got[len(got)-1].ID
		if pages > 20 {
			t.Fatal("pagination does not end")
		}
	}
	if len(all) != 40 {
		t.Fatalf("listed %d, want 40: %v", len(all), all)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1] >= all[i] {
			t.Fatalf("list not ordered: %v", all)
		}
	}
	if got, _ := s.List("q", "", 0); len(got) != 1 || got[0].ID != "q1" {
		t.Fatalf("prefix q: %v", got)
	}
	if got, _ := s.List("", "p48", 10); len(got) != 2 || got[0].ID != "p49" {
		t.Fatalf("after p48: %v", got)
	}
	st := s.Stats()
	if st.Shards != 41 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRestartRecovery(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	o.MaxVolumeBytes = 1 << 20 // force several volumes
	s := openStore(t, o)
	ctx := context.Background()
	want := map[string][]byte{}
	for i := range 40 {
		id := fmt.Sprintf("r%d", i%25)
		b := data(50000+i*97, uint64(i))
		put(t, s, id, b)
		want[id] = b
	}
	for i := 0; i < 25; i += 4 {
		id := fmt.Sprintf("r%d", i)
		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		delete(want, id)
	}
	before := s.Stats()
	if before.Volumes < 2 {
		t.Fatalf("want several volumes, have %d", before.Volumes)
	}
	s.Close()
	s2 := openStore(t, o)
	after := s2.Stats()
	if before != after {
		t.Fatalf("stats differ after restart:\n%+v\n%+v", before, after)
	}
	for id, b := range want {
		mustGet(t, s2, id, b)
	}
	if got, _ := s2.List("", "", 1000); len(got) != len(want) {
		t.Fatalf("listed %d, want %d", len(got), len(want))
	}
}

func volFile(t *testing.T, dir string, num uint32) string {
	t.Helper()
	p := volumePath(dir, num)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTornTail(t *testing.T) {
	tests := []struct {
		name string
		cut  func(size, lastRec int64) int64 // new file size
		junk []byte                          // appended after the cut
	}{
		{"mid data", func(size, last int64) int64 { return last + 100 }, nil},
		{"mid header", func(size, last int64) int64 { return last + 5 }, nil},
		{"trailer missing", func(size, last int64) int64 { return size - 3 }, nil},
		{"zero tail", func(size, last int64) int64 { return size }, make([]byte, 5000)},
		{"random junk", func(size, last int64) int64 { return size }, data(300, 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := testOpts(dir)
			s := openStore(t, o)
			a, b := data(10000, 1), data(200000, 2)
			put(t, s, "a", a)
			lastRec := s.active.size
			put(t, s, "b", b)
			size := s.active.size
			s.Close()
			p := volFile(t, dir, 1)
			if err := os.Truncate(p, tc.cut(size, lastRec)); err != nil {
				t.Fatal(err)
			}
			if tc.junk != nil {
				f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
				f.Write(tc.junk)
				f.Close()
			}
			s2 := openStore(t, o)
			mustGet(t, s2, "a", a)
			_, err := s2.Stat("b")
			wantB := tc.cut(size, lastRec) == size
			if wantB {
				mustGet(t, s2, "b", b)
			} else if !errors.Is(err, ErrNotFound) {
				t.Fatalf("torn b visible: %v", err)
			}
			fi, _ := os.Stat(p)
			if want := map[bool]int64{true: size, false: lastRec}[wantB]; fi.Size() != want {
				t.Fatalf("file size %d after recovery, want %d", fi.Size(), want)
			}
			c := data(7000, 4)
			put(t, s2, "c", c)
			s2.Close()
			s3 := openStore(t, o)
			mustGet(t, s3, "a", a)
			mustGet(t, s3, "c", c)
		})
	}
}

// A record whose header survived but whose trailer did not, followed by
// acknowledged records (concurrent writers), is skipped, not a torn tail.
func TestDeadRecordInMiddle(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	s := openStore(t, o)
	a := data(100000, 1)
	put(t, s, "a", a)
	aEnd := s.active.size
	put(t, s, "b", data(100, 2))
	s.Close()
	// Zero a's trailer.
	f, err := os.OpenFile(volFile(t, dir, 1), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(make([]byte, trailerLen), aEnd-trailerLen)
	f.Close()
	s2 := openStore(t, o)
	if _, err := s2.Stat("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a: %v", err)
	}
	mustGet(t, s2, "b", data(100, 2))
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptionDetected(t *testing.T) {
	bs := int64(BlockSize)
	tests := []struct {
		name   string
		offset func(e *entry) int64 // file offset to flip
		block  int64                // block that must fail
	}{
		{"data block 2", func(e *entry) int64 { return blockPos(e, 2) + 17 }, 2},
		{"crc of block 0", func(e *entry) int64 { return blockPos(e, 0) + bs + 1 }, 0},
		{"last partial block", func(e *entry) int64 { return blockPos(e, 4) + 3 }, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, testOpts(dir))
			b := data(int(4*bs+100), 5)
			put(t, s, "x", b)
			e, _ := s.lookup("x")
			flipByte(t, volFile(t, dir, 1), tc.offset(e))
			for blk := int64(0); blk <= 4; blk++ {
				off := blk * bs
				got, err := get(t, s, "x", off, min(10, int64(len(b))-off))
				if blk == tc.block {
					var ce *CorruptError
					if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.Block != blk {
						t.Fatalf("block %d: got %v, want corrupt", blk, err)
					}
					if got != nil {
						t.Fatalf("corrupt bytes served")
					}
				} else if err != nil || !bytes.Equal(got, b[off:off+int64(len(got))]) {
					t.Fatalf("block %d: %v", blk, err)
				}
			}
			// A whole read stops at the bad block after serving only good ones.
			r, err := s.Open("x", 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			var served int64
			for {
				p, err := r.Next()
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						t.Fatalf("full read: %v", err)
					}
					break
				}
				served += int64(len(p))
			}
			r.Close()
			if served > tc.block*bs {
				t.Fatalf("served %d bytes, bad block starts at %d", served, tc.block*bs)
			}
			if err := s.Verify("x"); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Verify = %v", err)
			}
		})
	}
	t.Run("trailer", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, testOpts(dir))
		put(t, s, "x", data(1000, 1))
		e, _ := s.lookup("x")
		flipByte(t, volFile(t, dir, 1), e.off+e.recLen-trailerLen+1)
		if err := s.Verify("x"); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Verify = %v", err)
		}
	})
}

func TestConcurrentWritersGroupCommit(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	o.MaxVolumeBytes = 2 << 20
	s := openStore(t, o)
	const writers, each = 32, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := 4096
				if i%10 == 0 {
					n = 300000 // mix in streamed records
				}
				b := data(n, uint64(w*1000+i))
				if _, err := s.Put(context.Background(), fmt.Sprintf("w%d-%d", w, i), bytes.NewReader(b), int64(n), PutOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	batches, _ := s.syncer.counts()
	if batches >= writers*each {
		t.Fatalf("%d sync batches for %d puts: no group commit", batches, writers*each)
	}
	t.Logf("%d puts in %d sync batches", writers*each, batches)
	s.Close()
	s2 := openStore(t, o)
	for w := range writers {
		for i := range each {
			n := 4096
			if i%10 == 0 {
				n = 300000
			}
			mustGet(t, s2, fmt.Sprintf("w%d-%d", w, i), data(n, uint64(w*1000+i)))
		}
	}
}

func TestCloseAndCapacity(t *testing.T) {
	o := testOpts(t.TempDir())
	o.CapacityBytes = 1 << 20
	s := openStore(t, o)
	put(t, s, "a", data(500000, 1))
	if _, err := s.Put(context.Background(), "b", bytes.NewReader(data(600000, 2)), 600000, PutOptions{}); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("over capacity: %v", err)
	}
	if err := s.Delete(context.Background(), "a"); err != nil {
		t.Fatalf("delete when full: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Put(context.Background(), "c", bytes.NewReader(nil), 0, PutOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("put after close: %v", err)
	}
}

func TestCorruptVolumeHeaderRefused(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	o.MaxVolumeBytes = 1 << 20
	s := openStore(t, o)
	for i := range 30 {
		put(t, s, fmt.Sprintf("k%d", i), data(100000, uint64(i)))
	}
	s.Close()
	flipByte(t, filepath.Join(dir, "vol-00000001.log"), 2)
	if _, err := Open(o); !errors.Is(err, ErrCorruptVolume) {
		t.Fatalf("Open = %v, want ErrCorruptVolume", err)
	}
}

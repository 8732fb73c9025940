package shardstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// needDirect skips when the test directory's file system refuses O_DIRECT
// (tmpfs).
func needDirect(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "probe"), os.O_RDWR|os.O_CREATE|syscall.O_DIRECT, 0o644)
	if errors.Is(err, syscall.EINVAL) {
		t.Skip("no O_DIRECT on this file system")
	}
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// directSizes straddle every alignment edge of the split write: pages,
// blocks, chunks (16 blocks + their CRCs) and the trailer.
var directSizes = []int{0, 1, 100, 4095, 4096, 4097, 8192 - headerFixedLen, BlockSize - 1, BlockSize, BlockSize + 1,
	chunkBlocks*BlockSize - 1, chunkBlocks * BlockSize, chunkBlocks*BlockSize + 1, chunkLen + 4096, 3<<20 + 12345}

// TestDirectWrites: records of every size around the alignment edges, with
// ids of several lengths (moving the data's offset within its page), round
// trip with direct writes on, whole and by range, verify, and read back the
// same after a restart with direct writes on and with them off (the format
// is unchanged).
func TestDirectWrites(t *testing.T) {
	needDirect(t)
	for _, min := range []int64{1, 32 << 10} {
		t.Run(fmt.Sprintf("min=%d", min), func(t *testing.T) {
			dir := t.TempDir()
			o := testOpts(dir)
			o.MaxVolumeBytes = 16 << 20
			o.DirectWriteMinBytes = min
			s := openStore(t, o)
			want := map[string][]byte{}
			for i, size := range directSizes {
				for _, idLen := range []int{1, 7, 61, maxIDLen} {
					id := strings.Repeat(string(rune('a'+i%26)), idLen-1) + fmt.Sprint(idLen%10)
					if idLen == 1 {
						id = string(rune('A' + i%26))
					}
					b := data(size, uint64(i*1000+idLen))
					put(t, s, id, b)
					want[id] = b
				}
			}
			check := func(s *Store) {
				t.Helper()
				for id, b := range want {
					mustGet(t, s, id, b)
					if err := s.Verify(id); err != nil {
						t.Fatalf("Verify %s: %v", id, err)
					}
					if len(b) > 5000 {
						got, err := get(t, s, id, 4000, 1000)
						if err != nil || !bytes.Equal(got, b[4000:5000]) {
							t.Fatalf("range of %s: %v", id, err)
						}
					}
				}
			}
			check(s)
			s.Close()
			s2 := openStore(t, o)
			check(s2)
			s2.Close()
			off := o
			off.DirectWriteMinBytes = 0
			s3 := openStore(t, off)
			check(s3)
		})
	}
}

// TestDirectWritesConcurrent: writers of direct and buffered records at
// once share partial pages at the records' edges; every record reads back.
func TestDirectWritesConcurrent(t *testing.T) {
	needDirect(t)
	o := testOpts(t.TempDir())
	o.MaxVolumeBytes = 8 << 20
	o.DirectWriteMinBytes = 16 << 10
	s := openStore(t, o)
	var mu sync.Mutex
	want := map[string][]byte{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 24 {
				size := []int{3000, 20000, 300000, 1100000}[(w+i)%4] + w*13 + i
				id := fmt.Sprintf("w%d-%d", w, i)
				b := data(size, uint64(w*100+i))
				if _, err := s.Put(context.Background(), id, bytes.NewReader(b), int64(len(b)), PutOptions{VerifyCRC: true, CRC32C: CRC32C(b)}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[id] = b
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for id, b := range want {
		mustGet(t, s, id, b)
	}
	s.Close()
	s2 := openStore(t, o)
	for id, b := range want {
		mustGet(t, s2, id, b)
	}
}

// TestDirectWritesUncached: a direct-written record's whole pages do not
// enter the page cache (only the partial pages at its chunks' edges,
// written buffered, may), so the bytes did go through O_DIRECT.
func TestDirectWritesUncached(t *testing.T) {
	needDirect(t)
	o := testOpts(t.TempDir())
	o.MaxVolumeBytes = 64 << 20
	o.DirectWriteMinBytes = 256 << 10
	s := openStore(t, o)
	b := data(3<<20, 9)
	put(t, s, "big", b)
	e, _ := s.lookup("big")
	res, total := residentPages(t, e.vol.path, e.off, e.recLen)
	chunks := int(e.recLen/chunkLen) + 1
	if total < 700 || res > 2*chunks+2 {
		t.Fatalf("%d of %d pages cached; want at most %d (chunk edges)", res, total, 2*chunks+2)
	}
	mustGet(t, s, "big", b)
}

// TestDirectWriteOptions: a negative minimum and a buffer cap without room
// for the alignment slack are refused.
func TestDirectWriteOptions(t *testing.T) {
	o := testOpts(t.TempDir())
	o.DirectWriteMinBytes = -1
	if err := o.Validate(); err == nil {
		t.Fatal("negative DirectWriteMinBytes accepted")
	}
	o.DirectWriteMinBytes = 1
	o.BufferBytes = bufLen
	if err := o.Validate(); err == nil {
		t.Fatal("BufferBytes without the alignment slack accepted")
	}
	o.BufferBytes = bufLen + directAlign
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestDirectWritesStoreSuite reruns the store's round-trip, recovery,
// corruption and compaction tests with every record (min 1) and with
// records of at least 64 KiB written direct.
func TestDirectWritesStoreSuite(t *testing.T) {
	needDirect(t)
	suite := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"PutGetRanges", TestPutGetRanges}, {"RestartRecovery", TestRestartRecovery}, {"TornTail", TestTornTail},
		{"DeadRecordInMiddle", TestDeadRecordInMiddle}, {"CorruptionDetected", TestCorruptionDetected},
		{"ConcurrentWritersGroupCommit", TestConcurrentWritersGroupCommit}, {"Compaction", TestCompaction},
		{"CompactionCrash", TestCompactionCrash}, {"CompactionWithOpenReader", TestCompactionWithOpenReader},
	}
	for _, min := range []int64{1, 64 << 10} {
		testDirectMin = min
		for _, tc := range suite {
			t.Run(fmt.Sprintf("min=%d/%s", min, tc.name), tc.fn)
		}
	}
	testDirectMin = 0
}

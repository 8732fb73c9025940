package shardstore

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages counts the pages of [off, off+n) of path that are in the
// page cache (mincore over a read-only mapping), rounded inward to pages.
func residentPages(t *testing.T, path string, off, n int64) (resident, total int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unix.Munmap(m) }()
	vec := make([]byte, (len(m)+pageSize-1)/pageSize)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	for p := (off + pageSize - 1) / pageSize; p < (off+n)/pageSize; p++ {
		total++
		if vec[p]&1 != 0 {
			resident++
		}
	}
	return resident, total
}

// TestUncachedWrites: a durable record of at least UncachedWriteMinBytes
// leaves the page cache (small-record and streamed paths), a smaller one
// and every record with the option off stay cached, and a dropped record
// still reads back whole and checked from the disk.
func TestUncachedWrites(t *testing.T) {
	var fs unix.Statfs_t
	if err := unix.Statfs(t.TempDir(), &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skip("tmpfs keeps its pages: DONTNEED drops nothing there")
	}
	cases := []struct {
		name        string
		min         int64
		size        int
		wantDropped bool
	}{
		{"large streamed record dropped", 256 << 10, 3 << 20, true},
		{"record below one chunk dropped", 256 << 10, 512 << 10, true},
		{"record below the minimum kept", 256 << 10, 128 << 10, false},
		{"option off keeps a large record", 0, 3 << 20, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := testOpts(t.TempDir())
			o.MaxVolumeBytes = 64 << 20
			o.UncachedWriteMinBytes = tc.min
			s := openStore(t, o)
			b := data(tc.size, uint64(tc.size))
			put(t, s, "shard-a", b)
			e, ok := s.lookup("shard-a")
			if !ok {
				t.Fatal("shard not indexed")
			}
			res, total := residentPages(t, e.vol.path, e.off, e.recLen)
			if total == 0 {
				t.Fatal("record covers no whole page")
			}
			if tc.wantDropped && res != 0 {
				t.Fatalf("%d of %d pages of the durable record still cached", res, total)
			}
			if !tc.wantDropped && res < total*9/10 {
				t.Fatalf("only %d of %d pages cached; want the record kept", res, total)
			}
			mustGet(t, s, "shard-a", b)
		})
	}
}

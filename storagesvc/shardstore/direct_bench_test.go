package shardstore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkShardWriteModes measures the storage nodes' write pattern without
// the store around it: 14 files written at once (the 14 nodes of a stripe),
// each taking 2 MiB per iteration in writes of 1 MiB or 256 KiB and one
// fdatasync, in three modes: "buffered" (pwrite into the page cache, as the
// store writes today), "dontneed" (the same, then posix_fadvise DONTNEED on
// the synced range: Options.UncachedWriteMinBytes) and "direct" (O_DIRECT
// pwrite from 4 KiB-aligned buffers at 4 KiB-aligned offsets, then
// fdatasync for the file's metadata). It reports process CPU (getrusage,
// user + system) and context switches per MiB written. docs/performance.md,
// "O_DIRECT shard writes: measured".
func BenchmarkShardWriteModes(b *testing.B) {
	for _, mode := range []string{"buffered", "dontneed", "direct"} {
		for _, chunk := range []int{1 << 20, 256 << 10} {
			b.Run(fmt.Sprintf("%s/%dKiB", mode, chunk>>10), func(b *testing.B) {
				benchShardWriteMode(b, mode, chunk)
			})
		}
	}
}

func benchShardWriteMode(b *testing.B, mode string, chunk int) {
	const files, perIter = 14, 2 << 20
	dir := b.TempDir()
	fs := make([]*os.File, files)
	bufs := make([][]byte, files)
	for i := range fs {
		flag := os.O_RDWR | os.O_CREATE | os.O_EXCL
		if mode == "direct" {
			flag |= syscall.O_DIRECT
		}
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("vol-%02d", i)), flag, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		fs[i] = f
		bufs[i] = alignedBuf(chunk)
		copy(bufs[i], data(chunk, uint64(i+1)))
	}
	b.SetBytes(files * perIter)
	ru0 := rusage()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		var wg sync.WaitGroup
		for i, f := range fs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				base := int64(it) * perIter
				for off := int64(0); off < perIter; off += int64(chunk) {
					if _, err := f.WriteAt(bufs[i], base+off); err != nil {
						b.Error(err)
						return
					}
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					b.Error(err)
					return
				}
				if mode == "dontneed" {
					_ = unix.Fadvise(int(f.Fd()), base, perIter, unix.FADV_DONTNEED)
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	ru1 := rusage()
	mib := float64(b.N) * files * perIter / (1 << 20)
	cpu := (ru1.Utime.Nano() + ru1.Stime.Nano()) - (ru0.Utime.Nano() + ru0.Stime.Nano())
	b.ReportMetric(float64(cpu)/1e6/mib, "cpu-ms/MiB")
	b.ReportMetric(float64(ru1.Stime.Nano()-ru0.Stime.Nano())/1e6/mib, "sys-ms/MiB")
	b.ReportMetric(float64((ru1.Nvcsw+ru1.Nivcsw)-(ru0.Nvcsw+ru0.Nivcsw))/mib, "ctxsw/MiB")
}

// alignedBuf returns n bytes starting at a 4 KiB boundary, as O_DIRECT needs.
func alignedBuf(n int) []byte {
	const align = 4096
	raw := make([]byte, n+align)
	skip := (align - int(uintptr(unsafe.Pointer(&raw[0]))&(align-1))) & (align - 1)
	return raw[skip : skip+n : skip+n]
}

func rusage() syscall.Rusage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru
}

package storagesvc_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
)

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// chunkReader hands out its bytes 64 KiB per Read and hides bytes.Reader's
// WriterTo, as the gateway's shard streams do.
type chunkReader struct{ b []byte }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 64<<10)], c.b)
	c.b = c.b[n:]
	return n, nil
}

// BenchmarkShardHop is the storage hop as the gateway uses it — the mutual
// TLS client (storageclient.NewTLS) and a storage node in this process, 8
// callers — reporting the process CPU (both ends, the node's store
// included) per MiB of shard bytes, over TLS and over an authenticated
// local socket (internal/localconn):
//
//	go test -run '^$' -bench ShardHop -benchtime 400x ./storagesvc/
func BenchmarkShardHop(b *testing.B) {
	for _, transport := range []string{"tls", "local"} {
		b.Run(transport, func(b *testing.B) {
			sockets := ""
			if transport == "local" {
				d, err := os.MkdirTemp("", "hop")
				if err != nil {
					b.Fatal(err)
				}
				defer os.RemoveAll(d)
				sockets = filepath.Join(d, "s")
			}
			benchShardHop(b, sockets)
		})
	}
}

func benchShardHop(b *testing.B, sockets string) {
	srv := benchNodeLocal(b, sockets)
	gw := identity(mtls.RoleGateway, "gw", "az-a")
	gw.SetLocalDir(sockets, nil)
	c := storageclient.NewTLS(gw)
	defer func() {
		if st := gw.DialStats(); (sockets != "") != (st.Local > 0 && st.TLS == 0) {
			b.Errorf("dialed %+v with sockets %q", st, sockets)
		}
	}()
	const size = 1 << 20
	body := payload(size, 1)
	sum := crc(body)
	for i := range 8 {
		if _, err := c.Put(context.Background(), srv.Addr(), fmt.Sprintf("g%d", i), bytes.NewReader(body), size, sum); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("GET-1MiB", func(b *testing.B) {
		var n atomic.Int64
		b.SetBytes(size)
		b.SetParallelism(4) // 8 callers on 2 cores
		cpu0 := processCPU()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 64<<10)
			for pb.Next() {
				rc, err := c.Get(context.Background(), srv.Addr(), fmt.Sprintf("g%d", n.Add(1)%8), 0, -1)
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
					b.Error(err)
				}
				rc.Close()
			}
		})
		b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/MiB")
	})
	b.Run("PUT-1MiB", func(b *testing.B) {
		var n atomic.Int64
		b.SetBytes(size)
		b.SetParallelism(4)
		cpu0 := processCPU()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := fmt.Sprintf("p%d", n.Add(1))
				if _, err := c.Put(context.Background(), srv.Addr(), id, &chunkReader{b: body}, size, sum); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/MiB")
	})
}

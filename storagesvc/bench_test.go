package storagesvc_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/storagesvc"
)

// benchNode starts a storage node on loopback with its mutual-TLS identity
// for a benchmark; it closes when the benchmark ends.
func benchNode(b *testing.B) *storagesvc.Server { return benchNodeLocal(b, "") }

// benchNodeLocal is benchNode serving a local socket in sockets too (""
// none).
func benchNodeLocal(b *testing.B, sockets string) *storagesvc.Server {
	b.Helper()
	cfg := storagesvc.DefaultConfig()
	cfg.NodeID, cfg.AZ, cfg.DataDir, cfg.Listen = "bench", "az", b.TempDir(), "127.0.0.1:0"
	cfg.TLS = identity(mtls.RoleStorage, "bench", "az")
	cfg.TLS.SetLocalDir(sockets, nil)
	srv, err := storagesvc.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	go srv.Run(context.Background())
	b.Cleanup(func() { _ = srv.Close() })
	<-srv.Ready()
	return srv
}

// End-to-end PUT over loopback HTTP with the client, 32 parallel callers.
func benchHTTPPut(b *testing.B, size int) {
	srv := benchNode(b)
	c := gatewayClient()
	body := payload(size, 1)
	sum := crc(body)
	var n atomic.Int64
	b.SetBytes(int64(size))
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("s%d", n.Add(1))
			if _, err := c.Put(context.Background(), srv.Addr(), id, bytes.NewReader(body), int64(size), sum); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkHTTPPut4K(b *testing.B) { benchHTTPPut(b, 4<<10) }
func BenchmarkHTTPPut1M(b *testing.B) { benchHTTPPut(b, 1<<20) }

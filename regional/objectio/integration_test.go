package objectio_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/storagesvc"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
	"github.com/meridian-s3/meridian/testbed/devca"
)

var _ objectio.ShardClient = (*storageclient.Client)(nil)

type realNode struct {
	srv     *storagesvc.Server
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// stop shuts the node down (once).
func (n *realNode) stop(t *testing.T) {
	if n.stopped {
		return
	}
	n.stopped = true
	n.cancel()
	_ = n.srv.Close()
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("storage node Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("storage node Run did not return 15 s after cancel and Close")
	}
}

// Real storage nodes on loopback sockets with real files and fsync: the
// engine's data path end to end, with nodes stopped mid-test.
func TestRealStorageNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 storage nodes")
	}
	var nodes []metapb.StorageNode
	var real []*realNode
	ca := devca.TestCA(t)
	for a := 0; a < 4; a++ {
		for j := 0; j < 4; j++ {
			cfg := storagesvc.DefaultConfig()
			cfg.NodeID, cfg.AZ = fmt.Sprintf("s-%c%d", 'a'+a, j), fmt.Sprintf("az-%c", 'a'+a)
			cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
			cfg.MaxVolumeBytes, cfg.CompactInterval = 8<<20, 0
			cfg.ShutdownTimeout = 2 * time.Second
			cfg.Logger = slog.New(slog.DiscardHandler)
			cfg.TLS = devca.TestNode(t, ca, mtls.RoleStorage, cfg.NodeID, "test", cfg.AZ)
			srv, err := storagesvc.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			n := &realNode{srv: srv, cancel: cancel, done: make(chan error, 1)}
			go func() { n.done <- srv.Run(ctx) }()
			select {
			case <-srv.Ready():
			case <-time.After(5 * time.Second):
				t.Fatal("storage node not ready")
			}
			t.Cleanup(func() { n.stop(t) })
			real = append(real, n)
			nodes = append(nodes, metapb.StorageNode{ID: cfg.NodeID, AZ: cfg.AZ, Addr: srv.Addr(), Healthy: true})
		}
	}
	cfg := objectio.DefaultConfig()
	cfg.SegmentSize = 2 << 20
	cfg.Client = storageclient.NewTLS(devca.TestNode(t, ca, mtls.RoleGateway, "gw", "test", ""))
	cfg.Nodes = func() []metapb.StorageNode { return nodes }
	cfg.WriteStall = time.Second
	cfg.WriteFinish = 5 * time.Second
	cfg.Logger = slog.New(slog.DiscardHandler)
	e, err := objectio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	size := int64(5<<20 + 12345)
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	segs, err := e.Plan(context.Background(), "v-real-1", size)
	if err != nil {
		t.Fatal(err)
	}
	// One planned node is down during the write: its shards move.
	down := segs[0].Shards[2].Node
	for i, n := range nodes {
		if n.ID == down {
			real[i].stop(t)
		}
	}
	out, err := e.Write(ctx, segs, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	for _, s := range out {
		for _, ref := range s.Shards {
			if ref.Node == down || ref.Node == "" {
				t.Fatalf("shard %s on %q", ref.ID, ref.Node)
			}
		}
	}
	var got bytes.Buffer
	if err := e.Read(ctx, out, e.Scheme(), 0, size, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read: %v", err)
	}
	// Stop 3 more nodes holding shards of segment 1: 4 nodes down in all.
	stoppedCount := 0
	for _, ref := range out[1].Shards {
		for i, n := range nodes {
			if n.ID == ref.Node && !real[i].stopped && stoppedCount < 3 {
				real[i].stop(t)
				stoppedCount++
			}
		}
	}
	got.Reset()
	off, l := int64(1<<20+777), int64(3<<20)
	if err := e.Read(ctx, out, e.Scheme(), off, l, &got); err != nil || !bytes.Equal(got.Bytes(), data[off:off+l]) {
		t.Fatalf("range read with 4 nodes down: %v", err)
	}
	if err := e.Delete(ctx, out); err == nil {
		t.Fatalf("delete with nodes down reported success")
	}
}

package metasvc_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
	"github.com/meridian-s3/meridian/metasvc/raftmux"
)

// lockedBuffer collects log lines from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// stalledReader yields nothing until release is closed: a snapshot sender
// that stopped mid-transfer without closing its connection.
type stalledReader struct{ release <-chan struct{} }

func (r stalledReader) Read([]byte) (int, error) {
	<-r.release
	return 0, io.EOF
}

// TestCloseWithStalledSnapshotPeer reproduces a meta node that hung on exit:
// a peer (here a client speaking real Raft over the node's mutual-TLS mux, as
// a stalled leader would) starts an InstallSnapshot to partition p0 of a
// follower and then stalls without closing. hashicorp/raft's main goroutine
// reads that stream with no deadline, so raft.Shutdown cannot return. Close
// must still return within a bound (it aborts the Raft connections), close
// the stores (the node restarts on its data folder) and leave the cluster
// serving.
func TestCloseWithStalledSnapshotPeer(t *testing.T) {
	logs := &lockedBuffer{}
	c := metasvctest.Start(t, metasvctest.Options{
		Partitions: 1,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	leader := c.LeaderOf("p0", 10*time.Second)
	victim := (leader + 1) % len(c.Peers)

	// The stalled peer: a meta identity of the region dialing through a
	// raftmux layer, with no transport deadline.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	id := c.Identity(mtls.RoleMeta, "meta-stalled", "a")
	mux := raftmux.NewTLS(ln, nil, nil, raftmux.TLS{
		Server: id.ServerConfig(),
		Dial:   id.Dialer(2*time.Second, []string{raftmux.ALPN}, mtls.RoleMeta),
	})
	t.Cleanup(func() { _ = mux.Close(); _ = mux.AbortRaftConns() })
	layer, err := mux.Group(metasvc.PartitionGroup(0))
	if err != nil {
		t.Fatal(err)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: layer, MaxPool: 1})
	t.Cleanup(func() { _ = trans.Close() })
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	sent := make(chan error, 1)
	go func() {
		req := &raft.InstallSnapshotRequest{
			RPCHeader:          raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("meta-stalled"), Addr: []byte(ln.Addr().String())},
			SnapshotVersion:    raft.SnapshotVersionMax,
			LastLogIndex:       1 << 20,
			LastLogTerm:        1,
			Size:               1 << 20,
			ConfigurationIndex: 1,
		}
		var resp raft.InstallSnapshotResponse
		sent <- trans.InstallSnapshot(raft.ServerID(c.Peers[victim].ID), raft.ServerAddress(c.Peers[victim].Addr),
			req, &resp, stalledReader{release})
	}()
	// Let the RPC reach the victim's Raft loop, which then blocks reading the
	// snapshot data that never comes.
	time.Sleep(time.Second)
	select {
	case err := <-sent:
		t.Fatalf("InstallSnapshot returned before the data was sent: %v", err)
	default:
	}

	closed := make(chan struct{})
	start := time.Now()
	go func() {
		c.Stop(victim)
		close(closed)
	}()
	const bound = 20 * time.Second // 2×ShutdownTimeout (2s) plus HTTP drain, mux close and slack under load
	select {
	case <-closed:
		t.Logf("Close returned after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(bound):
		t.Fatalf("Close of %s still blocked after %v (raft.Shutdown waiting on a stalled snapshot stream)", c.Peers[victim].ID, bound)
	}
	if l := logs.String(); !strings.Contains(l, "raft groups did not stop in time") || !strings.Contains(l, "p0") {
		t.Errorf("no log of the groups that were aborted; logs:\n%s", l)
	}
	if l := logs.String(); strings.Contains(l, "still running after shutdown timeout") {
		t.Errorf("a group kept running after its connections were aborted; logs:\n%s", l)
	}

	// Stores were closed: the node reopens its data folder and rejoins.
	c.Restart(victim)
	c.WaitReady(30 * time.Second)
}

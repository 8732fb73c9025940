// Package metasvctest starts real metadata-service clusters for tests: three
// meta nodes in AZs a, b and c on 127.0.0.1 ports, each with its own data
// folder under t.TempDir(), real Raft over real sockets and real bolt files,
// and mutual TLS with a throwaway CA (devca.TestCA) as in production.
package metasvctest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/testbed/devca"
)

// Options tune a cluster.
type Options struct {
	Nodes      int // default 3
	Partitions int // default 4
	Region     string
	Logger     *slog.Logger
	// CA issues the nodes' and clients' certificates; nil: a new test CA.
	CA *devca.CA
	// Tune, if set, edits each node's config before New.
	Tune func(i int, c *metasvc.Config)
}

// Cluster is a running set of meta nodes.
type Cluster struct {
	t     testing.TB
	opts  Options
	base  string
	Peers []metapb.MetaNode
	// CA issued every certificate of the cluster.
	CA *devca.CA

	mu    sync.Mutex
	nodes []*Node
}

// Node is one meta node of a Cluster.
type Node struct {
	Config metasvc.Config
	Server *metasvc.Server
	cancel context.CancelFunc
	done   chan error
}

// TestConfig returns the configuration the cluster uses for node i before
// Tune: loopback Raft timing and snapshot thresholds low enough that
// snapshots and snapshot installs happen within a test.
func TestConfig(i int, dir string, peers []metapb.MetaNode, partitions int, region string) metasvc.Config {
	c := metasvc.DefaultConfig()
	c.NodeID = peers[i].ID
	c.AZ = peers[i].AZ
	c.DataDir = dir
	c.Listen = peers[i].Addr
	c.Region = region
	c.Partitions = partitions
	c.Peers = peers
	c.Bootstrap = true
	c.SnapshotInterval = 200 * time.Millisecond
	c.SnapshotThreshold = 64
	c.TrailingLogs = 32
	c.HealthTimeout = time.Second
	c.ShutdownTimeout = 2 * time.Second
	return c
}

// Start starts a cluster and waits until every node is ready.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Partitions == 0 {
		opts.Partitions = 4
	}
	if opts.Region == "" {
		opts.Region = "test-1"
	}
	if opts.CA == nil {
		opts.CA = devca.TestCA(t)
	}
	c := &Cluster{t: t, opts: opts, CA: opts.CA}
	lns := make([]net.Listener, opts.Nodes)
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		c.Peers = append(c.Peers, metapb.MetaNode{
			ID:   fmt.Sprintf("meta-%d", i),
			AZ:   string(rune('a' + i%26)),
			Addr: ln.Addr().String(),
		})
	}
	base := t.TempDir()
	c.base = base
	c.nodes = make([]*Node, opts.Nodes)
	for i := range lns {
		cfg := TestConfig(i, filepath.Join(base, c.Peers[i].ID), c.Peers, opts.Partitions, opts.Region)
		cfg.Listener = lns[i]
		cfg.TLS = c.metaTLS(i)
		if opts.Logger != nil {
			cfg.Logger = opts.Logger
		}
		if opts.Tune != nil {
			opts.Tune(i, &cfg)
		}
		c.nodes[i] = c.run(cfg)
	}
	t.Cleanup(c.Close)
	c.WaitReady(30 * time.Second)
	return c
}

func (c *Cluster) run(cfg metasvc.Config) *Node {
	c.t.Helper()
	s, err := metasvc.New(cfg)
	if err != nil {
		c.t.Fatalf("metasvc.New(%s): %v", cfg.NodeID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{Config: cfg, Server: s, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- s.Run(ctx) }()
	return n
}

// Node returns node i (nil while stopped).
func (c *Cluster) Node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Seeds are the nodes' addresses.
func (c *Cluster) Seeds() []string {
	var s []string
	for _, p := range c.Peers {
		s = append(s, p.Addr)
	}
	return s
}

func (c *Cluster) metaTLS(i int) *mtls.Node {
	return devca.TestNode(c.t, c.CA, mtls.RoleMeta, c.Peers[i].ID, c.opts.Region, c.Peers[i].AZ)
}

// Identity issues a certificate of the cluster's region for role, id and az.
func (c *Cluster) Identity(role mtls.Role, id, az string) *mtls.Node {
	c.t.Helper()
	return devca.TestNode(c.t, c.CA, role, id, c.opts.Region, az)
}

// StorageClient is a client with storage node id's certificate (AZ az): the
// only kind of client whose heartbeats for that node are accepted.
func (c *Cluster) StorageClient(id, az string) *metaclient.Client {
	c.t.Helper()
	cfg := c.ClientConfig()
	cfg.TLS = c.Identity(mtls.RoleStorage, id, az)
	cl, err := metaclient.New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// ClientConfig is a metaclient config for the cluster with a gateway
// certificate.
func (c *Cluster) ClientConfig() metaclient.Config {
	c.t.Helper()
	cfg := metaclient.DefaultConfig()
	cfg.Seeds = c.Seeds()
	cfg.TLS = c.Identity(mtls.RoleGateway, "gateway-test", "a")
	return cfg
}

// HTTPClient speaks mutual TLS to the nodes as node (raw RPC tests); use
// "https://" + address.
func (c *Cluster) HTTPClient(node *mtls.Node) *http.Client {
	tr := &http.Transport{DialTLSContext: node.Dialer(5*time.Second, []string{"http/1.1"}, mtls.RoleMeta)}
	c.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// Client returns a client of the cluster (gateway certificate), closed at
// test end.
func (c *Cluster) Client() *metaclient.Client {
	c.t.Helper()
	cl, err := metaclient.New(c.ClientConfig())
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// WaitReady waits until every running node is Ready.
func (c *Cluster) WaitReady(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ready := true
		c.mu.Lock()
		for _, n := range c.nodes {
			if n != nil && !n.Server.Ready() {
				ready = false
			}
		}
		c.mu.Unlock()
		if ready {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster not ready after %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LeaderOf returns the index of the node that leads group ("ctl", "p0", …)
// as the running nodes agree, waiting up to timeout.
func (c *Cluster) LeaderOf(group string, timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		for i, n := range c.nodes {
			if n == nil {
				continue
			}
			if id, _ := n.Server.Leader(group); id == c.Peers[i].ID {
				c.mu.Unlock()
				return i
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			c.t.Fatalf("no leader of %s after %v", group, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop closes node i (a clean stop: Raft shuts down, stores close).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if n == nil {
		return
	}
	if err := n.Server.Close(); err != nil {
		c.t.Errorf("close %s: %v", n.Config.NodeID, err)
	}
	if err := <-n.done; err != nil {
		c.t.Errorf("run %s: %v", n.Config.NodeID, err)
	}
	n.cancel()
}

// Restart starts stopped node i again on its address and data folder.
func (c *Cluster) Restart(i int) *Node {
	c.t.Helper()
	c.mu.Lock()
	if c.nodes[i] != nil {
		c.mu.Unlock()
		c.t.Fatalf("node %d is running", i)
	}
	c.mu.Unlock()
	cfg := TestConfig(i, "", c.Peers, c.opts.Partitions, c.opts.Region)
	cfg.DataDir = filepath.Join(c.base, c.Peers[i].ID)
	cfg.TLS = c.metaTLS(i)
	if c.opts.Logger != nil {
		cfg.Logger = c.opts.Logger
	}
	if c.opts.Tune != nil {
		c.opts.Tune(i, &cfg)
	}
	var ln net.Listener
	var err error
	for start := time.Now(); ; {
		ln, err = net.Listen("tcp", c.Peers[i].Addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Since(start) > 5*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("relisten %s: %v", c.Peers[i].Addr, err)
	}
	cfg.Listener = ln
	n := c.run(cfg)
	c.mu.Lock()
	c.nodes[i] = n
	c.mu.Unlock()
	return n
}

// Close stops every node.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); c.Stop(i) }()
	}
	wg.Wait()
}

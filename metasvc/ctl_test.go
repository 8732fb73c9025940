package metasvc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-s3/meridian/metasvc"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
)

func TestControlPlaneHealthAndAZTolerance(t *testing.T) {
	regs := make([]*prometheus.Registry, 3)
	for i := range regs {
		regs[i] = prometheus.NewRegistry()
	}
	c := metasvctest.Start(t, metasvctest.Options{Tune: func(i int, cfg *metasvc.Config) { cfg.Registry = regs[i] }})
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	beat := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			n := metapb.StorageNode{ID: id, AZ: id[:1], Addr: "127.0.0.1:9" + id[1:], CapacityBytes: 1 << 30, UsedBytes: 5}
			if err := c.StorageClient(n.ID, n.AZ).Heartbeat(ctx, n); err != nil {
				t.Fatalf("heartbeat %s: %v", id, err)
			}
		}
	}
	beat("a1", "a2", "b1", "c1")
	st, err := cl.RegionStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Region != "test-1" || len(st.Partitions) != 4 || len(st.MetaNodes) != 3 || len(st.Storage) != 4 {
		t.Fatalf("status: %+v", st)
	}
	for _, p := range st.Partitions {
		if p.Leader == "" || len(p.Replicas) != 3 {
			t.Fatalf("partition without leader or replicas: %+v", p)
		}
	}
	if st.AZs != 3 || st.AZLossTolerant || !strings.Contains(st.Note, "needs at least 4") {
		t.Fatalf("3 AZs: %+v", st)
	}
	// The gauge is the ctl leader's; read it from whichever node leads now
	// (an election under load moves it, and the old leader's stays stale).
	gauge := func() float64 {
		return gaugeValue(t, regs[c.LeaderOf("ctl", 5*time.Second)], "meridian_region_az_loss_tolerant")
	}

	// Every node beats again with d1: on a loaded machine more than the 1 s
	// health timeout may have passed since the first beats.
	beat("a1", "a2", "b1", "c1", "d1")
	st, _ = cl.RegionStatus(ctx)
	if st.AZs != 4 || !st.AZLossTolerant || st.Note != "" {
		t.Fatalf("4 AZs: %+v", st)
	}
	waitFor(t, 3*time.Second, "gauge 1", func() bool { return gauge() == 1 })

	// Only AZs a..c keep heartbeating: after the 1 s health timeout d1 is
	// unhealthy and the region says it is no longer AZ-loss tolerant.
	waitFor(t, 20*time.Second, "d1 unhealthy", func() bool { // generous: CI shares 2 cores with process-heavy suites
		beat("a1", "a2", "b1", "c1")
		nodes, err := cl.StorageNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if n.ID == "d1" {
				return !n.Healthy && !n.LastHeartbeat.IsZero()
			}
		}
		t.Fatal("d1 not registered")
		return false
	})
	st, _ = cl.RegionStatus(ctx)
	if st.AZLossTolerant || st.AZs != 3 {
		t.Fatalf("after d1 went silent: %+v", st)
	}
	waitFor(t, 3*time.Second, "gauge 0", func() bool { return gauge() == 0 })

	// Re-registration with a new address is replicated: every node's ctl
	// state has it (checked on a follower through the leader's view after
	// a ctl leader change would need a failover; the raw status suffices).
	if err := c.StorageClient("a1", "a").Heartbeat(ctx, metapb.StorageNode{ID: "a1", AZ: "a", Addr: "10.0.0.1:1", CapacityBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	nodes, _ := cl.StorageNodes(ctx)
	if nodes[0].ID != "a1" || nodes[0].Addr != "10.0.0.1:1" || !nodes[0].Healthy {
		t.Fatalf("re-registered node: %+v", nodes[0])
	}

	// Bad heartbeats are refused without retries.
	if err := cl.Heartbeat(ctx, metapb.StorageNode{ID: "x"}); err == nil {
		t.Fatal("heartbeat without az/addr accepted")
	}
}

// TestCtlFailoverKeepsRegistrations stops the ctl leader; the new leader has
// the registrations (replicated) but no heartbeats (leader memory) until the
// nodes beat again.
func TestCtlFailoverKeepsRegistrations(t *testing.T) {
	c := metasvctest.Start(t, metasvctest.Options{Partitions: 1})
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range []string{"a1", "b1"} {
		if err := c.StorageClient(id, id[:1]).Heartbeat(ctx, metapb.StorageNode{ID: id, AZ: id[:1], Addr: "h:" + id, CapacityBytes: 100}); err != nil {
			t.Fatal(err)
		}
	}
	c.Stop(c.LeaderOf("ctl", 5*time.Second))
	nodes, err := cl.StorageNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 {
		t.Fatalf("registrations lost in failover: %+v", nodes)
	}
	for _, n := range nodes {
		if n.Healthy {
			t.Fatalf("new leader claims health it never observed: %+v", n)
		}
	}
	if err := c.StorageClient("a1", "a").Heartbeat(ctx, metapb.StorageNode{ID: "a1", AZ: "a", Addr: "h:a1", CapacityBytes: 100}); err != nil {
		t.Fatal(err)
	}
	nodes, _ = cl.StorageNodes(ctx)
	if !nodes[0].Healthy || nodes[1].Healthy {
		t.Fatalf("after one heartbeat: %+v", nodes)
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

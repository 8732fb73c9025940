package metasvc

import (
	"errors"
	"testing"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/testbed/devca"
)

func TestConfigValidate(t *testing.T) {
	ca := devca.TestCA(t)
	m1 := devca.TestNode(t, ca, mtls.RoleMeta, "m1", "r", "a")
	good := func() Config {
		c := DefaultConfig()
		c.NodeID, c.AZ, c.DataDir, c.Region = "m1", "a", "/tmp/x", "r"
		c.TLS = m1
		c.Peers = []metapb.MetaNode{{ID: "m1", AZ: "a", Addr: "h:1"}, {ID: "m2", AZ: "b", Addr: "h:2"}, {ID: "m3", AZ: "c", Addr: "h:3"}}
		return c
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"default ok", func(*Config) {}, true},
		{"no node id", func(c *Config) { c.NodeID = "" }, false},
		{"not in peers", func(c *Config) { c.NodeID = "m9" }, false},
		{"az mismatch", func(c *Config) { c.AZ = "b" }, false},
		{"advertise mismatch", func(c *Config) { c.Advertise = "h:9" }, false},
		{"duplicate peer", func(c *Config) { c.Peers[1].Addr = "h:1" }, false},
		{"zero partitions", func(c *Config) { c.Partitions = 0 }, false},
		{"lease > heartbeat", func(c *Config) { c.LeaderLease = c.HeartbeatTimeout * 2 }, false},
		{"election < heartbeat", func(c *Config) { c.ElectionTimeout = c.HeartbeatTimeout / 2 }, false},
		{"no snapshots", func(c *Config) { c.SnapshotThreshold = 0 }, false},
		{"tiny body", func(c *Config) { c.MaxBodyBytes = 10 }, false},
		{"bad scheme", func(c *Config) { c.Scheme.Data = 0 }, false},
		{"no TLS", func(c *Config) { c.TLS = nil }, false},
		{"storage certificate", func(c *Config) { c.TLS = devca.TestNode(t, ca, mtls.RoleStorage, "m1", "r", "a") }, false},
		{"another node's certificate", func(c *Config) { c.TLS = devca.TestNode(t, ca, mtls.RoleMeta, "m2", "r", "b") }, false},
		{"another region's certificate", func(c *Config) { c.TLS = devca.TestNode(t, ca, mtls.RoleMeta, "m1", "r2", "a") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.edit(&c)
			err := c.Validate()
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrConfig)) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestNewCloseWithoutRun(t *testing.T) {
	c := DefaultConfig()
	c.NodeID, c.AZ, c.DataDir, c.Region, c.Listen = "m1", "a", t.TempDir(), "r", "127.0.0.1:0"
	c.TLS = devca.TestNode(t, devca.TestCA(t), mtls.RoleMeta, "m1", "r", "a")
	c.Peers = []metapb.MetaNode{{ID: "m1", AZ: "a", Addr: "127.0.0.1:1"}}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.Ready() {
		t.Fatal("ready before Run")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Run(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	// The stores were released: a second server opens the same folder.
	s2, err := New(c)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	_ = s2.Close()
}

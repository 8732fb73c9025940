// Package devcluster runs the single-machine deployment (`meridian dev`,
// `make run`): per region 3 meta nodes (AZs a–c), storage nodes spread over
// the region's AZs, and a regional gateway — every node a real listener on
// loopback, exactly the servers that run as separate processes in production.
//
// Ports are fixed from BasePort so that a restart finds its Raft peers at the
// same addresses: region r (0-based) uses BasePort+1000*r +
//
//	+0        regional gateway (S3)
//	+100..    meta nodes
//	+200..    storage nodes
//
// The next issue adds an edge per region and a second region; the layout
// leaves room for both (edge at +10, region r at +1000*r).
package devcluster

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/embedded"
	"github.com/meridian-s3/meridian/metasvc"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional"
	"github.com/meridian-s3/meridian/regional/nodeview"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/storagesvc"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
)

// Config of a dev deployment.
type Config struct {
	DataDir         string
	Region          string
	BasePort        int
	AZs             int // storage AZs (meta nodes use the first 3)
	StoragePerAZ    int
	Partitions      int
	InlineThreshold int64
	Logger          *slog.Logger
}

// DefaultConfig: us-east-1, 4 AZs × 4 storage nodes, 8 partitions.
func DefaultConfig() Config {
	return Config{DataDir: "./data", Region: "us-east-1", BasePort: 9000, AZs: 4, StoragePerAZ: 4, Partitions: 8,
		InlineThreshold: regional.DefaultConfig().InlineThreshold}
}

// Validate checks the config.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("devcluster: DataDir is required")
	case c.AZs < 1 || c.AZs > 26:
		return errors.New("devcluster: AZs must be 1..26")
	case c.StoragePerAZ < 1:
		return errors.New("devcluster: StoragePerAZ must be ≥ 1")
	case c.BasePort < 1024 || c.BasePort > 60000:
		return errors.New("devcluster: BasePort must be 1024..60000")
	case c.Partitions < 1:
		return errors.New("devcluster: Partitions must be ≥ 1")
	}
	return nil
}

// Credentials of the dev account.
type Credentials struct {
	AccountID string `json:"account_id"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// Cluster is a running dev deployment.
type Cluster struct {
	cfg      Config
	log      *slog.Logger
	Endpoint string
	Creds    Credentials

	catalog  *embedded.Store
	metas    []*metasvc.Server
	storages []*storagesvc.Server
	meta     *metaclient.Client
	view     *nodeview.View
	gateway  *regional.Gateway

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	errc      chan error
	closeOnce sync.Once
}

func azName(i int) string { return string(rune('a' + i)) }

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// MetaAddrs lists the meta nodes' addresses.
func (c Config) MetaAddrs() []string {
	var out []string
	for i := 0; i < 3; i++ {
		out = append(out, addr(c.BasePort+100+i))
	}
	return out
}

// Start brings every node up and waits until the gateway can serve.
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	c := &Cluster{cfg: cfg, log: cfg.Logger, cancel: cancel, errc: make(chan error, 64)}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	run := func(name string, f func(context.Context) error) {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := f(rctx); err != nil && !errors.Is(err, context.Canceled) {
				c.errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	regionDir := filepath.Join(cfg.DataDir, cfg.Region)

	// Catalog and credentials.
	key, err := LoadOrCreateKey(filepath.Join(cfg.DataDir, "catalog.key"))
	if err != nil {
		return nil, err
	}
	ecfg := embedded.DefaultConfig()
	ecfg.EncryptionKey = key
	ecfg.Logger = cfg.Logger
	if c.catalog, err = embedded.Open(filepath.Join(cfg.DataDir, "catalog.db"), ecfg); err != nil {
		return nil, err
	}
	if c.Creds, err = EnsureCredentials(ctx, c.catalog, filepath.Join(cfg.DataDir, "credentials.json")); err != nil {
		return nil, err
	}

	// Meta nodes.
	var peers []metapb.MetaNode
	for i, a := range cfg.MetaAddrs() {
		peers = append(peers, metapb.MetaNode{ID: "meta-" + azName(i), AZ: azName(i), Addr: a})
	}
	for _, p := range peers {
		mc := metasvc.DefaultConfig()
		mc.NodeID, mc.AZ, mc.Listen, mc.Advertise = p.ID, p.AZ, p.Addr, p.Addr
		mc.DataDir = filepath.Join(regionDir, p.ID)
		mc.Region, mc.Partitions, mc.Peers, mc.Bootstrap = cfg.Region, cfg.Partitions, peers, true
		mc.Logger = cfg.Logger.With("node", p.ID)
		s, err := metasvc.New(mc)
		if err != nil {
			return nil, err
		}
		c.metas = append(c.metas, s)
		run(p.ID, s.Run)
	}
	mcc := metaclient.DefaultConfig()
	mcc.Seeds = cfg.MetaAddrs()
	mcc.Logger = cfg.Logger
	if c.meta, err = metaclient.New(mcc); err != nil {
		return nil, err
	}

	// Storage nodes.
	for az := 0; az < cfg.AZs; az++ {
		for j := 0; j < cfg.StoragePerAZ; j++ {
			idx := az*cfg.StoragePerAZ + j
			id := fmt.Sprintf("storage-%s%d", azName(az), j+1)
			sc := storagesvc.DefaultConfig()
			sc.NodeID, sc.AZ = id, azName(az)
			sc.DataDir = filepath.Join(regionDir, id)
			sc.Listen = addr(cfg.BasePort + 200 + idx)
			sc.Advertise = sc.Listen
			sc.Registrar = c.meta
			sc.Logger = cfg.Logger.With("node", id)
			s, err := storagesvc.New(sc)
			if err != nil {
				return nil, err
			}
			c.storages = append(c.storages, s)
			run(id, s.Run)
		}
	}

	// Regional gateway.
	c.view = nodeview.New(c.meta, time.Second, cfg.Logger)
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := c.view.Wait(wctx, cfg.AZs*cfg.StoragePerAZ); err != nil {
		return nil, fmt.Errorf("devcluster: storage nodes did not register: %w", err)
	}
	oc := objectio.DefaultConfig()
	oc.Client = storageclient.New(nil)
	oc.Nodes = c.view.Nodes // all nodes with health: placement uses healthy ones, reads fall back to the rest
	oc.Logger = cfg.Logger
	engine, err := objectio.New(oc)
	if err != nil {
		return nil, err
	}
	gc := regional.DefaultConfig()
	gc.Region = cfg.Region
	gc.Listen = addr(cfg.BasePort)
	gc.Domains = []string{"localhost", "s3.localhost"}
	gc.InlineThreshold = cfg.InlineThreshold
	gc.Meta, gc.Data, gc.Catalog, gc.Logger = c.meta, engine, c.catalog, cfg.Logger
	if c.gateway, err = regional.New(gc); err != nil {
		return nil, err
	}
	run("regional", c.gateway.Run)
	c.Endpoint = "http://" + c.gateway.Addr()
	// Ready when a linearizable read works on every partition.
	for p := 0; p < cfg.Partitions; p++ {
		if err := waitPartition(wctx, c.meta, p); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func waitPartition(ctx context.Context, m *metaclient.Client, p int) error {
	for {
		_, err := m.ListGarbage(ctx, p, 1)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: partition %d has no leader: %w", p, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Err reports the first failure of any node (nil channel read blocks).
func (c *Cluster) Err() <-chan error { return c.errc }

// Close stops the gateway first (drain), then storage and meta nodes. Safe twice.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		if c.gateway != nil {
			_ = c.gateway.Close()
		}
		if c.view != nil {
			_ = c.view.Close()
		}
		for _, s := range c.storages {
			_ = s.Close()
		}
		if c.meta != nil {
			c.meta.Close()
		}
		for _, s := range c.metas {
			_ = s.Close()
		}
		c.cancel()
		c.wg.Wait()
		if c.catalog != nil {
			_ = c.catalog.Close()
		}
	})
}

// Storage returns the running storage nodes (tests stop some).
func (c *Cluster) Storage() []*storagesvc.Server { return c.storages }

// Meta returns the cluster's metadata client.
func (c *Cluster) Meta() *metaclient.Client { return c.meta }

// WriteEnv writes the shell-sourceable dev.env and returns its path.
func (c *Cluster) WriteEnv() (string, error) {
	p := filepath.Join(c.cfg.DataDir, "dev.env")
	var b strings.Builder
	fmt.Fprintf(&b, "# Meridian dev deployment — source this file: . %s\n", p)
	fmt.Fprintf(&b, "export AWS_ACCESS_KEY_ID=%s\n", c.Creds.AccessKey)
	fmt.Fprintf(&b, "export AWS_SECRET_ACCESS_KEY=%s\n", c.Creds.SecretKey)
	fmt.Fprintf(&b, "export AWS_DEFAULT_REGION=%s\n", c.cfg.Region)
	fmt.Fprintf(&b, "export MERIDIAN_S3_ENDPOINT=%s\n", c.Endpoint)
	fmt.Fprintf(&b, "export MERIDIAN_META=%s\n", strings.Join(c.cfg.MetaAddrs(), ","))
	return p, os.WriteFile(p, []byte(b.String()), 0o600)
}

// EnsureCredentials returns the dev account's credentials, creating the
// account and key on first start and remembering them in path.
func EnsureCredentials(ctx context.Context, cat bucketsvc.Store, path string) (Credentials, error) {
	var cr Credentials
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &cr); err != nil {
			return cr, fmt.Errorf("devcluster: %s: %w", path, err)
		}
		if _, err := cat.LookupAccessKey(ctx, cr.AccessKey); err == nil {
			return cr, nil
		}
	}
	acct, err := cat.CreateAccount(ctx, bucketsvc.Account{DisplayName: "dev"})
	if err != nil {
		return cr, err
	}
	k, err := cat.NewAccessKey(ctx, acct.ID)
	if err != nil {
		return cr, err
	}
	cr = Credentials{AccountID: acct.ID, AccessKey: k.ID, SecretKey: k.Secret}
	raw, _ := json.MarshalIndent(cr, "", "  ")
	return cr, os.WriteFile(path, raw, 0o600)
}

// LoadOrCreateKey reads a 32-byte key file, creating it with a random key when missing.
func LoadOrCreateKey(path string) ([]byte, error) {
	if k, err := os.ReadFile(path); err == nil {
		if len(k) != 32 {
			return nil, fmt.Errorf("devcluster: %s: want 32 bytes, have %d", path, len(k))
		}
		return k, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, os.WriteFile(path, k, 0o600)
}

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
//	+1        regional gateway's edge link (HTTP/3 on UDP, HTTP/2 on TCP)
//	+2        regional gateway (S3 over HTTPS; with GatewayTLS)
//	+10       edge gateway (HTTPS)
//
// Every region shares one catalog (the embedded store, in-process) and one
// dev CA under <data>/ca: edges present server certificates for localhost,
// 127.0.0.1 and *.s3.localhost, and client certificates marked as edges to
// the regions' edge links. Every internal hop is mutual TLS with node
// certificates from the same CA, each naming its role, id, region and AZ
// (internal/mtls; docs/security.md): meta nodes, storage nodes (each with
// its own heartbeat client), the gateway's metadata and storage clients.
// An admin certificate for `meridian status` and `meridian admin` is written
// to <data>/ca/<region>/admin{,-key}.pem and named in dev.env, with the
// admin API's address (MERIDIAN_ADMIN, BasePort+5: bucketsvc/adminapi).
package devcluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/background"
	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/adminapi"
	"github.com/meridian-s3/meridian/bucketsvc/embedded"
	"github.com/meridian-s3/meridian/edge"
	"github.com/meridian-s3/meridian/internal/localconn"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional"
	"github.com/meridian-s3/meridian/regional/nodeview"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/regional/regionalclient"
	"github.com/meridian-s3/meridian/regional/ssekeys"
	"github.com/meridian-s3/meridian/regional/ssekms"
	"github.com/meridian-s3/meridian/storagesvc"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
	"github.com/meridian-s3/meridian/testbed/devca"
)

// Config of a dev deployment.
type Config struct {
	DataDir string
	// Region is the first region: its regional gateway is Endpoint and its
	// edge is the default S3 endpoint.
	Region string
	// MoreRegions are further regions (each at BasePort+1000*i).
	MoreRegions []string
	// Edges runs one edge gateway per region.
	Edges bool
	// GatewayTLS gives each region's gateway an HTTPS listener for S3 too
	// (regional.Config.ListenTLS, BasePort+2), with a dev-CA certificate
	// for localhost and 127.0.0.1: Region.TLSEndpoint.
	GatewayTLS bool
	// EdgeLocalLink is each edge's transport to its own region's gateway
	// ("" is the edge's default, HTTP/2 over TCP); other regions: QUIC.
	EdgeLocalLink regionalclient.Transport
	// EdgeLinkConns is the number of HTTP/2 connections per gateway on that
	// link (0: the edge's default).
	EdgeLinkConns int
	// StorageUncachedWriteMin: storage nodes drop shards of at least this
	// many bytes from the page cache once durable (storagesvc.Config); 0
	// keeps them cached.
	StorageUncachedWriteMin int64
	// StorageDirectWriteMin: storage nodes write shards of at least this
	// many bytes with O_DIRECT (storagesvc.Config); 0 writes all buffered.
	StorageDirectWriteMin int64
	// Registry, when set, gives each node its own metrics registry
	// (`meridian dev --metrics-listen` serves them all, labelled by region
	// and node); nil: no metrics.
	Registry        func(region, node string) *prometheus.Registry
	BasePort        int
	AZs             int // storage AZs (meta nodes use the first 3)
	StoragePerAZ    int
	Partitions      int
	InlineThreshold int64
	// NoLocalSockets turns off authenticated local sockets
	// (internal/localconn; on by default here, where every node shares one
	// host): storage nodes and the gateways' edge links then serve only
	// TLS over TCP, and every internal hop is TLS.
	NoLocalSockets bool
	// NoBackground leaves out the background servers (janitor, scrubber,
	// lifecycle): `meridian bench` measures the data path alone.
	NoBackground bool
	// LifecycleDay is the length of a lifecycle day for every gateway and
	// background server (0: 24 h; tests shorten it, docs/lifecycle.md).
	LifecycleDay time.Duration
	Logger       *slog.Logger
	// TracerProvider, if set, traces every meta node, metaclient, regional
	// gateway and edge of the cluster; nil: no tracing.
	TracerProvider trace.TracerProvider
}

// DefaultConfig: us-east-1 and eu-west-1, each 4 AZs × 4 storage nodes and
// 8 partitions, with an edge per region.
func DefaultConfig() Config {
	return Config{DataDir: "./data", Region: "us-east-1", MoreRegions: []string{"eu-west-1"}, Edges: true,
		BasePort: 9000, AZs: 4, StoragePerAZ: 4, Partitions: 8,
		InlineThreshold: regional.DefaultConfig().InlineThreshold}
}

// Regions lists every region, the first one first.
func (c Config) Regions() []string { return append([]string{c.Region}, c.MoreRegions...) }

// base is the first port of region i.
func (c Config) base(i int) int { return c.BasePort + 1000*i }

// Validate checks the config.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("devcluster: DataDir is required")
	case c.AZs < 1 || c.AZs > 26:
		return errors.New("devcluster: AZs must be 1..26")
	case c.StoragePerAZ < 1:
		return errors.New("devcluster: StoragePerAZ must be ≥ 1")
	case c.BasePort < 1024 || c.BasePort+1000*len(c.MoreRegions) > 60000:
		return errors.New("devcluster: BasePort must be 1024..60000, leaving 1000 ports per region")
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
	// Created: this start created them (the secret is shown only then).
	Created bool `json:"-"`
}

// Cluster is a running dev deployment.
type Cluster struct {
	cfg Config
	log *slog.Logger
	// sockets is the local socket folder (<data>/sockets), "" when off.
	sockets string
	// Endpoint is the first region's regional gateway (plain HTTP, SigV4):
	// in-region access and the benchmarks' direct path.
	Endpoint string
	// EdgeEndpoints maps each region to its edge's HTTPS URL (when Edges).
	EdgeEndpoints map[string]string
	// CAFile is the dev CA certificate clients must trust for the edges.
	CAFile string
	// AdminAPI is the address of the admin API (bucketsvc/adminapi), served
	// with the first region's gateway certificate at BasePort+5.
	AdminAPI string
	// AdminCert and AdminKey are the first region's admin certificate
	// (meridian status --tls-cert/--tls-key, with --ca CAFile).
	AdminCert, AdminKey string
	Creds               Credentials

	catalog *embedded.Store
	regions []*Region
	edges   []*edge.Server

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	errc      chan error
	closeOnce sync.Once
}

// Region is one running region of the deployment.
type Region struct {
	Name     string
	Endpoint string // regional gateway, plain HTTP
	// TLSEndpoint is the regional gateway's HTTPS URL (GatewayTLS), ""
	// without it; its certificate chains to Cluster.CAFile.
	TLSEndpoint string
	EdgeLink    string // regional gateway's edge link (UDP and TCP), "" without edges
	metas       []*metasvc.Server
	storages    []*storagesvc.Server
	meta        *metaclient.Client
	// registrars are the storage nodes' heartbeat clients and the
	// background server's metadata client (each with its own certificate).
	registrars []*metaclient.Client
	// links: the replicator's client to every region's edge link.
	links   *regionalclient.Client
	view    *nodeview.View
	gateway *regional.Gateway
	bg      *background.Server // janitor; work leased per partition
	admin   *adminapi.Server   // first region only
	// gwNode and bgNode: the gateway's and background server's TLS
	// material (their dialers count local and TLS connections).
	gwNode, bgNode *mtls.Node
	// adminCert and adminKey: this region's admin certificate (status).
	adminCert, adminKey string
}

func azName(i int) string { return string(rune('a' + i)) }

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// MetaAddrs lists the first region's meta nodes' addresses.
func (c Config) MetaAddrs() []string { return c.metaAddrs(0) }

func (c Config) metaAddrs(r int) []string {
	var out []string
	for i := 0; i < 3; i++ {
		out = append(out, addr(c.base(r)+100+i))
	}
	return out
}

// Start brings every node up and waits until the gateways can serve.
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
	c := &Cluster{cfg: cfg, log: cfg.Logger, cancel: cancel, errc: make(chan error, 64), EdgeEndpoints: map[string]string{}}
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

	// Catalog and credentials, shared by every region and edge.
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
	caDir := filepath.Join(cfg.DataDir, "ca")
	ca, err := devca.EnsureCA(caDir)
	if err != nil {
		return nil, err
	}
	c.CAFile = filepath.Join(caDir, devca.CertFile)
	if !cfg.NoLocalSockets {
		if c.sockets, err = filepath.Abs(filepath.Join(cfg.DataDir, "sockets")); err != nil {
			return nil, err
		}
		if p := localconn.SocketPath(c.sockets, "127.0.0.1:65535"); len(p) > localconn.MaxPath {
			c.log.Warn("devcluster: data folder too deep for socket paths; local sockets off", "path", p)
			c.sockets = ""
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
	defer wcancel()
	for i, name := range cfg.Regions() {
		r, err := c.startRegion(wctx, run, i, name, ca)
		if err != nil {
			return nil, fmt.Errorf("devcluster: region %s: %w", name, err)
		}
		c.regions = append(c.regions, r)
	}
	c.Endpoint = c.regions[0].Endpoint
	if cfg.Edges {
		links := map[string][]string{}
		for _, r := range c.regions {
			links[r.Name] = []string{r.EdgeLink}
		}
		for i, r := range c.regions {
			e, err := c.startEdge(run, i, r.Name, links, ca)
			if err != nil {
				return nil, fmt.Errorf("devcluster: edge %s: %w", r.Name, err)
			}
			c.edges = append(c.edges, e)
			_, port, _ := net.SplitHostPort(e.Addr())
			c.EdgeEndpoints[r.Name] = "https://localhost:" + port
		}
	}
	return c, nil
}

func (c *Cluster) startRegion(ctx context.Context, run func(string, func(context.Context) error), ri int, name string, ca *devca.CA) (*Region, error) {
	cfg := c.cfg
	base := cfg.base(ri)
	regionDir := filepath.Join(cfg.DataDir, name)
	log := cfg.Logger.With("region", name)
	r := &Region{Name: name}
	node := func(role mtls.Role, id, az string) (*mtls.Node, error) {
		n, err := ca.Node(mtls.Identity{Role: role, ID: id, Region: name, AZ: az})
		if err == nil && role != mtls.RoleMeta {
			// Storage nodes serve their local sockets, gateways and
			// background servers dial them (meta nodes speak only TLS).
			n.SetLocalDir(c.sockets, log)
		}
		return n, err
	}
	certDir := filepath.Join(cfg.DataDir, "ca", name)
	adminCert, adminKey, err := ca.WriteNodeFiles(certDir, "admin", mtls.Identity{Role: mtls.RoleAdmin, ID: "admin", Region: name}, nil, nil)
	if err != nil {
		return nil, err
	}
	if ri == 0 {
		c.AdminCert, c.AdminKey = adminCert, adminKey
	}
	r.adminCert, r.adminKey = adminCert, adminKey
	gwNode, err := node(mtls.RoleGateway, "regional", "")
	if err != nil {
		return nil, err
	}
	r.gwNode = gwNode

	var peers []metapb.MetaNode
	for i, a := range cfg.metaAddrs(ri) {
		peers = append(peers, metapb.MetaNode{ID: "meta-" + azName(i), AZ: azName(i), Addr: a})
	}
	for _, p := range peers {
		mc := metasvc.DefaultConfig()
		mc.NodeID, mc.AZ, mc.Listen, mc.Advertise = p.ID, p.AZ, p.Addr, p.Addr
		mc.DataDir = filepath.Join(regionDir, p.ID)
		mc.Region, mc.Partitions, mc.Peers, mc.Bootstrap = name, cfg.Partitions, peers, true
		mc.Logger = log // metasvc adds its node id
		if reg := c.registry(name, p.ID); reg != nil {
			mc.Registry = reg
		}
		mc.TracerProvider = cfg.TracerProvider
		if mc.TLS, err = node(mtls.RoleMeta, p.ID, p.AZ); err != nil {
			return nil, err
		}
		s, err := metasvc.New(mc)
		if err != nil {
			return nil, err
		}
		r.metas = append(r.metas, s)
		run(name+"/"+p.ID, s.Run)
	}
	mcc := metaclient.DefaultConfig()
	mcc.Seeds = cfg.metaAddrs(ri)
	mcc.Logger = log
	mcc.TracerProvider = cfg.TracerProvider
	mcc.TLS = gwNode
	if r.meta, err = metaclient.New(mcc); err != nil {
		return nil, err
	}
	for az := 0; az < cfg.AZs; az++ {
		for j := 0; j < cfg.StoragePerAZ; j++ {
			idx := az*cfg.StoragePerAZ + j
			id := fmt.Sprintf("storage-%s%d", azName(az), j+1)
			sc := storagesvc.DefaultConfig()
			sc.NodeID, sc.AZ = id, azName(az)
			sc.DataDir = filepath.Join(regionDir, id)
			sc.Listen = addr(base + 200 + idx)
			sc.Advertise = sc.Listen
			sc.UncachedWriteMinBytes = cfg.StorageUncachedWriteMin
			sc.DirectWriteMinBytes = cfg.StorageDirectWriteMin
			if sc.TLS, err = node(mtls.RoleStorage, id, sc.AZ); err != nil {
				return nil, err
			}
			// Each node heartbeats with its own certificate: the control
			// plane accepts a heartbeat only for the node it names.
			hc := metaclient.DefaultConfig()
			hc.Seeds, hc.Partitions, hc.Logger, hc.TLS = cfg.metaAddrs(ri), cfg.Partitions, log, sc.TLS
			reg, err := metaclient.New(hc)
			if err != nil {
				return nil, err
			}
			r.registrars = append(r.registrars, reg)
			sc.Registrar = reg
			sc.Logger = log // storagesvc adds its node id
			sc.Registry = c.registry(name, id)
			s, err := storagesvc.New(sc)
			if err != nil {
				return nil, err
			}
			r.storages = append(r.storages, s)
			run(name+"/"+id, s.Run)
		}
	}
	r.view = nodeview.New(r.meta, time.Second, log)
	if err := r.view.Wait(ctx, cfg.AZs*cfg.StoragePerAZ); err != nil {
		return nil, fmt.Errorf("storage nodes did not register: %w", err)
	}
	oc := objectio.DefaultConfig()
	oc.Client = storageclient.NewTLS(gwNode)
	oc.Nodes = r.view.Nodes // all nodes with health: placement uses healthy ones, reads fall back to the rest
	oc.FreshNodes = r.view.Fresh
	oc.Logger = log
	engine, err := objectio.New(oc)
	if err != nil {
		return nil, err
	}
	gc := regional.DefaultConfig()
	gc.Region = name
	gc.Listen = addr(base)
	gc.Domains = []string{"localhost", "s3.localhost"}
	gc.InlineThreshold = cfg.InlineThreshold
	gc.Meta, gc.Data, gc.Catalog, gc.Logger = r.meta, engine, c.catalog, cfg.Logger // the gateway adds part and region
	if ks, ok := any(c.catalog).(bucketsvc.ServerKeyStore); ok {
		gc.SSEKeys = ssekeys.New(ks, name) // SSE-S3 master keys in the catalog (docs/sse.md)
		gc.KMS = ssekms.New(ks, name)      // the built-in key service of SSE-KMS
	}
	gc.Registry = c.registry(name, "regional")
	gc.LifecycleDay = cfg.LifecycleDay
	gc.TracerProvider = c.cfg.TracerProvider
	if cfg.Edges {
		// The link certificate carries the gateway's identity: edges check
		// it by name, other regions' replicators by identity (role gateway).
		cert, err := ca.IssueNode(mtls.Identity{Role: mtls.RoleGateway, ID: "regional", Region: name},
			[]string{"localhost", "regional." + name + ".localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, err
		}
		gc.EdgeListen = addr(base + 1)
		gc.LocalSocketDir = c.sockets
		gc.EdgeTLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: ca.Pool(),
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13}
	}
	if cfg.GatewayTLS {
		cert, err := ca.IssueServer([]string{"localhost", "s3.localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, err
		}
		gc.ListenTLS = addr(base + 2)
		gc.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if r.gateway, err = regional.New(gc); err != nil {
		return nil, err
	}
	run(name+"/regional", r.gateway.Run)
	if ri == 0 {
		// The admin API, with the gateway's identity: operators' tools
		// reach the catalog through it, not through its file.
		if r.admin, err = adminapi.Listen(addr(base+5), gwNode, name, c.catalog, log.With("part", "adminapi")); err != nil {
			return nil, err
		}
		c.AdminAPI = r.admin.Addr()
		run(name+"/adminapi", r.admin.Run)
	}
	// The background server has its own identity (role background), its
	// own metadata client and storage client.
	if !cfg.NoBackground {
		bgNode, err := node(mtls.RoleBackground, "background", "")
		if err != nil {
			return nil, err
		}
		r.bgNode = bgNode
		bmc := mcc
		bmc.Partitions, bmc.TLS = cfg.Partitions, bgNode
		bgMeta, err := metaclient.New(bmc)
		if err != nil {
			return nil, err
		}
		r.registrars = append(r.registrars, bgMeta)
		boc := oc
		bgShards := storageclient.NewTLS(bgNode)
		boc.Client = bgShards
		bgEngine, err := objectio.New(boc)
		if err != nil {
			return nil, err
		}
		var links background.ReplicaLinks
		if cfg.Edges {
			// The replicator reaches every region's gateway on its edge link
			// (fixed ports: regions not started yet are dialled when needed).
			lc := regionalclient.DefaultConfig()
			// A destination gateway that died without closing its QUIC
			// connection (kill -9, a host gone) is noticed within IdleTimeout:
			// keep-alives go unanswered. Edges keep the longer defaults.
			lc.IdleTimeout, lc.KeepAlive = background.ReplicationLinkIdle, background.ReplicationLinkKeepAlive
			lc.QUICConns = background.ReplicationLinkConns
			lc.Regions = map[string][]string{}
			for j, other := range cfg.Regions() {
				lc.Regions[other] = []string{addr(cfg.base(j) + 1)}
			}
			lc.TLS, lc.Logger = bgNode.ClientConfig(mtls.RoleGateway), log
			if r.links, err = regionalclient.New(lc); err != nil {
				return nil, err
			}
			links = r.links
		}
		if r.bg, err = startBackground(name, bgMeta, bgEngine, bgShards, boc.Nodes, c.catalog, links, cfg.LifecycleDay, c.registry(name, "background"), log); err != nil {
			return nil, err
		}
		run(name+"/background", r.bg.Run)
	}
	r.Endpoint = "http://" + r.gateway.Addr()
	if a := r.gateway.TLSAddr(); a != "" {
		_, port, _ := net.SplitHostPort(a)
		r.TLSEndpoint = "https://localhost:" + port
	}
	if cfg.Edges {
		r.EdgeLink = r.gateway.EdgeAddr()
	}
	// Ready when a linearizable read works on every partition.
	for p := 0; p < cfg.Partitions; p++ {
		if err := waitPartition(ctx, r.meta, p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (c *Cluster) startEdge(run func(string, func(context.Context) error), ri int, region string, links map[string][]string, ca *devca.CA) (*edge.Server, error) {
	srv, err := ca.IssueServer([]string{"localhost", "s3.localhost", "*.s3.localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	client, err := ca.IssueClient("edge-"+region, "edge")
	if err != nil {
		return nil, err
	}
	ec := edge.DefaultConfig()
	ec.Region, ec.Regions = region, links
	if c.cfg.EdgeLocalLink != "" {
		ec.LocalLink = c.cfg.EdgeLocalLink
	}
	if c.cfg.EdgeLinkConns > 0 {
		ec.LocalLinkConns = c.cfg.EdgeLinkConns
	}
	ec.Listen = addr(c.cfg.base(ri) + 10)
	ec.LocalSocketDir = c.sockets
	ec.TLSCert, ec.ClientCert, ec.RootCAs = &srv, &client, ca.Pool()
	ec.Domains = []string{"s3.localhost"}
	ec.Catalog = c.catalog
	ec.Logger = c.cfg.Logger // the edge adds part and region
	ec.Registry = c.registry(region, "edge")
	ec.TracerProvider = c.cfg.TracerProvider
	e, err := edge.New(ec)
	if err != nil {
		return nil, err
	}
	run(region+"/edge", e.Run)
	return e, nil
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

// Err reports the first failure of any node.
func (c *Cluster) Err() <-chan error { return c.errc }

// Close stops the edges and gateways first (drain), then storage and meta
// nodes. Safe twice.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		for _, e := range c.edges {
			_ = e.Close()
		}
		for _, r := range c.regions {
			if r.gateway != nil {
				_ = r.gateway.Close()
			}
			if r.admin != nil {
				_ = r.admin.Close()
			}
			if r.bg != nil {
				_ = r.bg.Close()
			}
			if r.links != nil {
				_ = r.links.Close()
			}
			if r.view != nil {
				_ = r.view.Close()
			}
		}
		for _, r := range c.regions {
			for _, s := range r.storages {
				_ = s.Close()
			}
			if r.meta != nil {
				r.meta.Close()
			}
			for _, m := range r.registrars {
				m.Close()
			}
			for _, s := range r.metas {
				_ = s.Close()
			}
		}
		c.cancel()
		c.wg.Wait()
		if c.catalog != nil {
			_ = c.catalog.Close()
		}
	})
}

// Regions returns the running regions, the first one first.
func (c *Cluster) Regions() []*Region { return c.regions }

// Storage returns the first region's storage nodes (tests stop some).
func (c *Cluster) Storage() []*storagesvc.Server { return c.regions[0].storages }

// Meta returns the first region's metadata client.
// LocalSockets is the local socket folder, "" when local sockets are off.
func (c *Cluster) LocalSockets() string { return c.sockets }

// EdgeLinkStats is what the first region's edge used to reach its own
// region's gateway (zero without edges).
func (c *Cluster) EdgeLinkStats() regionalclient.LinkStats {
	if len(c.edges) == 0 {
		return regionalclient.LinkStats{}
	}
	return c.edges[0].LinkStats()
}

// StorageDials is what the first region's gateway and background server
// dialed to reach storage nodes, so far.
func (c *Cluster) StorageDials() mtls.DialStats {
	var st mtls.DialStats
	r := c.regions[0]
	for _, n := range []*mtls.Node{r.gwNode, r.bgNode} {
		if n == nil {
			continue
		}
		d := n.DialStats(mtls.RoleStorage)
		st.Local += d.Local
		st.TLS += d.TLS
		st.LocalFailed += d.LocalFailed
	}
	return st
}

func (c *Cluster) Meta() *metaclient.Client { return c.regions[0].meta }

// WriteEnv writes the shell-sourceable dev.env and returns its path.
func (c *Cluster) WriteEnv() (string, error) {
	p := filepath.Join(c.cfg.DataDir, "dev.env")
	var b strings.Builder
	fmt.Fprintf(&b, "# Meridian dev deployment — source this file: . %s\n", p)
	fmt.Fprintf(&b, "export AWS_ACCESS_KEY_ID=%s\n", c.Creds.AccessKey)
	fmt.Fprintf(&b, "export AWS_SECRET_ACCESS_KEY=%s\n", c.Creds.SecretKey)
	fmt.Fprintf(&b, "export AWS_DEFAULT_REGION=%s\n", c.cfg.Region)
	if ep, ok := c.EdgeEndpoints[c.cfg.Region]; ok {
		abs, _ := filepath.Abs(c.CAFile)
		fmt.Fprintf(&b, "export AWS_CA_BUNDLE=%s\n", abs)
		fmt.Fprintf(&b, "export MERIDIAN_S3_ENDPOINT=%s\n", ep)
		for _, r := range c.cfg.MoreRegions {
			suffix := strings.ToUpper(strings.SplitN(r, "-", 2)[0])
			fmt.Fprintf(&b, "export MERIDIAN_S3_ENDPOINT_%s=%s\n", suffix, c.EdgeEndpoints[r])
		}
	} else {
		fmt.Fprintf(&b, "export MERIDIAN_S3_ENDPOINT=%s\n", c.Endpoint)
	}
	for _, r := range c.regions {
		fmt.Fprintf(&b, "export MERIDIAN_REGIONAL_%s=%s\n", strings.ToUpper(strings.ReplaceAll(r.Name, "-", "_")), r.Endpoint)
	}
	fmt.Fprintf(&b, "export MERIDIAN_META=%s\n", strings.Join(c.cfg.MetaAddrs(), ","))
	if c.AdminAPI != "" {
		fmt.Fprintf(&b, "export MERIDIAN_ADMIN=%s\n", c.AdminAPI)
	}
	// Every region's metadata nodes and admin certificate, for `meridian
	// status` over all regions (an admin certificate is region-scoped).
	fmt.Fprintf(&b, "export MERIDIAN_REGIONS=%s\n", strings.Join(c.cfg.Regions(), ","))
	for i, r := range c.regions {
		suffix := EnvSuffix(r.Name)
		certAbs, _ := filepath.Abs(r.adminCert)
		keyAbs, _ := filepath.Abs(r.adminKey)
		fmt.Fprintf(&b, "export MERIDIAN_META_%s=%s\nexport MERIDIAN_TLS_CERT_%s=%s\nexport MERIDIAN_TLS_KEY_%s=%s\n",
			suffix, strings.Join(c.cfg.metaAddrs(i), ","), suffix, certAbs, suffix, keyAbs)
	}
	for _, kv := range [][2]string{{"MERIDIAN_CA", c.CAFile}, {"MERIDIAN_TLS_CERT", c.AdminCert}, {"MERIDIAN_TLS_KEY", c.AdminKey}} {
		abs, _ := filepath.Abs(kv[1])
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], abs)
	}
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
	cr = Credentials{AccountID: acct.ID, AccessKey: k.ID, SecretKey: k.Secret, Created: true}
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

// EnvSuffix turns a region name into an environment variable suffix
// (us-east-1 → US_EAST_1).
func EnvSuffix(region string) string {
	return strings.ToUpper(strings.ReplaceAll(region, "-", "_"))
}

// registry is node's own metrics registry, or nil without Config.Registry.
func (c *Cluster) registry(region, node string) *prometheus.Registry {
	if c.cfg.Registry == nil {
		return nil
	}
	return c.cfg.Registry(region, node)
}

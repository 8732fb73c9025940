package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/adminapi"
	"github.com/meridian-s3/meridian/bucketsvc/embedded"
	"github.com/meridian-s3/meridian/bucketsvc/sqlstore"
	"github.com/meridian-s3/meridian/edge"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/internal/s3lifecycle"
	"github.com/meridian-s3/meridian/metasvc"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional"
	"github.com/meridian-s3/meridian/regional/regionalclient"
	"github.com/meridian-s3/meridian/regional/ssekeys"
	"github.com/meridian-s3/meridian/regional/ssekms"
	"github.com/meridian-s3/meridian/storagesvc"
	"github.com/meridian-s3/meridian/testbed/devca"
	"github.com/meridian-s3/meridian/testbed/devcluster"
)

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseSize accepts bytes with an optional KiB/MiB/GiB/TiB suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suf); ok {
			s, mult = v, u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// parsePeers parses "id=az@host:port,…".
func parsePeers(s string) ([]metapb.MetaNode, error) {
	var out []metapb.MetaNode
	for _, p := range splitList(s) {
		id, rest, ok1 := strings.Cut(p, "=")
		az, addr, ok2 := strings.Cut(rest, "@")
		if !ok1 || !ok2 || id == "" || az == "" || addr == "" {
			return nil, fmt.Errorf("bad peer %q: want id=az@host:port", p)
		}
		out = append(out, metapb.MetaNode{ID: id, AZ: az, Addr: addr})
	}
	return out, nil
}

// tlsFlags are every internal role's mutual-TLS flags (docs/security.md):
// the node's certificate and key, and the region CA.
type tlsFlags struct{ cert, key, ca *string }

func nodeTLSFlags(fs *flag.FlagSet, what string) tlsFlags {
	return tlsFlags{
		cert: fs.String("tls-cert", os.Getenv("MERIDIAN_TLS_CERT"), what+" certificate (PEM; `meridian devcerts` writes them) [$MERIDIAN_TLS_CERT]"),
		key:  fs.String("tls-key", os.Getenv("MERIDIAN_TLS_KEY"), what+" key (PEM) [$MERIDIAN_TLS_KEY]"),
		ca:   fs.String("ca", os.Getenv("MERIDIAN_CA"), "region CA (PEM) that signs every internal node's certificate [$MERIDIAN_CA]"),
	}
}

// localSocketFlag is --local-socket-dir: authenticated local sockets
// (internal/localconn) for processes that share a host. Off by default.
func localSocketFlag(fs *flag.FlagSet, what string) *string {
	return fs.String("local-socket-dir", os.Getenv("MERIDIAN_LOCAL_SOCKET_DIR"),
		"folder of authenticated local sockets (Unix sockets, the same certificates, no TLS) for peers on this host: "+what+
			"; every process sharing it must run as the same user; default: off [$MERIDIAN_LOCAL_SOCKET_DIR]")
}

// load reads the files and checks that the certificate names role.
func (f tlsFlags) load(role mtls.Role) (*mtls.Node, error) {
	n, err := mtls.Load(*f.ca, *f.cert, *f.key)
	if err != nil {
		return nil, fmt.Errorf("--ca/--tls-cert/--tls-key: %w", err)
	}
	if n.Identity.Role != role {
		return nil, fmt.Errorf("--tls-cert names %s, want role %s", n.Identity, role)
	}
	return n, nil
}

func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	cfg := devcluster.DefaultConfig()
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data folder (kept across restarts)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "first region (its edge is the default endpoint)")
	more := fs.String("more-regions", strings.Join(cfg.MoreRegions, ","), "further regions (comma-separated; each uses the next 1000 ports)")
	fs.BoolVar(&cfg.Edges, "edges", cfg.Edges, "run a TLS edge gateway per region")
	fs.BoolVar(&cfg.GatewayTLS, "gateway-tls", true, "each regional gateway serves S3 over HTTPS too (base port + 2; dev CA certificate)")
	fs.IntVar(&cfg.BasePort, "base-port", cfg.BasePort, "first port; nodes use fixed offsets from it")
	fs.IntVar(&cfg.AZs, "azs", cfg.AZs, "availability zones for storage nodes")
	fs.IntVar(&cfg.StoragePerAZ, "storage-per-az", cfg.StoragePerAZ, "storage nodes per AZ")
	fs.IntVar(&cfg.Partitions, "partitions", cfg.Partitions, "metadata partitions (fixed at creation)")
	inline := fs.String("inline-threshold", strconv.FormatInt(cfg.InlineThreshold, 10), "largest object stored inline in metadata")
	obs := observabilityFlags(fs, "warn", true, false)
	pprofAddr := fs.String("pprof-listen", "", "host:port serving Go's /debug/pprof (heap, goroutine profiles; default: off)")
	memLimit := fs.String("memory-limit", "448MiB", "soft memory limit of the process (Go's GOMEMLIMIT, which takes precedence when set; 0: none)")
	metricsAddr := fs.String("metrics-listen", "", "host:port serving every node's Prometheus metrics on /metrics (labels region, node), and /healthz and /readyz (default: off)")
	localSockets := fs.Bool("local-sockets", true, "authenticated local sockets in <data>/sockets for the storage hop and each edge's link to its region (false: TLS over TCP on every hop)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.NoLocalSockets = !*localSockets
	var err error
	if cfg.InlineThreshold, err = parseSize(*inline); err != nil {
		return err
	}
	if err := startPprof(ctx, *pprofAddr); err != nil {
		return err
	}
	if err := setMemoryLimit(*memLimit); err != nil {
		return err
	}
	o, err := obs.start(ctx, "dev")
	if err != nil {
		return err
	}
	defer o.stop()
	cfg.Logger = o.log
	cfg.TracerProvider = o.tracer
	cfg.MoreRegions = splitList(*more)
	if cfg.LifecycleDay, err = lifecycleDay(cfg.Logger); err != nil {
		return err
	}
	devHealth := &health{}
	if *metricsAddr != "" {
		regs := newNodeRegistries()
		cfg.Registry = regs.For
		if err := serveGatherer(ctx, *metricsAddr, regs, o.log, devHealth); err != nil {
			return err
		}
	}
	fmt.Printf("meridian dev: starting %s in %s …\n", strings.Join(cfg.Regions(), " and "), cfg.DataDir)
	c, err := devcluster.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	envPath, err := c.WriteEnv()
	if err != nil {
		return err
	}
	devHealth.readyWhen(func() bool { return true })
	fmt.Printf("\nMeridian is running: regions %s, each %d AZs, %d storage nodes, %d partitions.\n\n",
		strings.Join(cfg.Regions(), ", "), cfg.AZs, cfg.AZs*cfg.StoragePerAZ, cfg.Partitions)
	for _, r := range c.Regions() {
		if ep, ok := c.EdgeEndpoints[r.Name]; ok {
			fmt.Printf("  %-10s edge (HTTPS): %s   regional gateway (HTTP, in-region): %s\n", r.Name, ep, r.Endpoint)
		} else {
			fmt.Printf("  %-10s regional gateway (HTTP): %s\n", r.Name, r.Endpoint)
		}
	}
	for _, r := range c.Regions() {
		if r.TLSEndpoint != "" {
			fmt.Printf("  %-10s HTTPS to the regional gateway (in-region): %s\n", r.Name, r.TLSEndpoint)
		}
	}
	if c.CAFile != "" {
		fmt.Printf("  CA file:               %s\n", c.CAFile)
	}
	// The secret is shown once, when it is created; later starts point at
	// the environment file (mode 0600) instead of printing it again.
	secret := "(in the environment file below)"
	if c.Creds.Created {
		secret = c.Creds.SecretKey + "   (shown once; kept in the environment file below)"
	}
	fmt.Printf("  AWS_ACCESS_KEY_ID:     %s\n  AWS_SECRET_ACCESS_KEY: %s\n  AWS_DEFAULT_REGION:    %s\n", c.Creds.AccessKey, secret, cfg.Region)
	fmt.Printf("  environment file:      %s\n\n", envPath)
	fmt.Printf("Try:  . %s\n      aws --endpoint-url \"$MERIDIAN_S3_ENDPOINT\" s3 mb s3://demo\n", envPath)
	fmt.Printf("Ctrl-C stops it; data stays in %s.\n", cfg.DataDir)
	select {
	case <-ctx.Done():
		fmt.Println("\nmeridian dev: shutting down …")
		return nil
	case err := <-c.Err():
		return err
	}
}

func runMeta(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("meta", flag.ContinueOnError)
	cfg := metasvc.DefaultConfig()
	fs.StringVar(&cfg.NodeID, "id", "", "node id (must appear in --peers)")
	fs.StringVar(&cfg.AZ, "az", "", "availability zone")
	fs.StringVar(&cfg.DataDir, "data", "", "data folder")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "host:port for Raft and RPC")
	fs.StringVar(&cfg.Advertise, "advertise", "", "address peers dial (default: --listen)")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "region name")
	fs.IntVar(&cfg.Partitions, "partitions", cfg.Partitions, "metadata partitions (fixed at creation)")
	peers := fs.String("peers", "", "initial meta nodes: id=az@host:port,…")
	fs.BoolVar(&cfg.Bootstrap, "bootstrap", false, "bootstrap the Raft groups when no state exists")
	tf := nodeTLSFlags(fs, "this meta node's")
	obs := observabilityFlags(fs, "info", true, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if cfg.Peers, err = parsePeers(*peers); err != nil {
		return err
	}
	if cfg.TLS, err = tf.load(mtls.RoleMeta); err != nil {
		return err
	}
	if cfg.Advertise == "" {
		cfg.Advertise = cfg.Listen
	}
	o, err := obs.start(ctx, "meta")
	if err != nil {
		return err
	}
	defer o.stop()
	cfg.Logger = o.log
	cfg.TracerProvider = o.tracer
	if o.registry != nil {
		cfg.Registry = o.registry
	}
	s, err := metasvc.New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	o.readyWhen(s.Ready)
	return s.Run(ctx)
}

func runStorage(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("storage", flag.ContinueOnError)
	cfg := storagesvc.DefaultConfig()
	fs.StringVar(&cfg.NodeID, "id", "", "node id")
	fs.StringVar(&cfg.AZ, "az", "", "availability zone")
	fs.StringVar(&cfg.DataDir, "data", "", "data folder")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "host:port of the shard API")
	fs.StringVar(&cfg.Advertise, "advertise", "", "address gateways dial (default: --listen)")
	capacity := fs.String("capacity", "100GiB", "capacity to advertise")
	fs.Float64Var(&cfg.CompactRatio, "compact-ratio", cfg.CompactRatio, "compact volumes whose live fraction is below this (bytes on disk ≤ live bytes / ratio, plus the active volume)")
	fs.DurationVar(&cfg.CompactInterval, "compact-interval", cfg.CompactInterval, "how often compaction looks for volumes to compact (0: never)")
	compactMin := fs.String("compact-min-dead", "64MiB", "seal the active volume for compaction once it holds this much dead space (0: only full volumes)")
	compactRate := fs.String("compact-rate", "64MiB", "bytes per second compaction may copy (0: unlimited)")
	uncachedMin := fs.String("uncached-write-min", "0", "drop shards of at least this size from the page cache once durable (0: keep all cached; docs/performance.md)")
	directMin := fs.String("direct-write-min", "0", "write shards of at least this size with O_DIRECT: less CPU, not cached afterwards (0: all through the page cache; docs/performance.md)")
	meta := fs.String("meta", "", "meta node addresses host:port,… (for registration and heartbeats)")
	tf := nodeTLSFlags(fs, "this storage node's")
	localDir := localSocketFlag(fs, "serve the shard API there too (named by --advertise)")
	obs := observabilityFlags(fs, "info", false, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if cfg.CapacityBytes, err = parseSize(*capacity); err != nil {
		return err
	}
	if cfg.CompactMinBytes, err = parseSize(*compactMin); err != nil {
		return fmt.Errorf("--compact-min-dead: %w", err)
	}
	if cfg.CompactBytesPerSec, err = parseSize(*compactRate); err != nil {
		return fmt.Errorf("--compact-rate: %w", err)
	}
	if cfg.UncachedWriteMinBytes, err = parseSize(*uncachedMin); err != nil {
		return fmt.Errorf("--uncached-write-min: %w", err)
	}
	if cfg.DirectWriteMinBytes, err = parseSize(*directMin); err != nil {
		return fmt.Errorf("--direct-write-min: %w", err)
	}
	if cfg.TLS, err = tf.load(mtls.RoleStorage); err != nil {
		return err
	}
	if cfg.Advertise == "" {
		cfg.Advertise = cfg.Listen
	}
	o, err := obs.start(ctx, "storage")
	if err != nil {
		return err
	}
	defer o.stop()
	cfg.Logger = o.log
	if o.registry != nil {
		cfg.Registry = o.registry
	}
	cfg.TLS.SetLocalDir(*localDir, cfg.Logger)
	if *meta != "" {
		mc := metaclient.DefaultConfig()
		mc.DiscoverTimeout = serverDiscoverTimeout
		mc.Seeds = splitList(*meta)
		mc.Logger = cfg.Logger
		mc.TLS = cfg.TLS // heartbeats speak for the node the certificate names
		client, err := metaclient.New(mc)
		if err != nil {
			return err
		}
		defer client.Close()
		cfg.Registrar = client
	}
	s, err := storagesvc.New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	o.readyWhen(closed(s.Ready()))
	return s.Run(ctx)
}

func runRegional(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("regional", flag.ContinueOnError)
	cfg := regional.DefaultConfig()
	fs.StringVar(&cfg.Region, "region", cfg.Region, "region name")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "host:port for S3")
	fs.StringVar(&cfg.ListenTLS, "listen-tls", "", "host:port for S3 over HTTPS too (HTTP/1.1 and HTTP/2; serves --listen-tls-cert; default: off)")
	s3Cert := fs.String("listen-tls-cert", "", "server certificate (PEM) of --listen-tls, with names clients check (not the node certificate --tls-cert)")
	s3Key := fs.String("listen-tls-key", "", "key (PEM) of --listen-tls-cert")
	domains := fs.String("domain", "localhost", "domains for virtual-hosted-style requests (comma-separated)")
	meta := fs.String("meta", "", "meta node addresses host:port,…")
	cat := catalogFlags(fs)
	inline := fs.String("inline-threshold", strconv.FormatInt(cfg.InlineThreshold, 10), "largest object stored inline in metadata")
	fs.StringVar(&cfg.EdgeListen, "edge-listen", "", "host:port of the edge link: HTTP/3 on UDP for other regions' edges, HTTP/2 on TCP (same port) for this region's (serves --tls-cert; edges' client certificates must chain to --client-ca)")
	tf := nodeTLSFlags(fs, "this gateway's (role gateway; also the edge link's server)")
	localDir := localSocketFlag(fs, "dial storage nodes' local sockets, and serve the edge link's HTTP/2 listener there too (named by --edge-listen)")
	clientCA := fs.String("client-ca", "", "CA (PEM) that signs edge client certificates (default: --ca)")
	adminListen := fs.String("admin-listen", "", "host:port of the admin API (bucketsvc/adminapi: mutual TLS, admin certificates of this region only; default: off)")
	bodyTimeoutFlags(fs, &cfg.BodyIdleTimeout, &cfg.BodyTotalTimeout)
	obs := observabilityFlags(fs, "info", true, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *meta == "" {
		return errors.New("regional: --meta is required")
	}
	s3TLS, err := s3ServerTLS(cfg.ListenTLS, *s3Cert, *s3Key)
	if err != nil {
		return fmt.Errorf("regional: %w", err)
	}
	cfg.ServerTLS = s3TLS
	node, err := tf.load(mtls.RoleGateway)
	if err != nil {
		return fmt.Errorf("regional: %w", err)
	}
	if *clientCA == "" {
		*clientCA = *tf.ca
	}
	if cfg.EdgeListen != "" {
		tc, err := serverTLS(*tf.cert, *tf.key, *clientCA)
		if err != nil {
			return fmt.Errorf("regional: edge link: %w", err)
		}
		cfg.EdgeTLS = tc
	}
	o, err := obs.start(ctx, "regional")
	if err != nil {
		return err
	}
	defer o.stop()
	if cfg.InlineThreshold, err = parseSize(*inline); err != nil {
		return err
	}
	cfg.Logger = o.log
	cfg.TracerProvider = o.tracer
	if o.registry != nil {
		cfg.Registry = o.registry
	}
	node.SetLocalDir(*localDir, cfg.Logger)
	cfg.LocalSocketDir = *localDir
	cfg.Domains = splitList(*domains)
	catalog, err := cat.open(ctx, cfg.Logger)
	if err != nil {
		return err
	}
	defer catalog.Close()
	rc, err := openRegionClients(*meta, node, o)
	if err != nil {
		return err
	}
	defer rc.Close()
	cfg.Meta, cfg.Data, cfg.Catalog = rc.meta, rc.data, catalog
	if ks, ok := catalog.(bucketsvc.ServerKeyStore); ok {
		cfg.SSEKeys = ssekeys.New(ks, cfg.Region) // SSE-S3 master keys, sealed in the catalog (docs/sse.md)
		cfg.KMS = ssekms.New(ks, cfg.Region)      // the built-in key service of SSE-KMS
	}
	if cfg.LifecycleDay, err = lifecycleDay(cfg.Logger); err != nil {
		return err
	}
	if spec := os.Getenv(regional.EnvTestFaults); spec != "" {
		// Test-only fault injection (testbed/e2e); see regional/faults.go.
		if cfg.BeforeCommit, err = regional.ParseTestFaults(spec); err != nil {
			return err
		}
		cfg.Logger.Warn("TEST FAULT HOOKS ENABLED: PUTs under the configured key prefix are delayed before COMMIT; never use in production", "env", regional.EnvTestFaults, "spec", spec)
	}
	g, err := regional.New(cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	if *adminListen != "" {
		as, err := adminapi.Listen(*adminListen, node, cfg.Region, catalog, cfg.Logger.With("part", "adminapi"))
		if err != nil {
			return err
		}
		defer as.Close()
		go func() {
			if err := as.Run(ctx); err != nil {
				cfg.Logger.Error("admin api stopped", "err", err)
			}
		}()
	}
	o.readyWhen(closed(g.Ready()))
	return g.Run(ctx)
}

// catalogOpts selects the bucket catalog: the embedded file or SQL.
type catalogOpts struct{ path, key, sql *string }

func catalogFlags(fs *flag.FlagSet) catalogOpts {
	return catalogOpts{
		path: fs.String("catalog", "", "embedded catalog file (bbolt; one process only)"),
		key:  fs.String("catalog-key", "", "file with the 32-byte key sealing access-key secrets (created if missing)"),
		sql:  fs.String("sql", "", "catalog on CockroachDB/PostgreSQL: a postgres:// DSN (instead of --catalog)"),
	}
}

func (o catalogOpts) open(ctx context.Context, log *slog.Logger) (bucketsvc.Store, error) {
	if *o.key == "" || (*o.path == "") == (*o.sql == "") {
		return nil, errors.New("catalog: --catalog-key and exactly one of --catalog or --sql are required")
	}
	key, err := devcluster.LoadOrCreateKey(*o.key)
	if err != nil {
		return nil, err
	}
	if *o.sql != "" {
		sc := sqlstore.DefaultConfig()
		sc.EncryptionKey, sc.Logger = key, log
		return sqlstore.Open(ctx, *o.sql, sc)
	}
	ecfg := embedded.DefaultConfig()
	ecfg.EncryptionKey, ecfg.Logger = key, log
	return embedded.Open(*o.path, ecfg)
}

// serverTLS: a server certificate that requires client certificates from ca.
func serverTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" || caFile == "" {
		return nil, errors.New("--tls-cert, --tls-key and --client-ca are required")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificates", caFile)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13}, nil
}

// s3ServerTLS is the TLS config of the regional gateway's HTTPS listener
// (--listen-tls): nil when it is off; the certificate and key are required
// with it and refused without it.
func s3ServerTLS(listen, certFile, keyFile string) (*tls.Config, error) {
	if listen == "" {
		if certFile != "" || keyFile != "" {
			return nil, errors.New("--listen-tls-cert and --listen-tls-key need --listen-tls")
		}
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--listen-tls needs --listen-tls-cert and --listen-tls-key")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--listen-tls-cert/--listen-tls-key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// parseRegions parses "region=addr|addr,region=addr".
func parseRegions(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, item := range splitList(s) {
		name, addrs, ok := strings.Cut(item, "=")
		if !ok || name == "" || addrs == "" {
			return nil, fmt.Errorf("bad region %q: want name=host:port|host:port", item)
		}
		out[name] = strings.Split(addrs, "|")
	}
	if len(out) == 0 {
		return nil, errors.New("--regions is required")
	}
	return out, nil
}

func runEdge(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	cfg := edge.DefaultConfig()
	fs.StringVar(&cfg.Region, "region", "us-east-1", "this edge's region (home of buckets created without a LocationConstraint)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTPS host:port")
	regions := fs.String("regions", "", "every region's regional gateways' edge links: us-east-1=host:port|host:port,eu-west-1=host:port")
	fs.StringVar(&cfg.CertFile, "cert", "", "HTTPS server certificate (PEM)")
	fs.StringVar(&cfg.KeyFile, "key", "", "HTTPS server key (PEM)")
	fs.StringVar(&cfg.ClientCertFile, "client-cert", "", "edge client certificate for the regions (PEM)")
	fs.StringVar(&cfg.ClientKeyFile, "client-key", "", "edge client key (PEM)")
	fs.StringVar(&cfg.RootCAFile, "ca", "", "CA (PEM) that signs the regional gateways' certificates")
	domains := fs.String("domain", "s3.localhost", "domains for virtual-hosted-style requests (comma-separated)")
	localLink := fs.String("local-link", string(cfg.LocalLink), "transport to this region's gateways: tcp (HTTP/2 over mutual TLS) or quic (HTTP/3); other regions: quic")
	fs.IntVar(&cfg.LocalLinkConns, "local-link-conns", cfg.LocalLinkConns, "HTTP/2 connections to each gateway of this region (--local-link tcp)")
	fs.StringVar(&cfg.LocalSocketDir, "local-socket-dir", os.Getenv("MERIDIAN_LOCAL_SOCKET_DIR"),
		"folder of the gateways' authenticated local sockets: a gateway of this region on this host (its --local-socket-dir, the same address as in --regions) is reached there, HTTP/2 without TLS, the same certificates (--local-link tcp); default: off [$MERIDIAN_LOCAL_SOCKET_DIR]")
	cat := catalogFlags(fs)
	bodyTimeoutFlags(fs, &cfg.BodyIdleTimeout, &cfg.BodyTotalTimeout)
	obs := observabilityFlags(fs, "info", true, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if cfg.Regions, err = parseRegions(*regions); err != nil {
		return err
	}
	cfg.LocalLink = regionalclient.Transport(*localLink)
	o, err := obs.start(ctx, "edge")
	if err != nil {
		return err
	}
	defer o.stop()
	cfg.Logger = o.log
	cfg.TracerProvider = o.tracer
	if o.registry != nil {
		cfg.Registry = o.registry
	}
	cfg.Domains = splitList(*domains)
	catalog, err := cat.open(ctx, cfg.Logger)
	if err != nil {
		return err
	}
	defer catalog.Close()
	cfg.Catalog = catalog
	e, err := edge.New(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	o.readyWhen(closed(e.Ready()))
	return e.Run(ctx)
}

// runDevCerts writes a dev CA and the certificates a multi-process
// deployment needs: edge server + edge client, and per region every internal
// node's certificate (meta-a..c, storage-<az><n>, the gateway "regional",
// "background", and "admin" for meridian status), each naming its role, id,
// region and AZ.
func runDevCerts(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("devcerts", flag.ContinueOnError)
	dir := fs.String("dir", "", "folder for ca.pem and the certificates")
	regions := fs.String("regions", "us-east-1", "regions to issue node certificates for (comma-separated); one folder each")
	azs := fs.Int("azs", 4, "storage AZs per region (a, b, …); meta nodes are meta-a..meta-c in AZs a..c")
	perAZ := fs.Int("storage-per-az", 4, "storage nodes per AZ (storage-a1, storage-a2, …)")
	hosts := fs.String("hosts", "localhost", "DNS names (and IPs) in the serving nodes' certificates, for TLS clients that check them")
	var extra []mtls.Identity
	fs.Func("identity", "also issue a certificate for this identity URI meridian://<role>/<id>?region=R&az=A, written as <dir>/<region>/<id>.pem (repeatable; infra/terraform renders them)", func(s string) error {
		u, err := url.Parse(s)
		if err != nil {
			return err
		}
		id, err := mtls.ParseURI(u)
		if err != nil {
			return err
		}
		if id.Region == "" || !id.Role.Internal() {
			return fmt.Errorf("identity %q: want an internal role and a region", s)
		}
		extra = append(extra, id)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("devcerts: --dir is required")
	}
	if *azs < 1 || *azs > 26 || *perAZ < 1 {
		return errors.New("devcerts: --azs must be 1..26 and --storage-per-az ≥ 1")
	}
	ca, err := devca.EnsureCA(*dir)
	if err != nil {
		return err
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	var names []string
	for _, h := range splitList(*hosts) {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, h)
		}
	}
	server, err := ca.IssueServer([]string{"localhost", "s3.localhost", "*.s3.localhost"}, ips[:1])
	if err != nil {
		return err
	}
	client, err := ca.IssueClient("edge", devca.RoleEdge)
	if err != nil {
		return err
	}
	for _, e := range []struct {
		name string
		c    tls.Certificate
	}{{"edge-server", server}, {"edge-client", client}} {
		cp, kp, err := devca.WriteCertFiles(*dir, e.name, e.c)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s %s\n", e.name, cp, kp)
	}
	for i, region := range splitList(*regions) {
		ids := []mtls.Identity{{Role: mtls.RoleGateway, ID: "regional"}, {Role: mtls.RoleBackground, ID: "background"}, {Role: mtls.RoleAdmin, ID: "admin"}}
		for m := 0; m < 3; m++ {
			az := string(rune('a' + m))
			ids = append(ids, mtls.Identity{Role: mtls.RoleMeta, ID: "meta-" + az, AZ: az})
		}
		for a := 0; a < *azs; a++ {
			az := string(rune('a' + a))
			for n := 1; n <= *perAZ; n++ {
				ids = append(ids, mtls.Identity{Role: mtls.RoleStorage, ID: fmt.Sprintf("storage-%s%d", az, n), AZ: az})
			}
		}
		for _, id := range ids {
			id.Region = region
			cp, kp, err := ca.WriteNodeFiles(filepath.Join(*dir, region), id.ID, id, names, ips)
			if err != nil {
				return err
			}
			fmt.Printf("%s/%s: %s %s\n", region, id.ID, cp, kp)
			if i == 0 && id.Role == mtls.RoleGateway {
				// The first region's gateway certificate, under its former name.
				fmt.Printf("regional: %s %s\n", cp, kp)
			}
		}
	}
	for _, id := range extra {
		cp, kp, err := ca.WriteNodeFiles(filepath.Join(*dir, id.Region), id.ID, id, names, ips)
		if err != nil {
			return err
		}
		fmt.Printf("%s/%s: %s %s\n", id.Region, id.ID, cp, kp)
	}
	fmt.Printf("ca: %s\n", filepath.Join(*dir, devca.CertFile))
	return nil
}

func runStatus(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	meta := fs.String("meta", "", "meta node addresses host:port,… of one region (default: $MERIDIAN_META, or every region of $MERIDIAN_REGIONS)")
	tf := nodeTLSFlags(fs, "an admin (or any internal role's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Without --meta, every region named in $MERIDIAN_REGIONS (dev.env
	// writes it), each with its own metadata nodes and admin certificate
	// ($MERIDIAN_META_<REGION>, $MERIDIAN_TLS_CERT_<REGION>, …): an admin
	// certificate is valid in its own region only.
	type target struct{ name, meta, cert, key string }
	var targets []target
	if regions := splitList(os.Getenv("MERIDIAN_REGIONS")); *meta == "" && len(regions) > 0 {
		for _, r := range regions {
			sfx := devcluster.EnvSuffix(r)
			t := target{r, os.Getenv("MERIDIAN_META_" + sfx), os.Getenv("MERIDIAN_TLS_CERT_" + sfx), os.Getenv("MERIDIAN_TLS_KEY_" + sfx)}
			if t.meta == "" || t.cert == "" || t.key == "" {
				return fmt.Errorf("status: region %s: set MERIDIAN_META_%s, MERIDIAN_TLS_CERT_%s and MERIDIAN_TLS_KEY_%s (or give --meta)", r, sfx, sfx, sfx)
			}
			targets = append(targets, t)
		}
	} else {
		if *meta == "" {
			*meta = os.Getenv("MERIDIAN_META")
		}
		targets = []target{{"", *meta, *tf.cert, *tf.key}}
	}
	var failed []string
	for i, t := range targets {
		if i > 0 {
			fmt.Println()
		}
		if err := printRegionStatus(ctx, t.meta, *tf.ca, t.cert, t.key); err != nil {
			fmt.Printf("region %s: %v\n", t.name, err)
			failed = append(failed, t.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("status: %d of %d regions unreachable", len(failed), len(targets))
	}
	return nil
}

// printRegionStatus prints one region: partitions and leaders, storage
// nodes per AZ with used and capacity, AZ-loss tolerance, background leases
// and workers.
func printRegionStatus(ctx context.Context, meta, ca, cert, key string) error {
	node, err := mtls.Load(ca, cert, key)
	if err != nil {
		return fmt.Errorf("--ca/--tls-cert/--tls-key: %w", err)
	}
	mc := metaclient.DefaultConfig()
	mc.Seeds = splitList(meta)
	mc.TLS = node
	client, err := metaclient.New(mc)
	if err != nil {
		return err
	}
	defer client.Close()
	st, err := client.RegionStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("region %s: %d AZs with healthy storage, AZ-loss tolerant: %v\n", st.Region, st.AZs, st.AZLossTolerant)
	if st.Note != "" {
		fmt.Println("  note:", st.Note)
	}
	for _, p := range st.Partitions {
		fmt.Printf("  partition %d: replicas %v leader %s\n", p.ID, p.Replicas, p.Leader)
	}
	type azSum struct {
		nodes, healthy int
		used, capacity int64
	}
	azs := map[string]*azSum{}
	var names []string
	for _, n := range st.Storage {
		a := azs[n.AZ]
		if a == nil {
			a = &azSum{}
			azs[n.AZ] = a
			names = append(names, n.AZ)
		}
		a.nodes++
		if n.Healthy {
			a.healthy++
		}
		a.used += n.UsedBytes
		a.capacity += n.CapacityBytes
	}
	sort.Strings(names)
	for _, az := range names {
		a := azs[az]
		fmt.Printf("  AZ %-6s %d storage nodes (%d healthy), used %s of %s\n", az, a.nodes, a.healthy, humanBytes(a.used), humanBytes(a.capacity))
	}
	for _, n := range st.Storage {
		fmt.Printf("  storage %-12s az %s %-21s healthy=%v used=%s/%s\n", n.ID, n.AZ, n.Addr, n.Healthy, humanBytes(n.UsedBytes), humanBytes(n.CapacityBytes))
	}
	return printBackground(ctx, os.Stdout, client)
}

// humanBytes: 1536 → "1.5 KiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// bodyTimeoutFlags declares the request body deadlines of an S3 listener.
func bodyTimeoutFlags(fs *flag.FlagSet, idle, total *time.Duration) {
	fs.DurationVar(idle, "body-idle-timeout", *idle, "a request body that sends no byte for this long is answered 400 RequestTimeout")
	fs.DurationVar(total, "body-total-timeout", *total, "cap on receiving one whole request body (0: none)")
}

// setMemoryLimit sets the Go runtime's soft memory limit: the collector
// works harder as the process nears it, instead of letting the heap grow to
// twice the live bytes. Every buffer pool is bounded by concurrency; this
// bounds the garbage between collections. GOMEMLIMIT, when set, wins.
func setMemoryLimit(s string) error {
	if os.Getenv("GOMEMLIMIT") != "" || s == "" {
		return nil
	}
	n, err := parseSize(s)
	if err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	if n > 0 {
		debug.SetMemoryLimit(n)
	}
	return nil
}

// lifecycleDay reads the test-only lifecycle day length (MERIDIAN_TEST_DAY,
// docs/lifecycle.md); unset is a real day.
func lifecycleDay(log *slog.Logger) (time.Duration, error) {
	v := os.Getenv(s3lifecycle.EnvTestDay)
	d, err := s3lifecycle.ParseTestDay(v)
	if err == nil && v != "" {
		log.Warn("TEST CLOCK SCALE: a lifecycle day lasts "+d.String()+"; objects expire that much sooner; never use in production", "env", s3lifecycle.EnvTestDay)
	}
	return d, err
}

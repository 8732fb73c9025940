package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/adminapi"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/regional/regionalclient"
	"github.com/meridian-s3/meridian/testbed/benchtool"
	"github.com/meridian-s3/meridian/testbed/devcluster"
)

// runAdmin: catalog administration — through the admin API of a running
// deployment (bucketsvc/adminapi; --admin, an admin certificate), or, with
// --catalog/--sql, directly on a catalog no server holds open.
func runAdmin(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("admin: want create-account | create-key | revoke-key | list-buckets | rotate-sse-key | kms create-key|list-keys | put-public-access-block | get-public-access-block | delete-public-access-block | durability | drain | remove-node | replication")
	}
	sub := args[0]
	switch sub {
	case "durability":
		return runDurability(ctx, args[1:])
	case "drain":
		return runDrain(ctx, args[1:])
	case "remove-node":
		return runRemoveNode(ctx, args[1:])
	case "replication":
		return runReplication(ctx, args[1:])
	case "kms":
		return runKMSAdmin(ctx, args[1:])
	}
	fs := flag.NewFlagSet("admin "+sub, flag.ContinueOnError)
	cat := catalogFlags(fs)
	name := fs.String("name", "", "account display name (create-account, create-key)")
	account := fs.String("account", "", "account id (create-key)")
	accessKey := fs.String("access-key", "", "access key id (create-key: optional fixed id; revoke-key)")
	secretKey := fs.String("secret-key", "", "secret (create-key: optional fixed secret)")
	region := fs.String("region", "", "region whose SSE-S3 master key rotates (rotate-sse-key)")
	var pab s3authz.PublicAccessBlock // put-public-access-block
	fs.BoolVar(&pab.BlockPublicAcls, "block-public-acls", false, "put-public-access-block: BlockPublicAcls")
	fs.BoolVar(&pab.IgnorePublicAcls, "ignore-public-acls", false, "put-public-access-block: IgnorePublicAcls")
	fs.BoolVar(&pab.BlockPublicPolicy, "block-public-policy", false, "put-public-access-block: BlockPublicPolicy")
	fs.BoolVar(&pab.RestrictPublicBuckets, "restrict-public-buckets", false, "put-public-access-block: RestrictPublicBuckets")
	apiAddr := fs.String("admin", os.Getenv("MERIDIAN_ADMIN"), "admin API host:port of a running deployment (used when neither --catalog nor --sql is given) [$MERIDIAN_ADMIN]")
	tf := nodeTLSFlags(fs, "an admin")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if sub == "rotate-sse-key" && *region == "" {
		return errors.New("admin rotate-sse-key: --region is required")
	}
	if strings.HasSuffix(sub, "-public-access-block") {
		if *account == "" {
			return fmt.Errorf("admin %s: --account is required", sub)
		}
		if *cat.path == "" && *cat.sql == "" {
			return pabThroughAPI(ctx, sub, *apiAddr, tf, *account, pab)
		}
	}
	if *cat.path == "" && *cat.sql == "" {
		if sub == "rotate-sse-key" {
			return rotateThroughAPI(ctx, *apiAddr, tf, *region)
		}
		return adminThroughAPI(ctx, sub, *apiAddr, tf, adminapi.KeyRequest{Name: *name, Account: *account, AccessKey: *accessKey, SecretKey: *secretKey})
	}
	catalog, err := cat.open(ctx, nil)
	if err != nil {
		return err
	}
	defer catalog.Close()
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	switch sub {
	case "create-account":
		a, err := catalog.CreateAccount(ctx, bucketsvc.Account{DisplayName: *name})
		if err != nil {
			return err
		}
		return out.Encode(a)
	case "create-key":
		acct := *account
		if acct == "" {
			a, err := catalog.CreateAccount(ctx, bucketsvc.Account{DisplayName: *name})
			if err != nil {
				return err
			}
			acct = a.ID
		}
		var k bucketsvc.AccessKey
		if *accessKey != "" {
			if *secretKey == "" {
				return errors.New("admin create-key: --access-key needs --secret-key")
			}
			k = bucketsvc.AccessKey{ID: *accessKey, Secret: *secretKey, AccountID: acct, Status: bucketsvc.KeyActive, Created: time.Now().UTC()}
			if err := catalog.PutAccessKey(ctx, k); err != nil {
				return err
			}
		} else if k, err = catalog.NewAccessKey(ctx, acct); err != nil {
			return err
		}
		return out.Encode(struct {
			AccountID string `json:"account_id"`
			AccessKey string `json:"access_key"`
			SecretKey string `json:"secret_key"`
		}{acct, k.ID, k.Secret})
	case "revoke-key":
		return catalog.RevokeAccessKey(ctx, *accessKey)
	case "rotate-sse-key":
		ks, ok := catalog.(bucketsvc.ServerKeyStore)
		if !ok {
			return errors.New("admin rotate-sse-key: this catalog keeps no server keys")
		}
		k, err := bucketsvc.RotateSSES3Key(ctx, ks, *region)
		if err != nil {
			return err
		}
		return out.Encode(adminapi.MasterKeyVersion{Region: *region, Version: k.ID, Created: k.Created})
	case "put-public-access-block", "get-public-access-block", "delete-public-access-block":
		// The account's Block Public Access (docs/access-control.md):
		// with the bucket's own, it applies to every bucket the account owns.
		ps, ok := catalog.(bucketsvc.AccountPublicAccessBlocks)
		if !ok {
			return fmt.Errorf("admin %s: this catalog keeps no account settings", sub)
		}
		if _, err := catalog.GetAccount(ctx, *account); err != nil {
			return err
		}
		switch sub {
		case "put-public-access-block":
			if err := ps.PutAccountPublicAccessBlock(ctx, *account, &pab); err != nil {
				return err
			}
		case "delete-public-access-block":
			return ps.PutAccountPublicAccessBlock(ctx, *account, nil)
		}
		p, err := ps.GetAccountPublicAccessBlock(ctx, *account)
		if err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("admin %s: account %s has no public access block configuration", sub, *account)
		}
		return out.Encode(p)
	case "list-buckets":
		bs, err := catalog.ListBuckets(ctx, "")
		if err != nil {
			return err
		}
		for _, b := range bs {
			fmt.Printf("%-40s %-12s owner=%s created=%s\n", b.Name, b.Region, b.Owner, b.Created.Format(time.RFC3339))
		}
		return nil
	}
	return fmt.Errorf("admin: unknown subcommand %q", sub)
}

// runBench starts a private dev cluster and measures it. The load
// generator runs as a child process (this binary with --drive) so that the
// server CPU per operation is this process's CPU time alone: the cluster
// (edge, gateway, metadata and storage nodes) lives here, the client there.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	cfg := devcluster.DefaultConfig()
	fs.StringVar(&cfg.DataDir, "data", "", "data folder for the private cluster (removed afterwards)")
	fs.IntVar(&cfg.BasePort, "base-port", 19000, "first port of the private cluster")
	cfg.MoreRegions = nil // one region, with its edge, is enough to measure (but see copyx below)
	dur := fs.Duration("duration", 15*time.Second, "upper bound per phase")
	keep := fs.Bool("keep", false, "keep the data folder")
	inline := fs.String("inline-threshold", strconv.FormatInt(cfg.InlineThreshold, 10), "largest object stored inline in metadata")
	level := fs.String("log-level", "error", "log level of the private cluster")
	only := fs.String("only", "", "phases to run (comma-separated): 4KiB,1MiB,16MiB,16MiB-SSE-S3,copy,copyx (cross-region copy; starts a second region),list,edge; default all but copyx")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the cluster's process (not the load generator) to this file")
	withBackground := fs.Bool("background", false, "run the background servers (janitor, scrubber, lifecycle) too; off by default so that server CPU is the data path's")
	localLink := fs.String("local-link", "tcp", "the edge's transport to the region's gateway: tcp (HTTP/2 over mutual TLS) or quic (HTTP/3)")
	fs.IntVar(&cfg.EdgeLinkConns, "link-conns", 1, "HTTP/2 connections from the edge to each gateway of its region (--local-link tcp)")
	localSockets := fs.Bool("local-sockets", true, "authenticated local sockets (internal/localconn) on the storage hop and the edge → region link; false: TLS over TCP on every hop")
	uncachedMin := fs.String("uncached-write-min", "0", "storage nodes drop shards of at least this size from the page cache once durable (0: keep all cached)")
	directMin := fs.String("direct-write-min", "0", "storage nodes write shards of at least this size with O_DIRECT (0: all through the page cache)")
	drive := fs.Bool("drive", false, "internal: be the load generator of a parent bench ($"+benchDriveEnv+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *drive {
		return driveBench(ctx)
	}
	for _, p := range splitList(*only) {
		if strings.EqualFold(p, "copyx") {
			// Cross-region copies need a second region (only when asked:
			// its idle CPU would count in every other phase).
			cfg.MoreRegions = []string{"eu-west-1"}
		}
	}
	cfg.EdgeLocalLink = regionalclient.Transport(*localLink)
	cfg.GatewayTLS = true // the edge phases' third tier: direct over HTTPS
	cfg.NoBackground = !*withBackground
	cfg.NoLocalSockets = !*localSockets
	if cfg.DataDir == "" {
		d, err := os.MkdirTemp("", "meridian-bench")
		if err != nil {
			return err
		}
		cfg.DataDir = d
	}
	if !*keep {
		defer os.RemoveAll(cfg.DataDir)
	}
	var err error
	if cfg.InlineThreshold, err = parseSize(*inline); err != nil {
		return err
	}
	if cfg.StorageUncachedWriteMin, err = parseSize(*uncachedMin); err != nil {
		return fmt.Errorf("--uncached-write-min: %w", err)
	}
	if cfg.StorageDirectWriteMin, err = parseSize(*directMin); err != nil {
		return fmt.Errorf("--direct-write-min: %w", err)
	}
	if cfg.Logger, err = newLogger(*level); err != nil {
		return err
	}
	c, err := devcluster.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("meridian bench: dev cluster (%d AZs × %d storage nodes, %d partitions, inline ≤ %d B) at %s, data in %s\n",
		cfg.AZs, cfg.StoragePerAZ, cfg.Partitions, cfg.InlineThreshold, c.Endpoint, filepath.Clean(cfg.DataDir))
	spec := benchSpec{Endpoint: c.Endpoint, Region: cfg.Region, AccessKey: c.Creds.AccessKey, SecretKey: c.Creds.SecretKey,
		ServerPID: os.Getpid(), Duration: *dur, Only: splitList(*only), CAFile: c.CAFile}
	spec.Edge = c.EdgeEndpoints[cfg.Region]
	spec.DirectTLS = c.Regions()[0].TLSEndpoint
	if len(cfg.MoreRegions) > 0 {
		spec.FarRegion = cfg.MoreRegions[0]
	}
	js, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("edge → region link: %s (%d connection(s) per gateway over tcp); background servers: %v\n", cfg.EdgeLocalLink, cfg.EdgeLinkConns, *withBackground)
	if d := c.LocalSockets(); d != "" {
		fmt.Printf("local sockets: on (%s): the storage hop and the edge's link to its own region use authenticated Unix sockets where the peer has one\n", d)
	} else {
		fmt.Printf("local sockets: off: every internal hop is TLS over TCP\n")
	}
	fmt.Printf("load generator: child process (%s bench --drive); server CPU = this process's (pid %d) CPU time per phase, from /proc/%d/stat\n",
		filepath.Base(exe), os.Getpid(), os.Getpid())
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	child := exec.CommandContext(ctx, exe, "bench", "--drive")
	child.Env = append(os.Environ(), benchDriveEnv+"="+string(js))
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	err = child.Run()
	printTransports(c)
	return err
}

// printTransports says which transport each hop used during the run.
func printTransports(c *devcluster.Cluster) {
	s := c.StorageDials()
	fmt.Printf("transports used: storage hop (gateway, background → storage nodes): %d local socket, %d TLS connection(s), %d failed local handshake(s)",
		s.Local, s.TLS, s.LocalFailed)
	e := c.EdgeLinkStats()
	fmt.Printf("; edge → region link (HTTP/1.1 on local sockets, HTTP/2 on TLS): %d local socket, %d TLS connection(s), %d failed local handshake(s)", e.Local, e.TLS, e.LocalFailed)
	if c.LocalSockets() == "" {
		fmt.Printf(" [local sockets off]")
	}
	fmt.Println()
}

// benchDriveEnv carries the benchSpec to the load generator.
const benchDriveEnv = "MERIDIAN_BENCH_DRIVE"

// benchSpec is what the load generator needs from the parent bench.
type benchSpec struct {
	Endpoint, Edge, CAFile string
	DirectTLS              string // the regional gateway's HTTPS listener
	Region                 string
	AccessKey, SecretKey   string
	ServerPID              int
	Duration               time.Duration
	Only                   []string
	FarRegion              string // a second region (phase copyx)
}

// driveBench is the load generator: it runs the phases against the
// parent's cluster, metering the parent's CPU and its own.
func driveBench(ctx context.Context) error {
	var spec benchSpec
	if err := json.Unmarshal([]byte(os.Getenv(benchDriveEnv)), &spec); err != nil {
		return fmt.Errorf("bench --drive: $%s: %w", benchDriveEnv, err)
	}
	client := benchtool.NewClient(spec.Endpoint, spec.Region, spec.AccessKey, spec.SecretKey, 16)
	bcfg := benchtool.Config{Bucket: "bench", Duration: spec.Duration, ListKeys: 10000, Out: os.Stdout, Only: spec.Only,
		ServerCPU: benchtool.ProcCPU(spec.ServerPID), ClientCPU: benchtool.SelfCPU, FarRegion: spec.FarRegion}
	if spec.Edge != "" {
		var err error
		if bcfg.Edge, err = benchtool.NewTLSClient(spec.Edge, spec.Region, spec.AccessKey, spec.SecretKey, 16, spec.CAFile); err != nil {
			return err
		}
		if spec.DirectTLS != "" {
			if bcfg.DirectTLS, err = benchtool.NewTLSClient(spec.DirectTLS, spec.Region, spec.AccessKey, spec.SecretKey, 16, spec.CAFile); err != nil {
				return err
			}
		}
	}
	_, err := benchtool.Run(ctx, client, bcfg)
	return err
}

// adminClient is a client of the admin API at addr with the admin
// certificate of tf, and a context bounding the call to a minute.
func adminClient(ctx context.Context, addr string, tf tlsFlags) (*adminapi.Client, context.Context, context.CancelFunc, error) {
	if addr == "" {
		return nil, nil, nil, errors.New("admin: give --admin host:port (or $MERIDIAN_ADMIN, in dev.env) with an admin certificate, or --catalog/--sql for a catalog no server holds open")
	}
	node, err := tf.load(mtls.RoleAdmin)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("admin: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	return adminapi.NewClient(addr, node), ctx, cancel, nil
}

// printJSON prints v as indented JSON on standard output.
func printJSON(v any) error {
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	return out.Encode(v)
}

// rotateThroughAPI adds an SSE-S3 master key version through the admin API.
func rotateThroughAPI(ctx context.Context, addr string, tf tlsFlags, region string) error {
	c, ctx, cancel, err := adminClient(ctx, addr, tf)
	if err != nil {
		return err
	}
	defer cancel()
	v, err := c.RotateSSES3Key(ctx, region)
	if err != nil {
		return err
	}
	return printJSON(v)
}

// pabThroughAPI sets, shows or deletes an account's Block Public Access
// through the admin API.
func pabThroughAPI(ctx context.Context, sub, addr string, tf tlsFlags, account string, p s3authz.PublicAccessBlock) error {
	c, ctx, cancel, err := adminClient(ctx, addr, tf)
	if err != nil {
		return err
	}
	defer cancel()
	switch sub {
	case "put-public-access-block":
		p, err = c.PutAccountPublicAccessBlock(ctx, account, p)
	case "get-public-access-block":
		p, err = c.GetAccountPublicAccessBlock(ctx, account)
	case "delete-public-access-block":
		return c.DeleteAccountPublicAccessBlock(ctx, account)
	default:
		return fmt.Errorf("admin: unknown subcommand %q", sub)
	}
	if err != nil {
		return err
	}
	return printJSON(p)
}

// adminThroughAPI runs an admin subcommand against the admin API.
func adminThroughAPI(ctx context.Context, sub, addr string, tf tlsFlags, req adminapi.KeyRequest) error {
	c, ctx, cancel, err := adminClient(ctx, addr, tf)
	if err != nil {
		return err
	}
	defer cancel()
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	switch sub {
	case "create-account":
		a, err := c.CreateAccount(ctx, req.Name)
		if err != nil {
			return err
		}
		return out.Encode(a)
	case "create-key":
		k, err := c.CreateKey(ctx, req)
		if err != nil {
			return err
		}
		return out.Encode(k)
	case "revoke-key":
		if req.AccessKey == "" {
			return errors.New("admin revoke-key: --access-key is required")
		}
		return c.RevokeKey(ctx, req.AccessKey)
	case "list-buckets":
		bs, err := c.ListBuckets(ctx)
		if err != nil {
			return err
		}
		for _, b := range bs {
			fmt.Printf("%-40s %-12s owner=%s created=%s\n", b.Name, b.Region, b.Owner, b.Created.Format(time.RFC3339))
		}
		return nil
	}
	return fmt.Errorf("admin: unknown subcommand %q", sub)
}

// runKMSAdmin: the built-in KMS of SSE-KMS (docs/sse.md) — create a key
// (optionally with an alias) for an account in a region, or list them.
func runKMSAdmin(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "create-key" && args[0] != "list-keys") {
		return errors.New("admin kms: want create-key | list-keys")
	}
	sub := args[0]
	fs := flag.NewFlagSet("admin kms "+sub, flag.ContinueOnError)
	cat := catalogFlags(fs)
	account := fs.String("account", "", "account id whose keys these are (required)")
	region := fs.String("region", "", "region of the keys (required; KMS keys are regional)")
	alias := fs.String("alias", "", "alias of the new key, alias/<name> (create-key)")
	apiAddr := fs.String("admin", os.Getenv("MERIDIAN_ADMIN"), "admin API host:port of a running deployment (used when neither --catalog nor --sql is given) [$MERIDIAN_ADMIN]")
	tf := nodeTLSFlags(fs, "an admin")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *account == "" || *region == "" {
		return errors.New("admin kms: --account and --region are required")
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	if *cat.path == "" && *cat.sql == "" {
		c, ctx, cancel, err := adminClient(ctx, *apiAddr, tf)
		if err != nil {
			return err
		}
		defer cancel()
		if sub == "create-key" {
			k, err := c.CreateKMSKey(ctx, *region, *account, *alias)
			if err != nil {
				return err
			}
			return out.Encode(k)
		}
		ks, err := c.ListKMSKeys(ctx, *region, *account)
		if err != nil {
			return err
		}
		return out.Encode(ks)
	}
	catalog, err := cat.open(ctx, nil)
	if err != nil {
		return err
	}
	defer catalog.Close()
	store, ok := catalog.(bucketsvc.ServerKeyStore)
	if !ok {
		return errors.New("admin kms: this catalog keeps no server keys")
	}
	if sub == "create-key" {
		if _, err := catalog.GetAccount(ctx, *account); err != nil {
			return fmt.Errorf("admin kms: account %s: %w", *account, err)
		}
		k, err := bucketsvc.CreateKMSKey(ctx, store, *region, *account, *alias)
		if err != nil {
			return err
		}
		return out.Encode(adminapi.KMSKey{KeyID: k.ID, ARN: bucketsvc.KMSKeyARN(*region, *account, k.ID), Alias: k.Name, Created: k.Created})
	}
	keys, err := store.ListServerKeys(ctx, bucketsvc.KMSScope(*region, *account))
	if err != nil {
		return err
	}
	list := make([]adminapi.KMSKey, 0, len(keys))
	for _, k := range keys {
		list = append(list, adminapi.KMSKey{KeyID: k.ID, ARN: bucketsvc.KMSKeyARN(*region, *account, k.ID), Alias: k.Name, Created: k.Created})
	}
	return out.Encode(list)
}

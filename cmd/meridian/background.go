package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/background"
	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/regional/regionalclient"
	"github.com/meridian-s3/meridian/regional/ssekeys"
	"github.com/meridian-s3/meridian/regional/ssekms"
)

// runBackground runs a region's background server: it leases metadata
// partitions and runs the janitor on them (docs/background.md).
func runBackground(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("background", flag.ContinueOnError)
	cfg := background.DefaultConfig()
	fs.StringVar(&cfg.Region, "region", cfg.Region, "region name")
	fs.StringVar(&cfg.ID, "id", "", "name of this process in lease records (default host-pid-time)")
	meta := fs.String("meta", "", "meta node addresses host:port,…")
	fs.DurationVar(&cfg.GarbageGrace, "garbage-grace", cfg.GarbageGrace, "wait before deleting replaced or deleted data (reads in flight finish)")
	fs.DurationVar(&cfg.LeaseTTL, "lease-ttl", cfg.LeaseTTL, "partition lease duration: a crashed server's partitions are taken over after it")
	fs.DurationVar(&cfg.RenewInterval, "lease-renew", cfg.RenewInterval, "how often leases are renewed and free partitions sought")
	fs.DurationVar(&cfg.ClockMargin, "clock-margin", cfg.ClockMargin, "largest clock lead of a meta node over this process")
	fs.DurationVar(&cfg.Interval, "interval", cfg.Interval, "pause between two passes of a worker")
	fs.DurationVar(&cfg.PrepareTimeout, "prepare-timeout", cfg.PrepareTimeout, "a PREPARE older than this is aborted (must exceed the gateways' --body-total-timeout)")
	fs.DurationVar(&cfg.ScrubInterval, "scrub-interval", cfg.ScrubInterval, "pause between two scrub passes over a partition")
	scrubRate := fs.String("scrub-rate", "256MiB", "shard bytes verified per second per storage node (0: unlimited)")
	healRate := fs.String("heal-rate", "64MiB", "shard bytes rebuilt per second per storage node (0: unlimited)")
	fs.IntVar(&cfg.ScrubParallel, "scrub-parallel", cfg.ScrubParallel, "records verified at once")
	fs.DurationVar(&cfg.DeadAfter, "dead-after", cfg.DeadAfter, "a storage node without heartbeats for this long is dead: its shards are rebuilt elsewhere")
	fs.DurationVar(&cfg.DrainInterval, "drain-interval", cfg.DrainInterval, "pause between two drainer passes while a storage node drains")
	noScrub := fs.Bool("no-scrub", false, "run no scrubber/healer")
	cat := catalogFlags(fs) // optional: the lifecycle rules (docs/lifecycle.md)
	fs.DurationVar(&cfg.LifecycleInterval, "lifecycle-interval", 0, "least time between two lifecycle walks of a partition (0: a lifecycle day / 24)")
	fs.DurationVar(&cfg.OrphanMinAge, "orphan-min-age", cfg.OrphanMinAge, "an unreferenced shard is deleted only once its node has held it this long (> --prepare-timeout + --garbage-grace; docs/gc-safety.md)")
	fs.DurationVar(&cfg.OrphanInterval, "orphan-interval", cfg.OrphanInterval, "how often each storage node is scanned for orphan shards")
	links := fs.String("regions", "", "replicator: every region's regional gateways' edge links, us-east-1=host:port|host:port,eu-west-1=host:port (default: no replicator; needs a catalog)")
	fs.DurationVar(&cfg.ReplicationInterval, "replication-interval", cfg.ReplicationInterval, "pause between two feed polls of a caught-up partition")
	fs.IntVar(&cfg.ReplicationParallel, "replication-parallel", cfg.ReplicationParallel, "replication copies in flight at once (over all partitions)")
	linkConns := fs.Int("replication-link-conns", background.ReplicationLinkConns, "replicator: QUIC connections to each destination gateway (1-64)")
	fs.DurationVar(&cfg.ReplicationBackoffMax, "replication-backoff-max", cfg.ReplicationBackoffMax, "longest wait before failed copies are retried")
	fs.IntVar(&cfg.ReplicationRetryMax, "replication-retry-max", cfg.ReplicationRetryMax, "failed copies parked per partition (the retry list) before a failure holds the feed position")
	tf := nodeTLSFlags(fs, "this background server's (role background)")
	localDir := localSocketFlag(fs, "dial storage nodes' local sockets")
	obs := observabilityFlags(fs, "info", true, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *meta == "" {
		return errors.New("background: --meta is required")
	}
	var err error
	if cfg.ScrubRate, err = parseSize(*scrubRate); err != nil {
		return fmt.Errorf("background: --scrub-rate: %w", err)
	}
	if cfg.HealRate, err = parseSize(*healRate); err != nil {
		return fmt.Errorf("background: --heal-rate: %w", err)
	}
	node, err := tf.load(mtls.RoleBackground)
	if err != nil {
		return fmt.Errorf("background: %w", err)
	}
	o, err := obs.start(ctx, "background")
	if err != nil {
		return err
	}
	defer o.stop()
	cfg.Logger = o.log
	if o.registry != nil {
		cfg.Registry = o.registry
	}
	node.SetLocalDir(*localDir, cfg.Logger)
	rc, err := openRegionClients(*meta, node, o)
	if err != nil {
		return err
	}
	defer rc.Close()
	cfg.Meta, cfg.Data = rc.meta, rc.data
	if !*noScrub {
		cfg.Shards, cfg.Nodes = background.RegionShards{Client: rc.shards, Engine: rc.data}, rc.view.Nodes
	}
	if *cat.path == "" && *cat.sql == "" {
		cfg.Logger.Warn("no bucket catalog (--sql or --catalog): bucket lifecycle rules are not executed by this process")
	} else {
		catalog, err := cat.open(ctx, cfg.Logger)
		if err != nil {
			return err
		}
		defer catalog.Close()
		cfg.Catalog = catalog
	}
	if cfg.LifecycleDay, err = lifecycleDay(cfg.Logger); err != nil {
		return err
	}
	cfg.Orphans = rc.shards
	if *links != "" {
		if cfg.Catalog == nil {
			return errors.New("background: --regions (the replicator) needs a catalog (--sql or --catalog)")
		}
		regions, err := parseRegions(*links)
		if err != nil {
			return fmt.Errorf("background: --regions: %w", err)
		}
		lc := regionalclient.DefaultConfig()
		// A destination gateway that died without closing its QUIC
		// connection (kill -9, a host gone) is noticed within IdleTimeout:
		// keep-alives go unanswered. Edges keep the longer defaults.
		lc.IdleTimeout, lc.KeepAlive = background.ReplicationLinkIdle, background.ReplicationLinkKeepAlive
		lc.QUICConns = *linkConns
		lc.Regions = regions
		// This process's own certificate; only regional gateways are accepted as servers.
		lc.TLS = node.ClientConfig(mtls.RoleGateway)
		lc.Logger = cfg.Logger
		client, err := regionalclient.New(lc)
		if err != nil {
			return fmt.Errorf("background: replication links: %w", err)
		}
		defer client.Close()
		cfg.Links = client
		if ks, ok := cfg.Catalog.(bucketsvc.ServerKeyStore); ok {
			// This region's SSE-S3 and SSE-KMS keys: encrypted versions are
			// decrypted here and re-encrypted by the destination region.
			cfg.SSEKeys, cfg.KMS = ssekeys.New(ks, cfg.Region), ssekms.New(ks, cfg.Region)
		}
	}
	s, err := background.New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	o.readyWhen(closed(s.Ready()))
	return s.Run(ctx)
}

// printBackground prints every partition's background lease and worker
// checkpoints (state and progress as the holder last wrote them).
func printBackground(ctx context.Context, w io.Writer, client *metaclient.Client) error {
	var repl []background.ReplPartitionReport
	for p := 0; p < client.Partitions(); p++ {
		leases, cps, err := client.Background(ctx, p)
		if err != nil {
			return fmt.Errorf("partition %d background records: %w", p, err)
		}
		lease := "unleased"
		for _, l := range leases {
			if l.Name != background.LeaseName {
				continue
			}
			if l.Holder == "" {
				lease = fmt.Sprintf("released (epoch %d)", l.Epoch)
			} else {
				lease = fmt.Sprintf("held by %s epoch %d until %s", l.Holder, l.Epoch, l.Expires.UTC().Format(time.RFC3339))
			}
		}
		fmt.Fprintf(w, "  background partition %d: %s\n", p, lease)
		for _, c := range cps {
			fmt.Fprintf(w, "    worker %-8s state=%s pass=%d done=%d cursor=%q updated=%s by %s", c.Worker, c.State, c.Pass, c.Done,
				c.Cursor, c.Updated.UTC().Format(time.RFC3339), c.Holder)
			if c.LastError != "" {
				fmt.Fprintf(w, " last_error=%q", c.LastError)
			}
			fmt.Fprintln(w)
			if c.Worker == "replicator" {
				rep, err := background.DecodeReplReport(c.Report)
				if err != nil {
					fmt.Fprintf(w, "    (replicator report unreadable: %v)\n", err)
				}
				repl = append(repl, rep)
			}
		}
	}
	printReplicationLag(w, background.ReplicationStatus(repl, time.Now()))
	return nil
}

// printReplicationLag prints one line per source bucket of the region: how
// far behind its copies are (the oldest version not yet copied), the lag
// of its recent copies, and what is failing.
func printReplicationLag(w io.Writer, st []background.ReplBucketStatus) {
	if len(st) == 0 {
		fmt.Fprintln(w, "  replication: no source bucket has copied or queued anything in this region")
		return
	}
	fmt.Fprintln(w, "  replication by source bucket (from the replicator's checkpoints):")
	for _, b := range st {
		state := "caught up"
		if b.Pending > 0 {
			state = fmt.Sprintf("BEHIND %v: %d versions not yet copied (%d in the retry list", b.Behind.Round(time.Millisecond), b.Pending, b.Retrying)
			if b.Held > 0 {
				state += fmt.Sprintf(", %d holding the feed position: at least", b.Held)
			}
			state += ")"
		}
		fmt.Fprintf(w, "    %s → %s: %s; %d copied", b.Bucket, strings.Join(b.Destinations, ","), state, b.Completed)
		if b.LagSamples > 0 {
			fmt.Fprintf(w, "; lag of the last %d copies p50 %v max %v", b.LagSamples, b.LagP50, b.LagMax)
		}
		if !b.LastCopy.IsZero() {
			fmt.Fprintf(w, "; last copy %s", b.LastCopy.UTC().Format(time.RFC3339))
		}
		if b.LastError != "" {
			fmt.Fprintf(w, "; last error: %s", b.LastError)
		}
		fmt.Fprintln(w)
	}
}

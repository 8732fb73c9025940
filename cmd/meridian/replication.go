package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/meridian-s3/meridian/background"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
)

// runReplication serves `meridian admin replication resync BUCKET`
// (background.Resync: existing objects marked PENDING for the replicator)
// and `meridian admin replication status BUCKET`: the
// bucket's versions and bytes by replication status (PENDING, COMPLETED,
// FAILED, REPLICA) read from its records, and with --dest-meta the lag of
// every completed copy (docs/replication.md).
func runReplication(ctx context.Context, args []string) error {
	if len(args) < 2 || (args[0] != "status" && args[0] != "resync") {
		return errors.New("admin replication: want status BUCKET [--meta …] [--dest-meta …] | resync BUCKET [--meta …] (catalog: --sql or --catalog)")
	}
	sub, name := args[0], args[1]
	fs := flag.NewFlagSet("admin replication "+sub, flag.ContinueOnError)
	cat := catalogFlags(fs)
	meta := fs.String("meta", os.Getenv("MERIDIAN_META"), "meta node addresses of the bucket's home region [$MERIDIAN_META]")
	destMeta := fs.String("dest-meta", "", "meta node addresses of the destination bucket's region: report each completed copy's lag")
	destCert := fs.String("dest-tls-cert", "", "certificate (admin) of the destination's region for --dest-meta (default --tls-cert: a region refuses other regions' peers)")
	destKey := fs.String("dest-tls-key", "", "its key")
	destCA := fs.String("dest-ca", "", "the destination region's CA (default --ca)")
	asJSON := fs.Bool("json", false, "print JSON")
	tf := nodeTLSFlags(fs, "an admin (status) or a background (resync writes statuses: metadata nodes take writes from gateway and background certificates only)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if *cat.path == "" && *cat.sql == "" {
		return errors.New("admin replication status: --sql or --catalog is required")
	}
	catalog, err := cat.open(ctx, nil)
	if err != nil {
		return err
	}
	defer catalog.Close()
	b, err := catalog.GetBucket(ctx, name)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", name, err)
	}
	node, err := mtls.Load(*tf.ca, *tf.cert, *tf.key)
	if err != nil {
		return fmt.Errorf("admin replication: --ca/--tls-cert/--tls-key: %w", err)
	}
	open := func(seeds string, node *mtls.Node) (*metaclient.Client, error) {
		mc := metaclient.DefaultConfig()
		mc.Seeds = splitList(seeds)
		mc.TLS = node
		return metaclient.New(mc)
	}
	src, err := open(*meta, node)
	if err != nil {
		return err
	}
	defer src.Close()
	if sub == "resync" {
		start := time.Now()
		last := time.Now()
		pr, err := background.Resync(ctx, src, b, func(p background.ResyncProgress) {
			if time.Since(last) >= time.Second {
				last = time.Now()
				fmt.Printf("partition %d/%d: scanned %d, marked PENDING %d (%d bytes), skipped %d\n",
					p.Partition+1, src.Partitions(), p.Scanned, p.Marked, p.Bytes, p.Skipped)
			}
		})
		if err != nil {
			return fmt.Errorf("resync %s: %w (safe to run again)", name, err)
		}
		fmt.Printf("resync %s: scanned %d versions in %v; marked PENDING %d (%d bytes); skipped %d (REPLICA, COMPLETED, PENDING, null, or no rule). The replicator copies them; follow with 'admin replication status'.\n",
			name, pr.Scanned, time.Since(start).Round(time.Millisecond), pr.Marked, pr.Bytes, pr.Skipped)
		return nil
	}
	var dst background.ReportMeta
	dstMK := ""
	if *destMeta != "" && b.Replication != nil && len(b.Replication.Destinations()) > 0 {
		d, err := catalog.GetBucket(ctx, b.Replication.Destinations()[0])
		if err != nil {
			return fmt.Errorf("destination bucket: %w", err)
		}
		dnode := node
		if *destCert != "" {
			ca := *destCA
			if ca == "" {
				ca = *tf.ca
			}
			if dnode, err = mtls.Load(ca, *destCert, *destKey); err != nil {
				return fmt.Errorf("admin replication: --dest-ca/--dest-tls-cert/--dest-tls-key: %w", err)
			}
		}
		dc, err := open(*destMeta, dnode)
		if err != nil {
			return err
		}
		defer dc.Close()
		dst, dstMK = dc, d.MetaKey()
	}
	rep, err := background.ReadReplication(ctx, src, b.Name, b.MetaKey(), dst, dstMK)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Printf("bucket %s (region %s)\n", b.Name, b.Region)
	if b.Replication != nil {
		for _, r := range b.Replication.Rules {
			fmt.Printf("  rule %q priority %d enabled=%v prefix=%q → %s delete-markers=%v\n", r.ID, r.Priority, r.Enabled, r.Filter.Prefix, r.Destination.Bucket, r.DeleteMarkers)
		}
	}
	var sts []string
	for st := range rep.ByStatus {
		sts = append(sts, st)
	}
	sort.Strings(sts)
	for _, st := range sts {
		c := rep.ByStatus[st]
		fmt.Printf("  %-10s %8d versions %14d bytes\n", st, c.Versions, c.Bytes)
	}
	if rep.OldestAge > 0 {
		fmt.Printf("  oldest pending/failed: %v since commit\n", rep.OldestAge.Round(1e6))
	}
	if rep.LagCount > 0 {
		fmt.Printf("  lag (source commit → destination commit) over %d copies: p50 %v  p99 %v  max %v\n",
			rep.LagCount, rep.LagP50.Round(1e6), rep.LagP99.Round(1e6), rep.LagMax.Round(1e6))
	}
	if rep.Missing > 0 {
		fmt.Printf("  COMPLETED but absent at the destination: %d (permanently deleted there?)\n", rep.Missing)
	}
	return nil
}

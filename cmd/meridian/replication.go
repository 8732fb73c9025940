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
	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
)

// runReplication serves `meridian admin replication resync BUCKET`
// (asks the background servers' resync worker to mark existing objects
// PENDING for the replicator, and follows its progress)
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
	wait := fs.Duration("wait", 10*time.Minute, "resync: how long to wait for the background servers' resync worker to walk every partition (0: ask and return)")
	inline := fs.Bool("inline", false, "resync: walk the versions in this command instead of asking the background servers (needs a background certificate)")
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
		if *inline {
			return resyncInline(ctx, src, b)
		}
		return resyncRequest(ctx, catalog, src, name, *wait)
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
	retry, err := background.ReadRetries(ctx, src, b.Name)
	if err != nil {
		return err
	}
	rep.Retry = &retry
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
	if r := rep.Retry; r.Entries > 0 {
		fmt.Printf("  retry list: %d copies failing (up to %d attempts), next attempt %s, oldest commit %s; last error: %s\n",
			r.Entries, r.MaxAttempts, r.NextAttempt.UTC().Format(time.RFC3339), r.Oldest.UTC().Format(time.RFC3339), r.LastError)
		for _, s := range r.Sample {
			fmt.Printf("    %s\n", s)
		}
	} else {
		fmt.Println("  retry list: empty")
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

// resyncRequest stamps the bucket's replication configuration with a new
// resync request (the catalog); the background servers' resync worker of
// every partition walks the bucket and marks what the replicator must
// copy. It then follows the workers' checkpoint reports until every
// partition finished (or wait passes).
func resyncRequest(ctx context.Context, catalog bucketsvc.Store, meta *metaclient.Client, name string, wait time.Duration) error {
	var token string
	err := catalog.UpdateBucket(ctx, name, func(b *bucketsvc.Bucket) error {
		if b.Replication == nil {
			return fmt.Errorf("bucket %s has no replication configuration", name)
		}
		b.Replication.ResyncRequested = time.Now().UTC()
		token = b.Replication.ResyncToken()
		return nil
	})
	if err != nil {
		return fmt.Errorf("resync %s: %w", name, err)
	}
	fmt.Printf("resync %s: requested (token %s); the background servers' resync worker walks every partition\n", name, token)
	if wait <= 0 {
		return nil
	}
	start := time.Now()
	deadline := start.Add(wait)
	last := ""
	for {
		var reports []background.ResyncReport
		for p := 0; p < meta.Partitions(); p++ {
			_, cps, err := meta.Background(ctx, p)
			if err != nil {
				return fmt.Errorf("resync %s: partition %d checkpoints: %w", name, p, err)
			}
			rep := background.ResyncReport{}
			for _, c := range cps {
				if c.Worker == background.ResyncWorkerName {
					rep, _ = background.DecodeResyncReport(c.Report)
				}
			}
			reports = append(reports, rep)
		}
		st := background.SumResync(reports, name, token)
		line := fmt.Sprintf("partitions done %d/%d: scanned %d, marked PENDING %d (%d bytes)", st.Finished, st.Partitions, st.Scanned, st.Marked, st.Bytes)
		if st.Finished == st.Partitions {
			fmt.Printf("resync %s: scanned %d versions in %v; marked PENDING %d (%d bytes). The replicator copies them; follow with 'admin replication status'.\n",
				name, st.Scanned, time.Since(start).Round(time.Millisecond), st.Marked, st.Bytes)
			return nil
		}
		if line != last {
			fmt.Println(line)
			last = line
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("resync %s: not finished after %v (%s); it goes on in the background", name, wait, line)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// resyncInline walks the bucket in this process (--inline).
func resyncInline(ctx context.Context, src *metaclient.Client, b bucketsvc.Bucket) error {
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
		return fmt.Errorf("resync %s: %w (safe to run again)", b.Name, err)
	}
	fmt.Printf("resync %s: scanned %d versions in %v; marked PENDING %d (%d bytes); skipped %d (REPLICA, COMPLETED, PENDING, null, or no rule). The replicator copies them; follow with 'admin replication status'.\n",
		b.Name, pr.Scanned, time.Since(start).Round(time.Millisecond), pr.Marked, pr.Bytes, pr.Skipped)
	return nil
}

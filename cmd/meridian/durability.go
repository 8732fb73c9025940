package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/meridian-s3/meridian/background"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
)

// runDurability prints the region's durability report (`meridian admin
// durability`): the scrubber's last complete pass over every partition,
// per bucket, read from the partitions' checkpoints (docs/background.md).
func runDurability(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin durability", flag.ContinueOnError)
	meta := fs.String("meta", os.Getenv("MERIDIAN_META"), "meta node addresses host:port,… [$MERIDIAN_META]")
	bucket := fs.String("bucket", "", "report only this bucket")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	tf := nodeTLSFlags(fs, "an admin (or any internal role's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	node, err := mtls.Load(*tf.ca, *tf.cert, *tf.key)
	if err != nil {
		return fmt.Errorf("admin durability: --ca/--tls-cert/--tls-key: %w", err)
	}
	mc := metaclient.DefaultConfig()
	mc.Seeds = splitList(*meta)
	mc.TLS = node
	client, err := metaclient.New(mc)
	if err != nil {
		return err
	}
	defer client.Close()
	d, err := background.ReadDurability(ctx, client, *bucket)
	if err != nil {
		return err
	}
	st, err := client.RegionStatus(ctx)
	if err != nil {
		return err
	}
	rep := durabilityJSON(d, st.Region, st.AZLossTolerant, st.Note)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printDurability(os.Stdout, rep)
	return nil
}

// DurabilityClasses is one row of the report.
type DurabilityClasses struct {
	Objects     int64           `json:"objects"`
	Bytes       int64           `json:"bytes"`
	Full        int64           `json:"full"`
	Degraded    int64           `json:"degraded"` // 1 … m−1 shards short
	AtRisk      int64           `json:"at_risk"`  // exactly k shards left
	Lost        int64           `json:"lost"`     // fewer than k
	FullBytes   int64           `json:"full_bytes"`
	DegBytes    int64           `json:"degraded_bytes"`
	AtRiskBytes int64           `json:"at_risk_bytes"`
	LostBytes   int64           `json:"lost_bytes"`
	Missing     map[int]int64   `json:"short_by,omitempty"` // objects by shards missing
	NotTolerant int64           `json:"not_az_tolerant"`
	AZTolerant  bool            `json:"az_loss_tolerant"`
	Parts       *DurabilityPart `json:"parts,omitempty"`
}

// DurabilityPart counts parts of in-progress multipart uploads.
type DurabilityPart struct {
	Parts, Full, Degraded, AtRisk, Lost int64
}

// ReadsReported is what the healer found in versions GETs reported.
type ReadsReported struct {
	Missing int64 `json:"shards_missing"`
	Corrupt int64 `json:"shards_corrupt"`
	Healed  int64 `json:"shards_healed"`
	Rebuilt int64 `json:"bytes_rebuilt"`
}

// DurabilityReport is what `admin durability --json` prints.
type DurabilityReport struct {
	Region          string                        `json:"region"`
	Partitions      int                           `json:"partitions"`
	Scanned         int                           `json:"partitions_scanned"`
	OldestPass      *time.Time                    `json:"oldest_complete_pass,omitempty"`
	InPass          int64                         `json:"records_in_current_passes"`
	LastPassRecords int64                         `json:"records_in_last_passes"`
	RegionTolerant  bool                          `json:"region_az_loss_tolerant"`
	Note            string                        `json:"note,omitempty"`
	HealQueue       int64                         `json:"heal_queue"`
	BytesRebuilt    int64                         `json:"bytes_rebuilt"`
	Examined        int64                         `json:"shards_examined"`
	VerifyBytes     int64                         `json:"bytes_verified"`
	Missing         int64                         `json:"shards_missing"`
	Corrupt         int64                         `json:"shards_corrupt"`
	Unreachable     int64                         `json:"shards_unreachable"`
	Healed          int64                         `json:"shards_healed"`
	HealFailed      int64                         `json:"heal_failed"`
	ReadsReported   ReadsReported                 `json:"reported_by_reads"`
	Total           DurabilityClasses             `json:"total"`
	Buckets         map[string]*DurabilityClasses `json:"buckets"`
}

func classesOf(b background.BucketDurability, regionTolerant bool) *DurabilityClasses {
	o := b.Objects
	c := &DurabilityClasses{
		Objects: o.Total(), Full: o.Count[background.ClassFull], Degraded: o.Count[background.ClassDegraded],
		AtRisk: o.Count[background.ClassAtRisk], Lost: o.Count[background.ClassLost],
		FullBytes: o.Bytes[background.ClassFull], DegBytes: o.Bytes[background.ClassDegraded],
		AtRiskBytes: o.Bytes[background.ClassAtRisk], LostBytes: o.Bytes[background.ClassLost],
		Missing: o.Missing, NotTolerant: o.NotTolerant,
	}
	for _, v := range o.Bytes {
		c.Bytes += v
	}
	c.AZTolerant = regionTolerant && c.NotTolerant == 0 && c.Lost == 0
	if p := b.Parts; p.Total() > 0 {
		c.Parts = &DurabilityPart{Parts: p.Total(), Full: p.Count[background.ClassFull], Degraded: p.Count[background.ClassDegraded],
			AtRisk: p.Count[background.ClassAtRisk], Lost: p.Count[background.ClassLost]}
	}
	return c
}

func durabilityJSON(d background.Durability, region string, tolerant bool, note string) DurabilityReport {
	r := DurabilityReport{Region: region, Partitions: d.Partitions, Scanned: d.Scanned, InPass: d.InPass,
		LastPassRecords: d.LastPassRecords, RegionTolerant: tolerant, Note: note, HealQueue: d.HealQueue,
		BytesRebuilt: d.Rebuilt, Examined: d.Stats.Shards, VerifyBytes: d.Stats.VerifyBytes, Missing: d.Stats.Missing, Corrupt: d.Stats.Corrupt,
		Unreachable: d.Stats.Unreachable, Healed: d.Stats.Healed, HealFailed: d.Stats.HealFailed,
		Total: *classesOf(d.Totals, tolerant), Buckets: map[string]*DurabilityClasses{},
		ReadsReported: ReadsReported{Missing: d.Reads.Missing, Corrupt: d.Reads.Corrupt, Healed: d.Reads.Healed, Rebuilt: d.Reads.BytesRebuilt}}
	if !d.Oldest.IsZero() {
		t := d.Oldest
		r.OldestPass = &t
	}
	for name, b := range d.Buckets {
		r.Buckets[name] = classesOf(*b, tolerant)
	}
	return r
}

func printDurability(w io.Writer, r DurabilityReport) {
	fmt.Fprintf(w, "region %s: scrub reports from %d of %d partitions", r.Region, r.Scanned, r.Partitions)
	if r.OldestPass != nil {
		fmt.Fprintf(w, "; oldest complete pass ended %s", r.OldestPass.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprint(w, "; some partitions have no complete pass yet (their current pass is counted)")
	}
	fmt.Fprintf(w, "\ncurrent passes: %d records scrubbed (last complete passes: %d)\n", r.InPass, r.LastPassRecords)
	fmt.Fprintf(w, "region AZ-loss tolerant: %v", r.RegionTolerant)
	if r.Note != "" {
		fmt.Fprintf(w, " (%s)", r.Note)
	}
	fmt.Fprintf(w, "\nheal queue: %d shards; bytes rebuilt: %d\n", r.HealQueue, r.BytesRebuilt)
	fmt.Fprintf(w, "last passes: %d shards examined (%d bytes verified), %d missing, %d corrupt, %d unreachable, %d healed, %d heal failures\n",
		r.Examined, r.VerifyBytes, r.Missing, r.Corrupt, r.Unreachable, r.Healed, r.HealFailed)
	fmt.Fprintf(w, "reported by degraded GETs (all time): %d missing, %d corrupt, %d healed, %d bytes rebuilt\n\n",
		r.ReadsReported.Missing, r.ReadsReported.Corrupt, r.ReadsReported.Healed, r.ReadsReported.Rebuilt)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "BUCKET\tOBJECTS\tBYTES\tFULL 14/14\tDEGRADED\tAT RISK (k)\tLOST (<k)\tAZ-LOSS TOLERANT\t")
	row := func(name string, c *DurabilityClasses) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%v\t\n", name, c.Objects, c.Bytes, c.Full, c.Degraded, c.AtRisk, c.Lost, c.AZTolerant)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Buckets)) {
		row(name, r.Buckets[name])
	}
	row("(all)", &r.Total)
	tw.Flush()
}

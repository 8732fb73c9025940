package background

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Class is a record's redundancy as the scrubber last saw it: the fewest
// healthy shards over its segments, against the scheme's k+m.
type Class int

const (
	ClassFull     Class = iota // all k+m shards healthy
	ClassDegraded              // 1 … m−1 shards missing or corrupt
	ClassAtRisk                // exactly k healthy: one more loss loses data
	ClassLost                  // fewer than k healthy
	numClasses
)

var classNames = [numClasses]string{"full", "degraded", "at_risk", "lost"}

func (c Class) String() string {
	if c < 0 || c >= numClasses {
		return "unknown"
	}
	return classNames[c]
}

// classify returns the class of a segment with healthy of k+m shards.
func classify(healthy, k, m int) Class {
	switch {
	case healthy >= k+m:
		return ClassFull
	case healthy > k:
		return ClassDegraded
	case healthy == k:
		return ClassAtRisk
	}
	return ClassLost
}

// ClassCounts counts records and their bytes per class.
type ClassCounts struct {
	Count [numClasses]int64 `json:"n"`
	Bytes [numClasses]int64 `json:"b"`
	// Missing counts records by how many shards their worst segment
	// lacks (1 … m; beyond m they are lost).
	Missing map[int]int64 `json:"miss,omitempty"`
	// NotTolerant counts records that would lose data (fewer than k
	// healthy shards left) if the AZ holding most of their healthy shards
	// were lost (invariant 5).
	NotTolerant int64 `json:"nt,omitempty"`
}

func (c *ClassCounts) add(o ClassCounts) {
	for i := range c.Count {
		c.Count[i] += o.Count[i]
		c.Bytes[i] += o.Bytes[i]
	}
	for k, v := range o.Missing {
		if c.Missing == nil {
			c.Missing = map[int]int64{}
		}
		c.Missing[k] += v
	}
	c.NotTolerant += o.NotTolerant
}

// Total is the number of records counted.
func (c ClassCounts) Total() int64 {
	var n int64
	for _, v := range c.Count {
		n += v
	}
	return n
}

// BucketDurability is one bucket's counts: objects (committed versions)
// and uploaded parts of in-progress multipart uploads.
type BucketDurability struct {
	Objects ClassCounts `json:"objects"`
	Parts   ClassCounts `json:"parts,omitempty"`
}

// PassStats is what one scrub pass over one partition found and did.
type PassStats struct {
	Records      int64 `json:"records"`
	Shards       int64 `json:"shards"`      // shards examined
	Verified     int64 `json:"verified"`    // verified OK by their node
	Missing      int64 `json:"missing"`     // absent, on a dead node or unplaced
	Corrupt      int64 `json:"corrupt"`     // failed their block checksums
	Unreachable  int64 `json:"unreachable"` // node down (not yet dead) or not answering
	Healed       int64 `json:"healed"`      // shards rebuilt and swapped in
	HealFailed   int64 `json:"heal_failed"` // rebuilds or swaps that failed (retried next pass)
	Superseded   int64 `json:"superseded"`  // rebuilt for a record that changed meanwhile
	BytesRebuilt int64 `json:"bytes_rebuilt"`
	VerifyBytes  int64 `json:"verify_bytes"`

	Buckets map[string]*BucketDurability `json:"buckets,omitempty"`
}

func (p *PassStats) bucket(b string) *BucketDurability {
	if p.Buckets == nil {
		p.Buckets = map[string]*BucketDurability{}
	}
	d := p.Buckets[b]
	if d == nil {
		d = &BucketDurability{}
		p.Buckets[b] = d
	}
	return d
}

func (p *PassStats) add(o *PassStats) {
	p.Records += o.Records
	p.Shards += o.Shards
	p.Verified += o.Verified
	p.Missing += o.Missing
	p.Corrupt += o.Corrupt
	p.Unreachable += o.Unreachable
	p.Healed += o.Healed
	p.HealFailed += o.HealFailed
	p.Superseded += o.Superseded
	p.BytesRebuilt += o.BytesRebuilt
	p.VerifyBytes += o.VerifyBytes
	for b, d := range o.Buckets {
		t := p.bucket(b)
		t.Objects.add(d.Objects)
		t.Parts.add(d.Parts)
	}
}

// PartitionReport is the scrubber's record of one partition, kept in its
// checkpoint (metapb.Checkpoint.Report) so a takeover carries it.
type PartitionReport struct {
	PassStarted time.Time  `json:"started"`
	Current     PassStats  `json:"cur"` // the pass in progress (up to its cursor)
	Last        *PassStats `json:"last,omitempty"`
	LastEnded   time.Time  `json:"last_ended,omitempty"`
	// Pending is the number of damaged shards of the current pass not
	// (yet) healed: the heal queue.
	Pending int64 `json:"pending"`
	// InPass: a pass is in progress (Current is partial).
	InPass bool `json:"in_pass,omitempty"`
}

func decodeReport(s string) (*PartitionReport, error) {
	r := &PartitionReport{}
	if s == "" {
		return r, nil
	}
	if err := json.Unmarshal([]byte(s), r); err != nil {
		return nil, fmt.Errorf("background: scrub report: %w", err)
	}
	return r, nil
}

// BucketName is the display name of a metastate bucket key
// ("name/incarnation" → "name").
func BucketName(key string) string {
	if i := strings.IndexByte(key, '/'); i >= 0 {
		return key[:i]
	}
	return key
}

// Durability is the region's durability report, assembled from every
// partition's scrubber checkpoint.
type Durability struct {
	Partitions int
	// Scanned: partitions with at least one completed scrub pass.
	Scanned int
	// Oldest is the end of the oldest last completed pass (zero if some
	// partition has none).
	Oldest time.Time
	// Progress is the records scrubbed in current passes, over the
	// records counted in the last complete passes (0 … 1, approximate).
	InPass, LastPassRecords int64
	// Totals: the last complete pass of each partition (or the current
	// one where none completed yet); Buckets keyed by bucket name.
	Totals  BucketDurability
	Buckets map[string]*BucketDurability
	// Stats: the last complete passes' counters summed.
	Stats PassStats
	// HealQueue: damaged shards found in current passes and not yet healed.
	HealQueue int64
	// Rebuilt: bytes rebuilt in current and last passes.
	Rebuilt int64
	// Reads: what the healer found and did for versions readers reported
	// (GETs that had to reconstruct), all time.
	Reads PassStats
}

// CheckpointReader reads partitions' background records (metaclient).
type CheckpointReader interface {
	Partitions() int
	Background(ctx context.Context, partition int) ([]metapb.Lease, []metapb.Checkpoint, error)
}

// ReadDurability assembles the report from every partition's scrubber
// checkpoint; bucket, if set, keeps only that bucket (by name).
func ReadDurability(ctx context.Context, meta CheckpointReader, bucket string) (Durability, error) {
	d := Durability{Partitions: meta.Partitions(), Buckets: map[string]*BucketDurability{}}
	for p := 0; p < d.Partitions; p++ {
		_, cps, err := meta.Background(ctx, p)
		if err != nil {
			return d, fmt.Errorf("partition %d: %w", p, err)
		}
		var rep *PartitionReport
		for _, c := range cps {
			switch c.Worker {
			case scrubberName:
				if rep, err = decodeReport(c.Report); err != nil {
					return d, fmt.Errorf("partition %d: %w", p, err)
				}
			case healerName:
				var hs PassStats
				if c.Report != "" {
					if err := json.Unmarshal([]byte(c.Report), &hs); err != nil {
						return d, fmt.Errorf("partition %d: healer report: %w", p, err)
					}
				}
				d.Reads.add(&hs)
			}
		}
		if rep == nil {
			continue
		}
		src := &rep.Current
		if rep.Last != nil {
			src = rep.Last
			d.Scanned++
			if d.Oldest.IsZero() || rep.LastEnded.Before(d.Oldest) {
				d.Oldest = rep.LastEnded
			}
			d.LastPassRecords += rep.Last.Records
			d.Rebuilt += rep.Last.BytesRebuilt
		}
		if rep.InPass || rep.Last == nil {
			// After a pass ends, Current is that pass (== Last) until the
			// next one starts: counted once, as Last.
			d.InPass += rep.Current.Records
			d.Rebuilt += rep.Current.BytesRebuilt
		}
		d.HealQueue += rep.Pending
		st := *src
		st.Buckets = nil
		d.Stats.add(&st)
		for b, bd := range src.Buckets {
			name := BucketName(b)
			if bucket != "" && name != bucket {
				continue
			}
			t := d.Buckets[name]
			if t == nil {
				t = &BucketDurability{}
				d.Buckets[name] = t
			}
			t.Objects.add(bd.Objects)
			t.Parts.add(bd.Parts)
			d.Totals.Objects.add(bd.Objects)
			d.Totals.Parts.add(bd.Parts)
		}
	}
	if d.Scanned < d.Partitions {
		d.Oldest = time.Time{}
	}
	return d, nil
}

// BucketNames returns the report's buckets in order.
func (d Durability) BucketNames() []string {
	out := make([]string, 0, len(d.Buckets))
	for b := range d.Buckets {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

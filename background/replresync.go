package background

import (
	"context"
	"fmt"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3replication"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// ResyncMeta lists a partition's versions and sets replication statuses
// (metaclient.Client implements it).
type ResyncMeta interface {
	Partitions() int
	ListVersionsPartition(ctx context.Context, partition int, q metapb.ListVersionsRequest) (metapb.ListVersionsResponse, error)
	SetReplStatus(ctx context.Context, r metapb.ReplStatusRequest) (metapb.Result, error)
}

// ResyncProgress is a resync's position and counts.
type ResyncProgress struct {
	Partition int   `json:"partition"`
	Scanned   int64 `json:"scanned"`
	Marked    int64 `json:"marked"` // set PENDING: the replicator copies them
	Bytes     int64 `json:"marked_bytes"`
	Skipped   int64 `json:"skipped"` // REPLICA, COMPLETED, PENDING, or no rule selects them
}

// Resync marks PENDING every version and delete marker of bucket b that a
// rule selects and that was never replicated (written before the rule) or
// is FAILED, so the replicator copies it (existing-object replication,
// `meridian admin replication resync`). Each version gets a new feed entry
// in its partition; marking is idempotent, so a resync interrupted at any
// point is simply run again. progress is called after every page.
func Resync(ctx context.Context, meta ResyncMeta, b bucketsvc.Bucket, progress func(ResyncProgress)) (ResyncProgress, error) {
	var pr ResyncProgress
	if b.Replication == nil {
		return pr, fmt.Errorf("background: bucket %s has no replication configuration", b.Name)
	}
	for p := 0; p < meta.Partitions(); p++ {
		pr.Partition = p
		q := metapb.ListVersionsRequest{Bucket: b.MetaKey(), MaxKeys: 1000}
		for {
			res, err := meta.ListVersionsPartition(ctx, p, q)
			if err != nil {
				return pr, err
			}
			for _, e := range res.Entries {
				v := e.Version
				if v == nil {
					continue
				}
				pr.Scanned++
				q.KeyMarker, q.VersionMarker = v.Key, v.S3VersionID()
				marked, err := markForResync(ctx, meta, b.Replication, v, false)
				if err != nil {
					return pr, err
				}
				if !marked {
					pr.Skipped++
					continue
				}
				pr.Marked++
				pr.Bytes += v.Size
			}
			if progress != nil {
				progress(pr)
			}
			if !res.Truncated || len(res.Entries) == 0 {
				break
			}
		}
	}
	return pr, nil
}

// markForResync sets v PENDING when a rule selects it for a resync and it
// was never replicated (written before the rule) or is FAILED; marked
// reports whether it did. onlyExisting limits the rules to those enabling
// ExistingObjectReplication, unless an operator asked (ResyncSelects).
func markForResync(ctx context.Context, meta ResyncMeta, c *s3replication.Configuration, v *metapb.ObjectVersion, onlyExisting bool) (bool, error) {
	rule, ok := ruleForVersion(c, *v) // replsse.go: SSE-KMS only by rules selecting it
	if (v.Replication != "" && v.Replication != metapb.ReplFailed) || !ok || (v.IsDeleteMarker() && !rule.DeleteMarkers) {
		return false, nil
	}
	if onlyExisting && !c.ResyncSelects(rule) {
		return false, nil
	}
	r, err := meta.SetReplStatus(ctx, metapb.ReplStatusRequest{Bucket: v.Bucket, Key: v.Key, Ver: v.Ver, Status: metapb.ReplPending})
	if err != nil {
		return false, err
	}
	return !r.Existed && r.Version != nil, nil
}

package background

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// ReplicationReport is a bucket's replication state as its records hold it
// (`meridian admin replication status`): versions and bytes by status,
// and, given the destination's metadata, the lag of each completed copy —
// the destination record's commit time minus the source's (both leader
// clocks).
type ReplicationReport struct {
	Bucket    string                 `json:"bucket"`
	ByStatus  map[string]StatusCount `json:"by_status"` // PENDING, COMPLETED, FAILED, REPLICA, NONE
	LagCount  int                    `json:"lag_samples,omitempty"`
	LagP50    time.Duration          `json:"lag_p50,omitempty"`
	LagP99    time.Duration          `json:"lag_p99,omitempty"`
	LagMax    time.Duration          `json:"lag_max,omitempty"`
	Missing   int                    `json:"completed_missing_at_destination,omitempty"`
	OldestAge time.Duration          `json:"oldest_pending_age,omitempty"` // since commit, of the oldest PENDING/FAILED
	// Retry is the bucket's copies in the replicator's retry lists (from
	// the partitions' checkpoints; filled by the caller, ReadRetries).
	Retry *RetrySummary `json:"retry_list,omitempty"`
}

// StatusCount counts versions (delete markers included) and their bytes.
type StatusCount struct {
	Versions int64 `json:"versions"`
	Bytes    int64 `json:"bytes"`
}

// ReportMeta lists a partition's versions and reads one version.
type ReportMeta interface {
	Partitions() int
	ListVersionsPartition(ctx context.Context, partition int, q metapb.ListVersionsRequest) (metapb.ListVersionsResponse, error)
	GetVer(ctx context.Context, bucket, key, ver string) (metapb.ObjectVersion, error)
}

// ReadReplication walks every partition's versions of the bucket whose
// metadata key is mk. With dst set, each COMPLETED version is looked up in
// the destination bucket dstMK for its lag.
func ReadReplication(ctx context.Context, src ReportMeta, name, mk string, dst ReportMeta, dstMK string) (ReplicationReport, error) {
	rep := ReplicationReport{Bucket: name, ByStatus: map[string]StatusCount{}}
	var lags []time.Duration
	now := time.Now()
	for p := 0; p < src.Partitions(); p++ {
		q := metapb.ListVersionsRequest{Bucket: mk, MaxKeys: 1000}
		for {
			res, err := src.ListVersionsPartition(ctx, p, q)
			if err != nil {
				return rep, err
			}
			for _, e := range res.Entries {
				v := e.Version
				if v == nil {
					continue
				}
				st := v.Replication
				if st == "" {
					st = "NONE"
				}
				c := rep.ByStatus[st]
				c.Versions++
				c.Bytes += v.Size
				rep.ByStatus[st] = c
				if (st == metapb.ReplPending || st == metapb.ReplFailed) && !v.CommittedAt.IsZero() {
					rep.OldestAge = max(rep.OldestAge, now.Sub(v.CommittedAt))
				}
				if st == metapb.ReplCompleted && dst != nil {
					d, err := dst.GetVer(ctx, dstMK, v.Key, v.Ver)
					switch {
					case errors.Is(err, metaclient.ErrNotFound):
						rep.Missing++
					case err != nil:
						return rep, err
					default:
						lags = append(lags, d.CommittedAt.Sub(v.CommittedAt))
					}
				}
				q.KeyMarker, q.VersionMarker = v.Key, v.S3VersionID()
			}
			if !res.Truncated || len(res.Entries) == 0 {
				break
			}
		}
	}
	if len(lags) > 0 {
		slices.Sort(lags)
		q := func(f float64) time.Duration { return lags[min(len(lags)-1, int(f*float64(len(lags))))] }
		rep.LagCount, rep.LagP50, rep.LagP99, rep.LagMax = len(lags), q(0.50), q(0.99), lags[len(lags)-1]
	}
	return rep, nil
}

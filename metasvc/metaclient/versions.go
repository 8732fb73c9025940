package metaclient

import (
	"context"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Latest returns the key's newest committed record, object version or
// delete marker (ErrNotFound if the key has none).
func (c *Client) Latest(ctx context.Context, bucket, key string) (metapb.ObjectVersion, error) {
	r, err := c.read(ctx, c.PartitionOf(bucket, key), "latest", metapb.ReadRequest{Bucket: bucket, Key: key})
	if err != nil {
		return metapb.ObjectVersion{}, err
	}
	return deref(r.Version), nil
}

// GetVer returns the version or delete marker an S3 version id ("null" or
// an id) names (ErrNotFound if none).
func (c *Client) GetVer(ctx context.Context, bucket, key, ver string) (metapb.ObjectVersion, error) {
	r, err := c.read(ctx, c.PartitionOf(bucket, key), "ver", metapb.ReadRequest{Bucket: bucket, Key: key, Ver: ver})
	if err != nil {
		return metapb.ObjectVersion{}, err
	}
	return deref(r.Version), nil
}

// ListVersions lists a bucket's versions and delete markers over all
// partitions (ListObjectVersions). Every partition is asked for a whole
// page and the answers are merged by key (a key's versions all live in one
// partition, so their order is kept), equal common prefixes deduplicated.
func (c *Client) ListVersions(ctx context.Context, q metapb.ListVersionsRequest) (metapb.ListVersionsResponse, error) {
	if q.MaxKeys <= 0 || q.MaxKeys > 1000 {
		q.MaxKeys = 1000
	}
	resps := make([]metapb.ListVersionsResponse, c.parts)
	err := c.fanout(ctx, func(ctx context.Context, p int) error {
		r, err := c.read(ctx, p, "versions", metapb.ReadRequest{ListVersions: &q})
		if err == nil && r.ListVersions != nil {
			resps[p] = *r.ListVersions
		}
		return err
	})
	if err != nil {
		return metapb.ListVersionsResponse{}, err
	}
	return MergeVersions(resps, q.MaxKeys), nil
}

// MergeVersions merges per-partition version listings (each ordered by key,
// then newest first) into one, cut at max entries. A partition that is
// truncated returned max entries, so every merged entry up to the cut is
// final.
func MergeVersions(resps []metapb.ListVersionsResponse, max int) metapb.ListVersionsResponse {
	lists := make([][]metapb.VersionEntry, len(resps))
	trunc := false
	for p, r := range resps {
		lists[p], trunc = r.Entries, trunc || r.Truncated
	}
	entries, t := mergeByName(lists, trunc, max, func(e metapb.VersionEntry) (string, bool) { return e.Name(), e.Version == nil })
	return metapb.ListVersionsResponse{Entries: entries, Truncated: t}
}

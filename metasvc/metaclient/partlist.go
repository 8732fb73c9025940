package metaclient

import (
	"context"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// ListVersionsPartition lists one partition's versions and delete markers
// of a bucket (every version of a key lives in the key's partition), key
// ascending then newest first, from the markers. The background janitor
// walks the partitions it leases this way (lifecycle rules).
func (c *Client) ListVersionsPartition(ctx context.Context, partition int, q metapb.ListVersionsRequest) (metapb.ListVersionsResponse, error) {
	r, err := c.read(ctx, partition, "versions", metapb.ReadRequest{ListVersions: &q})
	return deref(r.ListVersions), err
}

// ListUploadsPartition lists one partition's in-progress uploads of a
// bucket, ordered by (key, initiated, upload id) from the markers.
func (c *Client) ListUploadsPartition(ctx context.Context, partition int, q metapb.ListUploadsRequest) (metapb.ListUploadsResponse, error) {
	r, err := c.read(ctx, partition, "uploads", metapb.ReadRequest{ListUploads: &q})
	return deref(r.Uploads), err
}

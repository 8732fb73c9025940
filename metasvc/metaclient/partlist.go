package metaclient

import (
	"context"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// ListPartition lists one partition's current versions of a bucket (the
// keys of that bucket hashed to it), in key order from q.StartAfter. The
// background janitor walks partitions it leases this way.
func (c *Client) ListPartition(ctx context.Context, partition int, q metapb.ListRequest) (metapb.ListResponse, error) {
	r, err := c.read(ctx, partition, "list", metapb.ReadRequest{List: &q})
	return deref(r.List), err
}

// ListUploadsPartition lists one partition's in-progress uploads of a
// bucket, ordered by (key, initiated, upload id) from the markers.
func (c *Client) ListUploadsPartition(ctx context.Context, partition int, q metapb.ListUploadsRequest) (metapb.ListUploadsResponse, error) {
	r, err := c.read(ctx, partition, "uploads", metapb.ReadRequest{ListUploads: &q})
	return deref(r.Uploads), err
}

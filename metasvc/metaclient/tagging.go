package metaclient

import (
	"context"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// PutTags replaces the tags of one committed version (metapb.PutTagsRequest);
// Result.Version is the record after the change.
func (c *Client) PutTags(ctx context.Context, r metapb.PutTagsRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdPutTags, PutTags: &r})
}

package metaclient

import (
	"context"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// PutACL replaces the ACL of one committed version (metapb.PutACLRequest);
// Result.Version is the record after the change.
func (c *Client) PutACL(ctx context.Context, r metapb.PutACLRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdPutACL, PutACL: &r})
}

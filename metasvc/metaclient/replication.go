package metaclient

import (
	"context"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// SetReplStatus sets a source version's replication status (the
// replicator; metapb.ReplStatusRequest).
func (c *Client) SetReplStatus(ctx context.Context, r metapb.ReplStatusRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdReplStatus, ReplStatus: &r})
}

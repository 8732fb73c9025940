package metaclient

import (
	"context"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// PutLock changes one committed version's retention or legal hold
// (metapb.PutLockRequest); Result.Version is the record after the change.
// A change Object Lock forbids is ErrObjectLocked.
func (c *Client) PutLock(ctx context.Context, r metapb.PutLockRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdPutLock, PutLock: &r})
}

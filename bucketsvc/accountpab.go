package bucketsvc

import (
	"context"

	"github.com/meridian-s3/meridian/internal/s3authz"
)

// AccountPublicAccessBlocks is the optional capability of a Store to keep
// an account's Block Public Access configuration (both stores implement
// it; `meridian admin put-public-access-block` sets it). It applies to
// every bucket the account owns, together with each bucket's own
// (docs/access-control.md).
type AccountPublicAccessBlocks interface {
	// PutAccountPublicAccessBlock sets account's configuration; nil
	// deletes it. ErrNoSuchAccount for an unknown account.
	PutAccountPublicAccessBlock(ctx context.Context, account string, p *s3authz.PublicAccessBlock) error
	// GetAccountPublicAccessBlock returns it (nil: none). An unknown
	// account has none.
	GetAccountPublicAccessBlock(ctx context.Context, account string) (*s3authz.PublicAccessBlock, error)
}

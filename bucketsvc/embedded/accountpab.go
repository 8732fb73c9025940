package embedded

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3authz"
)

var _ bucketsvc.AccountPublicAccessBlocks = (*Store)(nil)

// PutAccountPublicAccessBlock implements bucketsvc.AccountPublicAccessBlocks:
// the configuration lives in the account's record.
func (s *Store) PutAccountPublicAccessBlock(ctx context.Context, account string, p *s3authz.PublicAccessBlock) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bkAccount)
		raw := b.Get([]byte(account))
		if raw == nil {
			return bucketsvc.ErrNoSuchAccount
		}
		var rec accountRecord
		if err := decode(raw, &rec, &rec.V); err != nil {
			return err
		}
		rec.V, rec.PublicAccessBlock = formatVersion, p
		return put(b, []byte(account), rec)
	})
}

// GetAccountPublicAccessBlock implements bucketsvc.AccountPublicAccessBlocks.
func (s *Store) GetAccountPublicAccessBlock(ctx context.Context, account string) (*s3authz.PublicAccessBlock, error) {
	var rec accountRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bkAccount).Get([]byte(account))
		if raw == nil {
			return nil
		}
		return decode(raw, &rec, &rec.V)
	})
	return rec.PublicAccessBlock, err
}

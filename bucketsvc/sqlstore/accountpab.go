package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3authz"
)

var _ bucketsvc.AccountPublicAccessBlocks = (*Store)(nil)

// PutAccountPublicAccessBlock implements bucketsvc.AccountPublicAccessBlocks
// (the accounts table's public_access_block column, migration 10).
func (s *Store) PutAccountPublicAccessBlock(ctx context.Context, account string, p *s3authz.PublicAccessBlock) error {
	v, err := jsonOrNull(p)
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	return s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE accounts SET public_access_block = $2::JSONB WHERE id = $1", account, v)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return bucketsvc.ErrNoSuchAccount
		}
		return nil
	})
}

// GetAccountPublicAccessBlock implements bucketsvc.AccountPublicAccessBlocks.
func (s *Store) GetAccountPublicAccessBlock(ctx context.Context, account string) (*s3authz.PublicAccessBlock, error) {
	if err := s.alive(); err != nil {
		return nil, err
	}
	var raw []byte
	err := s.pool.QueryRow(ctx, "SELECT public_access_block FROM accounts WHERE id = $1", account).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && raw == nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.check(err)
	}
	var p s3authz.PublicAccessBlock
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("sqlstore: account %s: public access block: %w", account, err)
	}
	return &p, nil
}

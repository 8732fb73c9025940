package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-s3/meridian/bucketsvc"
)

var _ bucketsvc.ServerKeyStore = (*Store)(nil)

// PutServerKey implements bucketsvc.ServerKeyStore.
func (s *Store) PutServerKey(ctx context.Context, k bucketsvc.ServerKey) error {
	if k.Scope == "" || k.ID == "" || len(k.Material) == 0 {
		return errors.New("sqlstore: a server key needs a scope, an id and material")
	}
	sealed := s.ring.Seal(k.Material, bucketsvc.ServerKeyAAD(k.Scope, k.ID))
	err := s.RunTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO server_keys (scope, id, name, sealed, sealed_key_id, created) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.Scope, k.ID, k.Name, sealed, s.ring.PrimaryKeyID(), normTime(k.Created))
		return err
	})
	if sqlState(err) == codeUniqueViolation {
		return fmt.Errorf("%w: %s/%s", bucketsvc.ErrServerKeyExists, k.Scope, k.ID)
	}
	return s.check(err)
}

// ListServerKeys implements bucketsvc.ServerKeyStore.
func (s *Store) ListServerKeys(ctx context.Context, scope string) ([]bucketsvc.ServerKey, error) {
	if err := s.alive(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, name, sealed, created FROM server_keys WHERE scope = $1 ORDER BY created, id`, scope)
	if err != nil {
		return nil, s.check(err)
	}
	defer rows.Close()
	var out []bucketsvc.ServerKey
	for rows.Next() {
		k := bucketsvc.ServerKey{Scope: scope}
		var sealed []byte
		if err := rows.Scan(&k.ID, &k.Name, &sealed, &k.Created); err != nil {
			return nil, s.check(err)
		}
		m, err := s.ring.Open(sealed, bucketsvc.ServerKeyAAD(scope, k.ID))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: server key %s/%s: %w", scope, k.ID, err)
		}
		k.Material, k.Created = m, k.Created.UTC()
		out = append(out, k)
	}
	return out, s.check(rows.Err())
}

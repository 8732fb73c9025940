package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/meridian-s3/meridian/bucketsvc"
)

var bkServerKeys = []byte("server_keys")

type serverKeyRecord struct {
	V       int       `json:"v"`
	Scope   string    `json:"scope"`
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Sealed  []byte    `json:"sealed"`
	KeyID   string    `json:"kid"` // the catalog key that sealed it
	Created time.Time `json:"created"`
}

func serverKeyKey(scope, id string) []byte { return []byte(scope + "\x00" + id) }

var _ bucketsvc.ServerKeyStore = (*Store)(nil)

// PutServerKey implements bucketsvc.ServerKeyStore.
func (s *Store) PutServerKey(ctx context.Context, k bucketsvc.ServerKey) error {
	if k.Scope == "" || k.ID == "" || len(k.Material) == 0 {
		return errors.New("embedded: a server key needs a scope, an id and material")
	}
	rec := serverKeyRecord{V: formatVersion, Scope: k.Scope, ID: k.ID, Name: k.Name, Created: normTime(k.Created),
		Sealed: s.ring.Seal(k.Material, bucketsvc.ServerKeyAAD(k.Scope, k.ID)), KeyID: s.ring.PrimaryKeyID()}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bkServerKeys)
		if err != nil {
			return err
		}
		if b.Get(serverKeyKey(k.Scope, k.ID)) != nil {
			return fmt.Errorf("%w: %s/%s", bucketsvc.ErrServerKeyExists, k.Scope, k.ID)
		}
		return put(b, serverKeyKey(k.Scope, k.ID), rec)
	})
}

// ListServerKeys implements bucketsvc.ServerKeyStore.
func (s *Store) ListServerKeys(ctx context.Context, scope string) ([]bucketsvc.ServerKey, error) {
	var out []bucketsvc.ServerKey
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bkServerKeys)
		if b == nil {
			return nil
		}
		prefix := []byte(scope + "\x00")
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var rec serverKeyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("embedded: server key %q: %w", k, err)
			}
			m, err := s.ring.Open(rec.Sealed, bucketsvc.ServerKeyAAD(rec.Scope, rec.ID))
			if err != nil {
				return fmt.Errorf("embedded: server key %s/%s: %w", rec.Scope, rec.ID, err)
			}
			out = append(out, bucketsvc.ServerKey{Scope: rec.Scope, ID: rec.ID, Name: rec.Name, Material: m, Created: rec.Created.UTC()})
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// Package ssekeys is the region's SSE-S3 master key ring (docs/sse.md, "Key
// hierarchy"): versions of a 256-bit master key kept in the bucket catalog
// (bucketsvc.ServerKeyStore, sealed there by the catalog key), each object's
// data key sealed by the newest version with AES-256-GCM. Rotation adds a
// version (`meridian admin rotate-sse-key`); objects sealed by older
// versions stay readable, because versions are never removed.
package ssekeys

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/sse"
)

// ErrUnknownVersion: a data key names a master key version the catalog does
// not hold.
var ErrUnknownVersion = errors.New("ssekeys: unknown master key version")

// Refresh is how long the ring trusts its copy of the versions before it
// reads the catalog again: a rotation made elsewhere is used for new
// objects within this time (an unknown version is looked up at once).
const Refresh = time.Minute

// Ring implements regional.SSEKeys over the catalog. Safe for concurrent use.
type Ring struct {
	store  bucketsvc.ServerKeyStore
	region string
	now    func() time.Time

	mu      sync.Mutex
	keys    map[string][]byte
	current string
	loaded  time.Time
}

// New returns the ring of region's master keys in store.
func New(store bucketsvc.ServerKeyStore, region string) *Ring {
	return &Ring{store: store, region: region, now: time.Now, keys: map[string][]byte{}}
}

// aad binds a sealed data key to the region and master key version.
func (r *Ring) aad(version string) []byte {
	return []byte("meridian sse-s3 data key v1\x00" + r.region + "\x00" + version)
}

// load reads the versions; with create, a region without any gets version 1.
func (r *Ring) load(ctx context.Context, create bool) error {
	scope := bucketsvc.SSES3Scope(r.region)
	keys, err := r.store.ListServerKeys(ctx, scope)
	if err != nil {
		return fmt.Errorf("ssekeys: %w", err)
	}
	if len(keys) == 0 && create {
		if _, err := bucketsvc.AddKeyVersion(ctx, r.store, scope, sse.NewKey()); err != nil {
			return fmt.Errorf("ssekeys: first master key: %w", err)
		}
		if keys, err = r.store.ListServerKeys(ctx, scope); err != nil {
			return fmt.Errorf("ssekeys: %w", err)
		}
	}
	for _, k := range keys {
		r.keys[k.ID] = k.Material
	}
	if len(keys) > 0 {
		r.current = keys[len(keys)-1].ID // newest
	}
	r.loaded = r.now()
	return nil
}

// NewDataKey implements regional.SSEKeys.
func (r *Ring) NewDataKey(ctx context.Context) ([]byte, []byte, string, error) {
	r.mu.Lock()
	if r.current == "" || r.now().Sub(r.loaded) > Refresh {
		if err := r.load(ctx, true); err != nil && r.current == "" {
			r.mu.Unlock()
			return nil, nil, "", err
		}
	}
	version, master := r.current, r.keys[r.current]
	r.mu.Unlock()
	key := sse.NewKey()
	sealed, err := sse.WrapKey(master, key, r.aad(version))
	if err != nil {
		return nil, nil, "", err
	}
	return key, sealed, version, nil
}

// OpenDataKey implements regional.SSEKeys.
func (r *Ring) OpenDataKey(ctx context.Context, version string, sealed []byte) ([]byte, error) {
	r.mu.Lock()
	master, ok := r.keys[version]
	if !ok {
		if err := r.load(ctx, false); err != nil {
			r.mu.Unlock()
			return nil, err
		}
		master, ok = r.keys[version]
	}
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (region %s)", ErrUnknownVersion, version, r.region)
	}
	return sse.UnwrapKey(master, sealed, r.aad(version))
}

// Rotate adds a new master key version for region (bucketsvc.RotateSSES3Key).
func Rotate(ctx context.Context, store bucketsvc.ServerKeyStore, region string) (string, error) {
	k, err := bucketsvc.RotateSSES3Key(ctx, store, region)
	return k.ID, err
}

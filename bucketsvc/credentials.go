package bucketsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/meridian-s3/meridian/internal/sigv4"
)

// SigV4Credentials adapts a Store to the SigV4 verifier's credential lookup
// (internal/sigv4.Credentials): the secret and the owning account of an
// active key; unknown and revoked keys wrap the verifier's sentinels.
type SigV4Credentials struct {
	Store interface {
		LookupAccessKey(ctx context.Context, id string) (AccessKey, error)
	}
}

// Lookup implements sigv4.Credentials.
func (c SigV4Credentials) Lookup(ctx context.Context, id string) (string, string, error) {
	k, err := c.Store.LookupAccessKey(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNoSuchAccessKey) {
			return "", "", fmt.Errorf("%w: %s", sigv4.ErrUnknownAccessKey, id)
		}
		return "", "", err
	}
	if k.Status != KeyActive {
		return "", "", fmt.Errorf("%w: %s revoked", sigv4.ErrDisabledAccessKey, id)
	}
	return k.Secret, k.AccountID, nil
}

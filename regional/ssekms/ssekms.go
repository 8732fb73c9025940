// Package ssekms is Meridian's built-in key service for SSE-KMS (docs/sse.md):
// named 256-bit keys per account and region, kept in the bucket catalog
// (bucketsvc.ServerKeyStore, sealed there by the catalog key). A data key
// is sealed by the named key with AES-256-GCM, bound to the key's ARN and
// the request's encryption context. It implements regional.KMS, the small
// interface a real KMS would implement instead.
package ssekms

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/sse"
)

// DefaultAlias is the key SSE-KMS uses when a request names none: the
// account's "AWS managed" key for S3, made on first use as in AWS.
const DefaultAlias = "alias/aws/s3"

// Scope is the catalog scope of an account's keys in a region.
func Scope(region, account string) string { return bucketsvc.KMSScope(region, account) }

// ARN is the key's ARN.
func ARN(region, account, id string) string { return bucketsvc.KMSKeyARN(region, account, id) }

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Service implements regional.KMS over the catalog. Keys are only ever
// added, so a key found once is cached for good; a miss reads the catalog.
type Service struct {
	store  bucketsvc.ServerKeyStore
	region string

	mu   sync.Mutex
	keys map[string][]bucketsvc.ServerKey // by account
}

// New returns the key service of region.
func New(store bucketsvc.ServerKeyStore, region string) *Service {
	return &Service{store: store, region: region, keys: map[string][]bucketsvc.ServerKey{}}
}

func notFound(msg string) error { return &sse.KeyNotFoundError{Msg: msg} }

// find looks a key up by id or alias in the cached list.
func find(keys []bucketsvc.ServerKey, id, alias string) (bucketsvc.ServerKey, bool) {
	for _, k := range keys {
		if (id != "" && k.ID == id) || (alias != "" && k.Name == alias) {
			return k, true
		}
	}
	return bucketsvc.ServerKey{}, false
}

// resolve finds the key keyID names in account's keys: "" (the default
// key, created when missing), a key id, "alias/<name>", or a key or alias
// ARN of this region and account.
func (s *Service) resolve(ctx context.Context, account, keyID string) (bucketsvc.ServerKey, error) {
	id, alias := "", ""
	switch {
	case keyID == "":
		alias = DefaultAlias
	case strings.HasPrefix(keyID, "arn:"):
		parts := strings.SplitN(keyID, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || parts[3] != s.region || parts[4] != account {
			return bucketsvc.ServerKey{}, notFound("Invalid arn " + keyID)
		}
		switch res := parts[5]; {
		case strings.HasPrefix(res, "key/"):
			id = strings.TrimPrefix(res, "key/")
		case strings.HasPrefix(res, "alias/"):
			alias = res
		default:
			return bucketsvc.ServerKey{}, notFound("Invalid arn " + keyID)
		}
	case strings.HasPrefix(keyID, "alias/"):
		alias = keyID
	default:
		id = keyID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := find(s.keys[account], id, alias); ok {
		return k, nil
	}
	keys, err := s.store.ListServerKeys(ctx, Scope(s.region, account))
	if err != nil {
		return bucketsvc.ServerKey{}, fmt.Errorf("ssekms: %w", err)
	}
	if alias == DefaultAlias {
		if _, ok := find(keys, "", DefaultAlias); !ok {
			if _, err := CreateKey(ctx, s.store, s.region, account, DefaultAlias); err != nil {
				return bucketsvc.ServerKey{}, err
			}
			if keys, err = s.store.ListServerKeys(ctx, Scope(s.region, account)); err != nil {
				return bucketsvc.ServerKey{}, fmt.Errorf("ssekms: %w", err)
			}
		}
	}
	s.keys[account] = keys
	if k, ok := find(keys, id, alias); ok {
		return k, nil
	}
	if id != "" && uuidRE.MatchString(id) {
		return bucketsvc.ServerKey{}, notFound("Key '" + ARN(s.region, account, id) + "' does not exist")
	}
	if alias != "" {
		return bucketsvc.ServerKey{}, notFound("Alias arn:aws:kms:" + s.region + ":" + account + ":" + alias + " is not found.")
	}
	return bucketsvc.ServerKey{}, notFound("Invalid keyId " + keyID)
}

func aad(arn string, encCtx []byte) []byte {
	return append([]byte("meridian sse-kms data key v1\x00"+arn+"\x00"), encCtx...)
}

// GenerateDataKey implements regional.KMS.
func (s *Service) GenerateDataKey(ctx context.Context, account, keyID string, encCtx []byte) (key, sealed []byte, arn string, err error) {
	k, err := s.resolve(ctx, account, keyID)
	if err != nil {
		return nil, nil, "", err
	}
	arn = ARN(s.region, account, k.ID)
	key = sse.NewKey()
	sealed, err = sse.WrapKey(k.Material, key, aad(arn, encCtx))
	return key, sealed, arn, err
}

// Decrypt implements regional.KMS.
func (s *Service) Decrypt(ctx context.Context, arn string, sealed, encCtx []byte) ([]byte, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "key/") {
		return nil, notFound("Invalid arn " + arn)
	}
	k, err := s.resolve(ctx, parts[4], arn)
	if err != nil {
		return nil, err
	}
	return sse.UnwrapKey(k.Material, sealed, aad(arn, encCtx))
}

// CreateKey adds a key for account in region (alias optional, "alias/…").
func CreateKey(ctx context.Context, store bucketsvc.ServerKeyStore, region, account, alias string) (bucketsvc.ServerKey, error) {
	return bucketsvc.CreateKMSKey(ctx, store, region, account, alias)
}

package bucketsvc

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"
)

// Keys of the built-in KMS (regional/ssekms, docs/sse.md): named 256-bit
// keys per account and region, kept as server keys.

// KMSScope is the scope of account's KMS keys in region.
func KMSScope(region, account string) string { return "kms/" + region + "/" + account }

// KMSKeyARN is a KMS key's ARN.
func KMSKeyARN(region, account, id string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + id
}

// CreateKMSKey adds a key for account in region with an optional alias
// ("alias/…", unique per account and region).
func CreateKMSKey(ctx context.Context, s ServerKeyStore, region, account, alias string) (ServerKey, error) {
	if account == "" || region == "" {
		return ServerKey{}, fmt.Errorf("bucketsvc: a KMS key needs an account and a region")
	}
	if alias != "" {
		if !strings.HasPrefix(alias, "alias/") || len(alias) < 7 || strings.HasPrefix(alias, "alias/aws/") && alias != "alias/aws/s3" {
			return ServerKey{}, fmt.Errorf("bucketsvc: an alias is alias/<name>, not under alias/aws/ (got %q)", alias)
		}
		keys, err := s.ListServerKeys(ctx, KMSScope(region, account))
		if err != nil {
			return ServerKey{}, err
		}
		for _, k := range keys {
			if k.Name == alias {
				return ServerKey{}, fmt.Errorf("%w: alias %s is key %s", ErrServerKeyExists, alias, k.ID)
			}
		}
	}
	m := make([]byte, 32)
	rand.Read(m) // crypto/rand.Read never fails (Go ≥1.24)
	k := ServerKey{Scope: KMSScope(region, account), ID: newKeyUUID(), Name: alias, Material: m, Created: time.Now().UTC()}
	if err := s.PutServerKey(ctx, k); err != nil {
		return ServerKey{}, err
	}
	return k, nil
}

// newKeyUUID is a random (version 4) UUID, as KMS key ids are.
func newKeyUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

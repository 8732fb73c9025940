package bucketsvc

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"log/slog"
)

// String redacts the secret so an AccessKey can be printed or logged safely.
func (k AccessKey) String() string {
	return fmt.Sprintf("AccessKey{ID:%s Account:%s Status:%s Secret:%s}", k.ID, k.AccountID, k.Status, redact(k.Secret))
}

// GoString redacts the secret for %#v too.
func (k AccessKey) GoString() string { return k.String() }

// LogValue redacts the secret in structured logs.
func (k AccessKey) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", k.ID),
		slog.String("account_id", k.AccountID),
		slog.String("status", string(k.Status)),
		slog.String("secret", redact(k.Secret)),
	)
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// NewAccountID returns a fresh random account id (24 lowercase hex-like
// base32 characters).
func NewAccountID() string {
	var b [15]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥1.24)
	return "acct-" + lowerB32.EncodeToString(b[:])
}

// NewAccessKeyID returns a fresh access key id in AWS's shape: 20
// characters, uppercase letters and digits, prefixed "MK" (Meridian Key).
func NewAccessKeyID() string {
	var b [15]byte
	rand.Read(b[:])
	return "MK" + upperB32.EncodeToString(b[:])[:18]
}

// NewSecretKey returns a fresh 40-character secret (30 random bytes).
func NewSecretKey() string {
	var b [30]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

var (
	upperB32 = base32.StdEncoding.WithPadding(base32.NoPadding)
	lowerB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
)

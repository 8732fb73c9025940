// Package secretcrypt seals access-key secrets for storage at rest with
// AES-256-GCM. Every sealed value names the key that sealed it (a key id
// derived from the key), so keys can rotate: a Keyring seals with its primary
// key and opens values sealed by any key it holds.
//
// Sealed format (version 1):
//
//	byte 0       format version (1)
//	bytes 1..8   key id (first 8 bytes of SHA-256("meridian secretcrypt key id\x00" || key))
//	bytes 9..20  random 96-bit GCM nonce
//	bytes 21..   GCM ciphertext || 16-byte tag
//
// The caller's associated data (the access key id) binds a sealed secret to
// its row, so a ciphertext copied onto another key id fails to open.
package secretcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Errors.
var (
	ErrKeySize    = errors.New("secretcrypt: encryption key must be 32 bytes")
	ErrUnknownKey = errors.New("secretcrypt: sealed with an unknown key")
	ErrCorrupt    = errors.New("secretcrypt: sealed value is corrupt or tampered")
)

const (
	formatV1  = 1
	keyIDLen  = 8
	nonceLen  = 12
	headerLen = 1 + keyIDLen + nonceLen
)

// KeySize is the required key length (AES-256).
const KeySize = 32

// Keyring seals with a primary key and opens with any key it holds. It is
// immutable and safe for concurrent use.
type Keyring struct {
	primary [keyIDLen]byte
	aeads   map[[keyIDLen]byte]cipher.AEAD
}

// NewKeyring builds a keyring whose primary (sealing) key is primary; old
// keys only open values sealed before a rotation.
func NewKeyring(primary []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: make(map[[keyIDLen]byte]cipher.AEAD)}
	for i, key := range append([][]byte{primary}, old...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("%w (key %d has %d bytes)", ErrKeySize, i, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("secretcrypt: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secretcrypt: %w", err)
		}
		id := keyID(key)
		if i == 0 {
			k.primary = id
		}
		k.aeads[id] = aead
	}
	return k, nil
}

func keyID(key []byte) [keyIDLen]byte {
	h := sha256.New()
	h.Write([]byte("meridian secretcrypt key id\x00"))
	h.Write(key)
	var id [keyIDLen]byte
	copy(id[:], h.Sum(nil))
	return id
}

// KeyID returns the printable id of key (16 hex characters). It reveals
// nothing useful about the key.
func KeyID(key []byte) string { id := keyID(key); return hex.EncodeToString(id[:]) }

// PrimaryKeyID is the id of the key Seal uses.
func (k *Keyring) PrimaryKeyID() string { return hex.EncodeToString(k.primary[:]) }

// Seal encrypts plaintext under the primary key, binding it to aad.
func (k *Keyring) Seal(plaintext, aad []byte) []byte {
	out := make([]byte, headerLen, headerLen+len(plaintext)+16)
	out[0] = formatV1
	copy(out[1:], k.primary[:])
	rand.Read(out[1+keyIDLen : headerLen]) // never fails (Go ≥1.24)
	return k.aeads[k.primary].Seal(out, out[1+keyIDLen:headerLen], plaintext, aad)
}

// Open decrypts a value sealed by any key in the ring.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < headerLen+16 || sealed[0] != formatV1 {
		return nil, ErrCorrupt
	}
	var id [keyIDLen]byte
	copy(id[:], sealed[1:])
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w %x", ErrUnknownKey, id)
	}
	pt, err := aead.Open(nil, sealed[1+keyIDLen:headerLen], sealed[headerLen:], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}

// SealedKeyID returns the id of the key that sealed a value ("" if the value
// is malformed), e.g. to find rows still sealed under a retired key.
func SealedKeyID(sealed []byte) string {
	if len(sealed) < headerLen || sealed[0] != formatV1 {
		return ""
	}
	return hex.EncodeToString(sealed[1 : 1+keyIDLen])
}

package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
)

// ErrUnwrap: a sealed key did not open (wrong key-encryption key, other
// context, or tampered).
var ErrUnwrap = errors.New("sse: sealed key does not open")

const wrapNonce = 12

// WrapKey seals key (a data key) under kek with AES-256-GCM, binding it to
// context (e.g. the key-encryption key's id and the scheme): sealed =
// nonce(12) || ciphertext || tag(16).
func WrapKey(kek, key, context []byte) ([]byte, error) {
	aead, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, wrapNonce, wrapNonce+len(key)+TagSize)
	_, _ = rand.Read(out)
	return aead.Seal(out, out[:wrapNonce], key, context), nil
}

// UnwrapKey opens a key sealed by WrapKey.
func UnwrapKey(kek, sealed, context []byte) ([]byte, error) {
	aead, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	if len(sealed) < wrapNonce+TagSize {
		return nil, ErrUnwrap
	}
	key, err := aead.Open(nil, sealed[:wrapNonce], sealed[wrapNonce:], context)
	if err != nil {
		return nil, ErrUnwrap
	}
	return key, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// KeyCheck is what is stored to recognise a customer-provided key (SSE-C)
// without storing the key: a random salt and HMAC-SHA256(key, label||salt).
func KeyCheck(key []byte) (salt, mac []byte) {
	salt = make([]byte, 16)
	_, _ = rand.Read(salt)
	return salt, keyMAC(key, salt)
}

// CheckKey reports whether key is the one KeyCheck recorded as (salt, mac).
func CheckKey(key, salt, mac []byte) bool {
	return subtle.ConstantTimeCompare(keyMAC(key, salt), mac) == 1
}

func keyMAC(key, salt []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("meridian sse-c key check v1\x00"))
	m.Write(salt)
	return m.Sum(nil)
}

// OpaqueETag is the ETag of an object whose ETag must not be the MD5 of its
// plaintext (SSE-C and SSE-KMS in S3): 32 hex digits of
// HMAC-SHA256(key, label || plaintext MD5). It is deterministic for the same
// key and bytes (a retried PUT gets the same ETag) and reveals nothing about
// the plaintext to whoever lacks the key.
func OpaqueETag(key, plainMD5 []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("meridian sse etag v1\x00"))
	m.Write(plainMD5)
	return hex.EncodeToString(m.Sum(nil)[:md5.Size])
}

// KeyNotFoundError: a KMS key id names no key the account holds. Msg is
// S3's message for it (KMS.NotFoundException).
type KeyNotFoundError struct{ Msg string }

func (e *KeyNotFoundError) Error() string { return "sse: KMS key not found: " + e.Msg }

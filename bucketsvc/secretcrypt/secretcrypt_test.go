package secretcrypt

import (
	"bytes"
	"errors"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpenRoundTrip(t *testing.T) {
	ring, err := NewKeyring(key(1))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	sealed := ring.Seal(secret, []byte("AKID"))
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	if again := ring.Seal(secret, []byte("AKID")); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one secret are identical: nonce reused")
	}
	got, err := ring.Open(sealed, []byte("AKID"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if SealedKeyID(sealed) != KeyID(key(1)) || ring.PrimaryKeyID() != KeyID(key(1)) {
		t.Fatalf("key id mismatch: %s vs %s", SealedKeyID(sealed), KeyID(key(1)))
	}
}

func TestOpenFailures(t *testing.T) {
	ring, _ := NewKeyring(key(1))
	other, _ := NewKeyring(key(2))
	sealed := ring.Seal([]byte("secret"), []byte("AKID"))
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name   string
		ring   *Keyring
		sealed []byte
		aad    string
		want   error
	}{
		{"wrong aad", ring, sealed, "OTHER", ErrCorrupt},
		{"tampered", ring, flipped, "AKID", ErrCorrupt},
		{"truncated", ring, sealed[:10], "AKID", ErrCorrupt},
		{"empty", ring, nil, "AKID", ErrCorrupt},
		{"unknown key", other, sealed, "AKID", ErrUnknownKey},
	}
	for _, tt := range tests {
		if _, err := tt.ring.Open(tt.sealed, []byte(tt.aad)); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestRotation(t *testing.T) {
	oldRing, _ := NewKeyring(key(1))
	sealedOld := oldRing.Seal([]byte("old-secret"), []byte("K1"))
	rotated, err := NewKeyring(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealedOld, []byte("K1")); err != nil || string(got) != "old-secret" {
		t.Fatalf("rotated ring cannot open old value: %q %v", got, err)
	}
	if SealedKeyID(rotated.Seal([]byte("x"), nil)) != KeyID(key(2)) {
		t.Fatal("rotated ring does not seal with the new primary key")
	}
}

func TestKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewKeyring(make([]byte, n)); !errors.Is(err, ErrKeySize) {
			t.Errorf("%d-byte key: err = %v, want ErrKeySize", n, err)
		}
	}
	if _, err := NewKeyring(key(1), key(2)[:5]); !errors.Is(err, ErrKeySize) {
		t.Errorf("short old key accepted: %v", err)
	}
}

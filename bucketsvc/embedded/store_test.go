package embedded_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/catalogtest"
	"github.com/meridian-s3/meridian/bucketsvc/embedded"
	"github.com/meridian-s3/meridian/bucketsvc/secretcrypt"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, secretcrypt.KeySize) }

func open(t *testing.T, path string, cfg embedded.Config) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T) bucketsvc.Store {
		return open(t, filepath.Join(t.TempDir(), "catalog.db"), embedded.Config{EncryptionKey: key(7)})
	})
}

func TestSecretsEncryptedAtRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	s := open(t, path, embedded.Config{EncryptionKey: key(7)})
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, bucketsvc.Account{DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.NewAccessKey(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(k.ID)) {
		t.Fatal("raw file does not contain the key id: the check below would prove nothing")
	}
	if bytes.Contains(raw, []byte(k.Secret)) {
		t.Fatal("raw catalog file contains the secret in clear text")
	}
}

func TestReopenAndKeyRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	ctx := context.Background()
	s, err := embedded.Open(path, embedded.Config{EncryptionKey: key(1)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.CreateAccount(ctx, bucketsvc.Account{DisplayName: "alice"})
	k, err := s.NewAccessKey(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(ctx, bucketsvc.Bucket{Name: "kept", Owner: a.ID, Region: "r1"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A store with a different key cannot read the secret.
	wrong := open(t, path, embedded.Config{EncryptionKey: key(2)})
	if _, err := wrong.LookupAccessKey(ctx, k.ID); !errors.Is(err, secretcrypt.ErrUnknownKey) {
		t.Fatalf("lookup with the wrong key: err = %v, want ErrUnknownKey", err)
	}
	wrong.Close()

	// After rotation the old secret still opens and new ones use the new key.
	rotated := open(t, path, embedded.Config{EncryptionKey: key(2), OldEncryptionKeys: [][]byte{key(1)}})
	got, err := rotated.LookupAccessKey(ctx, k.ID)
	if err != nil || got.Secret != k.Secret {
		t.Fatalf("after rotation: %v, %v", got, err)
	}
	if b, err := rotated.GetBucket(ctx, "kept"); err != nil || b.Owner != a.ID {
		t.Fatalf("bucket lost across reopen: %+v %v", b, err)
	}
	k2, err := rotated.NewAccessKey(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.LookupAccessKey(ctx, k2.ID); err != nil || got.Secret != k2.Secret {
		t.Fatalf("new key after rotation: %v %v", got, err)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  embedded.Config
	}{
		{"no key", embedded.Config{}},
		{"short key", embedded.Config{EncryptionKey: key(1)[:16]}},
		{"short old key", embedded.Config{EncryptionKey: key(1), OldEncryptionKeys: [][]byte{{1}}}},
	}
	for _, tt := range tests {
		if s, err := embedded.Open(filepath.Join(dir, tt.name), tt.cfg); err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", tt.name)
		}
	}
}

// TestLegacyBucketRecord: a bucket record written before incarnations (no
// "incarnation" field) reads back as the legacy incarnation "" and can be
// deleted by it; a re-created name gets an id.
func TestLegacyBucketRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	s := open(t, path, embedded.Config{EncryptionKey: key(7)})
	ctx := context.Background()
	if err := s.CreateBucket(ctx, bucketsvc.Bucket{Name: "old", Owner: "acct-x", Region: "r1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Rewrite the record as the previous version of the store wrote it.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("buckets"))
		var rec map[string]any
		if err := json.Unmarshal(b.Get([]byte("old")), &rec); err != nil {
			return err
		}
		if rec["incarnation"] == nil {
			return errors.New("the record has no incarnation: the test would prove nothing")
		}
		delete(rec, "incarnation")
		raw, _ := json.Marshal(rec)
		return b.Put([]byte("old"), raw)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, path, embedded.Config{EncryptionKey: key(7)})
	got, err := s.GetBucket(ctx, "old")
	if err != nil || got.Incarnation != "" || got.MetaKey() != "old" {
		t.Fatalf("legacy bucket = %+v, %v", got, err)
	}
	if err := s.DeleteBucketIncarnation(ctx, "old", bucketsvc.NewIncarnation()); !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		t.Fatalf("delete by another id: %v", err)
	}
	if err := s.DeleteBucketIncarnation(ctx, "old", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(ctx, bucketsvc.Bucket{Name: "old", Owner: "acct-y", Region: "r1"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "old"); got.Incarnation == "" {
		t.Fatal("re-created bucket has no incarnation")
	}
}

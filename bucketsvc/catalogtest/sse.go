package catalogtest

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
)

// testEncryption: the bucket default encryption round-trips, survives
// another field's update and is removed by setting nil.
func testEncryption(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice := mustAccount(t, s, "alice")
	b := sampleBucket("encrypted", alice.ID)
	want := &bucketsvc.BucketEncryption{Algorithm: "aws:kms", KMSKeyID: "arn:aws:kms:us-east-1:1:key/k", BucketKey: true}
	b.Encryption = want
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "encrypted"); !reflect.DeepEqual(got.Encryption, want) {
		t.Fatalf("created with encryption: %+v", got.Encryption)
	}
	if err := s.CreateBucket(ctx, sampleBucket("plain", alice.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); got.Encryption != nil {
		t.Fatalf("new bucket has encryption: %+v", got.Encryption)
	}
	s3 := &bucketsvc.BucketEncryption{Algorithm: "AES256"}
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.Encryption = s3; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.Policy = "{}"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); !reflect.DeepEqual(got.Encryption, s3) {
		t.Fatalf("after update and another field's update: %+v", got.Encryption)
	}
	if err := s.UpdateBucket(ctx, "encrypted", func(b *bucketsvc.Bucket) error { b.Encryption = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "encrypted"); got.Encryption != nil {
		t.Fatalf("after delete: %+v", got.Encryption)
	}
}

// testServerKeys: keys are added (never replaced), listed per scope oldest
// first with their material.
func testServerKeys(t *testing.T, st bucketsvc.Store) {
	s, ok := st.(bucketsvc.ServerKeyStore)
	if !ok {
		t.Fatal("the store does not implement bucketsvc.ServerKeyStore")
	}
	ctx := ctxT(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := []bucketsvc.ServerKey{
		{Scope: "sse-s3/us-east-1", ID: "2", Material: bytes.Repeat([]byte{2}, 32), Created: t0.Add(time.Hour)},
		{Scope: "sse-s3/us-east-1", ID: "1", Material: bytes.Repeat([]byte{1}, 32), Created: t0},
		{Scope: "sse-s3/eu-west-1", ID: "1", Material: bytes.Repeat([]byte{3}, 32), Created: t0},
		{Scope: "kms/acct", ID: "k-1", Name: "alias/app", Material: bytes.Repeat([]byte{4}, 32), Created: t0},
	}
	for _, k := range keys {
		if err := s.PutServerKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	dup := keys[1]
	dup.Material = bytes.Repeat([]byte{9}, 32)
	if err := s.PutServerKey(ctx, dup); !errors.Is(err, bucketsvc.ErrServerKeyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	got, err := s.ListServerKeys(ctx, "sse-s3/us-east-1")
	if err != nil || len(got) != 2 || got[0].ID != "1" || got[1].ID != "2" || !bytes.Equal(got[0].Material, keys[1].Material) || !got[0].Created.Equal(t0) {
		t.Fatalf("list: %v %+v", err, got)
	}
	if got, _ := s.ListServerKeys(ctx, "kms/acct"); len(got) != 1 || got[0].Name != "alias/app" || !bytes.Equal(got[0].Material, keys[3].Material) {
		t.Fatalf("kms: %+v", got)
	}
	if got, err := s.ListServerKeys(ctx, "sse-s3"); err != nil || len(got) != 0 {
		t.Fatalf("a scope prefix lists nothing: %v %+v", err, got)
	}
}

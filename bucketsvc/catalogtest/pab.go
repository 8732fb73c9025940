package catalogtest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3authz"
)

// testPublicAccessBlock: a bucket's Block Public Access configuration is
// stored at creation and by update, survives other fields' updates, and is
// removed by setting nil; a new bucket has none.
func testPublicAccessBlock(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice := mustAccount(t, s, "alice")
	b := sampleBucket("blocked", alice.ID)
	want := &s3authz.PublicAccessBlock{BlockPublicAcls: true, RestrictPublicBuckets: true}
	b.PublicAccessBlock = want
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "blocked"); !reflect.DeepEqual(got.PublicAccessBlock, want) {
		t.Fatalf("created with a block: %+v", got.PublicAccessBlock)
	}
	if err := s.CreateBucket(ctx, sampleBucket("open", alice.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "open"); got.PublicAccessBlock != nil {
		t.Fatalf("new bucket has a block: %+v", got.PublicAccessBlock)
	}
	all := &s3authz.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
	if err := s.UpdateBucket(ctx, "open", func(b *bucketsvc.Bucket) error { b.PublicAccessBlock = all; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateBucket(ctx, "open", func(b *bucketsvc.Bucket) error { b.Policy = "{}"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "open"); !reflect.DeepEqual(got.PublicAccessBlock, all) {
		t.Fatalf("after update and another field's update: %+v", got.PublicAccessBlock)
	}
	none := &s3authz.PublicAccessBlock{}
	if err := s.UpdateBucket(ctx, "blocked", func(b *bucketsvc.Bucket) error { b.PublicAccessBlock = none; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "blocked"); got.PublicAccessBlock == nil || *got.PublicAccessBlock != *none {
		t.Fatalf("an all-false configuration is a configuration: %+v", got.PublicAccessBlock)
	}
	if err := s.UpdateBucket(ctx, "blocked", func(b *bucketsvc.Bucket) error { b.PublicAccessBlock = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "blocked"); got.PublicAccessBlock != nil {
		t.Fatalf("after delete: %+v", got.PublicAccessBlock)
	}
}

// testAccountPublicAccessBlock: an account's configuration is set,
// replaced and deleted; an unknown account has none and cannot get one.
func testAccountPublicAccessBlock(t *testing.T, st bucketsvc.Store) {
	s, ok := st.(bucketsvc.AccountPublicAccessBlocks)
	if !ok {
		t.Fatal("the store does not keep account Block Public Access")
	}
	ctx := ctxT(t)
	alice := mustAccount(t, st, "alice")
	if got, err := s.GetAccountPublicAccessBlock(ctx, alice.ID); err != nil || got != nil {
		t.Fatalf("new account: %+v %v", got, err)
	}
	want := &s3authz.PublicAccessBlock{IgnorePublicAcls: true, RestrictPublicBuckets: true}
	if err := s.PutAccountPublicAccessBlock(ctx, alice.ID, want); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetAccountPublicAccessBlock(ctx, alice.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("after put: %+v %v", got, err)
	}
	if a, err := st.GetAccount(ctx, alice.ID); err != nil || a.DisplayName != "alice" {
		t.Fatalf("the account itself changed: %+v %v", a, err)
	}
	if err := s.PutAccountPublicAccessBlock(ctx, alice.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetAccountPublicAccessBlock(ctx, alice.ID); err != nil || got != nil {
		t.Fatalf("after delete: %+v %v", got, err)
	}
	if err := s.PutAccountPublicAccessBlock(ctx, "acct-nobody", want); !errors.Is(err, bucketsvc.ErrNoSuchAccount) {
		t.Fatalf("unknown account: %v", err)
	}
}

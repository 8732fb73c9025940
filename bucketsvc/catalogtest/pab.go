package catalogtest

import (
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

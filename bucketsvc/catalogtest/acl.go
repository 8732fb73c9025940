package catalogtest

import (
	"reflect"
	"testing"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3acl"
)

// testOwnershipACL: a bucket's ownership controls and ACL are stored by
// create and update, kept by updates of other fields, listed with the
// bucket, and removed by "" and nil.
func testOwnershipACL(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice := mustAccount(t, s, "alice")
	acl := &s3acl.ACL{Owner: alice.ID, Grants: []s3acl.Grant{
		{Grantee: s3acl.Grantee{Type: s3acl.CanonicalUser, ID: alice.ID}, Permission: s3acl.FullControl},
		{Grantee: s3acl.Grantee{Type: s3acl.Group, URI: s3acl.AllUsers}, Permission: s3acl.Read},
	}}
	b := sampleBucket("acl-created", alice.ID)
	b.Ownership, b.ACL = s3acl.ObjectWriter, acl
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "acl-created"); got.Ownership != s3acl.ObjectWriter || !reflect.DeepEqual(got.ACL, acl) {
		t.Fatalf("created: ownership %q acl %+v", got.Ownership, got.ACL)
	}
	if err := s.CreateBucket(ctx, sampleBucket("acl-plain", alice.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "acl-plain"); got.Ownership != "" || got.ACL != nil {
		t.Fatalf("plain bucket: ownership %q acl %+v", got.Ownership, got.ACL)
	}
	if err := s.UpdateBucket(ctx, "acl-plain", func(b *bucketsvc.Bucket) error {
		b.Ownership, b.ACL = s3acl.BucketOwnerPreferred, acl
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateBucket(ctx, "acl-plain", func(b *bucketsvc.Bucket) error { b.Policy = "{}"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "acl-plain"); got.Ownership != s3acl.BucketOwnerPreferred || !reflect.DeepEqual(got.ACL, acl) {
		t.Fatalf("after updates: ownership %q acl %+v", got.Ownership, got.ACL)
	}
	bs, err := s.ListBuckets(ctx, alice.ID)
	if err != nil || len(bs) != 2 || !reflect.DeepEqual(bs[0].ACL, acl) || bs[1].Ownership != s3acl.BucketOwnerPreferred {
		t.Fatalf("ListBuckets: %v %+v", err, bs)
	}
	if err := s.UpdateBucket(ctx, "acl-plain", func(b *bucketsvc.Bucket) error { b.Ownership, b.ACL = "", nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "acl-plain"); got.Ownership != "" || got.ACL != nil {
		t.Fatalf("after removal: ownership %q acl %+v", got.Ownership, got.ACL)
	}
}

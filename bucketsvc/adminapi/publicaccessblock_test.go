package adminapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3authz"
)

// TestAccountPublicAccessBlockThroughTheAPI: set, read, delete; 404 for an
// unknown account and for an account without one.
func TestAccountPublicAccessBlockThroughTheAPI(t *testing.T) {
	f := start(t)
	c := f.client(t, admin)
	ctx := context.Background()
	a, err := c.CreateAccount(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetAccountPublicAccessBlock(ctx, a.ID); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("none yet: %v, want 404", err)
	}
	want := s3authz.PublicAccessBlock{BlockPublicPolicy: true, RestrictPublicBuckets: true}
	if got, err := c.PutAccountPublicAccessBlock(ctx, a.ID, want); err != nil || got != want {
		t.Fatalf("put: %+v %v", got, err)
	}
	stored, err := f.store.(bucketsvc.AccountPublicAccessBlocks).GetAccountPublicAccessBlock(ctx, a.ID)
	if err != nil || stored == nil || *stored != want {
		t.Fatalf("stored: %+v %v", stored, err)
	}
	if got, err := c.GetAccountPublicAccessBlock(ctx, a.ID); err != nil || got != want {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := c.DeleteAccountPublicAccessBlock(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetAccountPublicAccessBlock(ctx, a.ID); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("after delete: %v, want 404", err)
	}
	if _, err := c.PutAccountPublicAccessBlock(ctx, "acct-nobody", want); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown account: %v, want 404", err)
	}
}

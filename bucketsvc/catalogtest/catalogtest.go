// Package catalogtest is the contract suite every bucketsvc.Store passes.
// A store's test calls Run with a constructor that returns a fresh, empty
// store; the suite checks accounts, access keys (including secrets that
// round-trip), buckets, the global uniqueness of bucket names under
// concurrent creation (invariant 7) and lost-update freedom of UpdateBucket.
//
// Checking that secrets are encrypted at rest needs the store's raw bytes,
// so each store's own tests do that.
package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3cors"
	"github.com/meridian-s3/meridian/internal/s3lifecycle"
	"github.com/meridian-s3/meridian/internal/s3lock"
	"github.com/meridian-s3/meridian/internal/s3replication"
)

// Run runs the contract suite. newStore must return a fresh, empty store
// and arrange its Close (the suite also closes some stores itself; Close
// must be safe twice).
func Run(t *testing.T, newStore func(t *testing.T) bucketsvc.Store) {
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, newStore(t)) })
	t.Run("AccessKeys", func(t *testing.T) { testAccessKeys(t, newStore(t)) })
	t.Run("Buckets", func(t *testing.T) { testBuckets(t, newStore(t)) })
	t.Run("UpdateBucket", func(t *testing.T) { testUpdateBucket(t, newStore(t)) })
	t.Run("Incarnation", func(t *testing.T) { testIncarnation(t, newStore(t)) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, newStore(t)) })
	t.Run("Tags", func(t *testing.T) { testTags(t, newStore(t)) })
	t.Run("OwnershipACL", func(t *testing.T) { testOwnershipACL(t, newStore(t)) })
	t.Run("CORS", func(t *testing.T) { testCORS(t, newStore(t)) })
	t.Run("ObjectLock", func(t *testing.T) { testObjectLock(t, newStore(t)) })
	t.Run("Encryption", func(t *testing.T) { testEncryption(t, newStore(t)) })
	t.Run("PublicAccessBlock", func(t *testing.T) { testPublicAccessBlock(t, newStore(t)) })
	t.Run("AccountPublicAccessBlock", func(t *testing.T) { testAccountPublicAccessBlock(t, newStore(t)) })
	t.Run("ServerKeys", func(t *testing.T) { testServerKeys(t, newStore(t)) })
	t.Run("ConcurrentCreateOneName", func(t *testing.T) { testConcurrentCreate(t, newStore(t)) })
	t.Run("ConcurrentUpdatesLoseNothing", func(t *testing.T) { testConcurrentUpdates(t, newStore(t)) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, newStore(t)) })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustAccount(t *testing.T, s bucketsvc.Store, name string) bucketsvc.Account {
	t.Helper()
	a, err := s.CreateAccount(ctxT(t), bucketsvc.Account{DisplayName: name})
	if err != nil {
		t.Fatalf("CreateAccount(%s): %v", name, err)
	}
	return a
}

func testAccounts(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	a, err := s.CreateAccount(ctx, bucketsvc.Account{DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.Created.IsZero() || a.DisplayName != "alice" {
		t.Fatalf("CreateAccount returned %+v: want generated id and created time", a)
	}
	got, err := s.GetAccount(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.DisplayName != "alice" || !got.Created.Equal(a.Created) {
		t.Fatalf("GetAccount = %+v, want %+v", got, a)
	}
	b, err := s.CreateAccount(ctx, bucketsvc.Account{DisplayName: "bob"})
	if err != nil || b.ID == a.ID {
		t.Fatalf("second account %+v, %v: want a distinct id", b, err)
	}
	explicit := bucketsvc.Account{ID: "acct-explicit", DisplayName: "carol", Created: time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)}
	if got, err := s.CreateAccount(ctx, explicit); err != nil || got.ID != explicit.ID || !got.Created.Equal(explicit.Created) {
		t.Fatalf("CreateAccount(explicit) = %+v, %v", got, err)
	}
	if _, err := s.CreateAccount(ctx, explicit); !errors.Is(err, bucketsvc.ErrAccountExists) {
		t.Fatalf("duplicate account id: err = %v, want ErrAccountExists", err)
	}
	if _, err := s.GetAccount(ctx, "acct-missing"); !errors.Is(err, bucketsvc.ErrNoSuchAccount) {
		t.Fatalf("GetAccount(missing): err = %v, want ErrNoSuchAccount", err)
	}
}

func testAccessKeys(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	a := mustAccount(t, s, "alice")
	k, err := s.NewAccessKey(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID == "" || len(k.Secret) < 20 || k.AccountID != a.ID || k.Status != bucketsvc.KeyActive || k.Created.IsZero() {
		t.Fatalf("NewAccessKey = %v (secret len %d)", k, len(k.Secret))
	}
	got, err := s.LookupAccessKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret != k.Secret || got.AccountID != a.ID || got.Status != bucketsvc.KeyActive || !got.Created.Equal(k.Created) {
		t.Fatalf("LookupAccessKey = %v, want %v (secrets equal: %v)", got, k, got.Secret == k.Secret)
	}
	if _, err := s.NewAccessKey(ctx, "acct-missing"); !errors.Is(err, bucketsvc.ErrNoSuchAccount) {
		t.Fatalf("NewAccessKey(missing account): err = %v, want ErrNoSuchAccount", err)
	}

	// An imported key keeps its id and secret; secrets with any bytes round-trip.
	imported := bucketsvc.AccessKey{ID: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+ü\x00", AccountID: a.ID, Status: bucketsvc.KeyActive}
	if err := s.PutAccessKey(ctx, imported); err != nil {
		t.Fatal(err)
	}
	got, err = s.LookupAccessKey(ctx, imported.ID)
	if err != nil || got.Secret != imported.Secret || got.Created.IsZero() {
		t.Fatalf("LookupAccessKey(imported) = %v, %v (secret equal %v)", got, err, got.Secret == imported.Secret)
	}
	dup := imported
	dup.Secret = "another secret"
	if err := s.PutAccessKey(ctx, dup); !errors.Is(err, bucketsvc.ErrAccessKeyExists) {
		t.Fatalf("PutAccessKey(duplicate): err = %v, want ErrAccessKeyExists", err)
	}
	if got, _ := s.LookupAccessKey(ctx, imported.ID); got.Secret != imported.Secret {
		t.Fatal("a rejected duplicate PutAccessKey changed the stored secret")
	}
	orphan := bucketsvc.AccessKey{ID: "MKORPHAN", Secret: "x", AccountID: "acct-missing", Status: bucketsvc.KeyActive}
	if err := s.PutAccessKey(ctx, orphan); !errors.Is(err, bucketsvc.ErrNoSuchAccount) {
		t.Fatalf("PutAccessKey(missing account): err = %v, want ErrNoSuchAccount", err)
	}

	if err := s.RevokeAccessKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	got, err = s.LookupAccessKey(ctx, k.ID)
	if err != nil || got.Status != bucketsvc.KeyRevoked || got.Secret != k.Secret {
		t.Fatalf("after revoke: %v, %v; want status Revoked and the secret kept", got, err)
	}
	if got, _ := s.LookupAccessKey(ctx, imported.ID); got.Status != bucketsvc.KeyActive {
		t.Fatal("revoking one key revoked another")
	}
	if err := s.RevokeAccessKey(ctx, "MKMISSING"); !errors.Is(err, bucketsvc.ErrNoSuchAccessKey) {
		t.Fatalf("RevokeAccessKey(missing): err = %v, want ErrNoSuchAccessKey", err)
	}
	if _, err := s.LookupAccessKey(ctx, "MKMISSING"); !errors.Is(err, bucketsvc.ErrNoSuchAccessKey) {
		t.Fatalf("LookupAccessKey(missing): err = %v, want ErrNoSuchAccessKey", err)
	}
}

func sampleBucket(name, owner string) bucketsvc.Bucket {
	return bucketsvc.Bucket{
		Name:       name,
		Owner:      owner,
		Region:     "eu-west-1",
		Versioning: bucketsvc.VersioningEnabled,
		Scheme:     bucketsvc.ErasureScheme{Data: 10, Parity: 4},
		Policy:     `{"Version":"2012-10-17","Statement":[]}`,
		Replication: &s3replication.Configuration{Role: "arn:aws:iam::1:role/replication", Rules: []s3replication.Rule{
			{ID: "r1", Priority: 1, Enabled: true, V2: true, DeleteMarkers: true, Filter: s3replication.Filter{Form: "prefix", Prefix: "logs/"},
				Destination: s3replication.Destination{Bucket: name + "-copy"}},
		}},
		Created: time.Date(2025, 1, 2, 3, 4, 5, 678901000, time.UTC),
	}
}

// equalBucket compares a stored bucket a with the one given to CreateBucket
// (b); when b had no incarnation, a must have been given one.
func equalBucket(a, b bucketsvc.Bucket) bool {
	if !a.Created.Equal(b.Created) {
		return false
	}
	if b.Incarnation == "" {
		if a.Incarnation == "" {
			return false
		}
		b.Incarnation = a.Incarnation
	}
	a.Created, b.Created = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func names(bs []bucketsvc.Bucket) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Name
	}
	return out
}

func testBuckets(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice, bob := mustAccount(t, s, "alice"), mustAccount(t, s, "bob")
	b := sampleBucket("photos", alice.ID)
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetBucket(ctx, "photos")
	if err != nil {
		t.Fatal(err)
	}
	if !equalBucket(got, b) {
		t.Fatalf("GetBucket = %+v\nwant %+v", got, b)
	}

	// A minimal bucket gets a created time; empty fields round-trip empty.
	minimal := bucketsvc.Bucket{Name: "a-minimal.bucket", Owner: bob.ID, Region: "us-east-1", Scheme: bucketsvc.ErasureScheme{Data: 2, Parity: 1}}
	if err := s.CreateBucket(ctx, minimal); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetBucket(ctx, minimal.Name)
	if err != nil || got.Created.IsZero() || got.Policy != "" || got.Replication != nil || got.Versioning != bucketsvc.VersioningOff {
		t.Fatalf("GetBucket(minimal) = %+v, %v", got, err)
	}
	for _, n := range []string{"zebra", "apple", "mango"} {
		if err := s.CreateBucket(ctx, sampleBucket(n, alice.ID)); err != nil {
			t.Fatal(err)
		}
	}

	// Taken names: same owner and another owner both learn the owner.
	for _, owner := range []string{alice.ID, bob.ID} {
		err := s.CreateBucket(ctx, sampleBucket("photos", owner))
		var exists *bucketsvc.BucketExistsError
		if !errors.As(err, &exists) || exists.Owner != alice.ID || exists.Name != "photos" {
			t.Fatalf("CreateBucket(taken, by %s): err = %v, want BucketExistsError owned by %s", owner, err, alice.ID)
		}
	}
	if got, _ := s.GetBucket(ctx, "photos"); got.Owner != alice.ID {
		t.Fatal("a rejected CreateBucket changed the bucket")
	}
	if err := s.CreateBucket(ctx, sampleBucket("Bad_Name", alice.ID)); !errors.Is(err, bucketsvc.ErrInvalidBucketName) {
		t.Fatalf("CreateBucket(Bad_Name): err = %v, want ErrInvalidBucketName", err)
	}

	list := func(owner string) []string {
		t.Helper()
		bs, err := s.ListBuckets(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		return names(bs)
	}
	if got, want := list(alice.ID), []string{"apple", "mango", "photos", "zebra"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ListBuckets(alice) = %v, want %v", got, want)
	}
	if got, want := list(bob.ID), []string{"a-minimal.bucket"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ListBuckets(bob) = %v, want %v", got, want)
	}
	if got, want := list(""), []string{"a-minimal.bucket", "apple", "mango", "photos", "zebra"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ListBuckets(all) = %v, want %v", got, want)
	}
	if got := list("acct-nobody"); len(got) != 0 {
		t.Fatalf("ListBuckets(nobody) = %v, want none", got)
	}
	bs, _ := s.ListBuckets(ctx, alice.ID)
	for _, lb := range bs {
		if lb.Name == "photos" && !equalBucket(lb, b) {
			t.Fatalf("ListBuckets entry %+v, want %+v", lb, b)
		}
	}

	if err := s.DeleteBucket(ctx, "mango"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBucket(ctx, "mango"); !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		t.Fatalf("GetBucket(deleted): err = %v, want ErrNoSuchBucket", err)
	}
	if err := s.DeleteBucket(ctx, "mango"); !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		t.Fatalf("DeleteBucket(deleted): err = %v, want ErrNoSuchBucket", err)
	}
	if got, want := list(alice.ID), []string{"apple", "photos", "zebra"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ListBuckets(alice) after delete = %v, want %v", got, want)
	}
	// The name is free again, for anyone.
	if err := s.CreateBucket(ctx, sampleBucket("mango", bob.ID)); err != nil {
		t.Fatalf("re-create deleted name: %v", err)
	}
	if got, want := list(bob.ID), []string{"a-minimal.bucket", "mango"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ListBuckets(bob) = %v, want %v", got, want)
	}
}

func testUpdateBucket(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice, bob := mustAccount(t, s, "alice"), mustAccount(t, s, "bob")
	b := sampleBucket("logs", alice.ID)
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	err := s.UpdateBucket(ctx, "logs", func(b *bucketsvc.Bucket) error {
		b.Versioning = bucketsvc.VersioningSuspended
		b.Policy = ""
		b.Replication.Rules = append(b.Replication.Rules, s3replication.Rule{ID: "r2", Priority: 2, Destination: s3replication.Destination{Bucket: "x"}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetBucket(ctx, "logs")
	want := b
	want.Versioning, want.Policy = bucketsvc.VersioningSuspended, ""
	want.Replication = &s3replication.Configuration{Role: b.Replication.Role,
		Rules: append(append([]s3replication.Rule(nil), b.Replication.Rules...), s3replication.Rule{ID: "r2", Priority: 2, Destination: s3replication.Destination{Bucket: "x"}})}
	if !equalBucket(got, want) {
		t.Fatalf("after update: %+v\nwant %+v", got, want)
	}

	// An error from fn aborts the update.
	boom := errors.New("boom")
	err = s.UpdateBucket(ctx, "logs", func(b *bucketsvc.Bucket) error { b.Region = "mars-1"; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateBucket(fn error) = %v, want boom", err)
	}
	if got, _ := s.GetBucket(ctx, "logs"); got.Region != b.Region {
		t.Fatal("a failed update was applied")
	}
	// Renames are refused.
	err = s.UpdateBucket(ctx, "logs", func(b *bucketsvc.Bucket) error { b.Name = "other"; return nil })
	if !errors.Is(err, bucketsvc.ErrInvalidUpdate) {
		t.Fatalf("rename: err = %v, want ErrInvalidUpdate", err)
	}
	if _, err := s.GetBucket(ctx, "other"); !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		t.Fatal("refused rename created a bucket")
	}
	if err := s.UpdateBucket(ctx, "missing", func(*bucketsvc.Bucket) error { return nil }); !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		t.Fatalf("UpdateBucket(missing): err = %v, want ErrNoSuchBucket", err)
	}
	// Ownership transfer moves the bucket between owners' listings.
	if err := s.UpdateBucket(ctx, "logs", func(b *bucketsvc.Bucket) error { b.Owner = bob.ID; return nil }); err != nil {
		t.Fatal(err)
	}
	if bs, _ := s.ListBuckets(ctx, alice.ID); len(bs) != 0 {
		t.Fatalf("ListBuckets(alice) after transfer = %v", names(bs))
	}
	if bs, _ := s.ListBuckets(ctx, bob.ID); !reflect.DeepEqual(names(bs), []string{"logs"}) {
		t.Fatalf("ListBuckets(bob) after transfer = %v", names(bs))
	}
}

// testConcurrentCreate races 20 owners for one name: exactly one wins, and
// every loser is told the winner (invariant 7).
func testConcurrentCreate(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	const n = 20
	owners := make([]string, n)
	for i := range owners {
		owners[i] = mustAccount(t, s, fmt.Sprintf("owner-%d", i)).ID
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreateBucket(ctx, sampleBucket("contested", owners[i]))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("owners %d and %d both created the bucket", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no owner created the bucket: %v", errs)
	}
	for i, err := range errs {
		if i == winner {
			continue
		}
		var exists *bucketsvc.BucketExistsError
		if !errors.As(err, &exists) || exists.Owner != owners[winner] {
			t.Errorf("owner %d: err = %v, want BucketExistsError naming %s", i, err, owners[winner])
		}
	}
	got, err := s.GetBucket(ctx, "contested")
	if err != nil || got.Owner != owners[winner] {
		t.Fatalf("GetBucket = %+v, %v; want owner %s", got, err, owners[winner])
	}
}

// testConcurrentUpdates runs read-modify-write increments from many
// goroutines; serializable updates lose none.
func testConcurrentUpdates(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	a := mustAccount(t, s, "alice")
	b := sampleBucket("counter", a.ID)
	b.Scheme.Parity = 0
	b.Replication = nil
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	const workers, each = 10, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- s.UpdateBucket(ctx, "counter", func(b *bucketsvc.Bucket) error {
					b.Scheme.Parity++
					if b.Replication == nil {
						b.Replication = &s3replication.Configuration{}
					}
					b.Replication.Rules = append(b.Replication.Rules, s3replication.Rule{ID: fmt.Sprintf("w%d-%d", w, i), Destination: s3replication.Destination{Bucket: "d"}})
					return nil
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateBucket: %v", err)
		}
	}
	got, err := s.GetBucket(ctx, "counter")
	if err != nil {
		t.Fatal(err)
	}
	if got.Scheme.Parity != workers*each || got.Replication == nil || len(got.Replication.Rules) != workers*each {
		t.Fatalf("after %d increments: parity %d, %v rules — updates were lost", workers*each, got.Scheme.Parity, got.Replication)
	}
	seen := map[string]bool{}
	for _, r := range got.Replication.Rules {
		if seen[r.ID] {
			t.Fatalf("rule %s applied twice", r.ID)
		}
		seen[r.ID] = true
	}
}

func testClosed(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	a := mustAccount(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	checks := map[string]error{
		"GetAccount":      func() error { _, err := s.GetAccount(ctx, a.ID); return err }(),
		"CreateBucket":    s.CreateBucket(ctx, sampleBucket("late", a.ID)),
		"ListBuckets":     func() error { _, err := s.ListBuckets(ctx, ""); return err }(),
		"LookupAccessKey": func() error { _, err := s.LookupAccessKey(ctx, "MKX"); return err }(),
	}
	for op, err := range checks {
		if !errors.Is(err, bucketsvc.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", op, err)
		}
	}
}

// testIncarnation: every creation gets its own immutable incarnation id; a
// re-created name gets a new one; deleting by incarnation spares another.
func testIncarnation(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice, bob := mustAccount(t, s, "alice"), mustAccount(t, s, "bob")
	if err := s.CreateBucket(ctx, sampleBucket("reborn", alice.ID)); err != nil {
		t.Fatal(err)
	}
	first, err := s.GetBucket(ctx, "reborn")
	if err != nil || len(first.Incarnation) < 16 {
		t.Fatalf("GetBucket = %+v, %v: want an incarnation id", first, err)
	}
	if first.MetaKey() != "reborn/"+first.Incarnation {
		t.Fatalf("MetaKey = %q", first.MetaKey())
	}
	// Listing shows the same id.
	bs, err := s.ListBuckets(ctx, alice.ID)
	if err != nil || len(bs) != 1 || bs[0].Incarnation != first.Incarnation {
		t.Fatalf("ListBuckets = %+v, %v", bs, err)
	}
	// Immutable: an update may not change it, and other updates keep it.
	err = s.UpdateBucket(ctx, "reborn", func(b *bucketsvc.Bucket) error { b.Incarnation = bucketsvc.NewIncarnation(); return nil })
	if !errors.Is(err, bucketsvc.ErrInvalidUpdate) {
		t.Fatalf("UpdateBucket(incarnation): err = %v, want ErrInvalidUpdate", err)
	}
	if err := s.UpdateBucket(ctx, "reborn", func(b *bucketsvc.Bucket) error { b.Policy = "{}"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "reborn"); got.Incarnation != first.Incarnation || got.Policy != "{}" {
		t.Fatalf("after update: %+v", got)
	}
	// A taken name keeps its incarnation when a create is refused.
	err = s.CreateBucket(ctx, sampleBucket("reborn", bob.ID))
	var exists *bucketsvc.BucketExistsError
	if !errors.As(err, &exists) {
		t.Fatalf("CreateBucket(taken): %v", err)
	}
	if got, _ := s.GetBucket(ctx, "reborn"); got.Incarnation != first.Incarnation {
		t.Fatal("a refused create changed the incarnation")
	}
	// Delete by a stale incarnation spares the bucket.
	if err := s.DeleteBucketIncarnation(ctx, "reborn", "0123456789abcdef0123456789abcdef"); !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		t.Fatalf("DeleteBucketIncarnation(stale): err = %v, want ErrNoSuchBucket", err)
	}
	if err := s.DeleteBucketIncarnation(ctx, "reborn", ""); !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		t.Fatalf("DeleteBucketIncarnation(legacy id): err = %v, want ErrNoSuchBucket", err)
	}
	if err := s.DeleteBucketIncarnation(ctx, "reborn", first.Incarnation); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucketIncarnation(ctx, "reborn", first.Incarnation); !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		t.Fatalf("DeleteBucketIncarnation(again): err = %v, want ErrNoSuchBucket", err)
	}
	// Re-created (by anyone): a new id.
	if err := s.CreateBucket(ctx, sampleBucket("reborn", bob.ID)); err != nil {
		t.Fatal(err)
	}
	second, err := s.GetBucket(ctx, "reborn")
	if err != nil || second.Incarnation == "" || second.Incarnation == first.Incarnation || second.MetaKey() == first.MetaKey() {
		t.Fatalf("re-created: %+v (first %s), %v", second, first.Incarnation, err)
	}
	// A caller-chosen id is kept.
	want := sampleBucket("chosen", alice.ID)
	want.Incarnation = bucketsvc.NewIncarnation()
	if err := s.CreateBucket(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "chosen"); got.Incarnation != want.Incarnation {
		t.Fatalf("chosen id: got %q, want %q", got.Incarnation, want.Incarnation)
	}
}

// sampleLifecycle uses every field the catalog must keep.
func sampleLifecycle() *s3lifecycle.Configuration {
	date := time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC)
	gt, lt := int64(10), int64(1<<40)
	return &s3lifecycle.Configuration{Rules: []s3lifecycle.Rule{
		{ID: "days", Enabled: true, Filter: s3lifecycle.Filter{Form: s3lifecycle.FormPrefix, Prefix: "logs/"}, Expiration: &s3lifecycle.Expiration{Days: 30}},
		{ID: "date", Enabled: false, Filter: s3lifecycle.Filter{Form: s3lifecycle.FormEmpty}, Expiration: &s3lifecycle.Expiration{Date: &date}},
		{ID: "and", Enabled: true, Filter: s3lifecycle.Filter{Form: s3lifecycle.FormAnd, Prefix: "p/", Tags: []s3lifecycle.Tag{{Key: "k", Value: "v"}},
			SizeGreaterThan: &gt, SizeLessThan: &lt},
			Noncurrent: &s3lifecycle.NoncurrentExpiration{NoncurrentDays: 3, NewerNoncurrentVersions: 2}},
		{ID: "mpu", Enabled: true, Filter: s3lifecycle.Filter{Form: s3lifecycle.FormLegacyPrefix, Prefix: "up/"}, AbortIncompleteDays: 7},
		{ID: "markers", Enabled: true, Filter: s3lifecycle.Filter{Form: s3lifecycle.FormEmpty}, Expiration: &s3lifecycle.Expiration{ExpiredObjectDeleteMarker: true}},
	}}
}

// testLifecycle: a bucket's lifecycle configuration is stored whole by
// create and update, kept by updates of other fields, removed by nil, and
// listed with the bucket.
func testLifecycle(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice := mustAccount(t, s, "alice")
	if err := s.CreateBucket(ctx, sampleBucket("plain", alice.ID)); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.GetBucket(ctx, "plain"); b.Lifecycle != nil {
		t.Fatalf("new bucket has a lifecycle configuration: %+v", b.Lifecycle)
	}
	want := sampleLifecycle()
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.Lifecycle = sampleLifecycle(); return nil }); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetBucket(ctx, "plain")
	if err != nil || !reflect.DeepEqual(got.Lifecycle, want) {
		t.Fatalf("after put: %v %+v\nwant %+v", err, got.Lifecycle, want)
	}
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.Policy = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); !reflect.DeepEqual(got.Lifecycle, want) {
		t.Fatalf("another field's update changed the lifecycle: %+v", got.Lifecycle)
	}
	bs, err := s.ListBuckets(ctx, "")
	if err != nil || len(bs) != 1 || !reflect.DeepEqual(bs[0].Lifecycle, want) {
		t.Fatalf("ListBuckets: %v %+v", err, bs)
	}
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.Lifecycle = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); got.Lifecycle != nil {
		t.Fatalf("after delete: %+v", got.Lifecycle)
	}
	// Created with a configuration.
	b := sampleBucket("withrules", alice.ID)
	b.Lifecycle = sampleLifecycle()
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "withrules"); !reflect.DeepEqual(got.Lifecycle, want) {
		t.Fatalf("created with rules: %+v", got.Lifecycle)
	}
}

// testTags: a bucket's tags (PutBucketTagging) are stored whole by create
// and update, kept by updates of other fields, listed with the bucket, and
// removed by nil.
func testTags(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice := mustAccount(t, s, "alice")
	b := sampleBucket("tagged", alice.ID)
	b.Tags = map[string]string{"env": "prod", "team": "storage", "empty": "", "ünï": "cödé /+-=._:@"}
	want := map[string]string{"env": "prod", "team": "storage", "empty": "", "ünï": "cödé /+-=._:@"}
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "tagged"); !reflect.DeepEqual(got.Tags, want) {
		t.Fatalf("created with tags: %+v", got.Tags)
	}
	if err := s.CreateBucket(ctx, sampleBucket("plain", alice.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); got.Tags != nil {
		t.Fatalf("new bucket has tags: %+v", got.Tags)
	}
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.Tags = map[string]string{"a": "1"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.Policy = "{}"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); !reflect.DeepEqual(got.Tags, map[string]string{"a": "1"}) {
		t.Fatalf("after update and another field's update: %+v", got.Tags)
	}
	bs, err := s.ListBuckets(ctx, "")
	if err != nil || len(bs) != 2 || !reflect.DeepEqual(bs[1].Tags, want) {
		t.Fatalf("ListBuckets: %v %+v", err, bs)
	}
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.Tags = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); got.Tags != nil {
		t.Fatalf("after delete: %+v", got.Tags)
	}
}

// sampleCORS uses every field the catalog must keep, an empty origin and
// a zero max age included.
func sampleCORS() *s3cors.Configuration {
	zero, hour := 0, 3600
	return &s3cors.Configuration{Rules: []s3cors.Rule{
		{ID: "uploads", AllowedOrigins: []string{"https://app.example.com", "http://*.example.com"},
			AllowedMethods: []string{"PUT", "POST", "DELETE"}, AllowedHeaders: []string{"Content-Type", "x-amz-*"},
			ExposeHeaders: []string{"ETag", "x-amz-request-id"}, MaxAgeSeconds: &hour},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "HEAD"}},
		{ID: "odd", AllowedOrigins: []string{""}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: &zero},
	}}
}

// testCORS: a bucket's CORS configuration (PutBucketCors) is stored whole
// by create and update, kept by updates of other fields, listed with the
// bucket, and removed by nil.
func testCORS(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice := mustAccount(t, s, "alice")
	if err := s.CreateBucket(ctx, sampleBucket("plain", alice.ID)); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.GetBucket(ctx, "plain"); b.CORS != nil {
		t.Fatalf("new bucket has a CORS configuration: %+v", b.CORS)
	}
	want := sampleCORS()
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.CORS = sampleCORS(); return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetBucket(ctx, "plain"); err != nil || !reflect.DeepEqual(got.CORS, want) {
		t.Fatalf("after put: %v %+v\nwant %+v", err, got.CORS, want)
	}
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.Lifecycle = sampleLifecycle(); return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); !reflect.DeepEqual(got.CORS, want) {
		t.Fatalf("another field's update changed the CORS configuration: %+v", got.CORS)
	}
	bs, err := s.ListBuckets(ctx, "")
	if err != nil || len(bs) != 1 || !reflect.DeepEqual(bs[0].CORS, want) {
		t.Fatalf("ListBuckets: %v %+v", err, bs)
	}
	if err := s.UpdateBucket(ctx, "plain", func(b *bucketsvc.Bucket) error { b.CORS = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); got.CORS != nil || !reflect.DeepEqual(got.Lifecycle, sampleLifecycle()) {
		t.Fatalf("after delete: %+v, lifecycle %+v", got.CORS, got.Lifecycle)
	}
	b := sampleBucket("withcors", alice.ID)
	b.CORS = sampleCORS()
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "withcors"); !reflect.DeepEqual(got.CORS, want) {
		t.Fatalf("created with rules: %+v", got.CORS)
	}
}

// testObjectLock: a bucket's Object Lock configuration is stored whole by
// create and update (with and without a default retention), kept by updates
// of other fields, and listed with the bucket.
func testObjectLock(t *testing.T, s bucketsvc.Store) {
	ctx := ctxT(t)
	alice := mustAccount(t, s, "alice")
	b := sampleBucket("locked", alice.ID)
	b.Versioning = bucketsvc.VersioningEnabled
	b.ObjectLock = &s3lock.Configuration{Enabled: true}
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "locked"); !reflect.DeepEqual(got.ObjectLock, &s3lock.Configuration{Enabled: true}) {
		t.Fatalf("created lock-enabled: %+v", got.ObjectLock)
	}
	if err := s.CreateBucket(ctx, sampleBucket("plain", alice.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "plain"); got.ObjectLock != nil {
		t.Fatalf("new bucket has an object lock configuration: %+v", got.ObjectLock)
	}
	want := &s3lock.Configuration{Enabled: true, Default: &s3lock.DefaultRetention{Mode: s3lock.Compliance, Years: 2}}
	if err := s.UpdateBucket(ctx, "locked", func(b *bucketsvc.Bucket) error {
		b.ObjectLock = &s3lock.Configuration{Enabled: true, Default: &s3lock.DefaultRetention{Mode: s3lock.Compliance, Years: 2}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateBucket(ctx, "locked", func(b *bucketsvc.Bucket) error { b.Policy = "{}"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBucket(ctx, "locked"); !reflect.DeepEqual(got.ObjectLock, want) {
		t.Fatalf("after update: %+v", got.ObjectLock)
	}
	bs, err := s.ListBuckets(ctx, alice.ID)
	if err != nil || len(bs) != 2 || !reflect.DeepEqual(bs[0].ObjectLock, want) || bs[1].ObjectLock != nil {
		t.Fatalf("list: %v %+v", err, bs)
	}
}

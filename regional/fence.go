package regional

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
)

// Bucket incarnations (invariant 11, docs/commit-protocol.md "Bucket
// delete"). The gateway keys every metadata record of a bucket by its
// incarnation (bucketsvc.Bucket.MetaKey, set on the request by bucketFor),
// and deletes a bucket by sealing that incarnation on every partition before
// the catalog entry goes. metasvc checks the seal inside each write's own
// Raft apply, so a PUT that passed its bucket check before the delete cannot
// commit after it, and a re-created bucket of the same name (a new
// incarnation) never sees the old one's records.

// errBucketNotEmpty is returned by deleteIncarnation for a bucket with objects.
var errBucketNotEmpty = errors.New("regional: bucket not empty")

// deleteIncarnation deletes bucket b (the caller checked ownership):
//
//  1. seal b's incarnation on every partition; a partition that holds an
//     object refuses, then the seals taken are lifted and the answer is
//     BucketNotEmpty (writes resume);
//  2. delete the catalog entry, only if the name still holds this
//     incarnation;
//  3. drop the incarnation on every partition: the seals become tombstones
//     and its PREPARING versions and multipart uploads are removed (their
//     shards queued as garbage).
//
// From step 1 on, every write of the incarnation fails inside its own
// metasvc apply. If step 3 fails on a partition the seal there still fences
// writes; its leftover records are unreachable (no catalog entry names the
// incarnation): the background janitor aborts its PREPAREs, and its uploads
// wait for upload expiry.
func (g *Gateway) deleteIncarnation(ctx context.Context, b bucketsvc.Bucket) error {
	key := b.MetaKey()
	n := g.cfg.Meta.Partitions()
	var sealed []int
	unseal := func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, p := range sealed {
			if _, err := g.cfg.Meta.UnsealBucket(uctx, p, key); err != nil {
				g.log.Warn("unseal bucket after a refused delete", "bucket", b.Name, "partition", p, "err", err)
			}
		}
	}
	for p := 0; p < n; p++ {
		if _, err := g.cfg.Meta.SealBucket(ctx, p, key); err != nil {
			unseal()
			switch {
			case errors.Is(err, metaclient.ErrBucketNotEmpty):
				return fmt.Errorf("%w: %w", errBucketNotEmpty, s3err.New(s3err.BucketNotEmpty).With("BucketName", b.Name))
			case errors.Is(err, metaclient.ErrBucketGone):
				return s3err.New(s3err.NoSuchBucket).With("BucketName", b.Name)
			}
			return err
		}
		sealed = append(sealed, p)
	}
	if err := g.cfg.Catalog.DeleteBucketIncarnation(ctx, b.Name, b.Incarnation); err != nil && !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		unseal()
		return err
	}
	// The incarnation is gone from the catalog (by us or a concurrent
	// delete of it): make the seals permanent.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for p := 0; p < n; p++ {
		if _, err := g.cfg.Meta.DropBucket(dctx, p, key); err != nil {
			g.log.Warn("drop bucket incarnation", "bucket", b.Name, "partition", p, "err", err)
		}
	}
	return nil
}

package metastate

import (
	"fmt"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Bucket fencing (invariant 11: a bucket is an incarnation, not a name).
//
// A bucket's records are keyed by its incarnation (the Bucket field), and a
// bucket delete seals the incarnation on every partition before the catalog
// entry goes (metapb.SealBucketRequest). The seal is checked here, inside the
// apply that would create or commit a record, so a write whose PREPARE ran
// before the delete cannot commit after it: Raft orders the seal and the
// COMMIT, and whichever comes second sees the other (a COMMIT after the seal
// is refused; a seal after the COMMIT finds the object and is refused).

// fence returns the error a write to bucket gets, or "" if it may proceed.
func (t *trees) fence(bucket string) (code, msg string) {
	s, ok := t.seals.Get(&metapb.BucketSeal{Bucket: bucket})
	if !ok {
		return "", ""
	}
	if s.Dropped {
		return metapb.ErrBucketGone, fmt.Sprintf("bucket incarnation %q was deleted", bucket)
	}
	return metapb.ErrBucketSealed, fmt.Sprintf("bucket incarnation %q is being deleted", bucket)
}

func (t *trees) fenced(bucket string) (metapb.Result, bool) {
	if code, msg := t.fence(bucket); code != "" {
		return errResult(code, msg), true
	}
	return metapb.Result{}, false
}

// hasObjects reports whether the partition holds a committed version or
// delete marker of bucket (S3 deletes only a bucket without any version).
func (t *trees) hasObjects(bucket string) bool {
	found := false
	t.vers.AscendGreaterOrEqual(&metapb.ObjectVersion{Bucket: bucket}, func(v *metapb.ObjectVersion) bool {
		found = v.Bucket == bucket
		return false
	})
	return found
}

func (t *trees) sealBucket(now time.Time, r *metapb.SealBucketRequest) metapb.Result {
	if r.Bucket == "" {
		return errResult(metapb.ErrBadRequest, "seal bucket: bucket is required")
	}
	if _, ok := t.seals.Get(&metapb.BucketSeal{Bucket: r.Bucket}); ok {
		return metapb.Result{Existed: true} // idempotent
	}
	if t.hasObjects(r.Bucket) {
		return errResult(metapb.ErrBucketNotEmpty, fmt.Sprintf("seal bucket: %q has objects in this partition", r.Bucket))
	}
	t.seals.ReplaceOrInsert(&metapb.BucketSeal{Format: metapb.FormatV1, Bucket: r.Bucket, Sealed: now})
	return metapb.Result{}
}

func (t *trees) unsealBucket(r *metapb.SealBucketRequest) metapb.Result {
	if r.Bucket == "" {
		return errResult(metapb.ErrBadRequest, "unseal bucket: bucket is required")
	}
	s, ok := t.seals.Get(&metapb.BucketSeal{Bucket: r.Bucket})
	if !ok {
		return metapb.Result{}
	}
	if s.Dropped {
		return errResult(metapb.ErrBucketGone, fmt.Sprintf("unseal bucket: %q was deleted", r.Bucket))
	}
	t.seals.Delete(s)
	return metapb.Result{}
}

// dropBucket turns a seal into a tombstone and removes the bucket's
// PREPARING versions and multipart uploads (their planned shards and parts
// become garbage). A writer still running gets its COMMIT refused; its
// Abort then finds nothing (success) and it deletes the shards it wrote, so
// a deleted bucket needs no janitor to be cleaned up.
func (t *trees) dropBucket(now time.Time, r *metapb.SealBucketRequest) metapb.Result {
	if r.Bucket == "" {
		return errResult(metapb.ErrBadRequest, "drop bucket: bucket is required")
	}
	s, ok := t.seals.Get(&metapb.BucketSeal{Bucket: r.Bucket})
	if !ok {
		return errResult(metapb.ErrConflict, fmt.Sprintf("drop bucket: %q is not sealed", r.Bucket))
	}
	if !s.Dropped {
		ns := *s
		ns.Dropped = true
		t.seals.ReplaceOrInsert(&ns)
	}
	var ups []*metapb.Upload
	t.uploads.AscendGreaterOrEqual(&metapb.Upload{Bucket: r.Bucket}, func(u *metapb.Upload) bool {
		if u.Bucket != r.Bucket {
			return false
		}
		ups = append(ups, u)
		return true
	})
	for _, u := range ups {
		t.removeUpload(u, "bucket deleted", nil, now)
	}
	var preps []*metapb.ObjectVersion
	t.prep.AscendGreaterOrEqual(&metapb.ObjectVersion{Bucket: r.Bucket}, func(v *metapb.ObjectVersion) bool {
		if v.Bucket != r.Bucket {
			return false
		}
		preps = append(preps, v)
		return true
	})
	for _, v := range preps {
		t.prep.Delete(v)
		t.queueGarbage("bucket deleted", v.Bucket, v.Key, v.Segments, now)
	}
	return metapb.Result{}
}

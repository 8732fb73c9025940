package s3acl

import (
	"net/http"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// Ownership is a bucket's object ownership setting (S3's ownership
// controls, x-amz-object-ownership).
type Ownership string

const (
	// NoOwnershipControls: the bucket has none (deleted, or created before
	// ownership controls existed). ACLs are enabled and objects belong to
	// their writer, as under ObjectWriter — S3's behaviour for such buckets.
	NoOwnershipControls Ownership = ""
	// BucketOwnerEnforced: ACLs are disabled; the bucket owner owns every
	// object. The default for new buckets, as in S3.
	BucketOwnerEnforced Ownership = "BucketOwnerEnforced"
	// BucketOwnerPreferred: ACLs are enabled; an object written with the
	// bucket-owner-full-control canned ACL belongs to the bucket owner,
	// others to their writer.
	BucketOwnerPreferred Ownership = "BucketOwnerPreferred"
	// ObjectWriter: ACLs are enabled; the writer owns the object.
	ObjectWriter Ownership = "ObjectWriter"
)

// Valid reports whether o is one of S3's three settings.
func (o Ownership) Valid() bool {
	return o == BucketOwnerEnforced || o == BucketOwnerPreferred || o == ObjectWriter
}

// ACLsEnabled reports whether ACLs take part in access decisions (and may
// be set to anything) under o.
func (o Ownership) ACLsEnabled() bool { return o != BucketOwnerEnforced }

// ObjectOwner is the owner of an object written by writer into a bucket
// owned by bucketOwner with canned ACL canned ("" when none was given).
func (o Ownership) ObjectOwner(writer, bucketOwner, canned string) string {
	switch o {
	case BucketOwnerEnforced:
		return bucketOwner
	case BucketOwnerPreferred:
		if canned == CannedBucketOwnerFullControl {
			return bucketOwner
		}
	}
	return writer
}

// OwnershipHeader names the ownership setting of a CreateBucket.
const OwnershipHeader = "x-amz-object-ownership"

// ForCreateBucket reads the ownership and ACL a CreateBucket by owner asks
// for: x-amz-object-ownership (default BucketOwnerEnforced, as S3; another
// value answers 400 InvalidArgument) and the ACL headers (FromHeaders; ok
// false when none). An ACL granting anyone but the owner under
// BucketOwnerEnforced answers 400 InvalidBucketAclWithObjectOwnership.
// Email grantees are left for Resolve.
func ForCreateBucket(h http.Header, owner string) (o Ownership, a ACL, ok bool, err error) {
	o = BucketOwnerEnforced
	if v := h.Get(OwnershipHeader); v != "" {
		if o = Ownership(v); !o.Valid() {
			return "", ACL{}, false, s3err.WithMessage(s3err.InvalidArgument, "Invalid x-amz-object-ownership header: "+truncate(v)).
				With("ArgumentName", OwnershipHeader).With("ArgumentValue", truncate(v))
		}
	}
	a, ok, err = FromHeaders(h, owner, owner, ForBucket)
	if err != nil {
		return "", ACL{}, false, err
	}
	if ok && !o.ACLsEnabled() && !a.OnlyOwner(owner) {
		return "", ACL{}, false, s3err.New(s3err.InvalidBucketACLWithObjectOwnership)
	}
	return o, a, ok, nil
}

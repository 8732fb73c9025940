package s3acl

import (
	"github.com/meridian-s3/meridian/internal/s3err"
)

// Canned ACL names (x-amz-acl), as S3 spells them.
const (
	CannedPrivate                = "private"
	CannedPublicRead             = "public-read"
	CannedPublicReadWrite        = "public-read-write"
	CannedAuthenticatedRead      = "authenticated-read"
	CannedAWSExecRead            = "aws-exec-read"
	CannedBucketOwnerRead        = "bucket-owner-read"
	CannedBucketOwnerFullControl = "bucket-owner-full-control"
	CannedLogDeliveryWrite       = "log-delivery-write"
)

// ExecReadID is the canonical user S3's aws-exec-read grants READ to (the
// service that reads machine-image bundles). No Meridian account has it,
// so the grant is kept for fidelity and grants nobody anything here.
const ExecReadID = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"

// Target says what an ACL is for: S3 expands bucket-owner-read and
// bucket-owner-full-control differently for buckets and objects.
type Target uint8

const (
	ForBucket Target = iota
	ForObject
)

// ValidCanned reports whether name is one of S3's canned ACLs.
func ValidCanned(name string) bool {
	switch name {
	case CannedPrivate, CannedPublicRead, CannedPublicReadWrite, CannedAuthenticatedRead, CannedAWSExecRead,
		CannedBucketOwnerRead, CannedBucketOwnerFullControl, CannedLogDeliveryWrite:
		return true
	}
	return false
}

// Canned expands the canned ACL name for a resource owned by owner in a
// bucket owned by bucketOwner (for a bucket both are its owner), as S3
// defines each:
//
//	private                    owner FULL_CONTROL
//	public-read                + AllUsers READ
//	public-read-write          + AllUsers READ, WRITE
//	authenticated-read         + AuthenticatedUsers READ
//	aws-exec-read              + READ to ExecReadID
//	bucket-owner-read          objects: + bucket owner READ; buckets: as private
//	bucket-owner-full-control  objects: + bucket owner FULL_CONTROL; buckets: as private
//	log-delivery-write         + LogDelivery WRITE, READ_ACP
//
// A grant to the bucket owner is left out when the bucket owner is the
// object's owner (its FULL_CONTROL covers it). An unknown name answers
// 400 InvalidArgument.
func Canned(name, owner, bucketOwner string, t Target) (ACL, error) {
	if !ValidCanned(name) {
		return ACL{}, s3err.WithMessage(s3err.InvalidArgument, "").With("ArgumentName", "x-amz-acl").With("ArgumentValue", truncate(name))
	}
	a := Private(owner)
	group := func(uri string, ps ...Permission) {
		for _, p := range ps {
			a.Grants = append(a.Grants, Grant{Grantee: Grantee{Type: Group, URI: uri}, Permission: p})
		}
	}
	switch name {
	case CannedPublicRead:
		group(AllUsers, Read)
	case CannedPublicReadWrite:
		group(AllUsers, Read, Write)
	case CannedAuthenticatedRead:
		group(AuthenticatedUsers, Read)
	case CannedAWSExecRead:
		a.Grants = append(a.Grants, Grant{Grantee: Grantee{Type: CanonicalUser, ID: ExecReadID}, Permission: Read})
	case CannedLogDeliveryWrite:
		group(LogDelivery, Write, ReadACP)
	case CannedBucketOwnerRead, CannedBucketOwnerFullControl:
		if t == ForObject && bucketOwner != "" && bucketOwner != owner {
			p := Read
			if name == CannedBucketOwnerFullControl {
				p = FullControl
			}
			a.Grants = append(a.Grants, Grant{Grantee: Grantee{Type: CanonicalUser, ID: bucketOwner}, Permission: p})
		}
	}
	return a, nil
}

// OnlyOwner reports whether every grant of a is FULL_CONTROL to owner: the
// only ACL a bucket whose ownership is BucketOwnerEnforced accepts (S3
// answers AccessControlListNotSupported to any other).
func (a ACL) OnlyOwner(owner string) bool {
	for _, g := range a.Grants {
		if g.Grantee.Type != CanonicalUser || g.Grantee.ID != owner || g.Permission != FullControl {
			return false
		}
	}
	return true
}

// truncate bounds a client value echoed in an error.
func truncate(s string) string {
	if len(s) > 256 {
		return s[:256]
	}
	return s
}

// Package s3authz is Meridian's one authorization engine: given a request
// (IAM action, resource, requester) and what the bucket says about access
// (owner, bucket policy, ACLs, object ownership, Block Public Access), it
// answers Allow, ImplicitDeny or ExplicitDeny with a reason. Pure
// functions, no I/O: callers read the bucket and the object record and put
// what they read into a Request.
//
// The precedence is AWS's (docs/access-control.md):
//
//  1. An explicit Deny in the bucket policy wins over everything.
//  2. The bucket owner's account is allowed by identity (Meridian accounts
//     have no IAM users, so an account is its own administrator).
//  3. Otherwise (another account, or anonymous) a policy Allow or an ACL
//     grant is needed. Block Public Access's RestrictPublicBuckets limits a
//     public policy's Allows to the owner's account; IgnorePublicAcls
//     ignores grants to AllUsers and AuthenticatedUsers; an ownership
//     setting of BucketOwnerEnforced disables ACLs altogether.
//  4. Nothing applies: ImplicitDeny.
//
// The policy language (ParsePolicy) is the IAM language as S3 bucket
// policies use it, with S3's validation messages (PolicyError).
package s3authz

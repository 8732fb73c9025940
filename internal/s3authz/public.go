package s3authz

import (
	"strings"

	"github.com/meridian-s3/meridian/internal/s3acl"
)

// PublicAccessBlock is S3's Block Public Access configuration, of a bucket
// or of an account. The zero value blocks nothing.
type PublicAccessBlock struct {
	BlockPublicAcls       bool `json:"block_public_acls,omitempty"`
	IgnorePublicAcls      bool `json:"ignore_public_acls,omitempty"`
	BlockPublicPolicy     bool `json:"block_public_policy,omitempty"`
	RestrictPublicBuckets bool `json:"restrict_public_buckets,omitempty"`
}

// Union is the effective setting of a bucket's and its account's blocks:
// a setting is on when either turns it on.
func (p PublicAccessBlock) Union(o PublicAccessBlock) PublicAccessBlock {
	return PublicAccessBlock{
		BlockPublicAcls:       p.BlockPublicAcls || o.BlockPublicAcls,
		IgnorePublicAcls:      p.IgnorePublicAcls || o.IgnorePublicAcls,
		BlockPublicPolicy:     p.BlockPublicPolicy || o.BlockPublicPolicy,
		RestrictPublicBuckets: p.RestrictPublicBuckets || o.RestrictPublicBuckets,
	}
}

// BlocksPublicACL reports whether settings refuse acl (a PutBucketAcl,
// PutObjectAcl or a create with x-amz-acl / x-amz-grant-*): BlockPublicAcls
// is on and the ACL grants to AllUsers or AuthenticatedUsers. The ACL
// operations answer AccessDenied when it does, as S3.
func BlocksPublicACL(settings PublicAccessBlock, acl s3acl.ACL) bool {
	return settings.BlockPublicAcls && acl.IsPublic()
}

// BlocksPublicPolicy reports whether settings refuse p in PutBucketPolicy
// (BlockPublicPolicy and a public policy).
func BlocksPublicPolicy(settings PublicAccessBlock, p *Policy) bool {
	return settings.BlockPublicPolicy && p.IsPublic()
}

// fixingKeys: a condition pinning one of these to fixed values makes an
// Allow to everyone non-public (AWS's "The meaning of public").
var fixingKeys = map[string]bool{
	"aws:sourceip": true, "aws:sourcearn": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:sourceowner": true, "aws:sourceaccount": true, "aws:userid": true, "aws:principalservicename": true,
	"aws:principalarn": true, "aws:principalorgid": true, "aws:principalaccount": true,
	"s3:dataaccesspointarn": true, "s3:dataaccesspointaccount": true,
}

// IsPublic reports whether the policy is public as S3 computes it
// (GetBucketPolicyStatus, BlockPublicPolicy, RestrictPublicBuckets): some
// Allow statement grants to everyone ("*" or a NotPrincipal) without a
// condition that pins a fixing key to fixed values (no wildcards; for
// aws:SourceIp, IPv4 blocks of /8 or narrower and IPv6 of /32 or
// narrower). Nil-safe.
func (p *Policy) IsPublic() bool {
	if p == nil {
		return false
	}
	for i := range p.Statements {
		if p.Statements[i].public() {
			return true
		}
	}
	return false
}

func (st *Statement) public() bool {
	if st.Effect != EffectAllow {
		return false
	}
	if !st.NotPrincipal && !st.Principal.Any {
		return false
	}
	for i := range st.Conditions {
		if st.Conditions[i].fixes() {
			return false
		}
	}
	return true
}

// fixes: the condition admits only fixed values of a fixing key.
func (c *Condition) fixes() bool {
	if c.negate || c.ifExists || c.set == setAllValues || !fixingKeys[c.Key] {
		return false
	}
	switch c.kind {
	case opStringEquals, opStringEqualsIgnoreCase, opArnEquals, opStringLike, opArnLike:
		for _, v := range c.Values {
			if strings.ContainsAny(v, "*?") || v == "" {
				return false
			}
		}
		return true
	case opIPAddress:
		for _, n := range c.nets {
			if n.Addr().Is4() && n.Bits() < 8 || !n.Addr().Is4() && n.Bits() < 32 {
				return false
			}
		}
		return true
	}
	return false
}

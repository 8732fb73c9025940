package regional

// ACLs and ownership controls (docs/access-control.md). A bucket's ACL and
// ownership controls live in its catalog entry (bucketsvc.Bucket.ACL,
// .Ownership); an object's ACL in its version record (metapb.ObjectVersion.ACL),
// set by x-amz-acl / x-amz-grant-* on PutObject, POST, CopyObject and
// CreateMultipartUpload and replaced in place by PutObjectAcl (one Raft
// apply, metapb.PutACLRequest). Under BucketOwnerEnforced (the default for
// new buckets) ACLs are disabled: only an ACL that grants the bucket owner
// alone is accepted (AccessControlListNotSupported otherwise), none is
// stored, and GetBucketAcl/GetObjectAcl answer the bucket owner's
// FULL_CONTROL.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/xml"
	"io"
	"net/http"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3acl"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// maxACLBody bounds a Put…Acl or PutBucketOwnershipControls body (100
// grants of the longest grantee fit many times over).
const maxACLBody = 256 << 10

// BucketACL is the ACL in force for bucket b: the bucket owner's
// FULL_CONTROL under BucketOwnerEnforced or when none was set, else the
// stored one. The authorization engine's bucket ACL input.
func BucketACL(b bucketsvc.Bucket) s3acl.ACL {
	if b.ACL == nil || !b.Ownership.ACLsEnabled() {
		return s3acl.Private(b.Owner)
	}
	return *b.ACL
}

// ObjectACL is the ACL in force for version v of bucket b (the object
// owner's FULL_CONTROL when none was set; the bucket owner's under
// BucketOwnerEnforced). The authorization engine's object ACL input.
func ObjectACL(b bucketsvc.Bucket, v metapb.ObjectVersion) s3acl.ACL {
	owner := v.Owner
	if owner == "" || !b.Ownership.ACLsEnabled() {
		owner = b.Owner
	}
	if v.ACL == nil || !b.Ownership.ACLsEnabled() {
		return s3acl.Private(owner)
	}
	a := s3acl.ACL{Owner: owner, Grants: make([]s3acl.Grant, 0, len(v.ACL.Grants))}
	for _, g := range v.ACL.Grants {
		a.Grants = append(a.Grants, s3acl.Grant{
			Grantee:    s3acl.Grantee{Type: s3acl.GranteeType(g.Type), ID: g.ID, URI: g.URI},
			Permission: s3acl.Permission(g.Permission),
		})
	}
	return a
}

// wireACL is the record form of a resolved ACL; the default ACL (only the
// owner's FULL_CONTROL) is stored as nil.
func wireACL(a s3acl.ACL) *metapb.ObjectACL {
	if len(a.Grants) == 1 && a.OnlyOwner(a.Owner) {
		return nil
	}
	w := &metapb.ObjectACL{Grants: make([]metapb.Grant, 0, len(a.Grants))}
	for _, g := range a.Grants {
		w.Grants = append(w.Grants, metapb.Grant{Type: string(g.Grantee.Type), ID: g.Grantee.ID, URI: g.Grantee.URI, Permission: string(g.Permission)})
	}
	return w
}

// resolveACL turns email grantees into accounts and checks canonical ids
// (s3acl.Resolve against the catalog).
func (g *Gateway) resolveACL(ctx context.Context, a s3acl.ACL) (s3acl.ACL, error) {
	return s3acl.Resolve(a, bucketsvc.GranteeResolver{Ctx: ctx, Accounts: g.cfg.Catalog})
}

// displayNames names accounts in an ACL document (one catalog read per id).
func (g *Gateway) displayNames(req *request) func(string) string {
	seen := map[string]string{}
	return func(id string) string {
		if n, ok := seen[id]; ok {
			return n
		}
		n := g.owner(req, id).DisplayName // defaults.go
		seen[id] = n
		return n
	}
}

// writeACL is the owner and ACL of an object a PutObject, POST, CopyObject
// or CreateMultipartUpload by the requester writes into b: the owner as b's
// ownership controls decide (s3acl.Ownership.ObjectOwner), the ACL from
// x-amz-acl or x-amz-grant-* (nil: the default). Under BucketOwnerEnforced
// an ACL granting anyone but the bucket owner answers 400
// AccessControlListNotSupported.
func (g *Gateway) writeACL(req *request, b bucketsvc.Bucket) (string, *metapb.ObjectACL, error) {
	h := req.r.Header
	owner := b.Ownership.ObjectOwner(req.principal, b.Owner, h.Get(s3acl.CannedHeader))
	a, ok, err := s3acl.FromHeaders(h, owner, b.Owner, s3acl.ForObject)
	if err != nil || !ok {
		return owner, nil, err
	}
	if err := g.checkPublicACL(req, b, a); err != nil { // publicaccessblock.go
		return "", nil, err
	}
	if !b.Ownership.ACLsEnabled() {
		if !a.OnlyOwner(b.Owner) {
			return "", nil, s3err.New(s3err.AccessControlListNotSupported)
		}
		return owner, nil, nil
	}
	if a, err = g.resolveACL(req.r.Context(), a); err != nil {
		return "", nil, err
	}
	return owner, wireACL(a), nil
}

// requestedACL is the ACL a Put…Acl request sets on a resource owned by
// owner: from its headers, or from its AccessControlPolicy body (whose
// Owner, when given, must be the owner: ownership does not change through
// an ACL). Headers and a body together answer 400 InvalidRequest, neither
// 400 MalformedACLError. The result is resolved (resolveACL).
func (g *Gateway) requestedACL(req *request, owner, bucketOwner string, t s3acl.Target) (s3acl.ACL, error) {
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, maxACLBody+1))
	if err != nil {
		return s3acl.ACL{}, err
	}
	if len(body) > maxACLBody {
		return s3acl.ACL{}, s3err.New(s3err.MalformedACLError)
	}
	if err := checkOptionalMD5(req, body); err != nil {
		return s3acl.ACL{}, err
	}
	a, ok, err := s3acl.FromHeaders(req.r.Header, owner, bucketOwner, t)
	switch {
	case err != nil:
		return s3acl.ACL{}, err
	case ok && len(bytes.TrimSpace(body)) > 0:
		return s3acl.ACL{}, s3err.WithMessage(s3err.InvalidRequest, "Specifying both an access control policy document and ACL headers is not allowed")
	case !ok:
		if len(bytes.TrimSpace(body)) == 0 {
			return s3acl.ACL{}, s3err.New(s3err.MalformedACLError)
		}
		if a, err = s3acl.ParsePolicy(body); err != nil {
			return s3acl.ACL{}, err
		}
		if a.Owner != "" && a.Owner != owner {
			return s3acl.ACL{}, s3err.New(s3err.AccessDenied)
		}
		a.Owner = owner
	}
	return g.resolveACL(req.r.Context(), a)
}

// checkOptionalMD5 checks Content-MD5 when the request has one.
func checkOptionalMD5(req *request, body []byte) error {
	want, err := s3api.ContentMD5(req.r.Header)
	if err != nil || want == nil {
		return err
	}
	if sum := md5.Sum(body); !bytes.Equal(sum[:], want) {
		return s3err.New(s3err.BadDigest)
	}
	return nil
}

// getBucketAcl answers the bucket's ACL (BucketACL).
func (g *Gateway) getBucketAcl(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	return writeXML(req, http.StatusOK, BucketACL(b).Document(g.displayNames(req)))
}

// putBucketAcl replaces the bucket's ACL (200).
func (g *Gateway) putBucketAcl(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	a, err := g.requestedACL(req, b.Owner, b.Owner, s3acl.ForBucket)
	if err != nil {
		return err
	}
	if err := g.checkPublicACL(req, b, a); err != nil { // publicaccessblock.go
		return err
	}
	if err := g.updateBucket(req, func(cur *bucketsvc.Bucket) error {
		if err := g.checkPublicACL(req, *cur, a); err != nil { // the bucket's setting as of this transaction
			return err
		}
		if !cur.Ownership.ACLsEnabled() {
			if !a.OnlyOwner(cur.Owner) {
				return s3err.New(s3err.AccessControlListNotSupported)
			}
			cur.ACL = nil
			return nil
		}
		cur.ACL = &a
		if len(a.Grants) == 1 && a.OnlyOwner(a.Owner) {
			cur.ACL = nil // the default
		}
		return nil
	}); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// updateBucket applies fn to the catalog entry of the bucket bucketFor
// checked (not a re-created one).
func (g *Gateway) updateBucket(req *request, fn func(*bucketsvc.Bucket) error) error {
	err := g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb {
			return bucketsvc.ErrNoSuchBucket
		}
		return fn(b)
	})
	if err != nil {
		return g.catalogUpdateErr(req, err) // lifecycle.go
	}
	return nil
}

// getObjectAcl answers the version's ACL (ObjectACL) with its version id.
func (g *Gateway) getObjectAcl(req *request) error {
	b, v, err := g.objectFor(req) // defaults.go
	if err != nil {
		return err
	}
	setVersionHeader(req.w.Header(), b, &v)
	return writeXML(req, http.StatusOK, ObjectACL(b, v).Document(g.displayNames(req)))
}

// putObjectAcl replaces the ACL of the version objectFor resolved, by its
// id (a concurrent overwrite does not move the ACL onto the new version).
func (g *Gateway) putObjectAcl(req *request) error {
	b, v, err := g.objectFor(req)
	if err != nil {
		return err
	}
	owner := ObjectACL(b, v).Owner
	a, err := g.requestedACL(req, owner, b.Owner, s3acl.ForObject)
	if err != nil {
		return err
	}
	if err := g.checkPublicACL(req, b, a); err != nil { // publicaccessblock.go
		return err
	}
	var w *metapb.ObjectACL
	if b.Ownership.ACLsEnabled() {
		w = wireACL(a)
	} else if !a.OnlyOwner(b.Owner) {
		return s3err.New(s3err.AccessControlListNotSupported)
	}
	res, err := g.cfg.Meta.PutACL(req.r.Context(), metapb.PutACLRequest{Bucket: req.mb, Key: req.key, Ver: v.S3VersionID(), ACL: w})
	if err != nil {
		return err
	}
	setVersionHeader(req.w.Header(), b, res.Version)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// OwnershipControls is the PutBucketOwnershipControls body and the
// GetBucketOwnershipControls answer.
type OwnershipControls struct {
	XMLName xml.Name        `xml:"OwnershipControls"`
	XMLNS   string          `xml:"xmlns,attr,omitempty"`
	Rules   []OwnershipRule `xml:"Rule"`
}

// OwnershipRule holds the one setting.
type OwnershipRule struct {
	ObjectOwnership string `xml:"ObjectOwnership"`
}

func (g *Gateway) getBucketOwnershipControls(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.Ownership == s3acl.NoOwnershipControls {
		return s3err.New(s3err.OwnershipControlsNotFound).With("BucketName", req.bucket)
	}
	return writeXML(req, http.StatusOK, OwnershipControls{XMLNS: s3api.XMLNS, Rules: []OwnershipRule{{ObjectOwnership: string(b.Ownership)}}})
}

// putBucketOwnershipControls sets the bucket's ownership (200). Exactly one
// rule with one of S3's three settings, else 400 MalformedXML. Enforcing
// bucket-owner ownership on a bucket whose ACL grants others answers 400
// InvalidBucketAclWithObjectOwnership, as S3 (objects' ACLs merely stop
// counting).
func (g *Gateway) putBucketOwnershipControls(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, maxACLBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxACLBody {
		return s3err.New(s3err.MalformedXML)
	}
	if err := checkOptionalMD5(req, body); err != nil {
		return err
	}
	var oc OwnershipControls
	if err := s3api.DecodeXML(body, &oc); err != nil {
		return err
	}
	if len(oc.Rules) != 1 || !s3acl.Ownership(oc.Rules[0].ObjectOwnership).Valid() {
		return s3err.New(s3err.MalformedXML)
	}
	o := s3acl.Ownership(oc.Rules[0].ObjectOwnership)
	return g.setOwnership(req, o, http.StatusOK)
}

// deleteBucketOwnershipControls removes the setting (204): ACLs are
// enabled and objects belong to their writers, as S3.
func (g *Gateway) deleteBucketOwnershipControls(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	return g.setOwnership(req, s3acl.NoOwnershipControls, http.StatusNoContent)
}

func (g *Gateway) setOwnership(req *request, o s3acl.Ownership, status int) error {
	if err := g.updateBucket(req, func(b *bucketsvc.Bucket) error {
		if !o.ACLsEnabled() && b.ACL != nil && !b.ACL.OnlyOwner(b.Owner) {
			return s3err.New(s3err.InvalidBucketACLWithObjectOwnership)
		}
		b.Ownership = o
		return nil
	}); err != nil {
		return err
	}
	req.w.WriteHeader(status)
	return nil
}

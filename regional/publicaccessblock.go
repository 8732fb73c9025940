package regional

// Block Public Access of a bucket (docs/access-control.md): stored in the
// catalog entry (bucketsvc.Bucket.PublicAccessBlock) and read by every
// decision with the rest of the entry (authz.go). BlockPublicPolicy is
// enforced by PutBucketPolicy (policy.go), BlockPublicAcls by the ACL
// operations (s3authz.BlocksPublicACL), IgnorePublicAcls and
// RestrictPublicBuckets by the engine.

import (
	"context"
	"io"
	"net/http"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3acl"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3err"
)

func (g *Gateway) putPublicAccessBlock(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	wantMD5, err := s3api.ContentMD5(req.r.Header)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, s3authz.MaxPublicAccessBlockBody+1))
	if err != nil {
		return err
	}
	if len(body) > s3authz.MaxPublicAccessBlockBody {
		return s3err.New(s3err.MalformedXML)
	}
	if wantMD5 != nil {
		if err := checkContentMD5(req, body); err != nil {
			return err
		}
	}
	pab, err := s3authz.ParsePublicAccessBlock(body)
	if err != nil {
		return err
	}
	err = g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb {
			return bucketsvc.ErrNoSuchBucket
		}
		b.PublicAccessBlock = &pab
		return nil
	})
	if err != nil {
		return g.catalogUpdateErr(req, err)
	}
	req.log.Info("public access block stored", "block_public_acls", pab.BlockPublicAcls, "ignore_public_acls", pab.IgnorePublicAcls,
		"block_public_policy", pab.BlockPublicPolicy, "restrict_public_buckets", pab.RestrictPublicBuckets)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (g *Gateway) getPublicAccessBlock(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.PublicAccessBlock == nil {
		return s3err.New(s3err.NoSuchPublicAccessBlockConfig).With("BucketName", req.bucket)
	}
	return writeXML(req, http.StatusOK, s3authz.PublicAccessBlockOf(*b.PublicAccessBlock))
}

func (g *Gateway) deletePublicAccessBlock(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	err := g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb {
			return bucketsvc.ErrNoSuchBucket
		}
		b.PublicAccessBlock = nil
		return nil
	})
	if err != nil {
		return g.catalogUpdateErr(req, err)
	}
	req.log.Info("public access block deleted")
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// bucketPAB is b's Block Public Access setting (zero: none).
func bucketPAB(b bucketsvc.Bucket) s3authz.PublicAccessBlock {
	if b.PublicAccessBlock == nil {
		return s3authz.PublicAccessBlock{}
	}
	return *b.PublicAccessBlock
}

// accountPABs is the catalog's optional capability to keep account-level
// Block Public Access (bucketsvc.AccountPublicAccessBlocks).
type accountPABs interface {
	GetAccountPublicAccessBlock(ctx context.Context, account string) (*s3authz.PublicAccessBlock, error)
}

// accountPAB is the Block Public Access of account (zero: none, or a
// catalog that keeps none).
func (g *Gateway) accountPAB(ctx context.Context, account string) (s3authz.PublicAccessBlock, error) {
	c, ok := g.cfg.Catalog.(accountPABs)
	if !ok {
		return s3authz.PublicAccessBlock{}, nil
	}
	p, err := c.GetAccountPublicAccessBlock(ctx, account)
	if err != nil || p == nil {
		return s3authz.PublicAccessBlock{}, err
	}
	return *p, nil
}

// checkPublicACL answers AccessDenied when BlockPublicAcls (the bucket's
// or its owner's account's) refuses ACL a, as S3 does for PutBucketAcl,
// PutObjectAcl and object writes that carry a public ACL.
func (g *Gateway) checkPublicACL(req *request, b bucketsvc.Bucket, a s3acl.ACL) error {
	if !a.IsPublic() {
		return nil
	}
	acct, err := g.accountPAB(req.r.Context(), b.Owner)
	if err != nil {
		return err
	}
	if s3authz.BlocksPublicACL(bucketPAB(b).Union(acct), a) {
		return s3err.New(s3err.AccessDenied)
	}
	return nil
}

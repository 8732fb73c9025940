package regional

// Bucket policies: PutBucketPolicy validates the whole document with the
// engine's parser (internal/s3authz) before storing it in the catalog
// (bucketsvc.Bucket.Policy, verbatim); GetBucketPolicy returns it as
// stored; GetBucketPolicyStatus computes IsPublic as S3 does.

import (
	"errors"
	"io"
	"net/http"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// errBlockedPublicPolicy: BlockPublicPolicy refuses a public policy (403
// AccessDenied, as S3).
var errBlockedPublicPolicy = errors.New("regional: public policy blocked by BlockPublicPolicy")

func (g *Gateway) putBucketPolicy(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	wantMD5, err := s3api.ContentMD5(req.r.Header)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, s3authz.MaxPolicySize+1))
	if err != nil {
		return err
	}
	if wantMD5 != nil {
		if err := checkContentMD5(req, body); err != nil {
			return err
		}
	}
	p, err := s3authz.ParsePolicy(body, req.bucket)
	if err != nil {
		return policyErr(err)
	}
	acct, err := g.accountPAB(req.r.Context(), b.Owner) // publicaccessblock.go
	if err != nil {
		return err
	}
	err = g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb { // re-created meanwhile: not the bucket we checked
			return bucketsvc.ErrNoSuchBucket
		}
		if s3authz.BlocksPublicPolicy(bucketPAB(*b).Union(acct), p) {
			// Checked in the transaction: a concurrent PutPublicAccessBlock
			// cannot slip a public policy past it.
			return errBlockedPublicPolicy
		}
		b.Policy = string(body)
		return nil
	})
	if errors.Is(err, errBlockedPublicPolicy) {
		return s3err.New(s3err.AccessDenied)
	}
	if err != nil {
		return g.catalogUpdateErr(req, err)
	}
	req.log.Info("bucket policy stored", "statements", len(p.Statements), "public", p.IsPublic())
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// policyErr: a refused document is MalformedPolicy with S3's message.
func policyErr(err error) error {
	var pe *s3authz.PolicyError
	if errors.As(err, &pe) {
		return s3err.WithMessage(s3err.MalformedPolicy, pe.Msg)
	}
	return err
}

// getBucketPolicy answers the stored document (NoSuchBucketPolicy when none).
func (g *Gateway) getBucketPolicy(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.Policy == "" {
		return s3err.New(s3err.NoSuchBucketPolicy).With("BucketName", req.bucket)
	}
	req.w.Header().Set("Content-Type", "application/json")
	req.w.WriteHeader(http.StatusOK)
	_, err = io.WriteString(req.w, b.Policy)
	return err
}

// deleteBucketPolicy removes the policy (204, also when there was none).
func (g *Gateway) deleteBucketPolicy(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	err := g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb {
			return bucketsvc.ErrNoSuchBucket
		}
		b.Policy = ""
		return nil
	})
	if err != nil {
		return g.catalogUpdateErr(req, err)
	}
	req.log.Info("bucket policy deleted")
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// getBucketPolicyStatus: IsPublic of the stored policy
// (s3authz.Policy.IsPublic); NoSuchBucketPolicy when there is none.
func (g *Gateway) getBucketPolicyStatus(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.Policy == "" {
		return s3err.New(s3err.NoSuchBucketPolicy).With("BucketName", req.bucket)
	}
	p, err := g.policies.Get(b.Name, b.Policy)
	if err != nil {
		return policyErr(err)
	}
	return writeXML(req, http.StatusOK, s3api.PolicyStatus{XMLNS: s3api.XMLNS, IsPublic: p.IsPublic()})
}

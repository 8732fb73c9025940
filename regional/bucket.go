package regional

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3lock"
)

func (g *Gateway) listBuckets(req *request) error {
	ctx := req.r.Context()
	page, err := s3api.ParseListBucketsPage(req.r.URL.Query())
	if err != nil {
		return err
	}
	buckets, err := g.cfg.Catalog.ListBuckets(ctx, req.principal)
	if err != nil {
		return err
	}
	res := s3api.ListAllMyBucketsResult{XMLNS: s3api.XMLNS, Owner: s3api.Owner{ID: req.principal}}
	if acct, err := g.cfg.Catalog.GetAccount(ctx, req.principal); err == nil {
		res.Owner.DisplayName = acct.DisplayName
	}
	entries := make([]s3api.BucketEntry, len(buckets))
	for i, b := range buckets {
		entries[i] = s3api.BucketEntry{Name: b.Name, Region: b.Region, Created: b.Created}
	}
	page.Fill(&res, entries)
	return writeXML(req, http.StatusOK, res)
}

const maxCreateBucketBody = 64 << 10

func (g *Gateway) createBucket(req *request) error {
	ctx := req.r.Context()
	if err := s3api.CheckUnsupportedHeaders(req.r.Header, s3api.ScopeBucketCreate); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, maxCreateBucketBody+1))
	if err != nil {
		return err
	}
	region := g.cfg.Region
	if len(body) > maxCreateBucketBody {
		return s3err.New(s3err.MalformedXML)
	}
	constraint, err := s3api.ParseCreateBucketConfiguration(body)
	if err != nil {
		return err
	}
	if constraint != "" && constraint != g.cfg.Region {
		return s3err.New(s3err.IllegalLocationConstraint)
	}
	ownership, acl, err := bucketsvc.CreationACL(ctx, g.cfg.Catalog, req.r.Header, req.principal)
	if err != nil {
		return err
	}
	lock, err := s3lock.ParseBucketHeader(req.r.Header)
	if err != nil {
		return err
	}
	scheme := g.cfg.Data.Scheme()
	nb := bucketsvc.Bucket{
		Name: req.bucket, Incarnation: bucketsvc.NewIncarnation(), Owner: req.principal, Region: region,
		Scheme:    bucketsvc.ErasureScheme{Data: scheme.Data, Parity: scheme.Parity},
		Created:   time.Now().UTC(),
		Ownership: ownership, ACL: acl,
	}
	if lock { // a lock-enabled bucket is versioned from birth (objectlock.go)
		nb.Versioning, nb.ObjectLock = bucketsvc.VersioningEnabled, &s3lock.Configuration{Enabled: true}
	}
	err = g.cfg.Catalog.CreateBucket(ctx, nb)
	var exists *bucketsvc.BucketExistsError
	if errors.As(err, &exists) && exists.Owner == req.principal && g.cfg.Region == "us-east-1" {
		err = nil // us-east-1 answers 200 to re-creating your own bucket, as S3 does.
	}
	if err != nil {
		return err
	}
	req.w.Header().Set("Location", "/"+req.bucket)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (g *Gateway) headBucket(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	req.w.Header().Set("x-amz-bucket-region", b.Region)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (g *Gateway) getBucketLocation(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	return writeXML(req, http.StatusOK, s3api.LocationOf(b.Region))
}

func (g *Gateway) getBucketVersioning(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	return writeXML(req, http.StatusOK, s3api.VersioningConfiguration{XMLNS: s3api.XMLNS, Status: string(b.Versioning)})
}

// deleteBucket refuses non-empty buckets, else fences every in-flight write
// and deletes the bucket (deleteIncarnation, fence.go); its in-progress
// multipart uploads are removed and their parts reclaimed.
func (g *Gateway) deleteBucket(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if err := g.deleteIncarnation(req.r.Context(), b); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

package edge

import (
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3lock"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

const maxCreateBucketBody = 64 << 10

// readSmallBody reads a bounded request body through the verifying reader,
// to its end, so that signatures and checksums are checked.
func readSmallBody(req *request, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > max {
		return nil, s3err.New(s3err.MalformedXML)
	}
	return body, nil
}

func (s *Server) listBuckets(req *request) error {
	ctx := req.r.Context()
	page, err := s3api.ParseListBucketsPage(req.r.URL.Query())
	if err != nil {
		return err
	}
	buckets, err := s.cfg.Catalog.ListBuckets(ctx, req.principal)
	if err != nil {
		return err
	}
	res := s3api.ListAllMyBucketsResult{XMLNS: s3api.XMLNS, Owner: s3api.Owner{ID: req.principal}}
	if acct, err := s.cfg.Catalog.GetAccount(ctx, req.principal); err == nil {
		res.Owner.DisplayName = acct.DisplayName
	}
	page.Fill(&res, bucketEntries(buckets))
	return writeXML(req, http.StatusOK, res)
}

func bucketEntries(bs []bucketsvc.Bucket) []s3api.BucketEntry {
	out := make([]s3api.BucketEntry, len(bs))
	for i, b := range bs {
		out[i] = s3api.BucketEntry{Name: b.Name, Region: b.Region, Created: b.Created}
	}
	return out
}

// createBucket: the LocationConstraint (default: this edge's region) picks
// the home region, which must be a region of the deployment. A taken name is
// BucketAlreadyExists, or BucketAlreadyOwnedByYou for its owner — except
// that re-creating your own us-east-1 bucket answers 200, as S3 does.
func (s *Server) createBucket(req *request) error {
	if err := s3api.CheckUnsupportedHeaders(req.r.Header, s3api.ScopeBucketCreate); err != nil {
		return err
	}
	body, err := readSmallBody(req, maxCreateBucketBody)
	if err != nil {
		return err
	}
	region := s.cfg.Region
	constraint, err := s3api.ParseCreateBucketConfiguration(body)
	if err != nil {
		return err
	}
	if constraint != "" {
		region = constraint
	}
	if _, ok := s.cfg.Regions[region]; !ok {
		return s3err.New(s3err.InvalidLocationConstraint).With("LocationConstraint", region)
	}
	ownership, acl, err := bucketsvc.CreationACL(req.r.Context(), s.cfg.Catalog, req.r.Header, req.principal)
	if err != nil {
		return err
	}
	b := bucketsvc.Bucket{Name: req.bucket, Incarnation: bucketsvc.NewIncarnation(), Owner: req.principal,
		Region: region, Scheme: s.cfg.Scheme, Created: s.cfg.Now().UTC(), Ownership: ownership, ACL: acl}
	if lock, err := s3lock.ParseBucketHeader(req.r.Header); err != nil {
		return err
	} else if lock { // a lock-enabled bucket is versioned from birth (docs/object-lock.md)
		b.Versioning, b.ObjectLock = bucketsvc.VersioningEnabled, &s3lock.Configuration{Enabled: true}
	}
	err = s.cfg.Catalog.CreateBucket(req.r.Context(), b)
	var exists *bucketsvc.BucketExistsError
	if errors.As(err, &exists) && exists.Owner == req.principal && region == "us-east-1" {
		if cur, gerr := s.cfg.Catalog.GetBucket(req.r.Context(), req.bucket); gerr == nil && cur.Region == "us-east-1" {
			err = nil
			b = cur
		}
	}
	if err != nil {
		return err
	}
	s.buckets.Put(b)
	req.log.Info("bucket created", "home_region", region)
	req.w.Header().Set("Location", "/"+req.bucket)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) headBucket(req *request) error {
	b, err := s.authorizedBucket(req)
	if err != nil {
		return err
	}
	req.w.Header().Set("x-amz-bucket-region", b.Region)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getBucketLocation(req *request) error {
	b, err := s.authorizedBucket(req)
	if err != nil {
		return err
	}
	return writeXML(req, http.StatusOK, s3api.LocationOf(b.Region))
}

// deleteBucket asks the home region to delete the bucket: the region fences
// in-flight writes to the bucket's incarnation, refuses if an object exists,
// and deletes the catalog entry (regionalclient.QueryPrepareDelete). The
// edge then drops its cache entry. The catalog is read fresh, not from the
// cache.
func (s *Server) deleteBucket(req *request) error {
	if _, err := readSmallBody(req, 0); err != nil {
		return err
	}
	ctx := req.r.Context()
	s.buckets.Invalidate(req.bucket)
	b, err := s.cfg.Catalog.GetBucket(ctx, req.bucket)
	if err != nil {
		return err
	}
	if err := s.allow(req, b, s3authz.ActionOf(req.op, false)); err != nil { // authz.go
		return err
	}
	out, err := http.NewRequestWithContext(ctx, http.MethodDelete, "/", nil)
	if err != nil {
		return err
	}
	out.URL = &url.URL{Path: "/" + req.bucket, RawQuery: regionalclient.QueryPrepareDelete}
	s.linkHeaders(req, out.Header, nil)
	resp, err := s.link.Do(out, b.Region)
	if err != nil {
		req.log.Warn("prepare delete failed", "home_region", b.Region, "err", err)
		return s3err.WithMessage(s3err.ServiceUnavailable, "The bucket's home region could not be reached.")
	}
	if resp.StatusCode != http.StatusNoContent {
		// BucketNotEmpty (or another S3 error): relay the region's answer.
		s.relay(req, resp)
		return nil
	}
	_ = resp.Body.Close()
	s.buckets.Invalidate(req.bucket)
	req.log.Info("bucket deleted", "home_region", b.Region)
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

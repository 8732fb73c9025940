package regional

// Bucket CORS (docs/access-control.md "CORS"): the gateway of the bucket's
// home region validates and stores the configuration in the global catalog
// (the edge proxies these operations here like every bucket subresource).
// On this gateway's direct listener it also answers preflight OPTIONS
// requests, unauthenticated, and adds the Access-Control-* headers to the
// answers of requests that carry an Origin; requests that came through an
// edge get both from the edge (edge/cors.go).

import (
	"context"
	"errors"
	"net/http"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3cors"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// putBucketCors validates the whole document before anything is stored: a
// rejected configuration leaves the previous one in place.
func (g *Gateway) putBucketCors(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	body, err := configBody(req, s3cors.MaxBody)
	if err != nil {
		return err
	}
	cfg, err := s3cors.Parse(body)
	if err != nil {
		return err
	}
	err = g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb { // re-created meanwhile: not the bucket we checked
			return bucketsvc.ErrNoSuchBucket
		}
		b.CORS = cfg
		return nil
	})
	if err != nil {
		return g.catalogUpdateErr(req, err)
	}
	req.log.Info("CORS configuration stored", "rules", len(cfg.Rules))
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (g *Gateway) getBucketCors(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.CORS == nil {
		return s3err.New(s3err.NoSuchCORSConfiguration).With("BucketName", req.bucket)
	}
	return writeXML(req, http.StatusOK, s3cors.Render(b.CORS))
}

// deleteBucketCors answers 204 whether or not a configuration existed, as
// S3 does.
func (g *Gateway) deleteBucketCors(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.CORS != nil {
		err = g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
			if b.MetaKey() != req.mb {
				return bucketsvc.ErrNoSuchBucket
			}
			b.CORS = nil
			return nil
		})
		if err != nil {
			return g.catalogUpdateErr(req, err)
		}
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// preflight answers an OPTIONS request from the bucket's CORS rules. It
// needs no signature (a browser sends none) and checks none: S3 answers
// it before authentication, whatever the query (a presigned URL's
// included). The catalog is read only once the headers are valid.
func (g *Gateway) preflight(req *request) error {
	return s3cors.ServePreflight(req.r.Context(), req.w, req.r.Header, req.bucket, req.key, g.corsRules)
}

// corsRules reads a bucket's CORS rules from the catalog.
func (g *Gateway) corsRules(ctx context.Context, bucket string) (*s3cors.Configuration, bool, error) {
	if bucketsvc.ValidateBucketName(bucket) != nil {
		return nil, false, nil
	}
	b, err := g.cfg.Catalog.GetBucket(ctx, bucket)
	if errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		return nil, false, nil
	}
	return b.CORS, err == nil, err
}

// addCORSHeaders sets the Access-Control-* headers of the bucket's first
// matching CORS rule on the answer to a direct request that carries an
// Origin, success or error alike. A request without Origin costs nothing;
// one through an edge gets them from the edge.
func (g *Gateway) addCORSHeaders(req *request) {
	if _, viaEdge := edgeFrom(req.r); viaEdge || !s3cors.HasOrigin(req.r.Header) || req.bucket == "" {
		return
	}
	if cfg, _, err := g.corsRules(req.r.Context(), req.bucket); err == nil && cfg != nil {
		s3cors.Actual(cfg, req.r.Header, req.r.Method, req.w.Header())
	}
}

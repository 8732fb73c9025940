package edge

// CORS at the edge (docs/access-control.md "CORS"): a preflight OPTIONS
// request is answered here, unauthenticated, from the bucket's CORS rules
// read through the bucket cache — it never crosses to the region — and
// the answer to any other request carrying an Origin gets the
// Access-Control-* headers of the first matching rule, success or error
// alike. Requests without an Origin never look at the rules.

import (
	"context"
	"errors"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3cors"
	"github.com/meridian-s3/meridian/internal/s3route"
)

// preflight answers an OPTIONS request: 200 with the matched rule's
// headers, or S3's 400/403 (s3cors.Preflight.Answer). The headers are
// checked before the bucket is looked up.
func (s *Server) preflight(req *request) error {
	return s3cors.ServePreflight(req.r.Context(), req.w, req.r.Header, req.bucket, req.key, s.corsRules)
}

// corsRules reads a bucket's CORS rules through the bucket cache.
func (s *Server) corsRules(ctx context.Context, bucket string) (*s3cors.Configuration, bool, error) {
	if bucketsvc.ValidateBucketName(bucket) != nil {
		return nil, false, nil
	}
	b, err := s.buckets.Get(ctx, bucket)
	if errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		return nil, false, nil
	}
	return b.CORS, err == nil, err
}

// addCORSHeaders sets the Access-Control-* headers of the bucket's first
// matching rule on the answer to a request with an Origin, before anything
// else can answer it (an authentication error included). The region adds
// none to requests that come through an edge.
func (s *Server) addCORSHeaders(req *request) {
	if !s3cors.HasOrigin(req.r.Header) || req.bucket == "" {
		return
	}
	if cfg, _, err := s.corsRules(req.r.Context(), req.bucket); err == nil && cfg != nil {
		s3cors.Actual(cfg, req.r.Header, req.r.Method, req.w.Header())
	}
}

// corsChanged reports whether op replaced the bucket's CORS rules: the
// edge then drops its cache entry, so that its own preflights see the
// change at once (other edges see it when their entry expires).
func corsChanged(op s3route.Operation) bool {
	return op == s3route.PutBucketCors || op == s3route.DeleteBucketCors
}

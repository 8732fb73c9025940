package regional

// Bucket lifecycle configuration (docs/lifecycle.md): the gateway of the
// bucket's home region validates and stores it in the global catalog (the
// edge proxies these operations here like every bucket subresource), and
// answers x-amz-expiration on object reads and writes from it. The
// background janitor executes the rules.

import (
	"errors"
	"net/http"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3lifecycle"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// putBucketLifecycle validates the whole document before anything is
// stored: a rejected configuration leaves the previous one in place.
func (g *Gateway) putBucketLifecycle(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	body, err := configBody(req, s3lifecycle.MaxBody) // configbody.go
	if err != nil {
		return err
	}
	cfg, err := s3lifecycle.Parse(body)
	if err != nil {
		return err
	}
	err = g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb { // re-created meanwhile: not the bucket we checked
			return bucketsvc.ErrNoSuchBucket
		}
		b.Lifecycle = cfg
		return nil
	})
	if err != nil {
		return g.catalogUpdateErr(req, err)
	}
	req.log.Info("lifecycle configuration stored", "rules", len(cfg.Rules))
	req.w.Header().Set("x-amz-transition-default-minimum-object-size", "all_storage_classes_128K")
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (g *Gateway) getBucketLifecycle(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.Lifecycle == nil {
		return s3err.New(s3err.NoSuchLifecycleConfiguration).With("BucketName", req.bucket)
	}
	req.w.Header().Set("x-amz-transition-default-minimum-object-size", "all_storage_classes_128K")
	return writeXML(req, http.StatusOK, s3lifecycle.Render(b.Lifecycle))
}

// deleteBucketLifecycle answers 204 whether or not a configuration existed,
// as S3 does.
func (g *Gateway) deleteBucketLifecycle(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.Lifecycle != nil {
		err = g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
			if b.MetaKey() != req.mb {
				return bucketsvc.ErrNoSuchBucket
			}
			b.Lifecycle = nil
			return nil
		})
		if err != nil {
			return g.catalogUpdateErr(req, err)
		}
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (g *Gateway) catalogUpdateErr(req *request, err error) error {
	if errors.Is(err, bucketsvc.ErrNoSuchBucket) {
		return s3err.New(s3err.NoSuchBucket).With("BucketName", req.bucket)
	}
	return err
}

// setExpiration sets x-amz-expiration on a response about current version
// v of bucket b when an enabled rule will expire it.
func (g *Gateway) setExpiration(w http.ResponseWriter, b bucketsvc.Bucket, v metapb.ObjectVersion) {
	rules := b.Lifecycle.Enabled()
	if len(rules) == 0 {
		return
	}
	created := v.Created
	if created.IsZero() {
		created = time.Now()
	}
	h := s3lifecycle.ExpirationHeader(rules, s3lifecycle.Version{Key: v.Key, Size: v.Size, Created: created, Tags: v.Tags}, g.cfg.LifecycleDay)
	if h != "" {
		w.Header().Set("x-amz-expiration", h)
	}
}

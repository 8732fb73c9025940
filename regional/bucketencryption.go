package regional

// Bucket default encryption: Put/Get/DeleteBucketEncryption (docs/sse.md).
// The configuration lives in the catalog (bucketsvc.Bucket.Encryption); a
// write whose request names no encryption gets it (writeEncryption).

import (
	"io"
	"net/http"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
)

func (g *Gateway) getBucketEncryption(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.Encryption == nil {
		return s3err.New(s3err.SSEConfigNotFound).With("BucketName", req.bucket)
	}
	e := b.Encryption
	return writeXML(req, http.StatusOK, s3api.EncryptionConfigurationOf(s3api.BucketEncryption{Algorithm: e.Algorithm, KMSKeyID: e.KMSKeyID, BucketKey: e.BucketKey}))
}

// putBucketEncryption replaces the default encryption (200, as S3).
func (g *Gateway) putBucketEncryption(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, s3api.MaxEncryptionBody+1))
	if err != nil {
		return err
	}
	if len(body) > s3api.MaxEncryptionBody {
		return s3err.New(s3err.MalformedXML)
	}
	if err := checkContentMD5(req, body); err != nil { // versioning.go
		return err
	}
	c, err := s3api.ParseBucketEncryption(body)
	if err != nil {
		return err
	}
	enc := &bucketsvc.BucketEncryption{Algorithm: c.Algorithm, KMSKeyID: c.KMSKeyID, BucketKey: c.BucketKey}
	if err := g.checkDefaultEncryption(req, enc); err != nil {
		return err
	}
	if err := g.updateBucketEncryption(req, enc); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteBucketEncryption answers 204 whether or not one was configured.
func (g *Gateway) deleteBucketEncryption(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.Encryption != nil {
		if err := g.updateBucketEncryption(req, nil); err != nil {
			return err
		}
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (g *Gateway) updateBucketEncryption(req *request, enc *bucketsvc.BucketEncryption) error {
	err := g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb { // re-created meanwhile: not the bucket we checked
			return bucketsvc.ErrNoSuchBucket
		}
		b.Encryption = enc
		return nil
	})
	if err != nil {
		return g.catalogUpdateErr(req, err) // lifecycle.go
	}
	return nil
}

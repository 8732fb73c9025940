package regional

// Object and bucket tagging (docs/tagging-checksums.md). Object tags live
// in the object version record (metapb.ObjectVersion.Tags), set by
// x-amz-tagging on PutObject and CreateMultipartUpload (given to the object
// at Complete) and replaced in place by PutObjectTagging and
// DeleteObjectTagging (metapb.PutTagsRequest, one Raft apply). Bucket tags
// live in the bucket catalog (bucketsvc.Bucket.Tags).

import (
	"io"
	"net/http"
	"strconv"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// readTaggingBody reads a Put…Tagging body and checks its integrity
// header (Content-MD5 or a verified x-amz-checksum-*, which S3 requires).
func readTaggingBody(req *request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, s3api.MaxTaggingBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > s3api.MaxTaggingBody {
		return nil, s3err.New(s3err.MalformedXML)
	}
	if err := checkContentMD5(req, body); err != nil { // versioning.go
		return nil, err
	}
	return body, nil
}

// getObjectTagging answers the version's tags (an empty TagSet when it has
// none) with its version id.
func (g *Gateway) getObjectTagging(req *request) error {
	b, v, err := g.objectFor(req) // defaults.go: 404 NoSuchKey/NoSuchVersion, 405 on a delete marker
	if err != nil {
		return err
	}
	setVersionHeader(req.w.Header(), b, &v)
	return writeXML(req, http.StatusOK, s3api.TaggingOf(v.Tags))
}

// putObjectTagging replaces the version's tags: the whole body is validated
// before anything changes.
func (g *Gateway) putObjectTagging(req *request) error {
	return g.setObjectTags(req, true)
}

// deleteObjectTagging removes every tag of the version (204).
func (g *Gateway) deleteObjectTagging(req *request) error {
	return g.setObjectTags(req, false)
}

func (g *Gateway) setObjectTags(req *request, put bool) error {
	b, v, err := g.objectFor(req)
	if err != nil {
		return err
	}
	var tags map[string]string
	if put {
		body, err := readTaggingBody(req)
		if err != nil {
			return err
		}
		if tags, err = s3api.ParseTagging(body, s3api.ObjectTags); err != nil {
			return err
		}
	}
	// The version objectFor resolved, by its id: a concurrent overwrite of
	// the key does not move the tags onto the new version.
	res, err := g.cfg.Meta.PutTags(req.r.Context(), metapb.PutTagsRequest{Bucket: req.mb, Key: req.key, Ver: v.S3VersionID(), Tags: tags})
	if err != nil {
		return err
	}
	setVersionHeader(req.w.Header(), b, res.Version)
	if put {
		req.w.WriteHeader(http.StatusOK)
	} else {
		req.w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// requestTags parses x-amz-tagging of PutObject or CreateMultipartUpload.
func requestTags(r *http.Request) (map[string]string, error) {
	return s3api.ParseTaggingHeader(r.Header.Get(s3api.TaggingHeader))
}

// setTaggingCount answers x-amz-tagging-count on GetObject and HeadObject
// of a version with tags.
func setTaggingCount(h http.Header, v *metapb.ObjectVersion) {
	if len(v.Tags) > 0 {
		h.Set(s3api.TaggingCountHeader, strconv.Itoa(len(v.Tags)))
	}
}

// getBucketTagging: the stored tag set, or 404 NoSuchTagSet.
func (g *Gateway) getBucketTagging(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if len(b.Tags) == 0 {
		return s3err.New(s3err.NoSuchTagSet).With("BucketName", req.bucket)
	}
	return writeXML(req, http.StatusOK, s3api.TaggingOf(b.Tags))
}

// putBucketTagging replaces the bucket's tag set (204, as S3).
func (g *Gateway) putBucketTagging(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	body, err := readTaggingBody(req)
	if err != nil {
		return err
	}
	tags, err := s3api.ParseTagging(body, s3api.BucketTags)
	if err != nil {
		return err
	}
	if err := g.updateBucketTags(req, tags); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteBucketTagging answers 204 whether or not the bucket had tags.
func (g *Gateway) deleteBucketTagging(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if len(b.Tags) > 0 {
		if err := g.updateBucketTags(req, nil); err != nil {
			return err
		}
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (g *Gateway) updateBucketTags(req *request, tags map[string]string) error {
	if len(tags) == 0 {
		tags = nil
	}
	err := g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb { // re-created meanwhile: not the bucket we checked
			return bucketsvc.ErrNoSuchBucket
		}
		b.Tags = tags
		return nil
	})
	if err != nil {
		return g.catalogUpdateErr(req, err) // lifecycle.go
	}
	return nil
}

package regional

// Bucket replication configuration (issue 8 item 3; internal/s3replication):
// the gateway of the bucket's home region validates a configuration against
// the global catalog — the source's versioning, every destination's
// existence and versioning, in any region — and stores it there. The
// replicator (background/) is what acts on it.

import (
	"errors"
	"io"
	"net/http"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3replication"
)

// errReplicationNeedsVersioning: versioning may not leave Enabled while a
// replication configuration exists (S3's InvalidBucketState).
var errReplicationNeedsVersioning = errors.New("replication configuration present")

// putBucketReplication validates the whole document and the buckets it
// names before anything is stored; a refused configuration leaves the
// previous one in place.
func (g *Gateway) putBucketReplication(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if req.r.Header.Get("x-amz-bucket-object-lock-token") != "" {
		return s3err.WithMessage(s3err.NotImplemented, "Object Lock is not implemented").With("Header", "x-amz-bucket-object-lock-token")
	}
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, s3replication.MaxBody+1))
	if err != nil {
		return err
	}
	if len(body) > s3replication.MaxBody {
		return s3err.New(s3err.MalformedXML)
	}
	if err := checkContentMD5(req, body); err != nil {
		return err
	}
	cfg, err := s3replication.Parse(body)
	if err != nil {
		return err
	}
	ctx := req.r.Context()
	lookup := func(name string) (s3replication.BucketInfo, error) {
		d, err := g.cfg.Catalog.GetBucket(ctx, name)
		if errors.Is(err, bucketsvc.ErrNoSuchBucket) {
			return s3replication.BucketInfo{}, nil
		}
		if err != nil {
			return s3replication.BucketInfo{}, err
		}
		return s3replication.BucketInfo{Exists: true, Versioning: string(d.Versioning)}, nil
	}
	if err := s3replication.Validate(cfg, b.Name, string(b.Versioning), lookup); err != nil {
		return err
	}
	err = g.cfg.Catalog.UpdateBucket(ctx, b.Name, func(cur *bucketsvc.Bucket) error {
		if cur.Incarnation != b.Incarnation {
			return bucketsvc.ErrNoSuchBucket // deleted and re-created meanwhile
		}
		if cur.Versioning != bucketsvc.VersioningEnabled { // suspended meanwhile
			return errReplicationNeedsVersioning
		}
		cur.Replication = cfg
		return nil
	})
	if errors.Is(err, errReplicationNeedsVersioning) {
		return s3err.WithMessage(s3err.InvalidRequest, "Versioning must be 'Enabled' on the bucket to apply a replication configuration")
	}
	if err != nil {
		return g.catalogUpdateErr(req, err)
	}
	req.log.Info("replication configuration stored", "rules", len(cfg.Rules), "destinations", cfg.Destinations())
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (g *Gateway) getBucketReplication(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.Replication == nil {
		return s3err.New(s3err.ReplicationConfigNotFound).With("BucketName", req.bucket)
	}
	return writeXML(req, http.StatusOK, s3replication.Render(b.Replication))
}

// deleteBucketReplication answers 204 whether or not a configuration
// existed, as S3 does.
func (g *Gateway) deleteBucketReplication(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.Replication != nil {
		err = g.cfg.Catalog.UpdateBucket(req.r.Context(), b.Name, func(cur *bucketsvc.Bucket) error {
			if cur.Incarnation != b.Incarnation {
				return bucketsvc.ErrNoSuchBucket
			}
			cur.Replication = nil
			return nil
		})
		if err != nil {
			return g.catalogUpdateErr(req, err)
		}
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

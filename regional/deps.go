package regional

import (
	"context"
	"io"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/commit"
)

// Meta is what the gateway needs from the metadata service (metaclient
// implements it): the commit protocol's calls (commit.Meta) and the reads,
// deletes and bucket fencing of the handlers. Every write is idempotent, so
// the client may retry it.
type Meta interface {
	commit.Meta
	// DeleteObject evaluates req.IfMatch and deletes in one Raft apply.
	DeleteObject(ctx context.Context, req metapb.DeleteRequest) (metapb.Result, error)
	Get(ctx context.Context, bucket, key string) (metapb.ObjectVersion, error)
	// Latest is the key's newest record (a version or a delete marker);
	// GetVer the one an S3 version id names; ListVersions merges all
	// partitions (versioning.go).
	Latest(ctx context.Context, bucket, key string) (metapb.ObjectVersion, error)
	GetVer(ctx context.Context, bucket, key, ver string) (metapb.ObjectVersion, error)
	// PutTags replaces one version's tags in place (tagging.go).
	PutTags(ctx context.Context, req metapb.PutTagsRequest) (metapb.Result, error)
	// PutACL replaces one version's ACL in place (acl.go).
	PutACL(ctx context.Context, req metapb.PutACLRequest) (metapb.Result, error)
	// PutLock changes one version's retention or legal hold (objectlock.go).
	PutLock(ctx context.Context, req metapb.PutLockRequest) (metapb.Result, error)
	ListVersions(ctx context.Context, req metapb.ListVersionsRequest) (metapb.ListVersionsResponse, error)
	List(ctx context.Context, req metapb.ListRequest) (metapb.ListResponse, error)

	CreateUpload(ctx context.Context, u metapb.Upload) (metapb.Result, error)
	GetUpload(ctx context.Context, bucket, key, uploadID string) (metapb.Upload, error)
	ListParts(ctx context.Context, req metapb.ListPartsRequest) (metapb.ListPartsResponse, error)
	ListUploads(ctx context.Context, req metapb.ListUploadsRequest) (metapb.ListUploadsResponse, error)
	AbortUpload(ctx context.Context, req metapb.AbortUploadRequest) (metapb.Result, error)

	// Bucket fencing (metapb.SealBucketRequest), per partition.
	SealBucket(ctx context.Context, partition int, bucket string) (metapb.Result, error)
	UnsealBucket(ctx context.Context, partition int, bucket string) (metapb.Result, error)
	DropBucket(ctx context.Context, partition int, bucket string) (metapb.Result, error)

	Partitions() int
}

// DataPath writes and reads erasure-coded segments (objectio.Engine
// implements it): the commit protocol's writes and deletes (commit.Data)
// and the handlers' reads.
type DataPath interface {
	commit.Data
	Scheme() metapb.Scheme
	Read(ctx context.Context, segs []metapb.Segment, scheme metapb.Scheme, off, length int64, w io.Writer) error
}

// Catalog is the part of the bucket catalog the gateway uses.
type Catalog interface {
	LookupAccessKey(ctx context.Context, id string) (bucketsvc.AccessKey, error)
	GetAccount(ctx context.Context, id string) (bucketsvc.Account, error)
	CreateBucket(ctx context.Context, b bucketsvc.Bucket) error
	GetBucket(ctx context.Context, name string) (bucketsvc.Bucket, error)
	// UpdateBucket stores bucket configuration (lifecycle rules).
	UpdateBucket(ctx context.Context, name string, fn func(*bucketsvc.Bucket) error) error
	DeleteBucketIncarnation(ctx context.Context, name, incarnation string) error
	ListBuckets(ctx context.Context, owner string) ([]bucketsvc.Bucket, error)
}

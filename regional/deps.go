package regional

import (
	"context"
	"io"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Meta is what the gateway needs from the metadata service (metaclient
// implements it). Every write is idempotent, so the client may retry it.
type Meta interface {
	Prepare(ctx context.Context, v metapb.ObjectVersion) (metapb.Result, error)
	Commit(ctx context.Context, req metapb.CommitRequest) (metapb.Result, error)
	Abort(ctx context.Context, req metapb.AbortRequest) (metapb.Result, error)
	// DeleteObject evaluates req.IfMatch and deletes in one Raft apply.
	DeleteObject(ctx context.Context, req metapb.DeleteRequest) (metapb.Result, error)
	Get(ctx context.Context, bucket, key string) (metapb.ObjectVersion, error)
	List(ctx context.Context, req metapb.ListRequest) (metapb.ListResponse, error)

	CreateUpload(ctx context.Context, u metapb.Upload) (metapb.Result, error)
	GetUpload(ctx context.Context, bucket, key, uploadID string) (metapb.Upload, error)
	PreparePart(ctx context.Context, p metapb.Part) (metapb.Result, error)
	CommitPart(ctx context.Context, req metapb.CommitPartRequest) (metapb.Result, error)
	AbortPart(ctx context.Context, req metapb.AbortPartRequest) (metapb.Result, error)
	ListParts(ctx context.Context, req metapb.ListPartsRequest) (metapb.ListPartsResponse, error)
	ListUploads(ctx context.Context, req metapb.ListUploadsRequest) (metapb.ListUploadsResponse, error)
	CompleteUpload(ctx context.Context, req metapb.CompleteUploadRequest) (metapb.Result, error)
	AbortUpload(ctx context.Context, req metapb.AbortUploadRequest) (metapb.Result, error)

	// Bucket fencing (metapb.SealBucketRequest), per partition.
	SealBucket(ctx context.Context, partition int, bucket string) (metapb.Result, error)
	UnsealBucket(ctx context.Context, partition int, bucket string) (metapb.Result, error)
	DropBucket(ctx context.Context, partition int, bucket string) (metapb.Result, error)

	Partitions() int
}

// DataPath writes and reads erasure-coded segments (objectio.Engine implements it).
type DataPath interface {
	Scheme() metapb.Scheme
	Plan(versionID string, size int64) ([]metapb.Segment, error)
	Write(ctx context.Context, segs []metapb.Segment, body io.Reader) ([]metapb.Segment, error)
	Read(ctx context.Context, segs []metapb.Segment, scheme metapb.Scheme, off, length int64, w io.Writer) error
	Delete(ctx context.Context, segs []metapb.Segment) error
}

// Catalog is the part of the bucket catalog the gateway uses.
type Catalog interface {
	LookupAccessKey(ctx context.Context, id string) (bucketsvc.AccessKey, error)
	GetAccount(ctx context.Context, id string) (bucketsvc.Account, error)
	CreateBucket(ctx context.Context, b bucketsvc.Bucket) error
	GetBucket(ctx context.Context, name string) (bucketsvc.Bucket, error)
	DeleteBucketIncarnation(ctx context.Context, name, incarnation string) error
	ListBuckets(ctx context.Context, owner string) ([]bucketsvc.Bucket, error)
}

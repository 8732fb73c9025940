package regional

import (
	"context"
	"errors"
	"io"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/regional/commit"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/regional/placement"
)

// translate maps an error from any layer to the S3 error answered for it:
// the one place where Meridian errors become S3 errors (STYLE 7).
func (g *Gateway) translate(req *request, err error) *s3err.Error {
	var e *s3err.Error
	if errors.As(err, &e) {
		return e
	}
	var exists *bucketsvc.BucketExistsError
	switch {
	case errors.As(err, &exists):
		if exists.Owner == req.principal {
			return s3err.New(s3err.BucketAlreadyOwnedByYou).With("BucketName", exists.Name)
		}
		return s3err.New(s3err.BucketAlreadyExists).With("BucketName", exists.Name)
	case errors.Is(err, bucketsvc.ErrNoSuchBucket):
		return s3err.New(s3err.NoSuchBucket).With("BucketName", req.bucket)
	case errors.Is(err, metaclient.ErrNotFound):
		return s3err.New(s3err.NoSuchKey).With("Key", req.key)
	case errors.Is(err, metaclient.ErrNoSuchUpload):
		return s3err.New(s3err.NoSuchUpload).With("UploadId", req.r.URL.Query().Get("uploadId"))
	case errors.Is(err, metaclient.ErrInvalidPart):
		return s3err.New(s3err.InvalidPart)
	case errors.Is(err, metaclient.ErrMethodNotAllowed):
		// PutTags of the null version, replaced meanwhile by a null delete
		// marker (a DELETE on a suspended bucket).
		return s3err.New(s3err.MethodNotAllowed).With("Method", req.r.Method).With("ResourceType", "DeleteMarker")
	case errors.Is(err, metaclient.ErrObjectLocked):
		return errObjectLocked() // objectlock.go
	case errors.Is(err, metaclient.ErrBadDigest):
		return s3err.WithMessage(s3err.BadDigest, "The checksum you specified did not match the calculated checksum.")
	case errors.Is(err, metaclient.ErrInvalidPartOrder):
		return s3err.New(s3err.InvalidPartOrder)
	case errors.Is(err, metaclient.ErrEntityTooSmall):
		return s3err.New(s3err.EntityTooSmall)
	case errors.Is(err, commit.ErrFenced):
		// The janitor aborted the write's PREPARE past its deadline before
		// the COMMIT: nothing was stored. RequestTimeout (400) is S3's own
		// answer to a request that took longer than the service allows,
		// and the AWS SDKs and CLI retry it; a retry starts afresh (the
		// aborted attempt's token is forgotten), so it cannot double-write.
		return s3err.WithMessage(s3err.RequestTimeout, "The upload took longer than the service allows and was aborted before it was stored; nothing was written. Retry the request.")
	case errors.Is(err, metaclient.ErrPrecondition):
		return s3err.New(s3err.PreconditionFailed)
	case errors.Is(err, metaclient.ErrBucketGone):
		// The incarnation the request started on was deleted meanwhile.
		return s3err.New(s3err.NoSuchBucket).With("BucketName", req.bucket)
	case errors.Is(err, metaclient.ErrBucketSealed):
		return s3err.New(s3err.OperationAborted)
	case errors.Is(err, metaclient.ErrBucketNotEmpty):
		return s3err.New(s3err.BucketNotEmpty).With("BucketName", req.bucket)
	case errors.Is(err, placement.ErrNotEnoughNodes), errors.Is(err, objectio.ErrWriteQuorum):
		return s3err.WithMessage(s3err.ServiceUnavailable, "Not enough storage nodes are reachable right now; please retry.")
	case errors.Is(err, metaclient.ErrUnavailable):
		// No partition leader within the request's time (an election, a
		// lost quorum): 503, which S3 clients retry.
		return s3err.WithMessage(s3err.ServiceUnavailable, "The metadata partition is electing a leader; please retry.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return s3err.New(s3err.IncompleteBody)
	case errors.Is(err, context.DeadlineExceeded):
		return s3err.New(s3err.RequestTimeout)
	case errors.Is(err, context.Canceled):
		return s3err.WithMessage(s3err.RequestTimeout, "The request was cancelled.")
	}
	return s3err.New(s3err.InternalError)
}

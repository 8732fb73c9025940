package metaclient

import (
	"errors"
	"fmt"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Sentinel errors. A *ResultError matches the one of its Code.
var (
	ErrNotFound         = errors.New("metaclient: not found")
	ErrNoSuchUpload     = errors.New("metaclient: no such upload")
	ErrInvalidPart      = errors.New("metaclient: invalid part")
	ErrInvalidPartOrder = errors.New("metaclient: invalid part order")
	ErrEntityTooSmall   = errors.New("metaclient: entity too small")
	ErrConflict         = errors.New("metaclient: conflict")
	ErrPrecondition     = errors.New("metaclient: precondition failed")
	ErrBadRequest       = errors.New("metaclient: bad request")
	// ErrBucketNotEmpty: SealBucket found committed objects in the partition.
	ErrBucketNotEmpty = errors.New("metaclient: bucket not empty")
	// ErrBucketSealed: a write to a bucket incarnation being deleted.
	ErrBucketSealed = errors.New("metaclient: bucket incarnation sealed")
	// ErrBucketGone: a write to a deleted bucket incarnation.
	ErrBucketGone = errors.New("metaclient: bucket incarnation deleted")
	// ErrUnavailable: no leader answered within MaxAttempts.
	ErrUnavailable = errors.New("metaclient: unavailable")
	ErrConfig      = errors.New("metaclient: invalid config")
	// ErrMethodNotAllowed: PutTags named a delete marker.
	ErrMethodNotAllowed = errors.New("metaclient: not allowed on a delete marker")
	// ErrBadDigest: CompleteUpload's claimed checksum differs from the computed one.
	ErrBadDigest = errors.New("metaclient: checksum mismatch")
	// ErrObjectLocked: the command would remove or weaken a version
	// protected by Object Lock (metapb.ErrObjectLocked).
	ErrObjectLocked = errors.New("metaclient: protected by object lock")
)

var codeErrors = map[string]error{
	metapb.ErrNotFound:         ErrNotFound,
	metapb.ErrNoSuchUpload:     ErrNoSuchUpload,
	metapb.ErrInvalidPart:      ErrInvalidPart,
	metapb.ErrInvalidPartOrder: ErrInvalidPartOrder,
	metapb.ErrEntityTooSmall:   ErrEntityTooSmall,
	metapb.ErrConflict:         ErrConflict,
	metapb.ErrPrecondition:     ErrPrecondition,
	metapb.ErrBadRequest:       ErrBadRequest,
	metapb.ErrBucketNotEmpty:   ErrBucketNotEmpty,
	metapb.ErrBucketSealed:     ErrBucketSealed,
	metapb.ErrBucketGone:       ErrBucketGone,
	metapb.ErrUnavailable:      ErrUnavailable,
	metapb.ErrMethodNotAllowed: ErrMethodNotAllowed,
	metapb.ErrBadDigest:        ErrBadDigest,
	metapb.ErrObjectLocked:     ErrObjectLocked,
}

// ResultError is a domain error answered by the metadata service.
type ResultError struct {
	Code string // a metapb Err* code
	Msg  string
}

func (e *ResultError) Error() string {
	if e.Msg == "" {
		return "metaclient: " + e.Code
	}
	return fmt.Sprintf("metaclient: %s: %s", e.Code, e.Msg)
}

// Is matches the sentinel of e.Code.
func (e *ResultError) Is(target error) bool {
	s, ok := codeErrors[e.Code]
	return ok && s == target
}

func resultErr(code, msg string) error {
	if code == "" {
		return nil
	}
	return &ResultError{Code: code, Msg: msg}
}

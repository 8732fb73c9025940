// Package commit is the one home of the commit protocol
// (docs/commit-protocol.md): PREPARE → write shards → verify the body →
// COMMIT, or ABORT and delete what was written. PutObject and UploadPart
// write through Coordinator.Write and CompleteMultipartUpload commits through
// Coordinator.Complete; CopyObject and UploadPartCopy write through Write
// too (regional/copy.go), and the replicator is meant to call the same entry
// points, so a change to the protocol (versioning,
// replication status) is made here once.
//
// Every failure is cleaned up exactly once, by the step that owns it:
//
//   - PREPARE fails: nothing was written; nothing to undo (a PREPARE whose
//     outcome is unknown is aborted by the background janitor).
//   - shard write or body verification fails: the engine deletes the shards
//     it stored, Write deletes the shards it was handed back, then ABORT
//     (AbortPart) fences the attempt so a late COMMIT of it cannot succeed.
//   - COMMIT refused (precondition, conflict, bucket incarnation sealed or
//     gone, upload gone): ABORT, and once the abort is applied (nothing
//     references the shards any more) the written shards are deleted.
//   - COMMIT fails otherwise (timeout, unavailable): its outcome is unknown,
//     so the record is left PREPARING with its shards; the janitor aborts it
//     by state and reclaims the shards (docs/background.md).
package commit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// cleanupTimeout bounds an ABORT or a shard delete after a failure; they
// run detached from the request's context, which may be the failure.
const cleanupTimeout = 10 * time.Second

// Meta is what the protocol needs from the metadata service (metaclient
// implements it). Every write is idempotent, so the client may retry it.
type Meta interface {
	Prepare(ctx context.Context, v metapb.ObjectVersion) (metapb.Result, error)
	Commit(ctx context.Context, req metapb.CommitRequest) (metapb.Result, error)
	Abort(ctx context.Context, req metapb.AbortRequest) (metapb.Result, error)
	PreparePart(ctx context.Context, p metapb.Part) (metapb.Result, error)
	CommitPart(ctx context.Context, req metapb.CommitPartRequest) (metapb.Result, error)
	AbortPart(ctx context.Context, req metapb.AbortPartRequest) (metapb.Result, error)
	CompleteUpload(ctx context.Context, req metapb.CompleteUploadRequest) (metapb.Result, error)
}

// Data plans, writes and deletes erasure-coded segments (objectio.Engine
// implements it).
type Data interface {
	Plan(ctx context.Context, versionID string, size int64) ([]metapb.Segment, error)
	Write(ctx context.Context, segs []metapb.Segment, body io.Reader) ([]metapb.Segment, error)
	Delete(ctx context.Context, segs []metapb.Segment) error
}

// Coordinator runs the commit protocol. Its fields are set once; it is safe
// for concurrent use.
type Coordinator struct {
	Meta Meta
	Data Data
	// InlineThreshold: bodies up to this size are stored in the record
	// itself (no PREPARE for objects, no shards).
	InlineThreshold int64
	// BeforeCommit is the test-only fault hook (regional.Config.BeforeCommit):
	// called after the body is stored and verified, just before COMMIT.
	BeforeCommit func(ctx context.Context, bucket, key string)
	// Log is used when a Target has no logger of its own.
	Log *slog.Logger
}

// Body is a request body verified while it streams.
type Body struct {
	Size int64
	// Reader yields exactly Size bytes (fewer is an error).
	Reader io.Reader
	// Finish reads the body to its end so the verifying reader checks the
	// payload hash, chunk signatures and trailing checksums, then compares
	// Content-MD5 (docs/commit-protocol.md, step 4).
	Finish func() error
	// ETag is the hex MD5 of what was read; Checksums the verified
	// x-amz-checksum-* values (both valid after Finish).
	ETag      func() string
	Checksums func() map[string]string
}

// Target is what a Write creates: exactly one of Object and Part is set.
type Target struct {
	// Object is a new object version: Bucket is the bucket incarnation's
	// meta key (bucketsvc.Bucket.MetaKey); VersionID, Token, Size, Created
	// and the content metadata are set by the caller. Segments, Inline,
	// ETag, Checksums and State are filled in by Write.
	Object *metapb.ObjectVersion
	// IfMatch / IfNoneMatch are the COMMIT's conditions (objects only),
	// evaluated by metasvc in the apply that commits.
	IfMatch, IfNoneMatch string
	// Versioning is the bucket's versioning mode, read at write time
	// (objects only): the COMMIT keeps or replaces the previous version by it.
	Versioning metapb.Versioning
	// Replica: the object is a replicated version (objects only): Object.Ver
	// is its source's version id, kept; the COMMIT is a no-op when the
	// version id is already present (metapb.CommitRequest.Replica).
	Replica bool
	// Part is an UploadPart attempt (Bucket, Key, UploadID, Number,
	// Attempt, Size, Created set by the caller).
	Part *metapb.Part
	// Log is the request's logger (nil: the coordinator's).
	Log *slog.Logger
}

// Result is what was committed.
type Result struct {
	ETag      string
	Checksums map[string]string
	Version   *metapb.ObjectVersion // the committed version (objects)
	Part      *metapb.Part          // the committed part (parts)
}

// ErrTokenReused: an idempotency token came back with a different body.
// That is not a retry; acknowledging it would claim a write that never
// happened.
func ErrTokenReused() error {
	return s3err.WithMessage(s3err.InvalidRequest, "The idempotency token (amz-sdk-invocation-id) was already used for a different request body.")
}

// ErrFenced: the COMMIT found its PREPARING record gone — the janitor
// aborted it past its deadline (the fence), or another writer's abort — so
// nothing was stored. The client gets an error, never an acknowledgement
// (the S3 answer is chosen in regional/errors.go; docs/commit-protocol.md,
// "A COMMIT after the fence").
var ErrFenced = errors.New("commit: the write was aborted before its COMMIT (PREPARE deadline passed); nothing was stored")

// fenced wraps a COMMIT's ErrConflict (the only conflict a COMMIT or part
// COMMIT answers: no PREPARING record) as ErrFenced.
func fenced(err error) error {
	if errors.Is(err, metaclient.ErrConflict) {
		return fmt.Errorf("%w: %w", ErrFenced, err)
	}
	return err
}

// Refused reports whether a COMMIT (or part commit) was refused by the state
// machine without being applied: the writer must abort its attempt and may
// delete the shards it wrote.
func Refused(err error) bool {
	return errors.Is(err, metaclient.ErrPrecondition) || errors.Is(err, metaclient.ErrConflict) ||
		errors.Is(err, metaclient.ErrBucketSealed) || errors.Is(err, metaclient.ErrBucketGone) ||
		errors.Is(err, metaclient.ErrNoSuchUpload) || errors.Is(err, metaclient.ErrNotFound)
}

// PartShardPrefix is the shard id prefix of a part attempt:
// "u<upload>-<n>-<attempt>" (shards are "<prefix>.<seg>.<idx>").
func PartShardPrefix(uploadID string, n int, attempt string) string {
	return fmt.Sprintf("u%s-%d-%s", uploadID, n, attempt)
}

// Write stores body as t and commits it (docs/commit-protocol.md).
func (c *Coordinator) Write(ctx context.Context, t Target, body Body) (Result, error) {
	log := t.Log
	if log == nil {
		log = c.Log
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case t.Object != nil && t.Part == nil:
		return c.writeObject(ctx, log, t, body)
	case t.Part != nil && t.Object == nil:
		return c.writePart(ctx, log, *t.Part, body)
	}
	return Result{}, errors.New("commit: a Target names exactly one of Object and Part")
}

// Complete commits a multipart upload: one metasvc apply checks the listed
// parts, evaluates the conditions and makes the version current.
func (c *Coordinator) Complete(ctx context.Context, req metapb.CompleteUploadRequest) (metapb.ObjectVersion, error) {
	res, err := c.Meta.CompleteUpload(ctx, req)
	if err != nil {
		return metapb.ObjectVersion{}, err
	}
	if res.Version == nil {
		return metapb.ObjectVersion{}, errors.New("regional: CompleteUpload returned no version")
	}
	return *res.Version, nil
}

func (c *Coordinator) beforeCommit(ctx context.Context, bucket, key string) {
	if c.BeforeCommit != nil {
		c.BeforeCommit(ctx, bucket, key)
	}
}

// readInline reads a small body whole and verifies it.
func readInline(body Body) ([]byte, error) {
	buf := make([]byte, body.Size)
	if _, err := io.ReadFull(body.Reader, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, s3err.New(s3err.IncompleteBody)
		}
		return nil, err
	}
	if err := body.Finish(); err != nil {
		return nil, err
	}
	return buf, nil
}

// writeShards streams the body into planned segments, then reads it to its
// end so every payload check runs (docs/commit-protocol.md, step 4). On any
// failure it deletes what it wrote; the caller aborts the PREPARE.
func (c *Coordinator) writeShards(ctx context.Context, segs []metapb.Segment, body Body) ([]metapb.Segment, error) {
	final, err := c.Data.Write(ctx, segs, body.Reader)
	if err == nil {
		err = body.Finish()
	}
	if err != nil {
		if len(final) > 0 {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			_ = c.Data.Delete(dctx, final)
			cancel()
		}
		return nil, err
	}
	return final, nil
}

// deleteShards deletes shards no record references any more (after a
// refused commit was aborted). Failures are left to the reclaimer, which
// has the same shards queued as garbage.
func (c *Coordinator) deleteShards(ctx context.Context, log *slog.Logger, segs []metapb.Segment) {
	if len(segs) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := c.Data.Delete(dctx, segs); err != nil {
		log.Warn("delete shards of a refused commit", "err", err)
	}
}

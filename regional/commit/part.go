package commit

import (
	"context"
	"errors"
	"log/slog"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// writePart: PREPARE-part → write shards (unless inline) → COMMIT-part,
// keyed by (upload, number, attempt).
func (c *Coordinator) writePart(ctx context.Context, log *slog.Logger, p metapb.Part, body Body) (Result, error) {
	// abortPart fences the attempt: its planned shards become garbage, and
	// a late CommitPart of it can no longer succeed.
	abortPart := func(why string) error {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_, err := c.Meta.AbortPart(actx, metapb.AbortPartRequest{
			Bucket: p.Bucket, Key: p.Key, UploadID: p.UploadID, Number: p.Number, Attempt: p.Attempt,
		})
		if err != nil {
			log.Warn("abort part "+why, "err", err)
		}
		return err
	}
	if body.Size <= c.InlineThreshold {
		data, err := readInline(body)
		if err != nil {
			return Result{}, err
		}
		if _, err := c.Meta.PreparePart(ctx, p); err != nil {
			return Result{}, err
		}
		p.Inline, p.ETag, p.Checksums, p.State = data, body.ETag(), body.Checksums(), metapb.StateCommitted
	} else {
		segs, err := c.Data.Plan(ctx, PartShardPrefix(p.UploadID, p.Number, p.Attempt), body.Size)
		if err != nil {
			return Result{}, err
		}
		p.Segments = segs
		if _, err := c.Meta.PreparePart(ctx, p); err != nil {
			return Result{}, err
		}
		final, err := c.writeShards(ctx, segs, body)
		if err != nil {
			_ = abortPart("after failed write")
			return Result{}, err
		}
		p.Segments, p.ETag, p.Checksums, p.State = final, body.ETag(), body.Checksums(), metapb.StateCommitted
	}
	c.beforeCommit(ctx, p.Bucket, p.Key)
	if _, err := c.Meta.CommitPart(ctx, metapb.CommitPartRequest{
		Bucket: p.Bucket, Key: p.Key, UploadID: p.UploadID, Number: p.Number, Attempt: p.Attempt, Final: p,
	}); err != nil {
		if Refused(err) {
			// Fenced (bucket deleted, upload or attempt aborted): the attempt
			// cannot commit any more; fence it and drop what it wrote.
			if aerr := abortPart("after a refused commit"); aerr == nil || errors.Is(aerr, metaclient.ErrNoSuchUpload) {
				c.deleteShards(ctx, log, p.Segments)
			}
		}
		return Result{}, fenced(err)
	}
	return Result{ETag: p.ETag, Checksums: p.Checksums, Part: &p}, nil
}

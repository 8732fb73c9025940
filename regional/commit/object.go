package commit

import (
	"context"
	"io"
	"log/slog"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// writeObject: inline COMMIT, or PREPARE → write shards → COMMIT.
func (c *Coordinator) writeObject(ctx context.Context, log *slog.Logger, t Target, body Body) (Result, error) {
	v := *t.Object
	cond := metapb.CommitRequest{IfMatch: t.IfMatch, IfNoneMatch: t.IfNoneMatch, Versioning: t.Versioning, Replica: t.Replica}
	var committed metapb.ObjectVersion
	if body.Size <= c.InlineThreshold {
		data, err := readInline(body)
		if err != nil {
			return Result{}, err
		}
		v.Inline = data
		v.ETag = body.ETag()
		v.Checksums = body.Checksums()
		v.State = metapb.StateCommitted
		cond.Bucket, cond.Key, cond.VersionID, cond.Final = v.Bucket, v.Key, v.VersionID, v
		c.beforeCommit(ctx, v.Bucket, v.Key)
		res, err := c.Meta.Commit(ctx, cond)
		if err != nil {
			return Result{}, err
		}
		if res.Existed && res.Version != nil && (res.Version.ETag != v.ETag || res.Version.Size != v.Size) {
			return Result{}, ErrTokenReused()
		}
		committed = *res.Version
	} else {
		var err error
		committed, err = c.writeLarge(ctx, log, v, body, cond)
		if err != nil {
			return Result{}, err
		}
	}
	return Result{ETag: committed.ETag, Checksums: committed.Checksums, Version: &committed}, nil
}

// writeLarge stores a body as erasure-coded segments.
func (c *Coordinator) writeLarge(ctx context.Context, log *slog.Logger, v metapb.ObjectVersion, body Body, cond metapb.CommitRequest) (metapb.ObjectVersion, error) {
	// The stored size: the body's (ciphertext when the gateway encrypts
	// it); v.Size stays the object's size.
	segs, err := c.Data.Plan(ctx, v.VersionID, body.Size)
	if err != nil {
		return v, err
	}
	v.Segments = segs
	res, err := c.Meta.Prepare(ctx, v)
	if err != nil {
		return v, err
	}
	if res.Existed && res.Version != nil {
		if res.Version.Size != v.Size {
			return v, ErrTokenReused()
		}
		if res.Version.State == metapb.StateCommitted {
			// A retry of a PUT that already committed answers as the first
			// time did — if it really is the same body.
			if _, err := io.Copy(io.Discard, body.Reader); err != nil {
				return v, err
			}
			if err := body.Finish(); err != nil {
				return v, err
			}
			if body.ETag() != res.Version.ETag {
				return v, ErrTokenReused()
			}
			return *res.Version, nil
		}
		v.VersionID, v.Segments, v.Created = res.Version.VersionID, res.Version.Segments, res.Version.Created
	}
	abort := func(reason string) bool {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if _, err := c.Meta.Abort(actx, metapb.AbortRequest{Bucket: v.Bucket, Key: v.Key, VersionID: v.VersionID, Reason: reason}); err != nil {
			log.Warn("abort after failed write", "err", err, "version", v.VersionID)
			return false
		}
		return true
	}
	final, err := c.writeShards(ctx, v.Segments, body)
	if err != nil {
		abort("write failed")
		return v, err
	}
	v.Segments = final
	v.ETag = body.ETag()
	v.Checksums = body.Checksums()
	v.State = metapb.StateCommitted
	cond.Bucket, cond.Key, cond.VersionID, cond.Final = v.Bucket, v.Key, v.VersionID, v
	c.beforeCommit(ctx, v.Bucket, v.Key)
	res, err = c.Meta.Commit(ctx, cond)
	if err != nil {
		if Refused(err) && abort("commit refused") {
			// The PREPARING record is gone (its planned shards are queued as
			// garbage too): nothing references the written shards, so they
			// go now rather than after the next reclaim round.
			c.deleteShards(ctx, log, final)
		}
		return v, fenced(err)
	}
	c.reportShort(ctx, log, *res.Version)
	return *res.Version, nil
}

// suspecter is Meta's optional capability to hand a version to the healer
// (metaclient implements it).
type suspecter interface {
	Suspect(ctx context.Context, sp metapb.Suspect) error
}

// reportShort hands a version committed with fewer than k+m shards (write
// quorum reached without them) to the healer at once (docs/background.md).
func (c *Coordinator) reportShort(ctx context.Context, log *slog.Logger, v metapb.ObjectVersion) {
	sp, ok := c.Meta.(suspecter)
	if !ok {
		return
	}
	for _, seg := range v.Segments {
		for _, sh := range seg.Shards {
			if sh.Node != "" {
				continue
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			if err := sp.Suspect(sctx, metapb.Suspect{Bucket: v.Bucket, Key: v.Key, VersionID: v.VersionID, Reason: "committed short of shards"}); err != nil {
				log.Warn("could not report a short write to the healer", "version", v.VersionID, "err", err)
			}
			return
		}
	}
}

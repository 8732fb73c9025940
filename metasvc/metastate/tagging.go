package metastate

import (
	"fmt"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Object tags (metapb.PutTagsRequest): a tag change replaces one committed
// record by a copy with the new tags — records are immutable, so the copy
// takes the old one's place in vers and in the indexes that point at it
// (replaceRecord) — and writes a FeedTags entry (replication carries tag
// changes). The record keeps its version id, ETag, shards and times.

func (t *trees) putTags(now time.Time, r *metapb.PutTagsRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" {
		return errResult(metapb.ErrBadRequest, "put tags: bucket and key are required")
	}
	if len(r.Tags) > metapb.MaxObjectTags {
		return errResult(metapb.ErrBadRequest, fmt.Sprintf("put tags: %d tags, at most %d", len(r.Tags), metapb.MaxObjectTags))
	}
	v, bad := t.namedVersion("put tags", r.Bucket, r.Key, r.Ver)
	if bad != nil {
		return *bad
	}
	c := cloneVersion(v)
	c.Tags = nil
	if len(r.Tags) > 0 {
		c.Tags = cloneMap(r.Tags)
	}
	t.replaceRecord(v, c)
	seq := t.appendFeedVer(metapb.FeedTags, c, now)
	return metapb.Result{Version: cloneVersion(c), Seq: seq}
}

// replaceRecord puts c, a changed copy of the committed record v (same
// bucket, key and Ver), in v's place: in vers, and in cur, nulls and the
// idempotency tokens where they point at v.
func (t *trees) replaceRecord(v, c *metapb.ObjectVersion) {
	t.vers.ReplaceOrInsert(c)
	if t.nullOf(v.Bucket, v.Key) == v {
		t.nulls.ReplaceOrInsert(c)
	}
	if t.current(v.Bucket, v.Key) == v {
		t.cur.ReplaceOrInsert(c)
	}
	// A token whose outcome is the record follows it (the snapshot writes
	// such a token as done_current).
	for _, kind := range []tokenKind{tokObject, tokComplete} {
		if e := t.getToken(v.Bucket, v.Key, kind, v.Token); e != nil && e.Done == v {
			ne := *e
			ne.Done = c
			t.putToken(&ne)
		}
	}
}

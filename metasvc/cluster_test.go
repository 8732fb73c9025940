package metasvc_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
)

func inline(bucket, key, vid, body string) metapb.CommitRequest {
	return metapb.CommitRequest{Bucket: bucket, Key: key, VersionID: vid, Final: metapb.ObjectVersion{
		Bucket: bucket, Key: key, VersionID: vid, Token: "tok-" + vid,
		Inline: []byte(body), Size: int64(len(body)), ETag: "e-" + vid,
	}}
}

func TestClusterWriteRead(t *testing.T) {
	c := metasvctest.Start(t, metasvctest.Options{})
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if cl.Partitions() != 4 {
		t.Fatalf("discovered %d partitions", cl.Partitions())
	}
	if _, err := cl.Get(ctx, "b", "k"); !errors.Is(err, metaclient.ErrNotFound) {
		t.Fatalf("get absent: %v", err)
	}
	res, err := cl.Commit(ctx, inline("b", "k", "v1", "hello"))
	if err != nil || res.Version == nil || res.Existed {
		t.Fatalf("commit: %+v %v", res, err)
	}
	// Replay: idempotent.
	res, err = cl.Commit(ctx, inline("b", "k", "v1", "hello"))
	if err != nil || !res.Existed {
		t.Fatalf("replayed commit: %+v %v", res, err)
	}
	v, err := cl.Get(ctx, "b", "k")
	if err != nil || string(v.Inline) != "hello" || v.State != metapb.StateCommitted {
		t.Fatalf("get: %+v %v", v, err)
	}
	// Prepare → Commit with segments.
	seg := []metapb.Segment{{Size: 10, Shards: []metapb.ShardRef{{Index: 0, Node: "s1", AZ: "a", ID: "sh1", Size: 10}}}}
	pv := metapb.ObjectVersion{Bucket: "b", Key: "k", VersionID: "v2", Token: "t2", Size: 10, Segments: seg, Created: time.Now()}
	if _, err := cl.Prepare(ctx, pv); err != nil {
		t.Fatal(err)
	}
	if gv, err := cl.GetVersion(ctx, "b", "k", "v2"); err != nil || gv.State != metapb.StatePreparing {
		t.Fatalf("get preparing version: %+v %v", gv, err)
	}
	if v, _ := cl.Get(ctx, "b", "k"); v.VersionID != "v1" {
		t.Fatalf("PREPARING version visible: %+v", v)
	}
	res, err = cl.Commit(ctx, metapb.CommitRequest{Bucket: "b", Key: "k", VersionID: "v2", Final: metapb.ObjectVersion{Size: 10, ETag: "x", Segments: seg}})
	if err != nil || res.Replaced == nil || res.Replaced.VersionID != "v1" {
		t.Fatalf("commit prepared: %+v %v", res, err)
	}
	// Conditional commit fails with a typed error.
	cr := inline("b", "k", "v3", "x")
	cr.IfNoneMatch = "*"
	_, err = cl.Commit(ctx, cr)
	var re *metaclient.ResultError
	if !errors.Is(err, metaclient.ErrPrecondition) || !errors.As(err, &re) || re.Code != metapb.ErrPrecondition {
		t.Fatalf("conditional commit: %v", err)
	}
	if _, err := cl.Delete(ctx, "b", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Get(ctx, "b", "k"); !errors.Is(err, metaclient.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	// The change feed and the garbage queue of that partition saw it all.
	p := cl.PartitionOf("b", "k")
	feed, err := cl.ReadFeed(ctx, p, 0, 100)
	if err != nil || len(feed) != 3 {
		t.Fatalf("feed: %+v %v", feed, err)
	}
	gc, err := cl.ListGarbage(ctx, p, 100)
	if err != nil || len(gc) == 0 {
		t.Fatalf("garbage: %+v %v", gc, err)
	}
	if _, err := cl.AckGarbage(ctx, p, []uint64{gc[0].ID}); err != nil {
		t.Fatal(err)
	}
	// A misrouted command is refused, not applied to the wrong partition.
	if _, err := cl.AckFeed(ctx, p, "repl", feed[2].Seq); err != nil {
		t.Fatal(err)
	}
	// Multipart through the client.
	if _, err := cl.CreateUpload(ctx, metapb.Upload{Bucket: "b", Key: "mp", UploadID: "u1", Token: "ut", Initiated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetUpload(ctx, "b", "mp", "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetUpload(ctx, "b", "mp", "nope"); !errors.Is(err, metaclient.ErrNoSuchUpload) {
		t.Fatalf("get absent upload: %v", err)
	}
	ups, err := cl.ListUploads(ctx, metapb.ListUploadsRequest{Bucket: "b", MaxUploads: 10})
	if err != nil || len(ups.Uploads) != 1 || ups.Uploads[0].UploadID != "u1" {
		t.Fatalf("list uploads: %+v %v", ups, err)
	}
	if _, err := cl.AbortUpload(ctx, metapb.AbortUploadRequest{Bucket: "b", Key: "mp", UploadID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ListParts(ctx, metapb.ListPartsRequest{Bucket: "b", Key: "mp", UploadID: "u1"}); !errors.Is(err, metaclient.ErrNoSuchUpload) {
		t.Fatalf("list parts of aborted upload: %v", err)
	}
	_ = fmt.Sprint()
}

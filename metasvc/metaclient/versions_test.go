package metaclient

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metastate"
	"github.com/meridian-s3/meridian/metasvc/partition"
)

// TestListVersionsAcrossPartitions: a bucket's versions spread over hash
// partitions, paged with key and version-id markers through MergeVersions,
// list exactly like the same history in one state.
func TestListVersionsAcrossPartitions(t *testing.T) {
	const parts = 4
	states := make([]*metastate.State, parts)
	for i := range states {
		states[i] = metastate.New()
	}
	all := metastate.New()
	idx := uint64(0)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	apply := func(key string, cmd metapb.Command) {
		idx++
		now = now.Add(time.Millisecond)
		cmd.Time, cmd.Region = now, "r1"
		p := partition.Of("b", key, parts)
		for _, s := range []*metastate.State{states[p], all} {
			c := cmd
			if r := s.Apply(idx, &c); r.Err != "" {
				t.Fatalf("%s: %s", key, r.ErrMsg)
			}
		}
	}
	for i := 0; i < 60; i++ {
		key := fmt.Sprintf("d%d/k%02d", i%3, i)
		mode := metapb.VersioningEnabled
		if i%7 == 0 {
			mode = metapb.VersioningSuspended
		}
		for j := 0; j <= i%4; j++ {
			apply(key, metapb.Command{Type: metapb.CmdCommit, Commit: &metapb.CommitRequest{Bucket: "b", Key: key,
				VersionID: fmt.Sprintf("v%d-%d", i, j), Final: metapb.ObjectVersion{Inline: []byte("x"), ETag: "e"}, Versioning: mode}})
		}
		if i%5 == 0 {
			apply(key, metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: "b", Key: key, Versioning: mode}})
		}
	}
	name := func(e metapb.VersionEntry) string {
		if e.Version == nil {
			return "P:" + e.Prefix
		}
		return fmt.Sprintf("%s@%s/%v/%v", e.Version.Key, e.Version.S3VersionID(), e.Latest, e.Version.IsDeleteMarker())
	}
	for _, q := range []metapb.ListVersionsRequest{{}, {Delimiter: "/"}, {Prefix: "d1/"}, {Prefix: "d2/k5"}} {
		q.Bucket = "b"
		var want []string
		for _, e := range all.ListVersions(q).Entries {
			want = append(want, name(e))
		}
		for _, max := range []int{1, 2, 3, 7, 50, 1000} {
			var got []string
			req := q
			req.MaxKeys = max
			for pages := 0; ; pages++ {
				if pages > 1000 {
					t.Fatal("pagination does not end")
				}
				resps := make([]metapb.ListVersionsResponse, parts)
				for p, s := range states {
					resps[p] = s.ListVersions(req)
				}
				page := MergeVersions(resps, max)
				if len(page.Entries) > max {
					t.Fatalf("page of %d entries for max %d", len(page.Entries), max)
				}
				for _, e := range page.Entries {
					got = append(got, name(e))
				}
				if !page.Truncated {
					break
				}
				last := page.Entries[len(page.Entries)-1]
				req.KeyMarker, req.VersionMarker = last.Name(), ""
				if last.Version != nil {
					req.VersionMarker = last.Version.S3VersionID()
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v max %d:\n got %v\nwant %v", q, max, got, want)
			}
		}
	}
}

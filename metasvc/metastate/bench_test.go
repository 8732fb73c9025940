package metastate

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func benchState(b *testing.B, n int) *State {
	s := New()
	for i := 0; i < n; i++ {
		s.Apply(uint64(i+1), &metapb.Command{Type: metapb.CmdCommit, Time: t0, Commit: &metapb.CommitRequest{
			Bucket: "bench", Key: fmt.Sprintf("dir%03d/obj%07d", i%100, i), VersionID: fmt.Sprintf("v%d", i),
			Final: metapb.ObjectVersion{Size: 1000, ETag: "0123456789abcdef0123456789abcdef", ContentType: "application/octet-stream"}}})
	}
	return s
}

// BenchmarkApplyCommit measures PREPARE+COMMIT of a 1-segment, 14-shard
// object into a state of 100k objects (two Applies per op).
func BenchmarkApplyCommit(b *testing.B) {
	s := benchState(b, 100000)
	shards := make([]metapb.ShardRef, 14)
	for i := range shards {
		shards[i] = metapb.ShardRef{Index: i, Node: fmt.Sprintf("node%d", i), AZ: "az", ID: "x", Size: 1 << 20}
	}
	idx := uint64(200000)
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := fmt.Sprintf("dir%03d/new%08d", i%100, i)
		vid := fmt.Sprintf("n%d", i)
		for j := range shards {
			shards[j].ID = fmt.Sprintf("%s-%d", vid, j)
		}
		sg := []metapb.Segment{{Size: 10 << 20, Shards: shards}}
		now = now.Add(time.Millisecond)
		idx++
		s.Apply(idx, &metapb.Command{Type: metapb.CmdPrepare, Time: now, Prepare: &metapb.PrepareRequest{Version: metapb.ObjectVersion{
			Bucket: "bench", Key: key, VersionID: vid, Token: vid, Segments: sg}}})
		idx++
		r := s.Apply(idx, &metapb.Command{Type: metapb.CmdCommit, Time: now, Commit: &metapb.CommitRequest{
			Bucket: "bench", Key: key, VersionID: vid, Final: metapb.ObjectVersion{Size: 10 << 20, ETag: "e", Segments: sg}}})
		if r.Err != "" {
			b.Fatal(r)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := benchState(b, 100000)
	keys := make([]string, 1024)
	for i := range keys {
		j := (i * 7919) % 100000
		keys[i] = fmt.Sprintf("dir%03d/obj%07d", j%100, j)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := s.Get("bench", keys[i%len(keys)]); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkListPage1000(b *testing.B) {
	s := benchState(b, 100000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := s.List(metapb.ListRequest{Bucket: "bench", Prefix: "dir04", MaxKeys: 1000})
		if len(r.Entries) != 1000 || !r.Truncated {
			b.Fatal(len(r.Entries))
		}
	}
}

func BenchmarkListDelimiter(b *testing.B) {
	s := benchState(b, 100000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := s.List(metapb.ListRequest{Bucket: "bench", Delimiter: "/", MaxKeys: 1000})
		if len(r.Entries) != 100 {
			b.Fatal(len(r.Entries))
		}
	}
}

func BenchmarkSnapshotWrite100k(b *testing.B) {
	s := benchState(b, 100000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var w countWriter
		if _, err := s.Snapshot().WriteTo(&w); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(w))
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// TestMemoryPerObject reports the heap held per committed object with one
// 14-shard segment (run with -v to see the figure); it fails if a record
// costs more than 8 KiB, which would mean something is retained twice.
func TestMemoryPerObject(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates")
	}
	const n = 20000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New()
	shards := make([]metapb.ShardRef, 14)
	for i := 0; i < n; i++ {
		for j := range shards {
			shards[j] = metapb.ShardRef{Index: j, Node: fmt.Sprintf("node%02d", j), AZ: "az-a", ID: fmt.Sprintf("%016x-%02d", i, j), Size: 1 << 20, CRC32C: 1}
		}
		key := fmt.Sprintf("photos/2025/%08d.jpg", i)
		vid := fmt.Sprintf("%020d", i)
		sg := []metapb.Segment{{Size: 10 << 20, Shards: shards}}
		s.Apply(uint64(2*i+1), &metapb.Command{Type: metapb.CmdPrepare, Time: t0, Prepare: &metapb.PrepareRequest{Version: metapb.ObjectVersion{
			Bucket: "bucket", Key: key, VersionID: vid, Token: "tok" + vid, Segments: sg}}})
		s.Apply(uint64(2*i+2), &metapb.Command{Type: metapb.CmdCommit, Time: t0, Commit: &metapb.CommitRequest{
			Bucket: "bucket", Key: key, VersionID: vid, Final: metapb.ObjectVersion{Size: 10 << 20, ETag: "0123456789abcdef0123456789abcdef",
				ContentType: "image/jpeg", Segments: sg}}})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("heap per object (1 segment × 14 shards, token, feed entry): %d bytes", per)
	if per > 8<<10 {
		t.Fatalf("%d bytes per object", per)
	}
	runtime.KeepAlive(s)
}

// benchVersioned: 100k keys in a versioned bucket, each with 3 versions;
// every other key's newest record is a delete marker.
func benchVersioned(b *testing.B) *State {
	s := New()
	idx := uint64(0)
	now := t0
	for v := 0; v < 3; v++ {
		for i := 0; i < 100000; i++ {
			idx++
			now = now.Add(time.Microsecond)
			s.Apply(idx, &metapb.Command{Type: metapb.CmdCommit, Time: now, Commit: &metapb.CommitRequest{
				Bucket: "bench", Key: fmt.Sprintf("dir%03d/obj%07d", i%100, i), VersionID: fmt.Sprintf("v%d-%d", i, v),
				Final:      metapb.ObjectVersion{Size: 1000, ETag: "0123456789abcdef0123456789abcdef"},
				Versioning: metapb.VersioningEnabled}})
		}
	}
	for i := 0; i < 100000; i += 2 {
		idx++
		s.Apply(idx, &metapb.Command{Type: metapb.CmdDelete, Time: now, Delete: &metapb.DeleteRequest{
			Bucket: "bench", Key: fmt.Sprintf("dir%03d/obj%07d", i%100, i), Versioning: metapb.VersioningEnabled}})
	}
	return s
}

// BenchmarkLatestVersioned: the GET path (newest record, marker or not).
func BenchmarkLatestVersioned(b *testing.B) {
	s := benchVersioned(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := (i * 7919) % 100000
		if _, ok := s.Latest("bench", fmt.Sprintf("dir%03d/obj%07d", j%100, j)); !ok {
			b.Fatal("missing")
		}
	}
}

// BenchmarkListPage1000Versioned: ListObjects over 350k records (300k
// versions, 50k markers) costs what it costs over 100k current objects:
// cur holds current versions only.
func BenchmarkListPage1000Versioned(b *testing.B) {
	s := benchVersioned(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := s.List(metapb.ListRequest{Bucket: "bench", Prefix: "dir04", MaxKeys: 1000})
		if len(r.Entries) != 1000 || !r.Truncated { // dir04 is 10 dirs of 1000 keys, half deleted
			b.Fatal(len(r.Entries), r.Truncated)
		}
	}
}

// BenchmarkListVersionsPage1000: one ListObjectVersions page (one partition).
func BenchmarkListVersionsPage1000(b *testing.B) {
	s := benchVersioned(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := s.ListVersions(metapb.ListVersionsRequest{Bucket: "bench", Prefix: "dir04", MaxKeys: 1000})
		if len(r.Entries) != 1000 || !r.Truncated {
			b.Fatal(len(r.Entries))
		}
	}
}

package objectio

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/objectio/objectiotest"
)

// rebuildTargets marks shards idx of seg unreadable in a copy (src) and
// returns targets putting each on node with a new id.
func rebuildTargets(seg metapb.Segment, node string, idx ...int) (metapb.Segment, []metapb.ShardRef) {
	src := seg
	src.Shards = append([]metapb.ShardRef(nil), seg.Shards...)
	var targets []metapb.ShardRef
	for _, i := range idx {
		src.Shards[i].Node = ""
		t := seg.Shards[i]
		t.Node, t.ID, t.CRC32C = node, t.ID+".h1", 0
		targets = append(targets, t)
	}
	return src, targets
}

// TestRebuildShards: shards lost (data and parity) are rebuilt from the
// others in one read; the object reads back from the healed map with the
// rebuilt shards only (the originals removed), and each CRC matches what
// was first written. A failing target Put fails the rebuild and leaves no
// rebuilt shard behind.
func TestRebuildShards(t *testing.T) {
	v := newEnv(t, false, nil)
	data := randData(3, 150<<10+123)
	segs := v.put(t, data)
	seg := segs[0]
	lost := []int{0, 5, 12}
	for _, i := range lost {
		v.store.Remove(v.addr(seg.Shards[i].Node), seg.Shards[i].ID)
	}
	spare := v.Nodes()[len(v.Nodes())-1].ID
	src, targets := rebuildTargets(seg, spare, lost...)
	built, err := v.e.RebuildShards(context.Background(), v.e.Scheme(), src, targets)
	if err != nil {
		t.Fatal(err)
	}
	healed := seg
	healed.Shards = append([]metapb.ShardRef(nil), seg.Shards...)
	for j, b := range built {
		if b.CRC32C != seg.Shards[lost[j]].CRC32C || b.Index != lost[j] {
			t.Fatalf("rebuilt shard %d: crc %08x index %d, originally %08x", lost[j], b.CRC32C, b.Index, seg.Shards[lost[j]].CRC32C)
		}
		healed.Shards[b.Index] = b
	}
	// Read with four other data shards gone: the rebuilt ones must serve.
	for _, i := range []int{1, 2, 3, 4} {
		v.store.Remove(v.addr(seg.Shards[i].Node), seg.Shards[i].ID)
	}
	got, err := v.get(t, []metapb.Segment{healed}, 0, int64(len(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after rebuild: %v (equal %v)", err, bytes.Equal(got, data))
	}

	// A target whose Put fails: error, and nothing of the rebuild stays.
	segs2 := v.put(t, randData(4, 100<<10))
	src2, targets2 := rebuildTargets(segs2[0], spare, 7, 13)
	targets2[1].Node = v.Nodes()[len(v.Nodes())-2].ID
	v.store.SetFault(v.addr(targets2[1].Node), objectiotest.Fault{PutFail: true, PutFailAfter: 100})
	if _, err := v.e.RebuildShards(context.Background(), v.e.Scheme(), src2, targets2); !errors.Is(err, ErrRebuild) {
		t.Fatalf("rebuild with a failing target: %v", err)
	}
	if v.store.Has(v.addr(spare), targets2[0].ID) {
		t.Fatal("a failed rebuild left a rebuilt shard behind")
	}
}

// BenchmarkRebuildShards: rebuilding 1 and 4 lost shards of a 64 MiB
// segment (reads 10 shards, reconstructs, streams into the fake's Puts,
// which checksum). SetBytes is the bytes rebuilt.
func BenchmarkRebuildShards(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(map[int]string{1: "1-shard", 4: "4-shards"}[n], func(b *testing.B) {
			v := benchEnv(b, false)
			segs := v.put(b, randData(5, 64<<20))
			idx := []int{0, 11, 3, 7}[:n]
			spare := v.Nodes()[len(v.Nodes())-1].ID
			src, targets := rebuildTargets(segs[0], spare, idx...)
			b.SetBytes(segs[0].Shards[0].Size * int64(n))
			b.ResetTimer()
			for b.Loop() {
				if _, err := v.e.RebuildShards(context.Background(), v.e.Scheme(), src, targets); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

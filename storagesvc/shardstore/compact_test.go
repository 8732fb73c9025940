package shardstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
)

// fillForCompaction writes shards over several 1 MiB volumes, then deletes
// and overwrites most of them, returning what must remain.
func fillForCompaction(t *testing.T, s *Store) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	want := map[string][]byte{}
	for i := range 60 {
		id := fmt.Sprintf("c%02d", i)
		b := data(90000+i, uint64(i))
		put(t, s, id, b)
		want[id] = b
	}
	for i := range 60 {
		id := fmt.Sprintf("c%02d", i)
		switch i % 5 {
		case 0, 1, 2:
			if err := s.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			delete(want, id)
		case 3:
			b := data(1000+i, uint64(i+500))
			put(t, s, id, b)
			want[id] = b
		}
	}
	// Put and delete an id whose tombstone must keep it deleted after the
	// volume holding the tombstone is compacted.
	put(t, s, "ghost", data(1000, 77))
	if err := s.Delete(ctx, "ghost"); err != nil {
		t.Fatal(err)
	}
	// Roll the active volume so the deletes live in sealed volumes.
	for i := range 12 {
		id := fmt.Sprintf("z%02d", i)
		b := data(100000, uint64(900+i))
		put(t, s, id, b)
		want[id] = b
	}
	return want
}

func checkState(t *testing.T, s *Store, want map[string][]byte) {
	t.Helper()
	for id, b := range want {
		mustGet(t, s, id, b)
		if err := s.Verify(id); err != nil {
			t.Fatalf("Verify %s: %v", id, err)
		}
	}
	got, _ := s.List("", "", 10000)
	if len(got) != len(want) {
		t.Fatalf("listed %d shards, want %d", len(got), len(want))
	}
	if _, err := s.Stat("ghost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted shard resurrected: %v", err)
	}
}

func compactOpts(dir string) Options {
	o := testOpts(dir)
	o.MaxVolumeBytes = 1 << 20
	return o
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	o := compactOpts(dir)
	s := openStore(t, o)
	want := fillForCompaction(t, s)
	before := s.Stats()
	res, err := s.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	t.Logf("compaction %+v; used %d -> %d bytes, volumes %d -> %d", res, before.UsedBytes, after.UsedBytes, before.Volumes, after.Volumes)
	if res.Volumes == 0 || after.UsedBytes >= before.UsedBytes {
		t.Fatalf("compaction freed nothing: %+v", res)
	}
	if after.Shards != before.Shards || after.DataBytes != before.DataBytes {
		t.Fatalf("compaction changed contents: %+v vs %+v", before, after)
	}
	checkState(t, s, want)
	// A second pass finds nothing under the ratio among what it just wrote.
	s.Close()
	s2 := openStore(t, o)
	checkState(t, s2, want)
	if st := s2.Stats(); st.UsedBytes != after.UsedBytes {
		t.Fatalf("used %d after restart, %d before", st.UsedBytes, after.UsedBytes)
	}
}

// TestCompactionCrash stops compaction at each step, as a crash would, then
// reopens: nothing acknowledged is lost and nothing deleted comes back.
func TestCompactionCrash(t *testing.T) {
	for _, point := range []string{"synced-batch", "copied", "removed"} {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			o := compactOpts(dir)
			s := openStore(t, o)
			want := fillForCompaction(t, s)
			crash := errors.New("crash")
			s.testHook = func(p string) error {
				if p == point {
					return crash
				}
				return nil
			}
			if _, err := s.Compact(context.Background()); !errors.Is(err, crash) {
				t.Fatalf("Compact = %v", err)
			}
			s.Close()
			s2 := openStore(t, o)
			checkState(t, s2, want)
			if _, err := s2.Compact(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkState(t, s2, want)
			s2.Close()
			s3 := openStore(t, o)
			checkState(t, s3, want)
		})
	}
}

// Readers holding a volume keep reading after compaction removes it.
func TestCompactionWithOpenReader(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, compactOpts(dir))
	want := fillForCompaction(t, s)
	r, err := s.Open("c04", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(volumePath(dir, r.e.vol.num)); !os.IsNotExist(err) {
		t.Skip("reader's volume was not compacted")
	}
	got := make([]byte, 0, len(want["c04"]))
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		got = append(got, p...)
	}
	r.Close()
	if string(got) != string(want["c04"]) {
		t.Fatal("reader lost its bytes to compaction")
	}
}

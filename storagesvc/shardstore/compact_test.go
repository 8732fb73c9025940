package shardstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
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

// TestCompactionTracksLiveBytes: dead space in the active volume (well below
// MaxVolumeBytes) is given back once it passes CompactMinBytes — the early
// seal — so bytes on disk follow live bytes. Overwrites and deletes leave
// the store with ~1/4 of what it wrote live.
func TestCompactionTracksLiveBytes(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	o.MaxVolumeBytes = 1 << 30 // never filled here: only the early seal can free space
	o.CompactMinBytes = 1 << 20
	s := openStore(t, o)
	ctx := context.Background()
	want := map[string][]byte{}
	for round := range 4 {
		for i := range 40 {
			id := fmt.Sprintf("k%02d", i)
			if round == 3 && i%2 == 0 {
				if err := s.Delete(ctx, id); err != nil {
					t.Fatal(err)
				}
				delete(want, id)
				continue
			}
			b := data(70000+i, uint64(round*100+i))
			put(t, s, id, b)
			want[id] = b
		}
	}
	before := s.Stats()
	if before.DeadBytes < 3*before.LiveBytes {
		t.Fatalf("setup: dead %d live %d", before.DeadBytes, before.LiveBytes)
	}
	res, err := s.Compact(ctx) // seals the active volume; its writers are done, so it is compacted now
	if err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	t.Logf("compaction %+v; used %d -> %d, live %d, dead %d -> %d", res, before.UsedBytes, after.UsedBytes, after.LiveBytes, before.DeadBytes, after.DeadBytes)
	if float64(after.UsedBytes) > 1.05*float64(after.LiveBytes) {
		t.Fatalf("used %d bytes for %d live bytes after compaction", after.UsedBytes, after.LiveBytes)
	}
	if after.DeadBytes != 0 {
		t.Fatalf("dead bytes %d after compaction", after.DeadBytes)
	}
	checkState(t, s, want)
	// Below CompactMinBytes of dead space nothing is sealed.
	put(t, s, "k01", data(1000, 1))
	want["k01"] = data(1000, 1)
	res, err = s.Compact(ctx)
	if err != nil || res.Volumes != 0 {
		t.Fatalf("second Compact %+v, %v: want nothing done", res, err)
	}
	s.Close()
	s2 := openStore(t, o)
	checkState(t, s2, want)
}

// TestCompactionPaced: CompactBytesPerSec spreads the copying out.
func TestCompactionPaced(t *testing.T) {
	dir := t.TempDir()
	o := compactOpts(dir)
	o.CompactBytesPerSec = 2 << 20
	s := openStore(t, o)
	want := fillForCompaction(t, s)
	start := time.Now()
	res, err := s.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	min := time.Duration(float64(res.BytesCopied) / float64(o.CompactBytesPerSec) * 0.9 * float64(time.Second))
	t.Logf("copied %d bytes in %v (floor %v)", res.BytesCopied, took, min)
	if res.BytesCopied < 512<<10 || took < min {
		t.Fatalf("copied %d bytes in %v: not paced to %d B/s", res.BytesCopied, took, o.CompactBytesPerSec)
	}
	checkState(t, s, want)
}

// TestListAge: List reports each shard's age by this process's clock;
// recovered shards count from the store's opening; compaction keeps ages.
func TestListAge(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	s := openStore(t, o)
	put(t, s, "old", data(100, 1))
	time.Sleep(50 * time.Millisecond)
	put(t, s, "new", data(100, 2))
	ages := func(s *Store) map[string]time.Duration {
		got, _ := s.List("", "", 10)
		m := map[string]time.Duration{}
		for _, in := range got {
			m[in.ID] = in.Age
		}
		return m
	}
	a := ages(s)
	if a["old"] < 50*time.Millisecond || a["new"] >= a["old"] {
		t.Fatalf("ages %v", a)
	}
	s.Close()
	s2 := openStore(t, o)
	a = ages(s2)
	if a["old"] >= 50*time.Millisecond || a["new"] >= 50*time.Millisecond {
		t.Fatalf("recovered ages %v: must count from the reopening", a)
	}
}

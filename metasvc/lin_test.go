package metasvc_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
)

type op struct {
	write      bool
	key        string
	vid        string // written, or read ("" = not found)
	start, end time.Time
}

// TestLinearizableHistory runs concurrent writers and readers on a few keys
// through the client, stops a partition leader midway, and checks every read
// against every write acknowledged before the read started: the read must
// return that write or a later one (by the partition's commit order, taken
// from the change feed), never an older value or "not found".
func TestLinearizableHistory(t *testing.T) {
	c := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys := []string{"k0", "k1", "k2", "k3"}

	var mu sync.Mutex
	var hist []op
	record := func(o op) {
		mu.Lock()
		hist = append(hist, o)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	var failed sync.Once
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < 60; i++ {
				k := keys[rng.IntN(len(keys))]
				start := time.Now()
				if rng.IntN(2) == 0 {
					vid := fmt.Sprintf("w%d-%d", w, i)
					if _, err := cl.Commit(ctx, inline("lin", k, vid, vid)); err != nil {
						failed.Do(func() { t.Errorf("commit: %v", err) })
						return
					}
					record(op{write: true, key: k, vid: vid, start: start, end: time.Now()})
				} else {
					v, err := cl.Get(ctx, "lin", k)
					if err != nil && !errors.Is(err, metaclient.ErrNotFound) {
						failed.Do(func() { t.Errorf("get: %v", err) })
						return
					}
					record(op{key: k, vid: v.VersionID, start: start, end: time.Now()})
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	c.Stop(c.LeaderOf("p0", 5*time.Second))
	wg.Wait()
	if t.Failed() {
		return
	}

	// Commit order per partition from the change feeds.
	order := map[string]uint64{} // vid → feed seq
	for p := 0; p < cl.Partitions(); p++ {
		after := uint64(0)
		for {
			feed, err := cl.ReadFeed(ctx, p, after, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(feed) == 0 {
				break
			}
			for _, e := range feed {
				order[e.VersionID] = e.Seq
				after = e.Seq
			}
		}
	}
	reads, checks := 0, 0
	for _, r := range hist {
		if r.write {
			continue
		}
		reads++
		got := uint64(0)
		if r.vid != "" {
			s, ok := order[r.vid]
			if !ok {
				t.Fatalf("read returned %s, which no committed write produced", r.vid)
			}
			got = s
		}
		for _, w := range hist {
			if !w.write || w.key != r.key || !w.end.Before(r.start) {
				continue
			}
			checks++
			if order[w.vid] > got {
				t.Fatalf("stale read of %s: returned %q (seq %d) but %s (seq %d) was acknowledged before the read started",
					r.key, r.vid, got, w.vid, order[w.vid])
			}
		}
	}
	t.Logf("%d ops, %d reads, %d read-after-acknowledged-write checks", len(hist), reads, checks)
	if reads == 0 || checks == 0 {
		t.Fatal("history too small to check anything")
	}
}

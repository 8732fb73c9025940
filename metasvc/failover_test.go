package metasvc_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metasvctest"
)

// TestLeaderFailoverAndCatchUp stops the leader of a partition during a
// stream of commits, checks that every acknowledged write is readable, then
// restarts the stopped node after the log has been compacted past it and
// checks that it catches up (through an installed snapshot) to the same state.
func TestLeaderFailoverAndCatchUp(t *testing.T) {
	c := metasvctest.Start(t, metasvctest.Options{Partitions: 2})
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	// Keys of partition 0 only, so the stream hits the group we fail.
	var keys []string
	for i := 0; len(keys) < 400; i++ {
		k := "key-" + strconv.Itoa(i)
		if cl.PartitionOf("b", k) == 0 {
			keys = append(keys, k)
		}
	}
	leader := c.LeaderOf("p0", 10*time.Second)

	var (
		mu    sync.Mutex
		acked = map[string]string{} // key → body of the acknowledged write
	)
	var wg sync.WaitGroup
	const writers = 4
	stopAt := make(chan struct{})
	var once sync.Once
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(keys); i += writers {
				if i == 60 {
					once.Do(func() { close(stopAt) })
				}
				body := fmt.Sprintf("body-%d", i)
				if _, err := cl.Commit(ctx, inline("b", keys[i], "v"+strconv.Itoa(i), body)); err != nil {
					t.Errorf("commit %s: %v", keys[i], err)
					return
				}
				mu.Lock()
				acked[keys[i]] = body
				mu.Unlock()
			}
		}()
	}
	<-stopAt
	stopped := time.Now()
	c.Stop(leader)
	wg.Wait()
	t.Logf("stream resumed; all %d commits acknowledged %v after the leader stopped", len(acked), time.Since(stopped))
	if t.Failed() {
		return
	}
	for k, body := range acked {
		v, err := cl.Get(ctx, "b", k)
		if err != nil || string(v.Inline) != body {
			t.Fatalf("acknowledged %s=%s, read %q %v", k, body, v.Inline, err)
		}
	}

	// The survivors compacted their logs (threshold 64, trailing 32) well
	// past what the stopped node has, so it must receive a snapshot.
	newLeader := c.LeaderOf("p0", 10*time.Second)
	if err := c.Node(newLeader).Server.Snapshot("p0"); err != nil {
		t.Logf("forced snapshot: %v (an automatic one may already cover it)", err)
	}
	c.Restart(leader)
	restarted := c.Node(leader).Server
	want := c.Node(newLeader).Server.LocalState(0)
	deadline := time.Now().Add(15 * time.Second)
	for restarted.LocalState(0).LastApplied() < want.LastApplied() {
		if time.Now().After(deadline) {
			t.Fatalf("restarted node applied %d, leader %d", restarted.LocalState(0).LastApplied(), want.LastApplied())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stats, err := restarted.GroupStats("p0")
	if err != nil {
		t.Fatal(err)
	}
	if stats["last_snapshot_index"] == "0" {
		t.Fatalf("restarted node has no snapshot: %v", stats)
	}
	for k, body := range acked {
		v, ok := restarted.LocalState(0).Get("b", k)
		if !ok || string(v.Inline) != body {
			t.Fatalf("restarted replica: %s = %q %v, want %s", k, v.Inline, ok, body)
		}
	}
	if a, b := restarted.LocalState(0).Stats(), want.Stats(); a.Objects != b.Objects || a.FeedLen != b.FeedLen {
		t.Fatalf("replica stats differ: restarted %+v leader %+v", a, b)
	}
}

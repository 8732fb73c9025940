package metasvc_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-s3/meridian/metasvc"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
)

// TestIdleFollowersLearnEveryCommit: while no writes flow, the leaders'
// pipelines leave out AppendEntries that repeat what the followers were
// already sent (quietpipe.go) — and yet every follower applies the last
// write of a burst soon after it, burst after burst.
func TestIdleFollowersLearnEveryCommit(t *testing.T) {
	regs := make([]*prometheus.Registry, 3)
	for i := range regs {
		regs[i] = prometheus.NewRegistry()
	}
	c := metasvctest.Start(t, metasvctest.Options{Partitions: 2, Tune: func(i int, cfg *metasvc.Config) { cfg.Registry = regs[i] }})
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	skipped := func() float64 {
		var n float64
		for _, r := range regs {
			mfs, err := r.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetName() == "meridian_meta_raft_appends_skipped_total" {
					n += mf.GetMetric()[0].GetCounter().GetValue()
				}
			}
		}
		return n
	}
	var key string
	for i := 0; ; i++ {
		if key = "k" + strconv.Itoa(i); cl.PartitionOf("b", key) == 0 {
			break
		}
	}
	for burst := 0; burst < 3; burst++ {
		for i := 0; i < 5; i++ {
			vid := strconv.Itoa(burst*10 + i)
			if _, err := cl.Commit(ctx, inline("b", key, "v"+vid, "body-"+vid)); err != nil {
				t.Fatal(err)
			}
		}
		leader := c.LeaderOf("p0", 5*time.Second)
		want := c.Node(leader).Server.LocalState(0).LastApplied()
		// A follower learns the commit index within 1–2 CommitTimeouts.
		waitFor(t, 2*time.Second, "followers applying the burst's last write", func() bool {
			for i := 0; i < 3; i++ {
				if c.Node(i).Server.LocalState(0).LastApplied() < want {
					return false
				}
			}
			return true
		})
		before := skipped()
		time.Sleep(500 * time.Millisecond)
		// Idle: 3 groups × 2 followers, a repeat every 50–100 ms each.
		if d := skipped() - before; d < 10 {
			t.Fatalf("burst %d: %v repeated AppendEntries left out in 500 ms idle, want many", burst, d)
		}
		v, err := cl.Get(ctx, "b", key)
		if err != nil || string(v.Inline) != "body-"+strconv.Itoa(burst*10+4) {
			t.Fatalf("burst %d: read %q %v", burst, v.Inline, err)
		}
	}
}

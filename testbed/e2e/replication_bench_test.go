package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestReplicationBench measures the replicator across the 80 ms RTT link
// (docs/replication.md, "Measured"): replication lag p50/p99 under a
// steady 50 PUT/s of 4 KiB objects, then the drain rate of a backlog
// (objects/s at 4 KiB, MiB/s at 16 MiB) built while the source region's
// replicator was stopped. Long: it runs only with MERIDIAN_REPL_BENCH=1
// (make bench-replication).
func TestReplicationBench(t *testing.T) {
	if os.Getenv("MERIDIAN_REPL_BENCH") == "" {
		t.Skip("set MERIDIAN_REPL_BENCH=1 (make bench-replication)")
	}
	s := startReplication(t)
	ctx := context.Background()
	put := func(key string, p payload) {
		if _, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: aws.String(key), Body: bytes.NewReader(p.Bytes())}); err != nil {
			t.Errorf("put %s: %v", key, err)
		}
	}
	// 1. Lag at a steady 50 PUT/s for 20 s.
	rate, secs := 50, 20
	if os.Getenv("MERIDIAN_REPL_BENCH_QUICK") != "" {
		rate, secs = 10, 1
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < rate*secs; i++ {
		<-tick.C
		wg.Add(1)
		go func() { defer wg.Done(); put(fmt.Sprintf("steady/%05d", i), payload{Seed: uint64(i), Size: 4096}) }()
	}
	tick.Stop()
	wg.Wait()
	t.Logf("steady: %d PUTs in %v", rate*secs, time.Since(start).Round(time.Millisecond))
	_, took := s.converge(t, 120*time.Second)
	t.Logf("steady: converged %v after the last PUT", took.Round(time.Millisecond))
	lag := s.status(t, s.src)
	t.Logf("LAG at %d PUT/s of 4 KiB over %v RTT: p50 %v p99 %v max %v (%d copies)", rate, replRTT,
		time.Duration(lag.LagP50), time.Duration(lag.LagP99), time.Duration(lag.LagMax), lag.LagCount)

	// 2. Backlogs, drained with the replicator restarted.
	for _, c := range []struct {
		name string
		n    int
		size int64
	}{{"4KiB", 1000, 4096}, {"16MiB", 16, 16 * mib}} {
		if os.Getenv("MERIDIAN_REPL_BENCH_QUICK") != "" && c.size < mib {
			continue
		}
		bg := s.bg[s.us]
		s.g.Regions[s.us].Kill(bg)
		wstart := time.Now()
		work := make(chan int)
		var ww sync.WaitGroup
		for w := 0; w < 8; w++ {
			ww.Add(1)
			go func() {
				defer ww.Done()
				for i := range work {
					put(fmt.Sprintf("drain-%s/%05d", c.name, i), payload{Seed: uint64(i) + 7, Size: c.size})
				}
			}()
		}
		for i := 0; i < c.n; i++ {
			work <- i
		}
		close(work)
		ww.Wait()
		t.Logf("backlog %s: %d objects written in %v with the replicator down", c.name, c.n, time.Since(wstart).Round(time.Millisecond))
		dstart := time.Now()
		if err := bg.start(); err != nil {
			t.Fatal(err)
		}
		_, _ = s.converge(t, 10*time.Minute)
		d := time.Since(dstart)
		mibs := float64(int64(c.n)*c.size) / float64(mib) / d.Seconds()
		t.Logf("DRAIN %s: %d objects (%d MiB) in %v (process start included): %.1f objects/s, %.1f MiB/s",
			c.name, c.n, int64(c.n)*c.size/mib, d.Round(time.Millisecond), float64(c.n)/d.Seconds(), mibs)
	}
}

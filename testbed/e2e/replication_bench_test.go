package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		gwCPU := procCPU(s.g.Regions[s.eu].Gateway)
		if err := bg.start(); err != nil {
			t.Fatal(err)
		}
		_, _ = s.converge(t, 10*time.Minute)
		d := time.Since(dstart)
		mibs := float64(int64(c.n)*c.size) / float64(mib) / d.Seconds()
		t.Logf("DRAIN %s: %d objects (%d MiB) in %v (process start included): %.1f objects/s, %.1f MiB/s",
			c.name, c.n, int64(c.n)*c.size/mib, d.Round(time.Millisecond), float64(c.n)/d.Seconds(), mibs)
		t.Logf("CPU %s: source replicator %.1f s, destination gateway %.1f s: %.0f ms per MiB together", c.name,
			procCPU(bg), procCPU(s.g.Regions[s.eu].Gateway)-gwCPU, 1000*(procCPU(bg)+procCPU(s.g.Regions[s.eu].Gateway)-gwCPU)/float64(int64(c.n)*c.size/mib))
		s.logProxyStats(t)
		logReplMetrics(t, bg)
		if dir := os.Getenv("MERIDIAN_REPL_BENCH_LOGS"); dir != "" { // keep the replicator's and the destination gateway's logs for study
			for name, proc := range map[string]*Proc{"bg": bg, "dst-gateway": s.g.Regions[s.eu].Gateway} {
				if b, err := os.ReadFile(proc.log); err == nil {
					_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.log", name, c.name, time.Now().Format("150405"))), b, 0o644)
				}
			}
		}
	}
}

// logProxyStats logs what each latency proxy delivered and dropped so far:
// drops in the proxy make QUIC's congestion control back off, so a bench
// figure with drops measures the proxy as much as the link.
func (s *replSetup) logProxyStats(t *testing.T) {
	t.Helper()
	for _, name := range s.g.Names {
		if p := s.proxies[name]; p != nil {
			st := p.Stats()
			t.Logf("proxy to %s: to target %d packets %d MiB, dropped %d (kernel %d); back %d packets, dropped %d (kernel %d)", name,
				st.ClientToTarget.Packets, st.ClientToTarget.Bytes/mib, st.ClientToTarget.Dropped, st.ClientToTarget.KernelDropped,
				st.TargetToClient.Packets, st.TargetToClient.Dropped, st.TargetToClient.KernelDropped)
		}
	}
}

// logReplMetrics logs the replicator's copy counters (completed, failed
// attempts, re-sends): a drain that re-sends what it already sent (a copy
// given up at its deadline) is slower for that reason alone.
func logReplMetrics(t *testing.T, bg *Proc) {
	t.Helper()
	resp, err := http.Get("http://" + bg.Addr + "/metrics")
	if err != nil {
		t.Logf("metrics of %s: %v", bg.Name, err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "meridian_replication_operations_total") || strings.HasPrefix(l, "meridian_replication_destination_results_total") ||
			strings.HasPrefix(l, "meridian_replication_copy_seconds_sum") || strings.HasPrefix(l, "meridian_replication_copy_seconds_count") {
			t.Logf("%s: %s", bg.Name, l)
		}
	}
}

// procCPU is the CPU time (user + system) p's current process has used, in
// seconds (Linux /proc; 0 where it cannot be read).
func procCPU(p *Proc) float64 {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which ends with the last ')'): utime
	// and stime are the 12th and 13th, in clock ticks (100 per second).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

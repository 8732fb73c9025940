package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
)

// TestBenchScrubHeal measures the Performance figures of issue 7 on real
// processes (`make bench-heal`; skipped unless MERIDIAN_BENCH_HEAL=1):
//
//  1. one scrub pass over every shard with no foreground load and no rate
//     limit: verify rate per node and for the region;
//  2. foreground PUT+GET throughput (1 MiB objects, BENCH_FG_WORKERS
//     clients) alone and while a background server scrubs at the rate it
//     is given (BENCH_SCRUB_RATE, default: the server's default), in
//     BENCH_FG_ROUNDS alternating windows of BENCH_FG_SECONDS each (the
//     machine is shared and its load drifts): the fraction;
//  3. a storage node holding BENCH_NODE_GB (default 1) GB of shards is
//     stopped and its data deleted for good: time until no record names
//     it any more (every object back to 14 shards on live nodes), and the
//     rebuild throughput of the region.
//
// Every figure is printed with the load average of the machine.
func TestBenchScrubHeal(t *testing.T) {
	if os.Getenv("MERIDIAN_BENCH_HEAL") != "1" {
		t.Skip("set MERIDIAN_BENCH_HEAL=1 (make bench-heal)")
	}
	envF := func(name string, def float64) float64 {
		if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
			return v
		}
		return def
	}
	nodeGB := envF("BENCH_NODE_GB", 1)
	fgWorkers := int(envF("BENCH_FG_WORKERS", 4))
	fgDur := time.Duration(envF("BENCH_FG_SECONDS", 10) * float64(time.Second))
	scrubRate := os.Getenv("BENCH_SCRUB_RATE")

	r := StartRegion(t, Options{Partitions: 4, StorageArgs: []string{"--capacity", "40GiB"}})
	c := r.Client()
	ctx := context.Background()
	mc := metaclient.DefaultConfig()
	mc.Seeds = r.MetaAddrs
	mc.TLS = r.NodeTLS("admin")
	meta, err := metaclient.New(mc)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	waitAllHealthy(t, r, meta)
	const bucket = "bench"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	loadavg := func() string {
		b, _ := os.ReadFile("/proc/loadavg")
		f := strings.Fields(string(b))
		if len(f) < 3 {
			return "?"
		}
		return strings.Join(f[:3], " ")
	}
	figure := func(format string, args ...any) {
		t.Logf("FIGURE %s  [load average %s]", fmt.Sprintf(format, args...), loadavg())
	}

	// Data: 64 MiB objects (one segment: 14 shards of 6.4 MiB) until the
	// chosen node holds nodeGB of shards. With 16 nodes a node holds
	// 14/16 of a tenth of the object bytes.
	const objSize = 64 << 20
	nodes := len(r.Storage)
	total := int64(nodeGB * 1e9 * 10 * float64(nodes) / 14)
	nobj := int((total + objSize - 1) / objSize)
	base := make([]byte, objSize)
	rand.New(rand.NewSource(1)).Read(base)
	loadStart := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var loadErr atomic.Value
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := append([]byte(nil), base...)
			for {
				i := int(next.Add(1)) - 1
				if i >= nobj {
					return
				}
				binary.LittleEndian.PutUint64(body, uint64(i)) // distinct objects
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("big/%05d", i)),
					Body: bytes.NewReader(body)}); err != nil {
					loadErr.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := loadErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	el := time.Since(loadStart)
	t.Logf("loaded %d objects of 64 MiB (%.2f GB) in %v: %.0f MiB/s  [load average %s]", nobj, float64(nobj)*objSize/1e9,
		el.Round(time.Millisecond), float64(nobj)*objSize/(1<<20)/el.Seconds(), loadavg())

	// Foreground load: each client PUTs a 1 MiB object (16 keys per client,
	// overwritten in turn) then GETs one of its keys; bytes both ways.
	fgBody := make([]byte, 1<<20)
	rand.New(rand.NewSource(2)).Read(fgBody)
	for w := 0; w < fgWorkers; w++ {
		for k := 0; k < 16; k++ {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("fg/%d/%d", w, k)), Body: bytes.NewReader(fgBody)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	foreground := func(d time.Duration) (mibps float64, ops int64, errs int64) {
		var bytesMoved, n, e atomic.Int64
		fctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		var wg sync.WaitGroup
		for w := 0; w < fgWorkers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewSource(int64(w)))
				for i := 0; fctx.Err() == nil; i++ {
					_, err := c.PutObject(fctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("fg/%d/%d", w, i%16)), Body: bytes.NewReader(fgBody)})
					if err == nil {
						bytesMoved.Add(int64(len(fgBody)))
						n.Add(1)
					} else if fctx.Err() == nil {
						e.Add(1)
					}
					out, err := c.GetObject(fctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("fg/%d/%d", w, rng.Intn(16)))})
					if err == nil {
						m, err := io.Copy(io.Discard, out.Body)
						out.Body.Close()
						if err == nil {
							bytesMoved.Add(m)
							n.Add(1)
							continue
						}
					}
					if fctx.Err() == nil {
						e.Add(1)
					}
				}
			}()
		}
		start := time.Now()
		wg.Wait()
		return float64(bytesMoved.Load()) / (1 << 20) / time.Since(start).Seconds(), n.Load(), e.Load()
	}

	// 1. One scrub pass, nothing else running, no rate limit.
	bgArgs := []string{"--scrub-interval", "1h", "--dead-after", "1h", "--scrub-rate", "0", "--heal-rate", "0", "--log-level", "warn"}
	passStart := time.Now()
	bg1 := startBackground(t, r, "bg-scrub", bgArgs...)
	var rep scrubReport
	for {
		rep, _ = durabilityReport(t, r)
		if rep.Scanned == rep.Partitions && rep.Partitions > 0 {
			break
		}
		if time.Since(passStart) > 30*time.Minute {
			t.Fatal("no complete scrub pass in 30 min")
		}
		time.Sleep(200 * time.Millisecond)
	}
	pass := time.Since(passStart)
	figure("scrub pass, no load, unlimited rate: %d shards, %.2f GB verified in %v = %.2f GB/s for the region, %.3f GB/s per node (%d nodes on 2 shared cores)",
		rep.Examined, float64(rep.Verified)/1e9, pass.Round(time.Millisecond), float64(rep.Verified)/1e9/pass.Seconds(),
		float64(rep.Verified)/1e9/pass.Seconds()/float64(nodes), nodes)
	if rep.Missing+rep.Corrupt > 0 {
		t.Fatalf("scrub found damage in fresh data: %+v", rep)
	}
	r.Stop(bg1)

	// 2. Foreground without vs. during scrubbing at the configured rate, in
	// alternating windows (the machine is shared: its load drifts). Each
	// window starts a fresh background server and stops it at the end:
	// without the scrubber (--no-scrub), then with it (a new process
	// starts a pass at once; --scrub-interval 1s starts the next right
	// after).
	args := []string{"--scrub-interval", "1s", "--dead-after", "1h", "--heal-rate", "0", "--log-level", "warn"}
	rateDesc := "default 256MiB"
	if scrubRate != "" {
		args = append(args, "--scrub-rate", scrubRate)
		rateDesc = scrubRate
	}
	rounds := int(envF("BENCH_FG_ROUNDS", 3))
	var alone, during, examined, scrubSecs float64
	var reqs, errsN int64
	for round := 0; round < rounds; round++ {
		// The windows differ only in the scrubber: both run a background
		// server (janitor included: the load's overwrites make garbage).
		bgA := startBackground(t, r, fmt.Sprintf("bg-noscrub-%d", round), "--no-scrub", "--log-level", "warn")
		time.Sleep(500 * time.Millisecond)
		a, n1, e1 := foreground(fgDur)
		r.Stop(bgA)
		bg := startBackground(t, r, fmt.Sprintf("bg-scrub-load-%d", round), args...)
		time.Sleep(500 * time.Millisecond) // leases taken, pass begun
		ex0 := bgMetric(t, bg, "meridian_scrub_shards_examined_total")
		w0 := time.Now()
		d, n2, e2 := foreground(fgDur)
		ex1 := bgMetric(t, bg, "meridian_scrub_shards_examined_total")
		scrubSecs += time.Since(w0).Seconds()
		r.Stop(bg)
		t.Logf("round %d: %.1f MiB/s alone, %.1f MiB/s while scrubbing (%.0f shards examined)  [load average %s]", round, a, d, ex1-ex0, loadavg())
		alone += a
		during += d
		examined += ex1 - ex0
		reqs += n1 + n2
		errsN += e1 + e2
	}
	alone /= float64(rounds)
	during /= float64(rounds)
	perShard := float64(rep.Verified) / float64(max(rep.Examined, 1))
	figure("foreground PUT+GET 1 MiB, %d clients: %.1f MiB/s alone, %.1f MiB/s while scrubbing at --scrub-rate %s per node = %.0f%% (%d rounds of 2×%v; %d requests, %d errors); scrub meanwhile ≈ %.2f GB/s for the region",
		fgWorkers, alone, during, rateDesc, 100*during/alone, rounds, fgDur, reqs, errsN, examined*perShard/1e9/scrubSecs)

	// 4. Lose a node for good.
	victim := r.Storage[5]
	held := func() (shards, bytes int64) {
		for p := 0; p < meta.Partitions(); p++ {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			nr, err := meta.NodeRefs(rctx, p, victim.Name)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			shards += nr.Shards
			bytes += nr.Bytes
		}
		return
	}
	s0, b0 := held()
	deadAfter := 2 * time.Second
	bg3 := startBackground(t, r, "bg-heal", "--scrub-interval", "1h", "--dead-after", deadAfter.String(), "--scrub-rate", "0", "--heal-rate", "0", "--log-level", "warn")
	time.Sleep(2 * time.Second) // the first pass (of a new process) is a full one: let it start before the loss
	r.Kill(victim)
	if err := os.RemoveAll(filepath.Join(r.Dir, victim.Name)); err != nil {
		t.Fatal(err)
	}
	lost := time.Now()
	var firstMove time.Time
	for {
		s, _ := held()
		if s < s0 && firstMove.IsZero() {
			firstMove = time.Now()
		}
		if s == 0 {
			break
		}
		if time.Since(lost) > 60*time.Minute {
			t.Fatalf("%d of %d shards still on the lost node after 60 min", s, s0)
		}
		time.Sleep(500 * time.Millisecond)
	}
	full := time.Since(lost)
	rebuild := time.Since(firstMove)
	figure("node lost holding %d shards, %.2f GB: full redundancy (no record names it) %v after the kill (incl. heartbeat timeout + --dead-after %v); rebuilding took %v = %.0f MiB/s rebuilt for the region (%.0f MiB/s read)",
		s0, float64(b0)/1e9, full.Round(time.Millisecond), deadAfter, rebuild.Round(time.Millisecond),
		float64(b0)/(1<<20)/rebuild.Seconds(), 10*float64(b0)/(1<<20)/rebuild.Seconds())
	out, _ := exec.Command(meridianBin, append([]string{"admin", "durability", "--meta", strings.Join(r.MetaAddrs, ",")}, r.tlsArgs("admin")...)...).CombinedOutput()
	t.Logf("meridian admin durability:\n%s", out)
	_ = bg3
}

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// testSeed returns the seed of a test's random choices, logged so that a
// failure can be replayed with MERIDIAN_E2E_SEED.
func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MERIDIAN_E2E_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MERIDIAN_E2E_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with MERIDIAN_E2E_SEED=%d)", seed, seed)
	return seed
}

// corpus remembers what was acknowledged in a bucket: live objects by key
// and keys that were deleted.
type corpus struct {
	bucket  string
	objs    map[string]payload
	deleted map[string]bool
}

func newCorpus(t *testing.T, c *s3.Client, bucket string) *corpus {
	t.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", bucket, err)
	}
	return &corpus{bucket: bucket, objs: map[string]payload{}, deleted: map[string]bool{}}
}

// corpusSizes: ~20 objects of mixed sizes, inline to multi-stripe, with two
// 20 MiB ones.
var corpusSizes = []int64{0, 1, 100, 1000, 4 * kib, 16*kib + 3, 33 * kib, 64 * kib, 100 * kib, 256 * kib,
	512*kib - 1, mib, mib + 1, 2 * mib, 3*mib + 7, 5 * mib, 7 * mib, 10 * mib, 20 * mib, 20 * mib}

// fill PUTs one object of each corpus size under prefix; every PUT must
// succeed.
func (cp *corpus) fill(ctx context.Context, t *testing.T, c *s3.Client, prefix string, seed uint64) {
	t.Helper()
	for i, size := range corpusSizes {
		key := fmt.Sprintf("%s%02d-%d", prefix, i, size)
		p := payload{Seed: seed + uint64(i), Size: size}
		if _, err := putPayload(ctx, t, c, cp.bucket, key, p); err != nil {
			t.Fatalf("PUT %s (%d B): %v", key, size, err)
		}
		cp.objs[key] = p
	}
}

// verify reads every acknowledged object back (SHA-256), checks deleted
// keys stay deleted and that LIST shows exactly the live keys.
func (cp *corpus) verify(ctx context.Context, t *testing.T, c *s3.Client) {
	t.Helper()
	start := time.Now()
	keys := make([]string, 0, len(cp.objs))
	for k := range cp.objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := 0
	var bytesRead int64
	for _, k := range keys {
		p := cp.objs[k]
		if err := checkObject(ctx, c, cp.bucket, k, p.SHA(), p.Size); err != nil {
			bad++
			// Tell "unavailable for a while" from "lost": keep trying for
			// 15 s, but the first failure fails the test either way.
			failedAt := time.Now()
			var later error
			for time.Since(failedAt) < 15*time.Second {
				time.Sleep(250 * time.Millisecond)
				if later = checkObject(ctx, c, cp.bucket, k, p.SHA(), p.Size); later == nil {
					break
				}
			}
			if bad <= 10 {
				if later == nil {
					t.Errorf("acknowledged object unreadable, then readable %v later: %v",
						time.Since(failedAt).Round(time.Millisecond), err)
				} else {
					t.Errorf("acknowledged object lost or changed (still failing after 15 s: %v): %v", later, err)
				}
			}
			continue
		}
		bytesRead += p.Size
	}
	if bad > 10 {
		t.Errorf("… %d acknowledged objects failed in all (of %d)", bad, len(keys))
	}
	for k := range cp.deleted {
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(cp.bucket), Key: aws.String(k)})
		if httpStatus(err) != http.StatusNotFound {
			t.Errorf("deleted key %s: HEAD %v, want 404", k, err)
		}
	}
	var listed []string
	pg := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(cp.bucket)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Errorf("LIST %s: %v", cp.bucket, err)
			return
		}
		for _, o := range page.Contents {
			listed = append(listed, aws.ToString(o.Key))
		}
	}
	// Keys written by failed (unacknowledged) PUTs may be listed; every
	// acknowledged key must be, and no deleted one.
	set := map[string]bool{}
	for _, k := range listed {
		set[k] = true
		if cp.deleted[k] {
			t.Errorf("LIST shows deleted key %s", k)
		}
	}
	for _, k := range keys {
		if !set[k] {
			t.Errorf("LIST misses acknowledged key %s", k)
		}
	}
	t.Logf("verified %d objects (%d MiB) in %v", len(keys), bytesRead/mib, time.Since(start).Round(time.Millisecond))
}

// putAfterFault PUTs p, retrying for up to `grace` while the region notices
// the fault (a failed PUT is not acknowledged, so retrying is fair); it
// returns how long the first success took.
func putAfterFault(ctx context.Context, t *testing.T, c *s3.Client, bucket, key string, p payload, grace time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var err error
	for attempt := 1; ; attempt++ {
		if _, err = putPayload(ctx, t, c, bucket, key, p); err == nil {
			if attempt > 1 {
				t.Logf("PUT %s succeeded on attempt %d after %v", key, attempt, time.Since(start).Round(time.Millisecond))
			}
			return time.Since(start)
		}
		t.Logf("PUT %s attempt %d failed %v after the fault: %v", key, attempt, time.Since(start).Round(time.Millisecond), err)
		if time.Since(start) > grace {
			t.Fatalf("PUT %s still failing %v after the fault: %v", key, grace, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// writeAfterFault checks that new PUTs (one of them 20 MiB) succeed and
// read back while the fault lasts. Only the first may need a grace period
// (failure detection); the rest must succeed with the SDK's own retries.
func (cp *corpus) writeAfterFault(ctx context.Context, t *testing.T, c *s3.Client, prefix string, seed uint64) {
	t.Helper()
	first := payload{Seed: seed, Size: 300 * kib}
	d := putAfterFault(ctx, t, c, cp.bucket, prefix+"first", first, 15*time.Second)
	t.Logf("first PUT after the fault succeeded %v after it began", d.Round(time.Millisecond))
	cp.objs[prefix+"first"] = first
	for i, size := range []int64{10, 50 * kib, 2*mib + 5, 20 * mib} {
		key := fmt.Sprintf("%s%d-%d", prefix, i, size)
		p := payload{Seed: seed + 1 + uint64(i), Size: size}
		start := time.Now()
		if _, err := putPayload(ctx, t, c, cp.bucket, key, p); err != nil {
			t.Fatalf("PUT %s during the fault: %v", key, err)
		}
		if size >= 20*mib {
			t.Logf("20 MiB PUT during the fault: %v", time.Since(start).Round(time.Millisecond))
		}
		cp.objs[key] = p
		if err := checkObject(ctx, c, cp.bucket, key, p.SHA(), p.Size); err != nil {
			t.Errorf("read-back during the fault: %v", err)
		}
	}
}

// TestFaultStorageNodes kills -9 four random storage nodes spanning AZs:
// every object reads back identical and new PUTs succeed. Its premise is
// checked first: every acknowledged object has its 14 shards on 14 distinct
// nodes (a gateway acting on a stale node list once dealt the first objects
// over 11 nodes, and 4 killed nodes then held 5 shards of one).
func TestFaultStorageNodes(t *testing.T) {
	r := StartRegion(t, Options{AZs: 4, PerAZ: 4, Partitions: 8})
	seed := testSeed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := r.Client()
	cp := newCorpus(t, c, "fault-nodes")
	cp.fill(ctx, t, c, "pre/", seed)
	meta := adminMeta(t, r)
	recs := records(t, meta)
	if bad := notSpread(recs); len(bad) > 0 {
		t.Errorf("acknowledged objects not on 14 distinct nodes (losing 4 nodes may lose them): %v", bad)
	}

	rng := rand.New(rand.NewPCG(seed, 1))
	var victims []*Proc
	for {
		perm := rng.Perm(len(r.Storage))[:4]
		azs := map[string]bool{}
		victims = victims[:0]
		for _, i := range perm {
			victims = append(victims, r.Storage[i])
			azs[r.Storage[i].AZ] = true
		}
		if len(azs) >= 2 {
			break
		}
	}
	var names []string
	for _, p := range victims {
		names = append(names, p.Name)
		r.Kill(p)
	}
	t.Logf("killed -9 %s", strings.Join(names, ", "))
	dead := map[string]bool{}
	for _, n := range names {
		dead[n] = true
	}
	worst, worstKey := 0, ""
	for _, rec := range recs {
		for _, seg := range rec.Segments {
			lost := 0
			for _, sh := range seg.Shards {
				if sh.Node == "" || dead[sh.Node] {
					lost++
				}
			}
			if lost > worst {
				worst, worstKey = lost, rec.Key
			}
		}
	}
	t.Logf("most shards of one segment on the killed nodes: %d (%s)", worst, worstKey)

	t.Run("read", func(t *testing.T) { cp.verify(ctx, t, c) })
	t.Run("write", func(t *testing.T) { cp.writeAfterFault(ctx, t, c, "during/", seed+100) })
	t.Run("restart", func(t *testing.T) {
		for _, p := range victims {
			r.Restart(p)
		}
		r.WaitReady(60 * time.Second)
		cp.verify(ctx, t, c)
	})
}

// TestFaultAZLoss takes a whole AZ down: first its 4 storage nodes, then
// also its meta node (if it has one). Invariant 5: no data and no
// availability lost.
func TestFaultAZLoss(t *testing.T) {
	r := StartRegion(t, Options{AZs: 4, PerAZ: 4, Partitions: 8})
	seed := testSeed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := r.Client()
	cp := newCorpus(t, c, "fault-az")
	cp.fill(ctx, t, c, "pre/", seed)

	// An AZ that hosts a meta node, so the second phase is a whole-AZ loss.
	az := azName(rand.New(rand.NewPCG(seed, 2)).IntN(3))
	t.Logf("taking AZ %s down", az)
	r.KillAZ(az, false)

	t.Run("storage-read", func(t *testing.T) { cp.verify(ctx, t, c) })
	t.Run("storage-write", func(t *testing.T) { cp.writeAfterFault(ctx, t, c, "az-storage/", seed+100) })
	t.Run("whole-az", func(t *testing.T) {
		r.KillAZ(az, true)
		cp.writeAfterFault(ctx, t, c, "az-whole/", seed+200)
		cp.verify(ctx, t, c)
		st, err := r.Status(r.MetaAddrs...)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AllLed(8); err != nil {
			t.Errorf("with AZ %s down: %v", az, err)
		}
	})
}

// notSpread lists the records with a segment whose shards are not on as many
// distinct nodes as it has shards (a shared node or an unplaced shard).
func notSpread(recs []metapb.ShardRecord) []string {
	var bad []string
	for _, rec := range recs {
		for si, seg := range rec.Segments {
			nodes := map[string][]int{}
			for _, sh := range seg.Shards {
				nodes[sh.Node] = append(nodes[sh.Node], sh.Index)
			}
			if len(nodes) != len(seg.Shards) || nodes[""] != nil {
				bad = append(bad, fmt.Sprintf("%s segment %d: %v", rec.Key, si, nodes))
				break
			}
		}
	}
	return bad
}

// putResult is one PUT of the write stream.
type putResult struct {
	key        string
	p          payload
	start, end time.Time
	err        error
}

// TestFaultMetaLeaderKill kills -9 the meta node that leads the most
// partitions while 4 goroutines PUT: writes resume after the election,
// every acknowledged PUT is readable, and the node rejoins.
func TestFaultMetaLeaderKill(t *testing.T) {
	r := StartRegion(t, Options{AZs: 4, PerAZ: 4, Partitions: 8})
	seed := testSeed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := r.Client()
	cp := newCorpus(t, c, "fault-meta")

	st, err := r.Status(r.MetaAddrs...)
	if err != nil {
		t.Fatal(err)
	}
	lc := st.LeaderCounts()
	if len(lc) == 0 {
		t.Fatalf("no leaders in status:\n%s", st.Raw)
	}
	victim := r.Proc(lc[0].Node)
	t.Logf("leaders: %v; victim %s", lc, victim.Name)

	var (
		mu      sync.Mutex
		results []putResult
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	sizes := []int64{512, 8 * kib, 100 * kib, 600 * kib}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() { // owned here: stops when stop closes, waited for below
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)+10))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("w%d/%05d", w, i)
				p := payload{Seed: seed ^ uint64(w<<32|i), Size: sizes[rng.IntN(len(sizes))]}
				pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
				res := putResult{key: key, p: p, start: time.Now()}
				_, res.err = putPayload(pctx, t, c, cp.bucket, key, p)
				res.end = time.Now()
				pcancel()
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(2 * time.Second)
	killAt := time.Now()
	r.Kill(victim)
	time.Sleep(10 * time.Second)
	close(stop)
	wg.Wait()

	// Figures: acknowledged/failed, and how long writes stalled.
	var acked, failed, failedAfter int
	var succEnds []time.Time
	resume := time.Duration(-1)
	for _, res := range results {
		if res.err != nil {
			failed++
			if res.end.After(killAt) {
				failedAfter++
			}
			if failed <= 5 {
				t.Logf("PUT %s failed (%v after the kill): %v", res.key, res.end.Sub(killAt).Round(time.Millisecond), res.err)
			}
			continue
		}
		acked++
		cp.objs[res.key] = res.p
		succEnds = append(succEnds, res.end)
		if res.start.After(killAt) && (resume < 0 || res.end.Sub(killAt) < resume) {
			resume = res.end.Sub(killAt)
		}
	}
	sort.Slice(succEnds, func(i, j int) bool { return succEnds[i].Before(succEnds[j]) })
	var maxGap time.Duration
	for i := 1; i < len(succEnds); i++ {
		if succEnds[i].After(killAt) && succEnds[i].Sub(succEnds[i-1]) > maxGap {
			maxGap = succEnds[i].Sub(succEnds[i-1])
		}
	}
	t.Logf("PUT stream: %d acknowledged, %d failed (%d after the kill); first PUT issued after the kill finished %v after it; longest gap between acknowledgements after the kill %v",
		acked, failed, failedAfter, resume.Round(time.Millisecond), maxGap.Round(time.Millisecond))
	if resume < 0 {
		t.Fatalf("no PUT issued after killing %s succeeded within 10 s", victim.Name)
	}
	var lastOK bool
	for _, e := range succEnds {
		if e.After(killAt.Add(8 * time.Second)) {
			lastOK = true
		}
	}
	if !lastOK {
		t.Errorf("no PUT succeeded in the last 2 s of the stream: writes did not resume")
	}

	t.Run("acknowledged-readable", func(t *testing.T) { cp.verify(ctx, t, c) })
	t.Run("unacknowledged-atomic", func(t *testing.T) {
		// A failed PUT may or may not have committed, but never partially.
		for _, res := range results {
			if res.err == nil {
				continue
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(cp.bucket), Key: aws.String(res.key)})
			if httpStatus(err) == http.StatusNotFound {
				continue
			}
			if err != nil {
				t.Errorf("GET %s (failed PUT): %v", res.key, err)
				continue
			}
			sum, n, err := hashReader(out.Body)
			out.Body.Close()
			if err != nil || sum != res.p.SHA() || n != res.p.Size {
				t.Errorf("failed PUT %s left visible content that is not its body (%d B, err %v)", res.key, n, err)
			}
		}
	})
	t.Run("rejoin", func(t *testing.T) {
		restartAt := time.Now()
		r.Restart(victim)
		deadline := time.Now().Add(60 * time.Second)
		var last error
		for time.Now().Before(deadline) {
			// Asked through the restarted node alone: it must know every
			// partition's leader, i.e. have rejoined its groups.
			var st *Status
			if st, last = r.Status(victim.Addr); last == nil {
				if last = st.AllLed(8); last == nil {
					break
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
		if last != nil {
			t.Fatalf("%s did not rejoin within 60 s: %v", victim.Name, last)
		}
		t.Logf("%s rejoined (status through it shows 8 led partitions) %v after restart", victim.Name, time.Since(restartAt).Round(time.Millisecond))
		r.WaitReady(60 * time.Second)
		// Prove it carries the data: with another meta node down, every
		// quorum needs the restarted one.
		var other *Proc
		for _, p := range r.Metas {
			if p != victim {
				other = p
				break
			}
		}
		r.Kill(other)
		cp.writeAfterFault(ctx, t, c, "after-rejoin/", seed+500)
		cp.verify(ctx, t, c)
		r.Restart(other)
		r.WaitReady(60 * time.Second)
	})
}

// TestFaultFullRestart stops the whole region (SIGTERM), starts it again
// with the same data and ports, and checks every acknowledged object; then
// the same with kill -9 of every process at once.
func TestFaultFullRestart(t *testing.T) {
	r := StartRegion(t, Options{AZs: 4, PerAZ: 4, Partitions: 8})
	seed := testSeed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := r.Client()
	cp := newCorpus(t, c, "fault-restart")
	cp.fill(ctx, t, c, "pre/", seed)

	// A multipart object, an overwritten key and deleted keys, too.
	mp := payload{Seed: seed + 50, Size: 17*mib + 3}
	if _, err := manager.NewUploader(c).Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(cp.bucket), Key: aws.String("mpu"), Body: mp.Reader()}); err != nil {
		t.Fatalf("multipart upload: %v", err)
	}
	cp.objs["mpu"] = mp
	for i := 0; i < 3; i++ {
		p := payload{Seed: seed + 60 + uint64(i), Size: int64(1+i) * 150 * kib}
		if _, err := putPayload(ctx, t, c, cp.bucket, "overwritten", p); err != nil {
			t.Fatal(err)
		}
		cp.objs["overwritten"] = p
	}
	for _, k := range []string{"pre/00-0", "pre/11-1048576"} {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(cp.bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
		delete(cp.objs, k)
		cp.deleted[k] = true
	}

	t.Run("sigterm", func(t *testing.T) {
		start := time.Now()
		r.StopAll()
		stopped := time.Since(start)
		start = time.Now()
		r.RestartAll()
		t.Logf("SIGTERM all: stopped in %v, back and serving in %v", stopped.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		cp.verify(ctx, t, c)
		p := payload{Seed: seed + 70, Size: 3 * mib}
		if _, err := putPayload(ctx, t, c, cp.bucket, "after-sigterm", p); err != nil {
			t.Fatalf("PUT after restart: %v", err)
		}
		cp.objs["after-sigterm"] = p
	})
	t.Run("sigkill", func(t *testing.T) {
		r.KillAll()
		start := time.Now()
		r.RestartAll()
		t.Logf("kill -9 all: back and serving in %v", time.Since(start).Round(time.Millisecond))
		cp.verify(ctx, t, c)
		p := payload{Seed: seed + 80, Size: 20 * mib}
		if _, err := putPayload(ctx, t, c, cp.bucket, "after-sigkill", p); err != nil {
			t.Fatalf("PUT after restart: %v", err)
		}
		if err := checkObject(ctx, c, cp.bucket, "after-sigkill", p.SHA(), p.Size); err != nil {
			t.Error(err)
		}
	})
}

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
)

// adminCmd runs `meridian admin <args> --meta … <admin TLS>`.
func adminCmd(r *Region, args ...string) (string, error) {
	args = append(append([]string{"admin"}, args...), append([]string{"--meta", strings.Join(r.MetaAddrs, ",")}, r.tlsArgs("admin")...)...)
	out, err := exec.Command(meridianBin, args...).CombinedOutput()
	return string(out), err
}

// drainStatusJSON is the part of `meridian admin drain NODE --status --json` read here.
type drainStatusJSON struct {
	Draining      bool  `json:"draining"`
	LeftShards    int64 `json:"left_shards"`
	LeftBytes     int64 `json:"left_bytes"`
	LeftPreparing int64 `json:"left_preparing"`
	MovedShards   int64 `json:"moved_shards"`
	MovedBytes    int64 `json:"moved_bytes"`
	Done          bool  `json:"done"`
}

// TestDrainNode: `meridian admin drain` moves every shard off a storage
// node under light PUT/GET load: no read returns a wrong byte, PUTs keep
// succeeding and none lands on the draining node, the node ends with no
// referenced shard (and, once the janitor deleted the replaced copies, no
// shard at all), every segment keeps distinct nodes and the AZ cap, and
// the durability report never shows an object short of its 14 shards.
// `meridian admin remove-node` is refused before the drain and while
// shards remain, and accepted after; the removed node's heartbeats are
// refused (it does not come back).
func TestDrainNode(t *testing.T) {
	r := StartRegion(t, Options{Partitions: 4})
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
	const bucket = "drain"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	objs := map[string][]byte{}
	for i := 0; i < 40; i++ {
		b := make([]byte, 100<<10+rng.Intn(400<<10))
		rng.Read(b)
		k := fmt.Sprintf("o%02d", i)
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(b)}); err != nil {
			t.Fatal(err)
		}
		objs[k] = b
	}
	asWritten := badPlacements(t, meta)
	victim := r.Storage[5]
	refs := func() metapb.NodeRefs {
		t.Helper()
		var sum metapb.NodeRefs
		for p := 0; p < meta.Partitions(); p++ {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			nr, err := meta.NodeRefs(rctx, p, victim.Name)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			sum.Shards += nr.Shards
			sum.Bytes += nr.Bytes
			sum.Preparing += nr.Preparing
		}
		return sum
	}
	before := refs()
	if before.Shards == 0 {
		t.Fatalf("%s holds no shard before the drain", victim.Name)
	}
	t.Logf("%s holds %d shards (%d bytes) of %d objects", victim.Name, before.Shards, before.Bytes, len(objs))

	bg := startBackground(t, r, "bg-drain", "--scrub-interval", "2s", "--drain-interval", "300ms", "--garbage-grace", "1s",
		"--dead-after", "1h", "--scrub-rate", "0", "--heal-rate", "0")
	waitFull := func(n int, timeout time.Duration) scrubReport {
		t.Helper()
		begin := time.Now()
		for {
			rep, raw := durabilityReport(t, r)
			// At least n: a PUT cancelled when the load stopped may still
			// have committed (its client saw only the cancellation).
			if rep.Scanned == rep.Partitions && rep.Total.Objects >= int64(n) && rep.Total.Full == rep.Total.Objects {
				return rep
			}
			if time.Since(begin) > timeout {
				t.Fatalf("report not full for %d objects after %v:\n%s", n, timeout, raw)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	waitFull(len(objs), 60*time.Second)

	// Refused before the drain: the node is not draining (and holds shards).
	if out, err := adminCmd(r, "remove-node", victim.Name); err == nil || !strings.Contains(out, "refused") {
		t.Fatalf("remove-node before drain: err=%v\n%s", err, out)
	}

	// Light load: 2 readers over the first objects, 1 writer adding new ones.
	lctx, stopLoad := context.WithCancel(ctx)
	var rd reader
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); rd.run(lctx, c, bucket, objs, int64(i)) }()
	}
	var wmu sync.Mutex
	written := map[string][32]byte{}
	var putErrs int
	wg.Add(1)
	go func() {
		defer wg.Done()
		wr := rand.New(rand.NewSource(99))
		for i := 0; lctx.Err() == nil; i++ {
			b := make([]byte, 64<<10+wr.Intn(256<<10))
			wr.Read(b)
			k := fmt.Sprintf("w%04d", i)
			pctx, cancel := context.WithTimeout(lctx, 20*time.Second)
			_, err := c.PutObject(pctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(b)})
			cancel()
			wmu.Lock()
			if err == nil {
				written[k] = sha256.Sum256(b)
			} else if lctx.Err() == nil {
				putErrs++
			}
			wmu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	// The durability report, sampled throughout: never short of shards.
	var worst scrubReport
	var samples int
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		for lctx.Err() == nil {
			rep, _ := durabilityReport(t, r)
			samples++
			if rep.Total.Degraded+rep.Total.AtRisk+rep.Total.Lost > worst.Total.Degraded+worst.Total.AtRisk+worst.Total.Lost {
				worst = rep
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	time.Sleep(time.Second)

	start := time.Now()
	out, err := adminCmd(r, "drain", victim.Name)
	if err != nil {
		t.Fatalf("admin drain: %v\n%s", err, out)
	}
	t.Logf("meridian admin drain %s:\n%s", victim.Name, out)
	// Refused while shards remain (asked at once: the drainer has barely started).
	if out, err := adminCmd(r, "remove-node", victim.Name, "--min-drained", "0s"); err == nil || !strings.Contains(out, "refused") {
		t.Fatalf("remove-node during the drain: err=%v\n%s", err, out)
	} else {
		t.Logf("remove-node while draining (refused): %s", strings.TrimSpace(out))
	}
	var st drainStatusJSON
	for {
		out, err := adminCmd(r, "drain", victim.Name, "--status", "--json")
		if err != nil {
			t.Fatalf("drain --status: %v\n%s", err, out)
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("drain --status output: %v\n%s", err, out)
		}
		if st.Done {
			break
		}
		if time.Since(start) > 90*time.Second {
			t.Fatalf("drain not done after 90 s: %s", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	drained := time.Since(start)
	t.Logf("drained in %v: %d shards (%d bytes) moved", drained.Round(time.Millisecond), st.MovedShards, st.MovedBytes)
	if st.MovedShards < before.Shards {
		t.Fatalf("moved %d shards, the node held %d before the drain", st.MovedShards, before.Shards)
	}
	// More PUTs after the drain place nothing on the node.
	time.Sleep(2 * time.Second)
	if nr := refs(); nr.Shards != 0 || nr.Preparing != 0 {
		t.Fatalf("%s referenced again after the drain: %+v", victim.Name, nr)
	}
	// The janitor deletes the replaced copies after the grace: the node
	// ends empty.
	sc := storageclient.NewTLS(r.NodeTLS("background"))
	for begin := time.Now(); ; {
		lctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
		l, err := sc.List(lctx2, victim.Addr, "", "", 1000)
		cancel()
		if err == nil && len(l.Shards) == 0 {
			break
		}
		if time.Since(begin) > 30*time.Second {
			t.Fatalf("%s still stores %d shards (%v) 30 s after the drain", victim.Name, len(l.Shards), err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	stopLoad()
	wg.Wait()
	<-sampleDone

	out, err = adminCmd(r, "remove-node", victim.Name, "--min-drained", "2s")
	if err != nil {
		t.Fatalf("remove-node after the drain: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(out))
	nodes, err := meta.StorageNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.ID == victim.Name {
			t.Fatalf("%s still registered after remove-node", victim.Name)
		}
	}
	time.Sleep(1500 * time.Millisecond) // a few heartbeats of the removed node, refused
	if nodes, _ := meta.StorageNodes(ctx); len(nodes) != len(r.Storage)-1 {
		t.Fatalf("%d storage nodes registered after removing one of %d", len(nodes), len(r.Storage))
	}
	r.Stop(victim)

	t.Logf("load: %d reads (%d errors, %d wrong), %d PUTs (%d errors); %d report samples", rd.reads.Load(), rd.errs.Load(),
		rd.wrong.Load(), len(written), putErrs, samples)
	if rd.wrong.Load() != 0 {
		t.Fatalf("%d reads returned wrong bytes, first: %s", rd.wrong.Load(), rd.firstWrong)
	}
	if rd.errs.Load() != 0 || putErrs != 0 || rd.reads.Load() == 0 || len(written) == 0 {
		t.Fatalf("load failed: %d reads, %d read errors, %d PUTs, %d PUT errors", rd.reads.Load(), rd.errs.Load(), len(written), putErrs)
	}
	if n := worst.Total.Degraded + worst.Total.AtRisk + worst.Total.Lost; n > 0 {
		t.Fatalf("durability report showed %d objects short of shards during the drain: %+v", n, worst.Total)
	}
	// Everything reads back after the removal; the report is full.
	for k, want := range written {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || sha256.Sum256(b) != want {
			t.Fatalf("%s after removal: %v, sha mismatch %v", k, err, sha256.Sum256(b) != want)
		}
	}
	rep := waitFull(len(objs)+len(written), 60*time.Second)
	t.Logf("report after removal: %d objects, %d full, bytes rebuilt %d", rep.Total.Objects, rep.Total.Full, rep.Rebuilt)
	if bad := verifyAll(t, r, meta); len(bad) > 0 {
		t.Fatalf("records short of shards: %v", bad)
	}
	for k, why := range badPlacements(t, meta) {
		if _, was := asWritten[k]; !was {
			t.Fatalf("%s after the drain: %s", k, why)
		}
	}
	_ = bg
}

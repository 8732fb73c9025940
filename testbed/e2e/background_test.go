package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
)

// Background-server timing for these tests: PREPAREs older than
// bgPrepareTimeout are aborted, so a PUT held before its COMMIT for
// faultDelay (the gateway's test-only delay) is fenced.
const (
	bgPrepareTimeout = 2 * time.Second
	bgLeaseTTL       = 3 * time.Second
)

// startBackground starts a `meridian background` process on r (killed at
// test end) with a metrics listener; extra flags are appended.
func startBackground(t *testing.T, r *Region, id string, extra ...string) *Proc {
	t.Helper()
	ports := freePorts(t, 1)
	p := &Proc{Name: id, Role: "background", Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		log: filepath.Join(r.Dir, "logs", id+".log"),
		args: append([]string{"background", "--region", testRegion, "--id", id, "--meta", strings.Join(r.MetaAddrs, ","),
			"--lease-ttl", bgLeaseTTL.String(), "--lease-renew", "500ms", "--clock-margin", "500ms", "--interval", "200ms",
			"--prepare-timeout", bgPrepareTimeout.String(), "--metrics-listen", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--log-level", "info"},
			append(r.tlsArgs("background"), extra...)...)}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL, 10*time.Second)
		if t.Failed() {
			t.Logf("---- tail of %s (%s) ----\n%s", p.Name, p.log, tailFile(p.log, 40))
		}
	})
	return p
}

// bgMetric reads one unlabelled series from a background process's /metrics.
func bgMetric(t *testing.T, p *Proc, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.Addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return -1
}

// holders returns each partition's lease holder ("" if none valid by the
// record's expiry against local time, which is good enough on one machine).
func holders(t *testing.T, meta *metaclient.Client) []string {
	t.Helper()
	out := make([]string, meta.Partitions())
	for p := range out {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ls, _, err := meta.Background(ctx, p)
		cancel()
		if err != nil {
			continue
		}
		for _, l := range ls {
			if l.Holder != "" && time.Until(l.Expires) > 0 {
				out[p] = l.Holder
			}
		}
	}
	return out
}

// TestBackground runs two background servers beside a real region: they
// share the partitions; a PUT held before its COMMIT past the PREPARE
// deadline is aborted by the janitor and the client gets an error (never a
// success) and no shard of it remains; overwritten data is reclaimed;
// kill -9 of one server hands its partitions to the other after the lease
// expiry; `meridian status` shows the workers.
func TestBackground(t *testing.T) {
	r := StartRegion(t, Options{Partitions: 4})
	mc := metaclient.DefaultConfig()
	mc.Seeds = r.MetaAddrs
	mc.TLS = r.NodeTLS("admin") // reads only
	meta, err := metaclient.New(mc)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	bg1 := startBackground(t, r, "bg1")
	bg2 := startBackground(t, r, "bg2")
	count := func(hs []string, id string) int {
		n := 0
		for _, h := range hs {
			if h == id {
				n++
			}
		}
		return n
	}
	var last []string
	waitUntilf(t, 30*time.Second, func() bool {
		last = holders(t, meta)
		return count(last, "bg1") == 2 && count(last, "bg2") == 2
	}, func() string { return fmt.Sprintf("both servers to hold two partitions each (holders: %q)", last) })

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := r.Client()
	bucket := "background-e2e"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	// The region answers small (inline) PUTs before every storage node's
	// first heartbeat; the subtests need shard writes, so wait for one.
	waitUntil(t, "a sharded PUT to succeed", 30*time.Second, func() bool {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("warm-up"), Body: bytes.NewReader(make([]byte, 1<<20))})
		return err == nil
	})

	t.Run("AbandonedPrepareFenced", func(t *testing.T) {
		before := shardIDs(t, r)
		body := bytes.Repeat([]byte("janitor!"), (3<<20)/8)
		start := time.Now()
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(faultPrefix + "abandoned"), Body: bytes.NewReader(body)}, noRetry)
		if err == nil {
			t.Fatalf("a PUT whose PREPARE was aborted after %v succeeded", bgPrepareTimeout)
		}
		t.Logf("PUT held %v before COMMIT, past the %v deadline: %v (code %q)", time.Since(start).Round(time.Millisecond), bgPrepareTimeout, err, apiCode(err))
		// RequestTimeout (400), which SDKs retry: docs/commit-protocol.md.
		if code, status := apiCode(err), httpStatus(err); code != "RequestTimeout" || status != 400 {
			t.Fatalf("fenced PUT answered %q %d, want RequestTimeout 400", code, status)
		}
		if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(faultPrefix + "abandoned")}); apiCode(err) != "NoSuchKey" {
			t.Fatalf("GET of the fenced key: %v", err)
		}
		waitUntil(t, "the fenced PUT's shards to be deleted", 30*time.Second, func() bool { return len(newShards(before, shardIDs(t, r))) == 0 })
		aborted := bgMetric(t, bg1, "meridian_background_janitor_aborted_total") + bgMetric(t, bg2, "meridian_background_janitor_aborted_total")
		if aborted < 1 {
			t.Fatalf("janitors report %v aborted PREPAREs", aborted)
		}
	})

	var noncurrentKept func(t *testing.T)
	t.Run("NoncurrentVersionsKept", func(t *testing.T) { noncurrentKept = startNoncurrentKept(ctx, t, r, c) }) // versioning_test.go

	t.Run("OverwriteReclaimed", func(t *testing.T) {
		before := shardIDs(t, r)
		for i := 0; i < 3; i++ {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("over"), Body: bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 1<<20))}); err != nil {
				t.Fatal(err)
			}
		}
		// The janitor waits its default garbage grace (30 s) first.
		waitUntil(t, "overwritten versions' shards to be reclaimed", 90*time.Second, func() bool {
			return len(newShards(before, shardIDs(t, r))) == 14
		})
	})

	t.Run("NoncurrentVersionsAfterGrace", func(t *testing.T) {
		if noncurrentKept == nil {
			t.Skip("NoncurrentVersionsKept did not run")
		}
		noncurrentKept(t)
	})

	t.Run("Status", func(t *testing.T) {
		out, err := exec.Command(meridianBin, append([]string{"status", "--meta", strings.Join(r.MetaAddrs, ",")}, r.tlsArgs("admin")...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("status: %v\n%s", err, out)
		}
		if !bytes.Contains(out, []byte("background partition 0: held by bg")) || !bytes.Contains(out, []byte("worker janitor")) {
			t.Fatalf("status shows no background workers:\n%s", out)
		}
	})

	t.Run("KillTakeover", func(t *testing.T) {
		if !bg1.signal(syscall.SIGKILL, 10*time.Second) {
			t.Fatal("bg1 did not die")
		}
		killed := time.Now()
		waitUntil(t, "bg2 to hold every partition", 30*time.Second, func() bool { return count(holders(t, meta), "bg2") == 4 })
		took := time.Since(killed)
		t.Logf("bg2 took bg1's partitions %v after kill -9 (lease TTL %v)", took.Round(10*time.Millisecond), bgLeaseTTL)
		if took < bgLeaseTTL/2 {
			t.Fatalf("takeover after %v: before bg1's leases could expire", took)
		}
		// The survivor reclaims on every partition.
		before := shardIDs(t, r)
		for i := 0; i < 4; i++ {
			key := fmt.Sprintf("after-kill-%d", i)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(make([]byte, 1<<20))}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
				t.Fatal(err)
			}
		}
		waitUntil(t, "deleted objects' shards to be reclaimed by bg2", 90*time.Second, func() bool {
			return len(newShards(before, shardIDs(t, r))) == 0
		})
	})
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	waitUntilf(t, timeout, cond, func() string { return what })
}

// waitUntilf is waitUntil with the description built at the failure, so it
// can show the last state seen.
func waitUntilf(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// The janitor e2e tests (issue 7, "Janitor"): real processes, the orphan
// scan and compaction at work (docs/gc-safety.md, docs/storage-format.md).

// startJanitorBG starts a `meridian background` process with short janitor
// timings: PREPAREs older than prepare are aborted, garbage waits grace,
// each storage node is scanned for orphans every second and an
// unreferenced shard goes once its node has held it minAge.
func startJanitorBG(t *testing.T, r *Region, id string, prepare, grace, minAge time.Duration) *Proc {
	t.Helper()
	ports := freePorts(t, 1)
	p := &Proc{Name: id, Role: "background", Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		log: filepath.Join(r.Dir, "logs", id+".log"),
		args: append([]string{"background", "--region", testRegion, "--id", id, "--meta", strings.Join(r.MetaAddrs, ","),
			"--lease-ttl", "3s", "--lease-renew", "500ms", "--clock-margin", "500ms", "--interval", "200ms",
			"--prepare-timeout", prepare.String(), "--garbage-grace", grace.String(),
			"--orphan-min-age", minAge.String(), "--orphan-interval", "1s", "--no-scrub",
			"--metrics-listen", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--log-level", "info"},
			r.tlsArgs("background")...)}
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

func adminMeta(t *testing.T, r *Region) *metaclient.Client {
	t.Helper()
	mc := metaclient.DefaultConfig()
	mc.Seeds = r.MetaAddrs
	mc.TLS = r.NodeTLS("admin") // reads only
	meta, err := metaclient.New(mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	return meta
}

// regionShards lists every shard of every running storage node.
type listedShard struct {
	node, id string
	size     int64
}

func regionShards(ctx context.Context, r *Region) ([]listedShard, error) {
	c := r.StorageClient()
	var out []listedShard
	for _, p := range r.Storage {
		if !p.Running() {
			continue
		}
		after := ""
		for {
			page, err := c.List(ctx, p.Addr, "", after, 1000)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", p.Name, err)
			}
			for _, s := range page.Shards {
				out = append(out, listedShard{p.Name, s.ID, s.Size})
			}
			if !page.Truncated || len(page.Shards) == 0 {
				break
			}
			after = page.Shards[len(page.Shards)-1].ID
		}
	}
	return out, nil
}

// unreferenced returns the listed shards no partition references, through
// the same consistent check the orphan scan uses (a test oracle that does
// not depend on the janitor's own bookkeeping).
func unreferenced(ctx context.Context, meta *metaclient.Client, shards []listedShard) ([]listedShard, error) {
	size := map[metapb.ShardRef]int64{}
	var left []metapb.ShardRef
	for _, s := range shards {
		ref := metapb.ShardRef{Node: s.node, ID: s.id}
		size[ref] = s.size
		left = append(left, ref)
	}
	var out []listedShard
	for lo := 0; lo < len(left); lo += 2000 {
		cands := left[lo:min(lo+2000, len(left))]
		for p := 0; p < meta.Partitions() && len(cands) > 0; p++ {
			un, err := meta.Unreferenced(ctx, p, cands)
			if err != nil {
				return nil, err
			}
			cands = un
		}
		for _, c := range cands {
			out = append(out, listedShard{c.Node, c.ID, size[metapb.ShardRef{Node: c.Node, ID: c.ID}]})
		}
	}
	return out, nil
}

func preparingLeft(ctx context.Context, meta *metaclient.Client) (int, error) {
	n := 0
	far := time.Now().Add(24 * time.Hour)
	for p := 0; p < meta.Partitions(); p++ {
		vs, err := meta.ScanPreparing(ctx, p, far, 1000)
		if err != nil {
			return 0, err
		}
		ps, err := meta.ScanPreparingParts(ctx, p, far, 1000)
		if err != nil {
			return 0, err
		}
		n += len(vs) + len(ps)
	}
	return n, nil
}

// TestJanitorKillGateway: kill -9 the gateway during 8 parallel large PUTs
// (and an orphan no record ever named — what a gateway that died after a
// replacement write leaves — is planted on a node). After the PREPARE deadline no PREPARING
// record and no unreferenced shard remains on any node: the janitor aborts
// the PREPAREs (phase 1), deletes the planned shards (phase 2) and the
// orphan scan deletes the rest (phase 3).
func TestJanitorKillGateway(t *testing.T) {
	const prepare, grace, minAge = 8 * time.Second, 500 * time.Millisecond, 9 * time.Second
	r := StartRegion(t, Options{Partitions: 4})
	meta := adminMeta(t, r)
	bg := startJanitorBG(t, r, "bg-janitor", prepare, grace, minAge)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := r.Client()
	bucket := "janitor-kill"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a sharded PUT to succeed", 30*time.Second, func() bool {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("warm-up"), Body: bytes.NewReader(make([]byte, 1<<20))})
		return err == nil
	})
	// An orphan no record ever named (as a gateway that died between a
	// replacement write and anything else leaves one).
	planted := "0000000000000001deadbeef.0.3"
	if _, err := r.StorageClient().Put(ctx, r.Storage[0].Addr, planted, bytes.NewReader(make([]byte, 100<<10)), 100<<10, 0); err != nil {
		t.Fatal(err)
	}
	const puts, size = 8, 64 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	var wg sync.WaitGroup
	results := make([]error, puts)
	allDone := make(chan struct{})
	for i := range puts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("large-%d", i)),
				Body: bytes.NewReader(body)}, noRetry)
		}()
	}
	go func() { wg.Wait(); close(allDone) }()
	// Kill the gateway once most PUTs are PREPARED (and so writing shards).
	most := 0
	for most < puts/2 {
		select {
		case <-allDone:
			t.Fatalf("every PUT ended before %d were PREPARED at once (results %v): the test proves nothing", puts/2, results)
		case <-time.After(20 * time.Millisecond):
		}
		most, _ = preparingLeft(ctx, meta)
	}
	// … and shards of them are on the nodes.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if sh, err := regionShards(ctx, r); err == nil && len(sh) >= 15+14 {
			break
		}
		select {
		case <-allDone:
			t.Fatalf("every PUT ended before the kill (results %v): the test proves nothing", results)
		case <-time.After(50 * time.Millisecond):
		}
	}
	r.Kill(r.Gateway)
	killed := time.Now()
	wg.Wait()
	failed := 0
	for _, err := range results {
		if err != nil {
			failed++
		}
	}
	pre, _ := preparingLeft(ctx, meta)
	sh, _ := regionShards(ctx, r)
	un, _ := unreferenced(ctx, meta, sh)
	t.Logf("gateway killed: %d of %d PUTs failed, %d PREPARING records, %d shards listed, %d of them unreferenced", failed, puts, pre, len(sh), len(un))
	if failed == 0 || pre == 0 || len(sh) <= 15 {
		t.Fatalf("at the kill: %d PUTs failed, %d PREPARING, %d shards: the test proves nothing", failed, pre, len(sh))
	}
	var last string
	waitUntilf(t, 45*time.Second, func() bool {
		pre, err := preparingLeft(ctx, meta)
		if err != nil || pre != 0 {
			last = fmt.Sprintf("%d PREPARING (%v)", pre, err)
			return false
		}
		sh, err := regionShards(ctx, r)
		if err != nil {
			last = err.Error()
			return false
		}
		un, err := unreferenced(ctx, meta, sh)
		if err != nil || len(un) != 0 {
			last = fmt.Sprintf("%d unreferenced shards (%v), e.g. %v", len(un), err, un[:min(3, len(un))])
			return false
		}
		return true
	}, func() string { return "no PREPARING record and no unreferenced shard: " + last })
	took := time.Since(killed)
	orphans := bgMetric(t, bg, "meridian_background_janitor_orphans_deleted_total")
	aborted := bgMetric(t, bg, "meridian_background_janitor_aborted_total")
	t.Logf("clean %v after the kill (PREPARE deadline %v, orphan min age %v): %v PREPAREs aborted, %v orphan shards deleted",
		took.Round(100*time.Millisecond), prepare, minAge, aborted, orphans)
	if aborted < 1 || orphans < 1 {
		t.Fatalf("janitor aborted %v PREPAREs and deleted %v orphans: want both ≥ 1", aborted, orphans)
	}
	// The committed warm-up object is intact (through a new gateway).
	if err := r.Gateway.start(); err != nil {
		t.Fatal(err)
	}
	var out *s3.GetObjectOutput
	waitUntil(t, "a GET through the restarted gateway", 30*time.Second, func() bool {
		var err error
		out, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("warm-up")})
		return err == nil
	})
	got := new(bytes.Buffer)
	_, _ = got.ReadFrom(out.Body)
	out.Body.Close()
	if got.Len() != 1<<20 {
		t.Fatalf("warm-up object: %d bytes back", got.Len())
	}
}

// volumeBytes sums the sizes of every storage node's volume files: the
// bytes on disk of the region's shards.
func volumeBytes(t *testing.T, r *Region) int64 {
	t.Helper()
	var n int64
	for _, p := range r.Storage {
		files, err := filepath.Glob(filepath.Join(r.Dir, p.Name, "vol-*.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if st, err := os.Stat(f); err == nil {
				n += st.Size()
			}
		}
	}
	return n
}

// TestJanitorSpace: after 1,000 overwrites, deletes and aborted multipart
// uploads, bytes on disk across all storage nodes are within 25% of the
// live bytes (the shards the metadata references): the janitor deletes the
// garbage, the storage nodes compact (here with --compact-ratio 0.9 and
// --compact-min-dead 64KiB: the bound is live/ratio + the active volumes'
// small dead rest).
func TestJanitorSpace(t *testing.T) {
	r := StartRegion(t, Options{Partitions: 4, StorageArgs: []string{
		"--compact-ratio", "0.9", "--compact-min-dead", "64KiB", "--compact-interval", "500ms", "--compact-rate", "0"}})
	meta := adminMeta(t, r)
	startJanitorBG(t, r, "bg-space", 30*time.Second, 0, 31*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := r.Client()
	bucket := "janitor-space"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a sharded PUT to succeed", 30*time.Second, func() bool {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k000"), Body: bytes.NewReader(make([]byte, 256<<10))})
		return err == nil
	})

	const ops, keys, workers = 1000, 100, 8
	type opKind int
	const (
		opPut opKind = iota
		opDelete
		opAbortedUpload
	)
	var (
		mu     sync.Mutex
		counts = map[opKind]int{}
		first  error
	)
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range jobs {
				key := fmt.Sprintf("k%03d", rng.IntN(keys))
				var kind opKind
				var err error
				switch x := rng.IntN(10); {
				case x < 6 || i < keys: // overwrite (every key written at least once first)
					kind = opPut
					if i < keys {
						key = fmt.Sprintf("k%03d", i)
					}
					size := 128<<10 + rng.IntN(384<<10)
					_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
						Body: bytes.NewReader(bytes.Repeat([]byte{byte(i)}, size))})
				case x < 8:
					kind = opDelete
					_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				default:
					kind = opAbortedUpload
					var cu *s3.CreateMultipartUploadOutput
					cu, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp-" + key)})
					if err == nil {
						_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("mp-" + key), UploadId: cu.UploadId,
							PartNumber: aws.Int32(1), Body: bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 256<<10))})
					}
					if err == nil {
						_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp-" + key), UploadId: cu.UploadId})
					}
				}
				mu.Lock()
				counts[kind]++
				if err != nil && first == nil {
					first = fmt.Errorf("op %d (%d) on %s: %w", i, kind, key, err)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range ops {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
	t.Logf("%d operations in %v: %d PUTs (overwrites), %d deletes, %d aborted multipart uploads",
		ops, time.Since(start).Round(100*time.Millisecond), counts[opPut], counts[opDelete], counts[opAbortedUpload])

	written := volumeBytes(t, r)
	var disk, live int64
	var last string
	settle := time.Now()
	waitUntilf(t, 45*time.Second, func() bool {
		g := 0
		for p := 0; p < meta.Partitions(); p++ {
			items, err := meta.ListGarbage(ctx, p, 1000)
			if err != nil {
				last = err.Error()
				return false
			}
			g += len(items)
		}
		sh, err := regionShards(ctx, r)
		if err != nil {
			last = err.Error()
			return false
		}
		un, err := unreferenced(ctx, meta, sh)
		if err != nil {
			last = err.Error()
			return false
		}
		orphan := map[string]bool{}
		for _, u := range un {
			orphan[u.node+"/"+u.id] = true
		}
		live = 0
		for _, s := range sh {
			if !orphan[s.node+"/"+s.id] {
				live += s.size
			}
		}
		disk = volumeBytes(t, r)
		last = fmt.Sprintf("garbage entries %d, unreferenced shards %d, disk %d bytes, live %d bytes (%.2f×)", g, len(un), disk, live, float64(disk)/float64(live))
		return g == 0 && len(un) == 0 && live > 0 && float64(disk) <= 1.25*float64(live)
	}, func() string { return "bytes on disk within 25% of live bytes: " + last })
	t.Logf("bytes on disk %d (%.1f MiB) vs live shard bytes %d (%.1f MiB): %.3f×; at the end of the operations %d (%.1f MiB, %.2f×); settled in %v",
		disk, float64(disk)/(1<<20), live, float64(live)/(1<<20), float64(disk)/float64(live), written, float64(written)/(1<<20),
		float64(written)/float64(live), time.Since(settle).Round(100*time.Millisecond))
	// Every object still reads back whole.
	for i := range keys {
		key := fmt.Sprintf("k%03d", i)
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if apiCode(err) == "NoSuchKey" {
			continue
		}
		if err != nil {
			t.Fatalf("GET %s: %v", key, err)
		}
		n, err := new(bytes.Buffer).ReadFrom(out.Body)
		out.Body.Close()
		if err != nil || n != aws.ToInt64(out.ContentLength) {
			t.Fatalf("GET %s: %d bytes, %v", key, n, err)
		}
	}
}

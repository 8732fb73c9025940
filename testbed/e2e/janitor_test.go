package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
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

// gatedBody is a PUT body that hands over its first open bytes and then
// nothing until release is closed (the test closes it after killing the
// gateway): the request is in flight, shards being written, for as long as
// the test wants, however fast the machine is.
type gatedBody struct {
	data    []byte
	open    int
	off     int
	release <-chan struct{}
}

func (b *gatedBody) Read(p []byte) (int, error) {
	if b.off >= b.open {
		<-b.release
		return 0, errors.New("e2e: body cut after the gateway was killed")
	}
	n := copy(p, b.data[b.off:b.open])
	b.off += n
	return n, nil
}

// gatedPut PUTs data to bucket/key on the gateway as a signed request with
// an unsigned, streamed payload whose body stops after open bytes until
// release is closed.
func gatedPut(ctx context.Context, r *Region, bucket, key string, data []byte, open int, release <-chan struct{}) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, r.Endpoint+"/"+bucket+"/"+key,
		&gatedBody{data: data, open: open, release: release})
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(data))
	sign(nopTB{}, req, testAccessKey, testSecretKey, "UNSIGNED-PAYLOAD", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: %d %s", key, resp.StatusCode, b)
	}
	return nil
}

// TestJanitorKillGateway: kill -9 the gateway while PUTs are in flight (and
// an orphan no record ever named — what a gateway that died after a
// replacement write leaves — is planted on a node). After the PREPARE
// deadline no PREPARING record and no unreferenced shard remains on any
// node: the janitor aborts the PREPAREs (phase 1), deletes the planned
// shards (phase 2) and the orphan scan deletes the rest (phase 3).
//
// The kill is timed by observation, not by a sleep. Two kinds of PUT are in
// flight: "stored" ones, under the harness's commit-delay key prefix, whose
// shards are all written and which then wait faultDelay before their
// COMMIT (shards on the nodes that only a PREPARING record names), and
// "streaming" ones, whose bodies stop after their first MiB until after the
// kill (PREPARED, shard streams open: they cannot finish before the kill).
// The gateway is killed as soon as both streaming PUTs are PREPARING and a
// stored one is PREPARING with all 14 shards listed on the nodes (the others
// are then writing or waiting too). Nothing here races the PUTs: the
// streaming ones cannot end before the kill, and a stored one stays
// uncommitted for faultDelay after its shards land, while one observation
// takes milliseconds; only the PREPARE deadline (8 s) bounds how long the
// stored PUTs may take to land.
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
	before, err := regionShards(ctx, r)
	if err != nil {
		t.Fatal(err)
	}

	const stored, streaming, size = 6, 2, 4 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	storedKey := func(i int) string { return fmt.Sprintf("%slarge-%d", faultPrefix, i) }
	streamingKey := func(i int) string { return fmt.Sprintf("streaming-%d", i) }
	release := make(chan struct{})
	var wg sync.WaitGroup
	storedErr, streamingErr := make([]error, stored), make([]error, streaming)
	for i := range stored {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, storedErr[i] = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(storedKey(i)),
				Body: bytes.NewReader(body)}, noRetry)
		}()
	}
	for i := range streaming {
		wg.Add(1)
		go func() {
			defer wg.Done()
			streamingErr[i] = gatedPut(ctx, r, bucket, streamingKey(i), body, 1<<20, release)
		}()
	}
	defer func() { // on any early exit: let the streaming PUTs end
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	// Observe until the moment to kill: caught[key] = the listed shards of
	// that PREPARING stored PUT (all 14 of its segment).
	var caught map[string][]listedShard
	var last string
	waitUntilf(t, 60*time.Second, func() bool {
		preparing := map[string]string{} // key → version id
		for p := 0; p < meta.Partitions(); p++ {
			vs, err := meta.ScanPreparing(ctx, p, time.Now().Add(24*time.Hour), 1000)
			if err != nil {
				last = err.Error()
				return false
			}
			for _, v := range vs {
				preparing[v.Key] = v.VersionID
			}
		}
		sh, err := regionShards(ctx, r)
		if err != nil {
			last = err.Error()
			return false
		}
		byVersion := map[string][]listedShard{}
		for _, s := range sh {
			vid, _, _ := strings.Cut(s.id, ".")
			byVersion[vid] = append(byVersion[vid], s)
		}
		caught = map[string][]listedShard{}
		for i := range stored {
			if vid, ok := preparing[storedKey(i)]; ok && len(byVersion[vid]) >= 14 {
				caught[storedKey(i)] = byVersion[vid]
			}
		}
		streamingPrepared := 0
		for i := range streaming {
			if _, ok := preparing[streamingKey(i)]; ok {
				streamingPrepared++
			}
		}
		last = fmt.Sprintf("%d of %d streaming PUTs PREPARING, %d of %d stored PUTs PREPARING with 14 shards listed",
			streamingPrepared, streaming, len(caught), stored)
		return streamingPrepared == streaming && len(caught) >= 1
	}, func() string { return "PUTs in flight with their shards on the nodes: " + last })
	r.Kill(r.Gateway)
	killed := time.Now()
	close(release)
	wg.Wait()
	t.Logf("killed the gateway with %s", last)

	// What the janitor must clean: the PREPAREs of every PUT that failed,
	// the shards of the caught stored PUTs that failed (no COMMIT can come
	// for them any more), and the planted orphan.
	var doomed []listedShard
	failed := 0
	for i, err := range storedErr {
		if err == nil {
			continue
		}
		failed++
		doomed = append(doomed, caught[storedKey(i)]...)
	}
	for i, err := range streamingErr {
		if err == nil {
			t.Fatalf("streaming PUT %d succeeded with a body that never ended", i)
		}
		failed++
	}
	pre, _ := preparingLeft(ctx, meta)
	t.Logf("after the kill: %d of %d PUTs failed, %d PREPARING records, %d shards of failed PUTs on the nodes (%d shards before the PUTs)",
		failed, stored+streaming, pre, len(doomed), len(before))
	if len(doomed) < 14 {
		t.Fatalf("no stored PUT caught uncommitted with its shards on the nodes (stored PUT results %v): the test proves nothing", storedErr)
	}
	doomed = append(doomed, listedShard{node: r.Storage[0].Name, id: planted})
	var left []listedShard
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
		listed := map[listedShard]bool{}
		for _, s := range sh {
			listed[listedShard{node: s.node, id: s.id}] = true
		}
		left = left[:0]
		for _, d := range doomed {
			if listed[listedShard{node: d.node, id: d.id}] {
				left = append(left, d)
			}
		}
		if len(left) != 0 {
			last = fmt.Sprintf("%d shards of the dead PUTs still on the nodes, e.g. %v", len(left), left[:min(3, len(left))])
			return false
		}
		return true
	}, func() string {
		return "no PREPARING record, no unreferenced shard, none of the dead PUTs' shards: " + last
	})
	took := time.Since(killed)
	orphans := bgMetric(t, bg, "meridian_background_janitor_orphans_deleted_total")
	aborted := bgMetric(t, bg, "meridian_background_janitor_aborted_total")
	t.Logf("clean %v after the kill (PREPARE deadline %v, orphan min age %v): %v PREPAREs aborted, %v orphan shards deleted",
		took.Round(100*time.Millisecond), prepare, minAge, aborted, orphans)
	if aborted < streaming || orphans < 1 {
		t.Fatalf("janitor aborted %v PREPAREs and deleted %v orphans: want ≥ %d and ≥ 1", aborted, orphans, streaming)
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

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridian-s3/meridian/testbed/latencyproxy"
)

// The two-region replication deployment shared by TestReplication,
// TestReplicationBench and TestReplicationFaults (docs/replication.md): two
// regions of real processes (StartGlobal), a background server per region
// running the replicator, and a latency proxy adding 80 ms RTT on every
// inter-region link the replicators use. Two buckets replicate to each
// other (two-way rules, delete markers on). Also the helpers that read and
// compare both sides.

const replRTT = 80 * time.Millisecond

// replSetup is the running two-region replication deployment.
type replSetup struct {
	g        *Global
	us, eu   string // region names
	src, dst string // buckets: src in us, dst in eu
	cu, ce   *s3.Client
	bg       map[string]*Proc // each region's background server (replicator), by region
	// proxies are the latency proxies in front of each region's edge link,
	// by region, as the other region's replicator dials it (none with
	// MERIDIAN_REPL_DIRECT).
	proxies map[string]*latencyproxy.Proxy
}

// newLinkProxy starts a UDP latency proxy in front of an edge link (QUIC)
// adding delay each way; it closes in t.Cleanup. The queue holds a large
// copy's datagrams in flight (~800 per MiB) without tail drop.
func newLinkProxy(t *testing.T, target string, delay time.Duration) *latencyproxy.Proxy {
	t.Helper()
	pc := latencyproxy.DefaultConfig()
	pc.Target, pc.Delay, pc.QueueLen = target, delay, 16384
	if n, err := strconv.Atoi(os.Getenv("MERIDIAN_REPL_PROXY_SOCKBUF")); err == nil { // bench comparison: the proxy's socket buffers
		pc.SocketBuffer = n
	}
	proxy, err := latencyproxy.NewUDP(pc)
	if err != nil {
		t.Fatalf("latency proxy: %v", err)
	}
	t.Cleanup(func() { proxy.Close() })
	return proxy
}

// startReplicator starts `meridian background` with the replicator for
// region name; links are every region's edge-link address it dials.
func (s *replSetup) startReplicator(t *testing.T, name string, links map[string]string) *Proc {
	t.Helper()
	r := s.g.Regions[name]
	var rs []string
	for region, addr := range links {
		rs = append(rs, region+"="+addr)
	}
	sort.Strings(rs)
	ports := freePorts(t, 1)
	id := "bg-" + name
	p := &Proc{Name: name + "/" + id, Role: "background", Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		log: filepath.Join(r.Dir, "logs", id+".log"),
		args: append([]string{"background", "--region", name, "--id", id, "--meta", strings.Join(r.MetaAddrs, ","),
			"--sql", s.g.DSN, "--catalog-key", s.g.CatalogKey, "--regions", strings.Join(rs, ","), "--no-scrub",
			"--lease-ttl", "3s", "--lease-renew", "500ms", "--clock-margin", "500ms", "--interval", "200ms",
			"--replication-interval", "100ms", "--replication-backoff-max", "2s",
			"--metrics-listen", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--log-level", "info"},
			r.tlsArgs("background")...)}
	if n := os.Getenv("MERIDIAN_REPL_LINK_CONNS"); n != "" { // bench comparison: QUIC connections per destination gateway
		p.args = append(p.args, "--replication-link-conns", n)
	}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL, 10*time.Second)
		if t.Failed() {
			t.Logf("---- tail of %s ----\n%s", p.Name, tailFile(p.log, 40))
		}
	})
	return p
}

// verRow is one entry of ListObjectVersions, as compared across regions.
type verRow struct {
	Key, VersionID, ETag string
	Size                 int64
	Latest, Marker       bool
}

func listAllVersions(ctx context.Context, c *s3.Client, bucket string) ([]verRow, error) {
	var out []verRow
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)}
	for {
		res, err := c.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, v := range res.Versions {
			out = append(out, verRow{aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToString(v.ETag), aws.ToInt64(v.Size), aws.ToBool(v.IsLatest), false})
		}
		for _, m := range res.DeleteMarkers {
			out = append(out, verRow{Key: aws.ToString(m.Key), VersionID: aws.ToString(m.VersionId), Latest: aws.ToBool(m.IsLatest), Marker: true})
		}
		if !aws.ToBool(res.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = res.NextKeyMarker, res.NextVersionIdMarker
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].VersionID > out[j].VersionID
	})
	return out, nil
}

// converge waits until both buckets list the same versions; it returns
// the listing and how long it took.
func (s *replSetup) converge(t *testing.T, timeout time.Duration) ([]verRow, time.Duration) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	var a, b []verRow
	var err error
	for time.Since(start) < timeout {
		if a, err = listAllVersions(ctx, s.cu, s.src); err == nil {
			if b, err = listAllVersions(ctx, s.ce, s.dst); err == nil && fmt.Sprint(a) == fmt.Sprint(b) {
				return a, time.Since(start)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("buckets did not converge in %v (err %v):\nsrc %d versions %v\ndst %d versions %v", timeout, err, len(a), a, len(b), b)
	return nil, 0
}

// statuses counts x-amz-replication-status over every version (not
// markers) of bucket.
func statuses(t *testing.T, c *s3.Client, bucket string, rows []verRow) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range rows {
		if r.Marker {
			continue
		}
		h, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(r.Key), VersionId: aws.String(r.VersionID)})
		if err != nil {
			t.Fatalf("head %s@%s: %v", r.Key, r.VersionID, err)
		}
		out[string(h.ReplicationStatus)]++
	}
	return out
}

func replicationRule(id, dest string, prio int32) types.ReplicationRule {
	return types.ReplicationRule{ID: aws.String(id), Priority: aws.Int32(prio), Status: types.ReplicationRuleStatusEnabled,
		Filter:                  &types.ReplicationRuleFilter{Prefix: aws.String("")},
		DeleteMarkerReplication: &types.DeleteMarkerReplication{Status: types.DeleteMarkerReplicationStatusEnabled},
		Destination:             &types.Destination{Bucket: aws.String("arn:aws:s3:::" + dest)}}
}

// startReplication starts two regions, a replicator per region behind
// 80 ms RTT links, and two buckets (src in the first region, dst in the
// second) replicating to each other.
func startReplication(t *testing.T) *replSetup {
	g := StartGlobal(t, GlobalOptions{})
	ctx := context.Background()
	s := &replSetup{g: g, us: g.Names[0], eu: g.Names[1], src: "repl-src", dst: "repl-dst", bg: map[string]*Proc{}, proxies: map[string]*latencyproxy.Proxy{}}
	s.cu = g.Client(g.Edges[s.us], testAccessKey, testSecretKey)
	s.ce = g.Client(g.Edges[s.eu], testAccessKey, testSecretKey)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// 40 ms each way on each region's link as the other region's replicator dials it.
	proxied := map[string]string{}
	for _, name := range g.Names {
		if os.Getenv("MERIDIAN_REPL_DIRECT") != "" { // bench comparison: no latency proxy
			proxied[name] = g.Links[name]
			continue
		}
		delay := replRTT / 2
		if d, err := time.ParseDuration(os.Getenv("MERIDIAN_REPL_DELAY")); err == nil { // bench comparison: one-way delay
			delay = d
		}
		proxy := newLinkProxy(t, g.Links[name], delay)
		s.proxies[name] = proxy
		proxied[name] = proxy.Addr()
	}
	for _, name := range g.Names {
		links := map[string]string{}
		for _, other := range g.Names {
			links[other] = proxied[other]
			if other == name {
				links[other] = g.Links[other]
			}
		}
		s.bg[name] = s.startReplicator(t, name, links)
	}
	// Each bucket is created through its home region's edge (its default region).
	for c, b := range map[*s3.Client][2]string{s.cu: {s.src, s.us}, s.ce: {s.dst, s.eu}} {
		must("create "+b[0], CreateBucketIn(ctx, c, b[0], ""))
		_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b[0]),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
		must("versioning "+b[0], err)
	}
	for c, pair := range map[*s3.Client][2]string{s.cu: {s.src, s.dst}, s.ce: {s.dst, s.src}} {
		_, err := c.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(pair[0]),
			ReplicationConfiguration: &types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/r"),
				Rules: []types.ReplicationRule{replicationRule("to-"+pair[1], pair[1], 1)}}})
		must("put-bucket-replication "+pair[0], err)
	}
	return s
}

// multipart uploads parts of the given sizes and returns the ETag.
func (s *replSetup) multipart(t *testing.T, bucket, key string, sizes []int64) string {
	t.Helper()
	ctx := context.Background()
	up, err := s.cu.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, n := range sizes {
		out, err := s.cu.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(payload{Seed: uint64(900 + i), Size: n}.Bytes())})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	out, err := s.cu.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ETag)
}

// replStatusJSON is the part of `admin replication status --json` the bench reads.
type replStatusJSON struct {
	ByStatus map[string]struct{ Versions, Bytes int64 } `json:"by_status"`
	LagCount int                                        `json:"lag_samples"`
	LagP50   int64                                      `json:"lag_p50"`
	LagP99   int64                                      `json:"lag_p99"`
	LagMax   int64                                      `json:"lag_max"`
	Missing  int                                        `json:"completed_missing_at_destination"`
}

// status runs `meridian admin replication status` on bucket (src or dst)
// with the lag of every copy (read from the other region's metadata).
func (s *replSetup) status(t *testing.T, bucket string) replStatusJSON {
	t.Helper()
	return s.readStatus(t, bucket, true)
}

// readStatus is status; without withDest it reads the home region only
// (no lag), as it must while the other region is down.
func (s *replSetup) readStatus(t *testing.T, bucket string, withDest bool) replStatusJSON {
	t.Helper()
	home, dest := s.g.Regions[s.us], s.g.Regions[s.eu]
	if bucket == s.dst {
		home, dest = dest, home
	}
	args := []string{"admin", "replication", "status", bucket, "--json", "--sql", s.g.DSN, "--catalog-key", s.g.CatalogKey,
		"--meta", strings.Join(home.MetaAddrs, ",")}
	if withDest {
		args = append(args, "--dest-meta", strings.Join(dest.MetaAddrs, ","),
			"--dest-tls-cert", filepath.Join(dest.certDir, dest.region, "admin.pem"), "--dest-tls-key", filepath.Join(dest.certDir, dest.region, "admin-key.pem"))
	}
	cmd := exec.Command(meridianBin, append(args, home.tlsArgs("admin")...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("admin replication status %s: %v\n%s%s", bucket, err, out, stderr.Bytes())
	}
	var st replStatusJSON
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	return st
}

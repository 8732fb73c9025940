package storagesvc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/storagesvc"
	"github.com/meridian-s3/meridian/storagesvc/shardstore"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
	"github.com/meridian-s3/meridian/storagesvc/storagepb"
	"github.com/meridian-s3/meridian/testbed/devca"
	"github.com/prometheus/client_golang/prometheus"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func payload(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// fakeRegistrar records heartbeats; Fail makes it return errors.
type fakeRegistrar struct {
	mu    sync.Mutex
	beats []metapb.StorageNode
	calls int
	fail  bool
}

func (f *fakeRegistrar) Heartbeat(_ context.Context, n metapb.StorageNode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return errors.New("registrar down")
	}
	f.beats = append(f.beats, n)
	return nil
}

func (f *fakeRegistrar) snapshot() (calls int, beats []metapb.StorageNode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, append([]metapb.StorageNode(nil), f.beats...)
}

func (f *fakeRegistrar) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

type node struct {
	srv  *storagesvc.Server
	addr string
	dir  string
	reg  *prometheus.Registry
}

// testPKI is the tests' region CA (created once, removed by TestMain).
var testPKI = sync.OnceValue(func() *devca.CA {
	dir, err := os.MkdirTemp("", "storagesvc-test-ca")
	if err != nil {
		panic(err)
	}
	caDirs = append(caDirs, dir)
	ca, err := devca.EnsureCA(dir)
	if err != nil {
		panic(err)
	}
	return ca
})

var caDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range caDirs {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}

const testRegion = "test-region"

// identity issues a certificate of the test region.
func identity(role mtls.Role, id, az string) *mtls.Node {
	n, err := testPKI().Node(mtls.Identity{Role: role, ID: id, Region: testRegion, AZ: az})
	if err != nil {
		panic(err)
	}
	return n
}

// gatewayClient is a storage client with a gateway certificate.
func gatewayClient() *storageclient.Client {
	return storageclient.NewTLS(identity(mtls.RoleGateway, "gw", "az-a"))
}

// httpsClient speaks mutual TLS as node to storage nodes (raw requests).
func httpsClient(t testing.TB, node *mtls.Node) *http.Client {
	tr := &http.Transport{DialTLSContext: node.Dialer(5*time.Second, []string{"http/1.1"}, mtls.RoleStorage)}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func testConfig(dir string) storagesvc.Config {
	cfg := storagesvc.DefaultConfig()
	cfg.NodeID = "n1"
	cfg.AZ = "az-a"
	cfg.TLS = identity(mtls.RoleStorage, "n1", "az-a")
	cfg.DataDir = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.MaxVolumeBytes = 8 << 20
	cfg.ShutdownTimeout = 2 * time.Second
	return cfg
}

func startNode(t *testing.T, cfg storagesvc.Config) *node {
	t.Helper()
	srv, err := storagesvc.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		_ = srv.Close()
	})
	select {
	case <-srv.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("server not ready")
	}
	return &node{srv: srv, addr: srv.Addr(), dir: cfg.DataDir, reg: cfg.Registry}
}

func readAll(t *testing.T, c *storageclient.Client, addr, id string, off, length int64) ([]byte, error) {
	t.Helper()
	rc, err := c.Get(context.Background(), addr, id, off, length)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestAPI(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Registry = prometheus.NewRegistry()
	n := startNode(t, cfg)
	c := gatewayClient()
	ctx := context.Background()

	small, big := payload(4096, 1), payload(3<<20+123, 2)
	for id, b := range map[string][]byte{"small": small, "big": big, "empty": {}} {
		info, err := c.Put(ctx, n.addr, id, bytes.NewReader(b), int64(len(b)), crc(b))
		if err != nil {
			t.Fatalf("Put %s: %v", id, err)
		}
		if info != (storagepb.ShardInfo{ID: id, Size: int64(len(b)), CRC32C: crc(b)}) {
			t.Fatalf("Put %s: %+v", id, info)
		}
	}
	ranges := []struct {
		id          string
		off, length int64
	}{
		{"small", 0, -1}, {"small", 100, 200}, {"small", 4095, 1}, {"small", 4096, 0},
		{"big", 0, -1}, {"big", 65530, 20}, {"big", 1 << 20, 3 << 20 / 2}, {"big", int64(len(big)) - 5, -1},
		{"empty", 0, -1},
	}
	for _, r := range ranges {
		src := map[string][]byte{"small": small, "big": big, "empty": {}}[r.id]
		end := int64(len(src))
		if r.length >= 0 {
			end = r.off + r.length
		}
		got, err := readAll(t, c, n.addr, r.id, r.off, r.length)
		if err != nil || !bytes.Equal(got, src[r.off:end]) {
			t.Fatalf("Get %s [%d,+%d): %v (%d bytes)", r.id, r.off, r.length, err, len(got))
		}
	}
	if st, err := c.Stat(ctx, n.addr, "big"); err != nil || st.Size != int64(len(big)) || st.CRC32C != crc(big) {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	if vr, err := c.Verify(ctx, n.addr, "big"); err != nil || !vr.OK {
		t.Fatalf("Verify = %+v, %v", vr, err)
	}
	lr, err := c.List(ctx, n.addr, "", "", 2)
	if err != nil || len(lr.Shards) != 2 || !lr.Truncated || lr.Shards[0].ID != "big" || lr.Shards[1].ID != "empty" {
		t.Fatalf("List = %+v, %v", lr, err)
	}
	if lr.Shards[0].AgeNanos <= 0 { // the orphan scan's age (docs/gc-safety.md)
		t.Fatalf("List carries no shard age: %+v", lr.Shards[0])
	}
	lr, err = c.List(ctx, n.addr, "", "empty", 2)
	if err != nil || len(lr.Shards) != 1 || lr.Truncated || lr.Shards[0].ID != "small" {
		t.Fatalf("List page 2 = %+v, %v", lr, err)
	}
	if err := c.Delete(ctx, n.addr, "small"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, n.addr, "small"); err != nil {
		t.Fatalf("idempotent delete: %v", err)
	}
	if _, err := c.Get(ctx, n.addr, "small", 0, -1); !errors.Is(err, storageclient.ErrNotFound) {
		t.Fatalf("Get deleted = %v", err)
	}
	if _, err := c.Stat(ctx, n.addr, "small"); !errors.Is(err, storageclient.ErrNotFound) {
		t.Fatalf("Stat deleted = %v", err)
	}
	if _, err := c.Verify(ctx, n.addr, "small"); !errors.Is(err, storageclient.ErrNotFound) {
		t.Fatalf("Verify deleted = %v", err)
	}
	st, err := c.Status(ctx, n.addr)
	if err != nil || st.NodeID != "n1" || st.AZ != "az-a" || st.Addr != n.addr || st.Shards != 2 || st.UsedBytes <= int64(len(big)) || st.CapacityBytes <= 0 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	// The deleted 4 KiB shard is dead space; the big one is live.
	if st.LiveBytes <= int64(len(big)) || st.DeadBytes < int64(len(small)) || st.DeadBytes > 2*int64(len(small)) {
		t.Fatalf("Status live %d, dead %d bytes: want live > %d, dead ≈ %d", st.LiveBytes, st.DeadBytes, len(big), len(small))
	}
	hc := httpsClient(t, identity(mtls.RoleAdmin, "admin", ""))
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := hc.Get("https://" + n.addr + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	resp, err := hc.Get("https://" + n.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`meridian_storage_requests_total{code="201",node="n1",op="put"} 3`, "meridian_storage_used_bytes",
		"meridian_storage_live_bytes", "meridian_storage_dead_bytes", "meridian_storage_request_seconds_bucket"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	c := gatewayClient()
	if _, err := c.Put(context.Background(), n.addr, "x", bytes.NewReader([]byte("hello")), 5, 1234); !errors.Is(err, storageclient.ErrChecksum) {
		t.Fatalf("wrong crc: %v", err)
	}
	if _, err := c.Stat(context.Background(), n.addr, "x"); !errors.Is(err, storageclient.ErrNotFound) {
		t.Fatalf("rejected put visible: %v", err)
	}
	if _, err := c.Put(context.Background(), n.addr, "y", bytes.NewReader([]byte("hello")), 5, crc([]byte("hello"))); err != nil {
		t.Fatal(err)
	}
	base := "https://" + n.addr
	hc := httpsClient(t, identity(mtls.RoleGateway, "gw", ""))
	tests := []struct {
		name, method, path string
		body               io.Reader
		header             map[string]string
		status             int
		code               string
	}{
		{"chunked put", "PUT", "/v1/shards/z", io.MultiReader(strings.NewReader("abc")), nil, 400, storagepb.CodeBadRequest},
		{"bad crc header", "PUT", "/v1/shards/z", strings.NewReader("abc"), map[string]string{storagepb.HeaderCRC32C: "xyz"}, 400, storagepb.CodeBadRequest},
		{"bad id", "PUT", "/v1/shards/a%2Fb", strings.NewReader("abc"), nil, 400, storagepb.CodeBadRequest},
		{"id too long", "GET", "/v1/shards/" + strings.Repeat("a", 201), nil, nil, 400, storagepb.CodeBadRequest},
		{"range past end", "GET", "/v1/shards/y?offset=3&length=3", nil, nil, 400, storagepb.CodeBadRequest},
		{"bad offset", "GET", "/v1/shards/y?offset=x", nil, nil, 400, storagepb.CodeBadRequest},
		{"negative offset", "GET", "/v1/shards/y?offset=-1", nil, nil, 400, storagepb.CodeBadRequest},
		{"bad limit", "GET", "/v1/shards?limit=0", nil, nil, 400, storagepb.CodeBadRequest},
		{"absent", "GET", "/v1/shards/nope", nil, nil, 404, storagepb.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, tc.body)
			if tc.name == "chunked put" {
				req.ContentLength = -1
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), `"code":"`+tc.code+`"`) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
		})
	}
}

// flipInVolume flips one byte of the stored copy of needle (found by
// content) in the node's volume files.
func flipInVolume(t *testing.T, dir string, needle []byte, at int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "vol-*.log"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(b, needle); i >= 0 {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{b[i+at] ^ 0x01}, int64(i+at)); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("needle not found in any volume")
}

// TestCorruptOnDisk flips a byte in a volume file: GET never serves it and
// verify reports it.
func TestCorruptOnDisk(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Registry = prometheus.NewRegistry()
	n := startNode(t, cfg)
	c := gatewayClient()
	ctx := context.Background()
	bs := shardstore.BlockSize
	// The node verifies the first 16 blocks (1 MiB) before answering, so a
	// bad block among them is a 422; a bad block after them cuts the body.
	first, later := payload(5*bs+10, 10), payload(24*bs+10, 11)
	for id, b := range map[string][]byte{"first": first, "later": later} {
		if _, err := c.Put(ctx, n.addr, id, bytes.NewReader(b), int64(len(b)), crc(b)); err != nil {
			t.Fatal(err)
		}
	}
	flipInVolume(t, n.dir, first[100:164], 20)       // block 0 of "first"
	flipInVolume(t, n.dir, first[3*bs:3*bs+64], 9)   // block 3 of "first"
	flipInVolume(t, n.dir, later[20*bs:20*bs+64], 7) // block 20 of "later"

	if _, err := c.Get(ctx, n.addr, "first", 0, -1); !errors.Is(err, storageclient.ErrCorrupt) {
		t.Fatalf("GET corrupt first block = %v, want ErrCorrupt", err)
	}
	if _, err := c.Get(ctx, n.addr, "first", int64(2*bs), -1); !errors.Is(err, storageclient.ErrCorrupt) {
		t.Fatalf("GET from block 2 of first = %v", err)
	}
	if _, err := c.Get(ctx, n.addr, "later", int64(20*bs), 10); !errors.Is(err, storageclient.ErrCorrupt) {
		t.Fatalf("GET range in corrupt block = %v", err)
	}
	if got, err := readAll(t, c, n.addr, "later", 0, int64(bs)); err != nil || !bytes.Equal(got, later[:bs]) {
		t.Fatalf("GET good block: %v", err)
	}
	// A whole-shard read serves only verified bytes, then is cut short.
	got, err := readAll(t, c, n.addr, "later", 0, -1)
	if !errors.Is(err, storageclient.ErrTruncated) {
		t.Fatalf("GET across corrupt block = %v", err)
	}
	if len(got) > 20*bs || !bytes.Equal(got, later[:len(got)]) {
		t.Fatalf("served %d bytes; bad block starts at %d, or bytes differ", len(got), 20*bs)
	}
	for _, id := range []string{"first", "later"} {
		vr, err := c.Verify(ctx, n.addr, id)
		if err != nil || vr.OK || vr.Error == "" {
			t.Fatalf("Verify %s = %+v, %v", id, vr, err)
		}
	}
	// The node stays healthy and keeps serving other shards.
	if _, err := c.Put(ctx, n.addr, "ok", bytes.NewReader([]byte("fine")), 4, crc([]byte("fine"))); err != nil {
		t.Fatal(err)
	}
	mfs, _ := cfg.Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "meridian_storage_corrupt_total" && mf.GetMetric()[0].GetCounter().GetValue() < 4 {
			t.Fatalf("corrupt_total = %v", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
}

func TestHeartbeat(t *testing.T) {
	reg := &fakeRegistrar{}
	cfg := testConfig(t.TempDir())
	cfg.Registrar = reg
	cfg.HeartbeatInterval = 20 * time.Millisecond
	cfg.Advertise = "node1.example:7400"
	cfg.CapacityBytes = 1 << 30
	n := startNode(t, cfg)
	waitFor := func(cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatal("timed out")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(func() bool { _, b := reg.snapshot(); return len(b) >= 3 })
	_, beats := reg.snapshot()
	hb := beats[0]
	if hb.ID != "n1" || hb.AZ != "az-a" || hb.Addr != "node1.example:7400" || hb.CapacityBytes != 1<<30 || hb.UsedBytes <= 0 {
		t.Fatalf("heartbeat %+v", hb)
	}
	reg.setFail(true)
	calls, _ := reg.snapshot()
	waitFor(func() bool { c, _ := reg.snapshot(); return c >= calls+3 })
	// Still serving while the registrar fails.
	c := gatewayClient()
	b := payload(1000, 3)
	if _, err := c.Put(context.Background(), n.addr, "hb", bytes.NewReader(b), 1000, crc(b)); err != nil {
		t.Fatal(err)
	}
	reg.setFail(false)
	_, before := reg.snapshot()
	waitFor(func() bool { _, b := reg.snapshot(); return len(b) > len(before) })
	_, after := reg.snapshot()
	if last := after[len(after)-1]; last.UsedBytes <= hb.UsedBytes {
		t.Fatalf("used bytes did not grow: %d then %d", hb.UsedBytes, last.UsedBytes)
	}
}

func TestLifecycleAndRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	// Close without Run, twice.
	srv, err := storagesvc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := srv.Run(context.Background()); !errors.Is(err, storagesvc.ErrClosed) {
		t.Fatalf("Run after Close = %v", err)
	}
	// Run, store, Close twice while running.
	srv, err = storagesvc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	<-srv.Ready()
	c := gatewayClient()
	b := payload(200000, 5)
	if _, err := c.Put(context.Background(), srv.Addr(), "keep", bytes.NewReader(b), int64(len(b)), crc(b)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	// Restart on the same directory.
	n := startNode(t, cfg)
	got, err := readAll(t, c, n.addr, "keep", 0, -1)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("after restart: %v", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*storagesvc.Config)
	}{
		{"no node id", func(c *storagesvc.Config) { c.NodeID = "" }},
		{"no az", func(c *storagesvc.Config) { c.AZ = "" }},
		{"no dir", func(c *storagesvc.Config) { c.DataDir = "" }},
		{"bad listen", func(c *storagesvc.Config) { c.Listen = "nope" }},
		{"advertise port 0", func(c *storagesvc.Config) { c.Advertise = "h:0" }},
		{"registrar without interval", func(c *storagesvc.Config) { c.Registrar = &fakeRegistrar{}; c.HeartbeatInterval = 0 }},
		{"tiny volumes", func(c *storagesvc.Config) { c.MaxVolumeBytes = 10 }},
		{"ratio", func(c *storagesvc.Config) { c.CompactRatio = 2 }},
		{"no TLS", func(c *storagesvc.Config) { c.TLS = nil }},
		{"another node's certificate", func(c *storagesvc.Config) { c.TLS = identity(mtls.RoleStorage, "n2", "az-a") }},
		{"another AZ's certificate", func(c *storagesvc.Config) { c.TLS = identity(mtls.RoleStorage, "n1", "az-b") }},
		{"gateway certificate", func(c *storagesvc.Config) { c.TLS = identity(mtls.RoleGateway, "n1", "az-a") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			tc.mod(&cfg)
			if err := cfg.Validate(); !errors.Is(err, storagesvc.ErrInvalidConfig) {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
	if err := testConfig("/x").Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

// TestCancelledPut: a client that gives up mid-body leaves no shard behind.
func TestCancelledPut(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	c := gatewayClient()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		pw.Write(payload(100000, 1))
		cancel()
		time.Sleep(50 * time.Millisecond)
		pw.CloseWithError(errors.New("gone"))
	}()
	if _, err := c.Put(ctx, n.addr, "half", pr, 1<<20, 0); err == nil {
		t.Fatal("cancelled put succeeded")
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := c.Stat(context.Background(), n.addr, "half"); !errors.Is(err, storageclient.ErrNotFound) {
		t.Fatalf("half-written shard visible: %v", err)
	}
}

func TestParallelClients(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	c := gatewayClient()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				b := payload(4096+i*1000, uint64(w*100+i))
				id := fmt.Sprintf("p-%d-%d", w, i)
				if _, err := c.Put(context.Background(), n.addr, id, bytes.NewReader(b), int64(len(b)), crc(b)); err != nil {
					errs <- err
					return
				}
				got, err := readAll(t, c, n.addr, id, 0, -1)
				if err != nil || !bytes.Equal(got, b) {
					errs <- fmt.Errorf("%s: %v", id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lr, err := c.List(context.Background(), n.addr, "p-", "", 1000)
	if err != nil || len(lr.Shards) != 320 {
		t.Fatalf("List: %d, %v", len(lr.Shards), err)
	}
}

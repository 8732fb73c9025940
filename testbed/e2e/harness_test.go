package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
)

// Test credentials created with `meridian admin create-key` before the
// gateway starts.
const (
	testRegion    = "us-east-1"
	testAccessKey = "AKIDTEST"
	testSecretKey = "SECRET"
	// A second account (StartRegion creates it) for cross-account tests.
	otherAccessKey = "AKIDOTHER"
	otherSecretKey = "OTHERSECRET"
	// faultPrefix: keys under it wait faultDelay before their COMMIT on
	// every regional gateway the harnesses start (regional.EnvTestFaults).
	faultPrefix = "fault-test/slow/"
	faultDelay  = 6 * time.Second
)

// gatewayEnv is the environment of every regional gateway process: the
// test-only commit delay for keys under faultPrefix.
var gatewayEnv = []string{fmt.Sprintf("MERIDIAN_TEST_FAULTS=commit-delay=%v,key-prefix=%s", faultDelay, faultPrefix)}

// meridianBin is the binary every test runs; TestMain sets it once before
// any test starts and nothing writes it afterwards.
var meridianBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("MERIDIAN_BIN"); bin != "" {
		meridianBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "meridian-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	meridianBin = filepath.Join(dir, "meridian")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", meridianBin, "./cmd/meridian")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building meridian:", err)
		return 1
	}
	return m.Run()
}

// Options shape a region.
type Options struct {
	AZs             int      // storage AZs (meta nodes live in the first 3); default 4
	PerAZ           int      // storage nodes per AZ; default 4
	Partitions      int      // metadata partitions; default 8
	InlineThreshold int64    // 0: the gateway's default
	StorageArgs     []string // extra flags of every `meridian storage`
	// NoLocalSockets runs every internal hop on TLS over TCP; by default
	// storage nodes and the gateway share a --local-socket-dir (the
	// processes share this host), as `meridian dev` does.
	NoLocalSockets bool
}

func (o *Options) defaults() {
	if o.AZs == 0 {
		o.AZs = 4
	}
	if o.PerAZ == 0 {
		o.PerAZ = 4
	}
	if o.Partitions == 0 {
		o.Partitions = 8
	}
	if os.Getenv("MERIDIAN_E2E_TLS_ONLY") == "1" {
		o.NoLocalSockets = true
	}
}

// Role of a process.
type Role string

const (
	RoleMeta     Role = "meta"
	RoleStorage  Role = "storage"
	RoleRegional Role = "regional"
)

// Proc is one OS process of the region. Its arguments (and so its ports and
// data folder) never change, so Restart brings back the same node.
type Proc struct {
	Name string
	Role Role
	AZ   string // "" for the gateway
	Addr string // listen address
	args []string
	env  []string // added to the test's environment
	log  string   // log file path (appended across restarts)

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current incarnation exited
	err  error         // its exit status
}

// Running reports whether the process is up.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *Proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s: already running", p.Name)
		}
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== %s start %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(p.args, " "))
	cmd := exec.Command(meridianBin, p.args...)
	if len(p.env) > 0 {
		cmd.Env = append(os.Environ(), p.env...)
	}
	cmd.Stdout, cmd.Stderr = f, f
	// The kernel kills the child should the test binary die without cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() { // owned by p: ends when the process exits; Kill/Stop wait for it
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// signal sends sig and waits up to d for the exit; it reports whether the
// process exited in time. A process that is not running counts as exited.
func (p *Proc) signal(sig syscall.Signal, d time.Duration) bool {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// exitErr is the exit status of the last incarnation (nil: exit 0).
func (p *Proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Region is a running region of real processes.
type Region struct {
	t         testing.TB
	Opts      Options
	Dir       string
	Metas     []*Proc
	Storage   []*Proc
	Gateway   *Proc
	Endpoint  string // http://127.0.0.1:port
	Health    string // http://127.0.0.1:port of the gateway's metrics listener (/healthz, /readyz)
	MetaAddrs []string
	// Sockets is the --local-socket-dir of the storage nodes and the
	// gateway ("" with Options.NoLocalSockets).
	Sockets string

	// Internal mutual TLS: every node's certificate comes from
	// `meridian devcerts` under certDir (ca.pem, <region>/<id>.pem).
	certDir string
	region  string
}

// socketDir is a folder for local sockets with a short path (socket paths
// are limited to 107 bytes; t.TempDir's carry the test's name).
func socketDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "mrd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return filepath.Join(d, "sockets")
}

// localArgs is --local-socket-dir for the region's processes (none when off).
func (r *Region) localArgs() []string {
	if r.Sockets == "" {
		return nil
	}
	return []string{"--local-socket-dir", r.Sockets}
}

// nodeCerts runs `meridian devcerts` for the regions into dir.
func nodeCerts(t testing.TB, dir string, opts Options, regions ...string) string {
	t.Helper()
	out, err := exec.Command(meridianBin, "devcerts", "--dir", dir, "--regions", strings.Join(regions, ","),
		"--azs", strconv.Itoa(opts.AZs), "--storage-per-az", strconv.Itoa(opts.PerAZ)).CombinedOutput()
	if err != nil {
		t.Fatalf("meridian devcerts: %v\n%s", err, out)
	}
	return string(out)
}

// NodeTLS loads the certificate of node id of the region (e.g. "regional",
// "admin", "storage-a1", "meta-b").
func (r *Region) NodeTLS(id string) *mtls.Node {
	r.t.Helper()
	n, err := mtls.Load(filepath.Join(r.certDir, "ca.pem"), filepath.Join(r.certDir, r.region, id+".pem"),
		filepath.Join(r.certDir, r.region, id+"-key.pem"))
	if err != nil {
		r.t.Fatalf("node certificate %s: %v", id, err)
	}
	return n
}

// StorageClient is a storage client with the gateway's certificate: storage
// nodes serve only mutual TLS, shard operations to gateways and background.
func (r *Region) StorageClient() *storageclient.Client {
	return storageclient.NewTLS(r.NodeTLS("regional"))
}

// tlsArgs are the --ca/--tls-cert/--tls-key flags of node id.
func (r *Region) tlsArgs(id string) []string {
	return []string{"--ca", filepath.Join(r.certDir, "ca.pem"),
		"--tls-cert", filepath.Join(r.certDir, r.region, id+".pem"),
		"--tls-key", filepath.Join(r.certDir, r.region, id+"-key.pem")}
}

// Ports for the processes come from below the kernel's ephemeral range
// (ip_local_port_range starts at 32768 here): a port picked from inside it
// can be taken by any outgoing connection (Raft, TLS, QUIC) between the
// probe and the process's bind, which failed runs with "address already in
// use". A port is handed out at most once per test binary.
const (
	portLow  = 10000
	portHigh = 32000
)

var (
	portsMu    sync.Mutex
	portsTaken = map[int]bool{}
)

// freePorts returns n distinct loopback ports, each free for TCP and UDP
// when probed.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n+1000 {
			t.Fatalf("free port: no free loopback port in %d..%d", portLow, portHigh)
		}
		p := portLow + mrand.IntN(portHigh-portLow)
		if portsTaken[p] || !portFree(p) {
			continue
		}
		portsTaken[p] = true
		ports = append(ports, p)
	}
	return ports
}

func portFree(p int) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", p)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func azName(i int) string { return string(rune('a' + i)) }

// StartRegion starts 3 meta + AZs×PerAZ storage + 1 regional process and
// waits until the gateway serves a CreateBucket and a PUT. Everything is
// killed in t.Cleanup.
func StartRegion(t testing.TB, opts Options) *Region {
	t.Helper()
	opts.defaults()
	r := &Region{t: t, Opts: opts, Dir: t.TempDir(), region: testRegion}
	r.certDir = filepath.Join(r.Dir, "ca")
	nodeCerts(t, r.certDir, opts, testRegion)
	if !opts.NoLocalSockets {
		r.Sockets = socketDir(t)
	}
	ports := freePorts(t, 3+opts.AZs*opts.PerAZ+2)
	var peers []string
	for i := 0; i < 3; i++ {
		a := fmt.Sprintf("127.0.0.1:%d", ports[i])
		r.MetaAddrs = append(r.MetaAddrs, a)
		peers = append(peers, fmt.Sprintf("meta-%s=%s@%s", azName(i), azName(i), a))
	}
	metaList := strings.Join(r.MetaAddrs, ",")
	logDir := filepath.Join(r.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		id := "meta-" + azName(i)
		r.Metas = append(r.Metas, &Proc{Name: id, Role: RoleMeta, AZ: azName(i), Addr: r.MetaAddrs[i],
			log: filepath.Join(logDir, id+".log"),
			args: append([]string{"meta", "--id", id, "--az", azName(i), "--data", filepath.Join(r.Dir, id),
				"--listen", r.MetaAddrs[i], "--region", testRegion, "--partitions", strconv.Itoa(opts.Partitions),
				"--peers", strings.Join(peers, ","), "--bootstrap", "--log-level", "warn"}, r.tlsArgs(id)...)})
	}
	pi := 3
	for az := 0; az < opts.AZs; az++ {
		for n := 1; n <= opts.PerAZ; n++ {
			id := fmt.Sprintf("storage-%s%d", azName(az), n)
			a := fmt.Sprintf("127.0.0.1:%d", ports[pi])
			pi++
			r.Storage = append(r.Storage, &Proc{Name: id, Role: RoleStorage, AZ: azName(az), Addr: a,
				log: filepath.Join(logDir, id+".log"),
				args: append([]string{"storage", "--id", id, "--az", azName(az), "--data", filepath.Join(r.Dir, id),
					"--listen", a, "--meta", metaList, "--capacity", "10GiB", "--log-level", "warn"}, append(append(r.tlsArgs(id), r.localArgs()...), opts.StorageArgs...)...)})
		}
	}
	gw := fmt.Sprintf("127.0.0.1:%d", ports[pi])
	catalog, catalogKey := filepath.Join(r.Dir, "catalog.db"), filepath.Join(r.Dir, "catalog.key")
	health := fmt.Sprintf("127.0.0.1:%d", ports[pi+1])
	gargs := []string{"regional", "--region", testRegion, "--listen", gw, "--meta", metaList,
		"--catalog", catalog, "--catalog-key", catalogKey, "--metrics-listen", health, "--log-level", "warn"}
	gargs = append(gargs, r.tlsArgs("regional")...)
	gargs = append(gargs, r.localArgs()...)
	if opts.InlineThreshold > 0 {
		gargs = append(gargs, "--inline-threshold", strconv.FormatInt(opts.InlineThreshold, 10))
	}
	r.Gateway = &Proc{Name: "regional", Role: RoleRegional, Addr: gw, log: filepath.Join(logDir, "regional.log"), args: gargs, env: gatewayEnv}
	r.Endpoint = "http://" + gw
	r.Health = "http://" + health

	t.Cleanup(r.cleanup)

	// The catalog is a bbolt file locked while the gateway runs: create the
	// key first.
	out, err := exec.Command(meridianBin, "admin", "create-key", "--catalog", catalog, "--catalog-key", catalogKey,
		"--name", "test", "--access-key", testAccessKey, "--secret-key", testSecretKey).CombinedOutput()
	if err != nil {
		t.Fatalf("admin create-key: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte(testAccessKey)) {
		t.Fatalf("admin create-key printed no access key:\n%s", out)
	}
	if out, err := exec.Command(meridianBin, "admin", "create-key", "--catalog", catalog, "--catalog-key", catalogKey,
		"--name", "other", "--access-key", otherAccessKey, "--secret-key", otherSecretKey).CombinedOutput(); err != nil {
		t.Fatalf("admin create-key (other): %v\n%s", err, out)
	}
	start := time.Now()
	for _, p := range r.All() {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
	}
	r.WaitReady(90 * time.Second)
	t.Logf("region up in %v (%d meta, %d storage, gateway %s, data %s)", time.Since(start).Round(time.Millisecond),
		len(r.Metas), len(r.Storage), r.Endpoint, r.Dir)
	return r
}

// All lists every process: metas, storage, gateway (the start order).
func (r *Region) All() []*Proc {
	var out []*Proc
	out = append(out, r.Metas...)
	out = append(out, r.Storage...)
	return append(out, r.Gateway)
}

// Proc finds a process by name.
func (r *Region) Proc(name string) *Proc {
	for _, p := range r.All() {
		if p.Name == name {
			return p
		}
	}
	r.t.Fatalf("no process %q", name)
	return nil
}

func (r *Region) cleanup() {
	for _, p := range r.All() {
		p.signal(syscall.SIGKILL, 10*time.Second)
	}
	if r.t.Failed() {
		r.dumpLogs(40)
	}
}

// dumpLogs prints the last n lines of every process log.
func (r *Region) dumpLogs(n int) {
	for _, p := range r.All() {
		tail := tailFile(p.log, n)
		interesting := false // more than the harness's own start markers
		for _, l := range strings.Split(tail, "\n") {
			if l != "" && !strings.HasPrefix(l, "=== ") {
				interesting = true
			}
		}
		if interesting {
			r.t.Logf("---- tail of %s (%s) ----\n%s", p.Name, p.log, tail)
		}
	}
}

// Kill sends SIGKILL and waits for the exit.
func (r *Region) Kill(p *Proc) {
	r.t.Helper()
	if !p.signal(syscall.SIGKILL, 10*time.Second) {
		r.t.Fatalf("%s did not die on SIGKILL", p.Name)
	}
	r.t.Logf("killed -9 %s", p.Name)
}

// Stop sends SIGTERM and waits up to 20 s for a clean exit (then SIGKILL);
// it fails the test if the process needed SIGKILL or exited non-zero.
func (r *Region) Stop(p *Proc) {
	r.t.Helper()
	if !p.Running() {
		return
	}
	if !p.signal(syscall.SIGTERM, 20*time.Second) {
		p.signal(syscall.SIGKILL, 10*time.Second)
		r.t.Errorf("%s did not exit within 20 s of SIGTERM", p.Name)
		return
	}
	if err := p.exitErr(); err != nil {
		r.t.Errorf("%s exited with %v after SIGTERM", p.Name, err)
	}
}

// Restart stops p if it runs (SIGTERM) and starts it again with the same
// flags, ports and data.
func (r *Region) Restart(p *Proc) {
	r.t.Helper()
	r.Stop(p)
	if err := p.start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("restarted %s", p.Name)
}

// KillAZ kills -9 the storage nodes of az; with meta it kills the AZ's meta
// node too (the whole AZ then is gone, bar the gateway).
func (r *Region) KillAZ(az string, meta bool) []*Proc {
	r.t.Helper()
	var killed []*Proc
	for _, p := range r.Storage {
		if p.AZ == az && p.Running() {
			r.Kill(p)
			killed = append(killed, p)
		}
	}
	if meta {
		for _, p := range r.Metas {
			if p.AZ == az && p.Running() {
				r.Kill(p)
				killed = append(killed, p)
			}
		}
	}
	return killed
}

// StopAll stops every process with SIGTERM (gateway, storage, then meta).
func (r *Region) StopAll() {
	r.t.Helper()
	all := r.All()
	for i := len(all) - 1; i >= 0; i-- {
		r.Stop(all[i])
	}
}

// KillAll kills -9 every process.
func (r *Region) KillAll() {
	r.t.Helper()
	for _, p := range r.All() {
		p.signal(syscall.SIGKILL, 10*time.Second)
	}
}

// RestartAll starts every process that is not running and waits until the
// region serves again.
func (r *Region) RestartAll() {
	r.t.Helper()
	for _, p := range r.All() {
		if !p.Running() {
			if err := p.start(); err != nil {
				r.t.Fatal(err)
			}
		}
	}
	r.WaitReady(90 * time.Second)
}

// WaitReady waits until every partition has a leader, every running storage
// node is healthy, the gateway's /readyz answers 200 and a CreateBucket + PUT + GET round
// trip works.
func (r *Region) WaitReady(timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = r.readyOnce(); last == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.t.Fatalf("region not ready after %v: %v", timeout, last)
}

func (r *Region) readyOnce() error {
	for _, p := range r.All() {
		if !p.Running() && p.Role != RoleStorage {
			return fmt.Errorf("%s exited: %v", p.Name, p.exitErr())
		}
	}
	st, err := r.Status(r.MetaAddrs...)
	if err != nil {
		return err
	}
	if err := st.AllLed(r.Opts.Partitions); err != nil {
		return err
	}
	for _, p := range r.Storage {
		if p.Running() && !st.StorageHealthy[p.Name] {
			return fmt.Errorf("storage node %s not healthy yet", p.Name)
		}
	}
	if err := r.gatewayReady(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := r.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("e2e-ready")}); err != nil &&
		!strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		return fmt.Errorf("CreateBucket: %w", err)
	}
	body := []byte("ready " + time.Now().String())
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("e2e-ready"), Key: aws.String("probe"),
		Body: bytes.NewReader(body)}); err != nil {
		return fmt.Errorf("PutObject: %w", err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("e2e-ready"), Key: aws.String("probe")})
	if err != nil {
		return fmt.Errorf("GetObject: %w", err)
	}
	defer got.Body.Close()
	b, err := io.ReadAll(got.Body)
	if err != nil {
		return err
	}
	if !bytes.Equal(b, body) {
		return errors.New("probe read back different bytes")
	}
	return nil
}

// gatewayReady asks the gateway's metrics listener whether it serves.
func (r *Region) gatewayReady() error {
	resp, err := http.Get(r.Health + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("gateway /readyz: %s", resp.Status)
	}
	return nil
}

// Client is an aws-sdk-go-v2 S3 client with default settings, path style.
func (r *Region) Client() *s3.Client {
	return r.ClientWith(testAccessKey, testSecretKey)
}

// ClientWith is Client with other credentials.
func (r *Region) ClientWith(ak, sk string) *s3.Client {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(testRegion),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ak, sk, "")))
	if err != nil {
		r.t.Fatalf("aws config: %v", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(r.Endpoint)
	})
}

// Status is the parsed output of `meridian status`.
type Status struct {
	Raw            string
	AZs            int
	AZLossTolerant bool
	Partitions     map[int]PartitionStatus
	StorageHealthy map[string]bool
}

// PartitionStatus is one partition line.
type PartitionStatus struct {
	Replicas []string
	Leader   string
}

var (
	reRegion    = regexp.MustCompile(`(?m)^region \S+: (\d+) AZs with healthy storage, AZ-loss tolerant: (true|false)`)
	rePartition = regexp.MustCompile(`(?m)^\s+partition (\d+): replicas \[([^\]]*)\] leader ?(\S*)`)
	reStorage   = regexp.MustCompile(`(?m)^\s+storage (\S+)\s+az \S+\s+\S+\s+healthy=(true|false)`)
)

// Status runs `meridian status --meta addrs` and parses it.
func (r *Region) Status(addrs ...string) (*Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := append([]string{"status", "--meta", strings.Join(addrs, ",")}, r.tlsArgs("admin")...)
	out, err := exec.CommandContext(ctx, meridianBin, args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("meridian status: %v: %s", err, bytes.TrimSpace(out))
	}
	return parseStatus(string(out))
}

func parseStatus(out string) (*Status, error) {
	st := &Status{Raw: out, Partitions: map[int]PartitionStatus{}, StorageHealthy: map[string]bool{}}
	m := reRegion.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("status: no region line in %q", out)
	}
	st.AZs, _ = strconv.Atoi(m[1])
	st.AZLossTolerant = m[2] == "true"
	for _, m := range rePartition.FindAllStringSubmatch(out, -1) {
		id, _ := strconv.Atoi(m[1])
		st.Partitions[id] = PartitionStatus{Replicas: strings.Fields(m[2]), Leader: m[3]}
	}
	for _, m := range reStorage.FindAllStringSubmatch(out, -1) {
		st.StorageHealthy[m[1]] = m[2] == "true"
	}
	return st, nil
}

// AllLed checks that n partitions are listed, each with 3 replicas and a
// leader among them.
func (st *Status) AllLed(n int) error {
	if len(st.Partitions) != n {
		return fmt.Errorf("status lists %d partitions, want %d", len(st.Partitions), n)
	}
	for id, p := range st.Partitions {
		if len(p.Replicas) != 3 {
			return fmt.Errorf("partition %d has replicas %v, want 3", id, p.Replicas)
		}
		if p.Leader == "" || !contains(p.Replicas, p.Leader) {
			return fmt.Errorf("partition %d has no leader among %v (leader %q)", id, p.Replicas, p.Leader)
		}
	}
	return nil
}

// LeaderCounts counts partitions per leader, most first.
func (st *Status) LeaderCounts() []struct {
	Node string
	N    int
} {
	m := map[string]int{}
	for _, p := range st.Partitions {
		if p.Leader != "" {
			m[p.Leader]++
		}
	}
	var out []struct {
		Node string
		N    int
	}
	for n, c := range m {
		out = append(out, struct {
			Node string
			N    int
		}{n, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Node < out[j].Node
	})
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// tailFile returns the last n lines of a file (for messages).
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

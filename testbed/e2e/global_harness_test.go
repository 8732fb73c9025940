package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/testbed/pgtest"
)

// The global harness: several regions of real processes (as StartRegion
// builds them, but named, on the SQL catalog, each regional gateway with
// an HTTP/3 edge link), one private PostgreSQL server holding the shared
// bucket catalog, a dev CA from `meridian devcerts`, and one edge process
// per region serving HTTPS. Clients reach an edge at https://localhost:port
// trusting the dev CA.

// RoleEdge is an edge gateway process.
const RoleEdge Role = "edge"

// GlobalOptions shape a global deployment.
type GlobalOptions struct {
	Regions []string // default us-east-1, eu-west-1; the first is the "near" region
	AZs     int      // per region; default 4
	PerAZ   int      // storage nodes per AZ; default 4
	// GatewayArgs and EdgeArgs are appended to every regional gateway's
	// and edge's command line (e.g. short body deadlines).
	GatewayArgs, EdgeArgs []string
	// NoLocalSockets: every internal hop on TLS over TCP; by default the
	// storage nodes, gateways and edges share one --local-socket-dir.
	NoLocalSockets bool
}

// DevCerts are the files `meridian devcerts` wrote.
type DevCerts struct {
	CA                    string
	EdgeServer, EdgeKey   string
	EdgeClient, ClientKey string
	Regional, RegionalKey string // the first region's gateway certificate
	dir                   string // <dir>/<region>/<node id>.pem: every internal node's certificate
}

// Edge is one running edge process.
type Edge struct {
	*Proc
	Region string
	URL    string            // https://localhost:port
	Health string            // http://127.0.0.1:port of its metrics listener (/healthz, /readyz)
	Links  map[string]string // region → edge-link UDP address it dials
}

// Global is a running multi-region deployment.
type Global struct {
	t          testing.TB
	Dir        string
	DSN        string // the shared catalog
	CatalogKey string
	Certs      DevCerts
	Names      []string           // region names, in order
	Regions    map[string]*Region // by name
	Links      map[string]string  // region → its regional gateway's edge link (UDP)
	Edges      map[string]*Edge   // the edge of each region, by region name

	// Sockets is the --local-socket-dir every process shares ("" when off).
	Sockets string

	roots *x509.CertPool
	mu    sync.Mutex
	extra []*Edge      // edges started by StartEdge (cleaned up with the deployment)
	hc    *http.Client // HTTPClient, made on first use
}

// StartGlobal starts every region's processes, waits until each region
// serves, starts one edge per region and waits until a bucket round trip
// works through every edge. Everything stops in t.Cleanup.
func StartGlobal(t testing.TB, opts GlobalOptions) *Global {
	t.Helper()
	if len(opts.Regions) == 0 {
		opts.Regions = []string{"us-east-1", "eu-west-1"}
	}
	ro := Options{AZs: opts.AZs, PerAZ: opts.PerAZ, NoLocalSockets: opts.NoLocalSockets}
	ro.defaults()
	opts.NoLocalSockets = ro.NoLocalSockets
	start := time.Now()
	g := &Global{t: t, Dir: t.TempDir(), Names: opts.Regions, Regions: map[string]*Region{},
		Links: map[string]string{}, Edges: map[string]*Edge{}}
	if !opts.NoLocalSockets {
		g.Sockets = socketDir(t)
	}
	g.Certs = devCerts(t, filepath.Join(g.Dir, "ca"), ro, opts.Regions)
	pem, err := os.ReadFile(g.Certs.CA)
	if err != nil {
		t.Fatal(err)
	}
	g.roots = x509.NewCertPool()
	if !g.roots.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", g.Certs.CA)
	}
	g.DSN = pgtest.Start(t)
	g.CatalogKey = filepath.Join(g.Dir, "catalog.key")
	// The first admin command creates the schema and the catalog key file,
	// before any process could race to create them.
	g.CreateKey("test", testAccessKey, testSecretKey)

	for _, name := range opts.Regions {
		r := g.newRegion(name, ro)
		r.Gateway.args = append(r.Gateway.args, opts.GatewayArgs...)
		r.Health = metricsURL(r.Gateway.args)
		g.Regions[name] = r
		t.Cleanup(r.cleanup)
		for _, p := range r.All() {
			if err := p.start(); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(g.cleanupEdges) // registered last, so it runs first (LIFO): edges stop before the regions
	for _, name := range opts.Regions {
		g.waitRegion(g.Regions[name], 120*time.Second)
	}
	for _, name := range opts.Regions {
		g.Edges[name] = g.StartEdge("edge-"+name, name, g.Links, opts.EdgeArgs...)
	}
	for _, name := range opts.Regions {
		g.waitEdgeRoundTrip(g.Edges[name], 60*time.Second)
	}
	t.Logf("global deployment up in %v: regions %v, edges %v, catalog %s", time.Since(start).Round(time.Millisecond),
		opts.Regions, g.edgeURLs(), g.DSN)
	return g
}

func (g *Global) edgeURLs() []string {
	var out []string
	for _, n := range g.Names {
		out = append(out, n+"="+g.Edges[n].URL)
	}
	return out
}

// devCerts runs `meridian devcerts` and parses the paths it prints
// ("edge-server: cert key", …, "ca: file").
func devCerts(t testing.TB, dir string, opts Options, regions []string) DevCerts {
	t.Helper()
	out := nodeCerts(t, dir, opts, regions...)
	files := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if ok {
			files[strings.TrimSpace(name)] = strings.Fields(rest)
		}
	}
	get := func(name string, n int) []string {
		if len(files[name]) != n {
			t.Fatalf("meridian devcerts: want %d paths for %q in output:\n%s", n, name, out)
		}
		for _, f := range files[name] {
			if _, err := os.Stat(f); err != nil {
				t.Fatalf("meridian devcerts printed %s: %v", f, err)
			}
		}
		return files[name]
	}
	var c DevCerts
	c.dir = dir
	c.CA = get("ca", 1)[0]
	s := get("edge-server", 2)
	c.EdgeServer, c.EdgeKey = s[0], s[1]
	s = get("edge-client", 2)
	c.EdgeClient, c.ClientKey = s[0], s[1]
	s = get("regional", 2)
	c.Regional, c.RegionalKey = s[0], s[1]
	return c
}

// freeUDPPort finds a free loopback UDP port (see freePorts).
func freeUDPPort(t testing.TB) int {
	t.Helper()
	return freePorts(t, 1)[0]
}

// newRegion lays out one region's processes (not started): like
// StartRegion, with the region's name, the SQL catalog and an edge link.
func (g *Global) newRegion(name string, opts Options) *Region {
	t := g.t
	r := &Region{t: t, Opts: opts, Dir: filepath.Join(g.Dir, name), certDir: g.Certs.dir, region: name, Sockets: g.Sockets}
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
		r.Metas = append(r.Metas, &Proc{Name: name + "/" + id, Role: RoleMeta, AZ: azName(i), Addr: r.MetaAddrs[i],
			log: filepath.Join(logDir, id+".log"),
			args: append([]string{"meta", "--id", id, "--az", azName(i), "--data", filepath.Join(r.Dir, id),
				"--listen", r.MetaAddrs[i], "--region", name, "--partitions", strconv.Itoa(opts.Partitions),
				"--peers", strings.Join(peers, ","), "--bootstrap", "--log-level", "warn"}, r.tlsArgs(id)...)})
	}
	pi := 3
	for az := 0; az < opts.AZs; az++ {
		for n := 1; n <= opts.PerAZ; n++ {
			id := fmt.Sprintf("storage-%s%d", azName(az), n)
			a := fmt.Sprintf("127.0.0.1:%d", ports[pi])
			pi++
			// Status reports storage nodes by id: keep the plain id as Name.
			r.Storage = append(r.Storage, &Proc{Name: id, Role: RoleStorage, AZ: azName(az), Addr: a,
				log: filepath.Join(logDir, id+".log"),
				args: append([]string{"storage", "--id", id, "--az", azName(az), "--data", filepath.Join(r.Dir, id),
					"--listen", a, "--meta", metaList, "--capacity", "10GiB", "--log-level", "warn"}, append(r.tlsArgs(id), r.localArgs()...)...)})
		}
	}
	gw := fmt.Sprintf("127.0.0.1:%d", ports[pi])
	link := fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))
	g.Links[name] = link
	health := fmt.Sprintf("127.0.0.1:%d", ports[pi+1])
	r.Gateway = &Proc{Name: name + "/regional", Role: RoleRegional, Addr: gw, log: filepath.Join(logDir, "regional.log"),
		args: []string{"regional", "--region", name, "--listen", gw, "--meta", metaList,
			"--sql", g.DSN, "--catalog-key", g.CatalogKey,
			"--edge-listen", link, "--client-ca", g.Certs.CA, "--metrics-listen", health, "--log-level", "warn"},
		env: gatewayEnv}
	r.Gateway.args = append(r.Gateway.args, r.tlsArgs("regional")...)
	r.Gateway.args = append(r.Gateway.args, r.localArgs()...)
	r.Endpoint = "http://" + gw
	r.Health = "http://" + health
	return r
}

// waitRegion waits until every partition has a leader, every storage node
// is healthy and the regional gateway's /readyz answers 200.
func (g *Global) waitRegion(r *Region, timeout time.Duration) {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = regionUp(r); last == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	g.t.Fatalf("region %s not ready after %v: %v", r.Gateway.Name, timeout, last)
}

func regionUp(r *Region) error {
	for _, p := range r.All() {
		if !p.Running() {
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
		if !st.StorageHealthy[p.Name] {
			return fmt.Errorf("storage node %s not healthy yet", p.Name)
		}
	}
	return r.gatewayReady()
}

// StartEdge starts an edge process for region home that dials the given
// edge links (region → UDP address; e.g. through a latency proxy), and
// waits until its metrics listener answers /readyz. It is stopped in the
// deployment's cleanup.
func (g *Global) StartEdge(name, home string, links map[string]string, extra ...string) *Edge {
	g.t.Helper()
	ports := freePorts(g.t, 2)
	port := ports[0]
	var rs []string
	for region, addr := range links {
		rs = append(rs, region+"="+addr)
	}
	sort.Strings(rs)
	logDir := filepath.Join(g.Dir, "edges")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		g.t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	health := fmt.Sprintf("127.0.0.1:%d", ports[1])
	e := &Edge{Region: home, URL: fmt.Sprintf("https://localhost:%d", port), Health: "http://" + health, Links: links,
		Proc: &Proc{Name: name, Role: RoleEdge, Addr: addr, log: filepath.Join(logDir, name+".log"),
			args: []string{"edge", "--region", home, "--listen", addr, "--regions", strings.Join(rs, ","),
				"--cert", g.Certs.EdgeServer, "--key", g.Certs.EdgeKey,
				"--client-cert", g.Certs.EdgeClient, "--client-key", g.Certs.ClientKey, "--ca", g.Certs.CA,
				"--sql", g.DSN, "--catalog-key", g.CatalogKey, "--metrics-listen", health, "--log-level", "warn"}}}
	if g.Sockets != "" {
		e.args = append(e.args, "--local-socket-dir", g.Sockets)
	}
	e.args = append(e.args, extra...)
	e.Health = metricsURL(e.args)
	g.mu.Lock()
	g.extra = append(g.extra, e)
	g.mu.Unlock()
	if err := e.start(); err != nil {
		g.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if !e.Running() {
			g.t.Fatalf("edge %s exited: %v\n%s", name, e.exitErr(), tailFile(e.log, 30))
		}
		resp, err := http.Get(e.Health + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("edge %s: /readyz not OK after 30 s: %v\n%s", name, err, tailFile(e.log, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metricsURL is the URL of the metrics listener in a process's arguments
// (the last --metrics-listen wins, as with the flag package).
func metricsURL(args []string) string {
	url := ""
	for i, a := range args {
		if a == "--metrics-listen" && i+1 < len(args) {
			url = "http://" + args[i+1]
		}
	}
	return url
}

// StopEdge kills an edge started by StartEdge (e.g. to read a fresh peak
// RSS with the next one).
func (g *Global) StopEdge(e *Edge) {
	e.signal(syscall.SIGKILL, 10*time.Second)
}

func (g *Global) cleanupEdges() {
	g.mu.Lock()
	edges, hc := g.extra, g.hc
	g.mu.Unlock()
	if hc != nil {
		hc.CloseIdleConnections()
	}
	for _, e := range edges {
		e.signal(syscall.SIGKILL, 10*time.Second)
	}
	if g.t.Failed() {
		for _, e := range edges {
			if tail := tailFile(e.log, 40); strings.Count(tail, "\n") > 0 {
				g.t.Logf("---- tail of %s (%s) ----\n%s", e.Name, e.log, tail)
			}
		}
	}
}

// waitEdgeRoundTrip waits until CreateBucket (homed in the edge's region),
// PUT and GET work through e.
func (g *Global) waitEdgeRoundTrip(e *Edge, timeout time.Duration) {
	g.t.Helper()
	c := g.Client(e, testAccessKey, testSecretKey)
	bucket := "ready-" + e.Region
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = roundTrip(c, bucket); last == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	g.t.Fatalf("edge %s: no round trip after %v: %v", e.Name, timeout, last)
}

func roundTrip(c *s3.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil &&
		!strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		return fmt.Errorf("CreateBucket: %w", err)
	}
	body := []byte("ready " + time.Now().String())
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("probe"),
		Body: bytes.NewReader(body)}); err != nil {
		return fmt.Errorf("PutObject: %w", err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("probe")})
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

// TLSConfig trusts the dev CA only.
func (g *Global) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: g.roots, MinVersion: tls.VersionTLS12}
}

// HTTPClient is a plain HTTPS client trusting the dev CA (for raw
// requests), shared by the deployment; its idle connections are closed in
// the cleanup.
func (g *Global) HTTPClient() *http.Client {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hc == nil {
		g.hc = &http.Client{Transport: &http.Transport{TLSClientConfig: g.TLSConfig(), ForceAttemptHTTP2: true,
			MaxIdleConnsPerHost: 32}}
	}
	return g.hc
}

// Client is an aws-sdk-go-v2 S3 client for e with default settings
// (checksums included), path style, signing for us-east-1 as global
// clients do.
func (g *Global) Client(e *Edge, ak, sk string) *s3.Client {
	g.t.Helper()
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig = g.TLSConfig()
	})
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithHTTPClient(hc),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ak, sk, "")))
	if err != nil {
		g.t.Fatalf("aws config: %v", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(e.URL)
	})
}

// CreateBucketIn creates bucket homed in region through e.
func CreateBucketIn(ctx context.Context, c *s3.Client, bucket, region string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "" {
		in.CreateBucketConfiguration = locationConfig(region)
	}
	_, err := c.CreateBucket(ctx, in)
	return err
}

// Account is what `meridian admin create-key` printed.
type Account struct {
	AccountID string `json:"account_id"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// CreateKey creates an account with a key (fixed id and secret if given).
func (g *Global) CreateKey(name, ak, sk string) Account {
	g.t.Helper()
	args := []string{"admin", "create-key", "--sql", g.DSN, "--catalog-key", g.CatalogKey, "--name", name}
	if ak != "" {
		args = append(args, "--access-key", ak, "--secret-key", sk)
	}
	out, err := exec.Command(meridianBin, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = append(out, ee.Stderr...)
		}
		g.t.Fatalf("admin create-key: %v\n%s", err, out)
	}
	var a Account
	if err := json.Unmarshal(out, &a); err != nil || a.AccountID == "" || a.AccessKey == "" || a.SecretKey == "" {
		g.t.Fatalf("admin create-key printed %q (%v)", out, err)
	}
	return a
}

// CatalogBucket is one line of `meridian admin list-buckets`.
type CatalogBucket struct{ Name, Region, Owner string }

// ListCatalog runs `meridian admin list-buckets` against the shared catalog.
func (g *Global) ListCatalog() []CatalogBucket {
	g.t.Helper()
	out, err := exec.Command(meridianBin, "admin", "list-buckets", "--sql", g.DSN, "--catalog-key", g.CatalogKey).CombinedOutput()
	if err != nil {
		g.t.Fatalf("admin list-buckets: %v\n%s", err, out)
	}
	var bs []CatalogBucket
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || !strings.HasPrefix(f[2], "owner=") {
			continue
		}
		bs = append(bs, CatalogBucket{Name: f[0], Region: f[1], Owner: strings.TrimPrefix(f[2], "owner=")})
	}
	return bs
}

// PeakRSS reads VmHWM (peak resident set) of a running process, in bytes.
func PeakRSS(p *Proc) (int64, error) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, errors.New("not started")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("odd VmHWM line %q", l)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// Package benchtool drives S3 load against an endpoint and reports
// throughput and latency percentiles with their units. `meridian bench`
// uses it against a private dev cluster (make bench).
//
// The client is lean on purpose — net/http with keep-alive and SigV4 header
// signing with UNSIGNED-PAYLOAD over the loopback — so that on a 2-core
// machine the figures measure the server more than the client.
package benchtool

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client is a minimal signed S3 client.
type Client struct {
	Endpoint string // http://host:port
	Region   string
	Creds    aws.Credentials
	HTTP     *http.Client
	signer   *v4.Signer
}

// NewClient returns a client with a keep-alive pool sized for conc workers.
func NewClient(endpoint, region, accessKey, secret string, conc int) *Client {
	tr := &http.Transport{MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	return &Client{
		Endpoint: strings.TrimRight(endpoint, "/"), Region: region,
		Creds:  aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret},
		HTTP:   &http.Client{Transport: tr},
		signer: v4.NewSigner(),
	}
}

// NewTLSClient is NewClient for an HTTPS endpoint whose certificates chain to caFile.
func NewTLSClient(endpoint, region, accessKey, secret string, conc int, caFile string) (*Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("benchtool: %s: no certificates", caFile)
	}
	c := NewClient(endpoint, region, accessKey, secret, conc)
	c.HTTP.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	return c, nil
}

// Do signs and sends a request; body may be nil. The response body is drained and closed.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body []byte) (int, []byte, error) {
	return c.DoWith(ctx, method, path, query, body, nil)
}

// DoWith is Do with extra request headers (signed with the request).
func (c *Client) DoWith(ctx context.Context, method, path string, query url.Values, body []byte, hdr http.Header) (int, []byte, error) {
	u := c.Endpoint + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.ContentLength = int64(len(body))
	for k, vs := range hdr {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
	if err := c.signer.SignHTTP(ctx, c.Creds, req, "UNSIGNED-PAYLOAD", "s3", c.Region, time.Now()); err != nil {
		return 0, nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out []byte
	if method == http.MethodGet && resp.StatusCode == http.StatusOK && strings.Contains(resp.Header.Get("Content-Type"), "xml") {
		out, err = io.ReadAll(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, out, err
}

// Result of one load phase.
type Result struct {
	Name        string
	Ops         int
	Errors      int
	Bytes       int64
	Elapsed     time.Duration
	P50, P99    time.Duration
	Concurrency int
	// ServerCPU and ClientCPU are the CPU time the server processes and
	// the load generator spent during the phase (zero when not metered).
	ServerCPU, ClientCPU time.Duration
	Metered              bool
	lat                  []time.Duration // sorted; for merge
}

// merge adds the operations of o (a later slice of the same workload) to r.
func (r Result) merge(o Result) Result {
	if r.Concurrency == 0 {
		return o
	}
	lat := append(append([]time.Duration(nil), r.lat...), o.lat...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	m := Result{Name: r.Name, Ops: r.Ops + o.Ops, Errors: r.Errors + o.Errors, Bytes: r.Bytes + o.Bytes,
		Elapsed: r.Elapsed + o.Elapsed, Concurrency: r.Concurrency,
		ServerCPU: r.ServerCPU + o.ServerCPU, ClientCPU: r.ClientCPU + o.ClientCPU, Metered: r.Metered && o.Metered, lat: lat}
	if len(lat) > 0 {
		m.P50, m.P99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return m
}

// ServerCPUPerOp is the server processes' CPU per completed operation.
func (r Result) ServerCPUPerOp() time.Duration { return perOp(r.ServerCPU, r.Ops) }

// ClientCPUPerOp is the load generator's CPU per completed operation.
func (r Result) ClientCPUPerOp() time.Duration { return perOp(r.ClientCPU, r.Ops) }

// ServerCPUPerMiB is the server processes' CPU per MiB of payload, 0 for
// phases that move no payload.
func (r Result) ServerCPUPerMiB() time.Duration {
	if r.Bytes == 0 {
		return 0
	}
	return time.Duration(float64(r.ServerCPU) / (float64(r.Bytes) / (1 << 20)))
}

func perOp(d time.Duration, n int) time.Duration {
	if n == 0 {
		return 0
	}
	return d / time.Duration(n)
}

// OpsPerSec is completed operations per second.
func (r Result) OpsPerSec() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// MiBPerSec is payload throughput in MiB/s.
func (r Result) MiBPerSec() float64 { return float64(r.Bytes) / (1 << 20) / r.Elapsed.Seconds() }

// String formats the result as one table row.
func (r Result) String() string {
	cpu := "|                |                 |                |"
	if r.Metered {
		perMiB := "              —"
		if r.Bytes > 0 {
			perMiB = fmt.Sprintf("%8.3f ms/MiB", ms(r.ServerCPUPerMiB()))
		}
		cpu = fmt.Sprintf("| %8.3f ms/op | %s | %8.3f ms/op |", ms(r.ServerCPUPerOp()), perMiB, ms(r.ClientCPUPerOp()))
	}
	return fmt.Sprintf("| %-22s | %4d | %7d | %9.1f obj/s | %9.1f MiB/s | %8.2f ms | %8.2f ms | %d %s",
		r.Name, r.Concurrency, r.Ops, r.OpsPerSec(), r.MiBPerSec(), ms(r.P50), ms(r.P99), r.Errors, cpu)
}

// Header is the table header matching String. "server CPU" is the CPU time
// of the server processes (gateways, edge, metadata and storage nodes)
// during the phase divided by its operations or payload MiB; "client CPU"
// is the load generator's own.
const Header = "| phase                  | conc |     ops |   throughput  |    throughput  |      p50   |      p99   | errors | server CPU/op | server CPU/MiB | client CPU/op |\n|---|---|---|---|---|---|---|---|---|---|---|"

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Phase runs op from conc workers until total ops ran or dur elapsed.
func Phase(ctx context.Context, name string, conc, total int, dur time.Duration, bytesPerOp int64, op func(ctx context.Context, i int) error) Result {
	var next atomic.Int64
	var errs atomic.Int64
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				t0 := time.Now()
				if err := op(ctx, i); err != nil {
					errs.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := Result{Name: name, Ops: len(all), Errors: int(errs.Load()), Elapsed: el, Concurrency: conc, Bytes: int64(len(all)) * bytesPerOp, lat: all}
	if len(all) > 0 {
		r.P50 = all[len(all)/2]
		r.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

// Config of a standard run.
type Config struct {
	Bucket   string
	Duration time.Duration // per phase upper bound
	ListKeys int           // keys for the LIST phase (10,000)
	Out      io.Writer
	// Only, when not empty, selects phases: "4KiB", "1MiB", "16MiB", "copy",
	// "copyx" (with FarRegion), "list", "edge".
	Only []string
	// Edge, when set, is a client for an edge in front of the same region:
	// the "edge" phases compare it with the direct client.
	Edge *Client
	// DirectTLS, when set with Edge, is a client for the same regional
	// gateway over its HTTPS listener: the edge's tier comparisons run it
	// as a third tier, so that what the edge adds is also measured against
	// a direct path that pays for TLS to the client too.
	DirectTLS *Client
	// FarRegion, when set with Edge, is a second region of the cluster:
	// the "copyx" phases copy from a bucket of the edge's region into one
	// homed there (docs/copy.md, "Regions").
	FarRegion string
	// ServerCPU, when set, meters the server processes (e.g. ProcCPU of
	// the process hosting the cluster); ClientCPU meters the load
	// generator (SelfCPU). Both only mean something when the two are
	// separate processes.
	ServerCPU, ClientCPU CPUMeter
}

// phase runs Phase between two readings of the CPU meters.
func (c Config) phase(ctx context.Context, name string, conc, total int, dur time.Duration, bytesPerOp int64, op func(ctx context.Context, i int) error) Result {
	if c.ServerCPU == nil || c.ClientCPU == nil {
		return Phase(ctx, name, conc, total, dur, bytesPerOp, op)
	}
	s0, err1 := c.ServerCPU()
	c0, err2 := c.ClientCPU()
	r := Phase(ctx, name, conc, total, dur, bytesPerOp, op)
	s1, err3 := c.ServerCPU()
	c1, err4 := c.ClientCPU()
	if err1 == nil && err2 == nil && err3 == nil && err4 == nil {
		r.ServerCPU, r.ClientCPU, r.Metered = s1-s0, c1-c0, true
	}
	return r
}

func (c Config) wants(phase string) bool {
	if len(c.Only) == 0 {
		return true
	}
	for _, p := range c.Only {
		if strings.EqualFold(p, phase) {
			return true
		}
	}
	return false
}

// wantsEdgeSize reports whether only some edge sizes were asked for
// ("edge:16MiB") and size is one of them; size "" asks whether any was.
func (c Config) wantsEdgeSize(size string) bool {
	for _, p := range c.Only {
		if s, ok := strings.CutPrefix(strings.ToLower(p), "edge:"); ok && (size == "" || s == strings.ToLower(size)) {
			return true
		}
	}
	return false
}

// Run executes the standard phases: PUT/GET of 4 KiB (c16), 1 MiB (c8),
// 16 MiB (c4), and a full ListObjectsV2 scan over ListKeys keys.
func Run(ctx context.Context, c *Client, cfg Config) ([]Result, error) {
	if code, _, err := c.Do(ctx, http.MethodPut, "/"+cfg.Bucket, nil, nil); err != nil || code != 200 {
		return nil, fmt.Errorf("benchtool: create bucket: status %d: %v", code, err)
	}
	var results []Result
	emit := func(r Result) {
		results = append(results, r)
		fmt.Fprintln(cfg.Out, r.String())
	}
	var idleRate float64 // server CPU seconds per second with no load
	if cfg.ServerCPU != nil {
		// What the cluster burns with no load (Raft heartbeats, leases,
		// background services): every phase's server CPU includes it.
		idle := 2 * time.Second
		if s0, err := cfg.ServerCPU(); err == nil {
			time.Sleep(idle)
			if s1, err := cfg.ServerCPU(); err == nil {
				idleRate = (s1 - s0).Seconds() / idle.Seconds()
				fmt.Fprintf(cfg.Out, "server CPU while idle: %.1f ms/s (included in every phase below); load average %s\n\n", ms(s1-s0)/idle.Seconds(), loadAverage())
			}
		}
	}
	fmt.Fprintln(cfg.Out, Header)
	for _, sz := range []struct {
		name       string
		size, conc int
		count      int
		explicit   bool        // only when asked for by name (inline-threshold study)
		hdr        http.Header // on the PUTs
	}{
		{"4KiB", 4 << 10, 16, 20000, false, nil},
		{"64KiB", 64 << 10, 16, 5000, true, nil},
		{"128KiB", 128 << 10, 16, 5000, true, nil},
		{"256KiB", 256 << 10, 16, 5000, true, nil},
		{"1MiB", 1 << 20, 8, 2000, false, nil},
		{"16MiB", 16 << 20, 4, 200, false, nil},
		// The cost of server-side encryption (docs/sse.md): the same PUT and
		// GET with SSE-S3 (AES-256-GCM before erasure coding, decrypt on read).
		{"16MiB-SSE-S3", 16 << 20, 4, 200, false, http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}}},
	} {
		if !cfg.wants(sz.name) || (sz.explicit && len(cfg.Only) == 0) {
			continue
		}
		payload := make([]byte, sz.size)
		_, _ = rand.Read(payload)
		var put atomic.Int64
		r := cfg.phase(ctx, "PUT "+sz.name, sz.conc, sz.count, cfg.Duration, int64(sz.size), func(ctx context.Context, i int) error {
			code, _, err := c.DoWith(ctx, http.MethodPut, fmt.Sprintf("/%s/%s/%08d", cfg.Bucket, sz.name, i), nil, payload, sz.hdr)
			if err == nil && code != 200 {
				err = fmt.Errorf("status %d", code)
			}
			if err == nil {
				put.Add(1)
			}
			return err
		})
		emit(r)
		n := int(put.Load())
		if n == 0 {
			continue
		}
		emit(cfg.phase(ctx, "GET "+sz.name, sz.conc, 1<<30, cfg.Duration, int64(sz.size), func(ctx context.Context, i int) error {
			code, _, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/%s/%s/%08d", cfg.Bucket, sz.name, i%n), nil, nil)
			if err == nil && code != 200 {
				err = fmt.Errorf("status %d", code)
			}
			return err
		}))
	}
	if cfg.wants("copy") {
		results = append(results, runCopy(ctx, c, cfg, emit)...)
	}
	if cfg.Edge != nil && cfg.FarRegion != "" && cfg.wants("copyx") {
		results = append(results, runCopyAcross(ctx, cfg, emit)...)
	}
	if cfg.Edge != nil && (cfg.wants("edge") || cfg.wantsEdgeSize("")) {
		results = append(results, runEdge(ctx, c, cfg, emit)...)
		compareTiers(cfg.Out, results, idleRate)
		fmt.Fprintf(cfg.Out, "load average %s\n", loadAverage())
	}
	if !cfg.wants("list") {
		return results, nil
	}
	// LIST: ListKeys small objects under their own prefix, then full scans.
	fill := cfg.phase(ctx, "PUT list keys (0 B)", 16, cfg.ListKeys, 10*time.Minute, 0, func(ctx context.Context, i int) error {
		code, _, err := c.Do(ctx, http.MethodPut, fmt.Sprintf("/%s/list/%06d", cfg.Bucket, i), nil, []byte{})
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})
	emit(fill)
	var keys atomic.Int64
	scan := cfg.phase(ctx, "LIST full scan (pages)", 1, 1<<30, cfg.Duration, 0, func(ctx context.Context, i int) error {
		token := ""
		for {
			q := url.Values{"list-type": {"2"}, "prefix": {"list/"}, "max-keys": {"1000"}}
			if token != "" {
				q.Set("continuation-token", token)
			}
			code, body, err := c.Do(ctx, http.MethodGet, "/"+cfg.Bucket, q, nil)
			if err != nil || code != 200 {
				return fmt.Errorf("list: %d %v", code, err)
			}
			var page struct {
				KeyCount int    `xml:"KeyCount"`
				Next     string `xml:"NextContinuationToken"`
				Trunc    bool   `xml:"IsTruncated"`
			}
			if err := xml.Unmarshal(body, &page); err != nil {
				return err
			}
			keys.Add(int64(page.KeyCount))
			if !page.Trunc {
				return nil
			}
			token = page.Next
		}
	})
	scan.Name = "LIST 10k keys"
	emit(scan)
	fmt.Fprintf(cfg.Out, "\nLIST: %.0f keys/s (%d keys listed in %d full scans, %s)\n",
		float64(keys.Load())/scan.Elapsed.Seconds(), keys.Load(), scan.Ops, scan.Elapsed.Round(time.Millisecond))
	return results, nil
}

// runCopy measures CopyObject within the region (issue 10, docs/copy.md):
// one source object per size, copied to new keys in the same bucket; the
// throughput counts the bytes copied. A copy decodes the source's shards
// and writes a new erasure-coded object, so it costs about a GET plus a PUT
// of the same size inside the gateway, with no client transfer.
func runCopy(ctx context.Context, c *Client, cfg Config, emit func(Result)) []Result {
	var out []Result
	for _, sz := range []struct {
		name        string
		size        int
		conc, count int
	}{{"1MiB", 1 << 20, 8, 1000}, {"256MiB", 256 << 20, 1, 8}} {
		src := fmt.Sprintf("%s/copy-src/%s", cfg.Bucket, sz.name)
		payload := make([]byte, sz.size)
		_, _ = rand.Read(payload)
		code, _, err := c.Do(ctx, http.MethodPut, "/"+src, nil, payload)
		if err != nil || code != 200 {
			fmt.Fprintf(cfg.Out, "COPY %s: source PUT failed: status %d %v\n", sz.name, code, err)
			continue
		}
		hdr := http.Header{"X-Amz-Copy-Source": {src}}
		r := cfg.phase(ctx, "COPY "+sz.name, sz.conc, sz.count, cfg.Duration, int64(sz.size), func(ctx context.Context, i int) error {
			code, _, err := c.DoWith(ctx, http.MethodPut, fmt.Sprintf("/%s/copy/%s/%06d", cfg.Bucket, sz.name, i), nil, nil, hdr)
			if err == nil && code != 200 {
				err = fmt.Errorf("status %d", code)
			}
			return err
		})
		emit(r)
		out = append(out, r)
	}
	return out
}

// runCopyAcross measures CopyObject from a bucket of the edge's region into
// a bucket homed in cfg.FarRegion, through the edge: the edge reads the
// source in its region and streams it to the other (docs/copy.md).
func runCopyAcross(ctx context.Context, cfg Config, emit func(Result)) []Result {
	e := cfg.Edge
	far := cfg.Bucket + "-far"
	body := []byte("<CreateBucketConfiguration><LocationConstraint>" + cfg.FarRegion + "</LocationConstraint></CreateBucketConfiguration>")
	if code, _, err := e.Do(ctx, http.MethodPut, "/"+far, nil, body); err != nil || code != 200 {
		fmt.Fprintf(cfg.Out, "COPY across regions: create bucket in %s: status %d %v\n", cfg.FarRegion, code, err)
		return nil
	}
	var out []Result
	for _, sz := range []struct {
		name        string
		size        int
		conc, count int
	}{{"1MiB", 1 << 20, 8, 1000}, {"256MiB", 256 << 20, 1, 8}} {
		src := fmt.Sprintf("%s/copyx-src/%s", cfg.Bucket, sz.name)
		payload := make([]byte, sz.size)
		_, _ = rand.Read(payload)
		if code, _, err := e.Do(ctx, http.MethodPut, "/"+src, nil, payload); err != nil || code != 200 {
			fmt.Fprintf(cfg.Out, "COPY %s across regions: source PUT failed: status %d %v\n", sz.name, code, err)
			continue
		}
		hdr := http.Header{"X-Amz-Copy-Source": {src}}
		r := cfg.phase(ctx, "COPY "+sz.name+" x-region", sz.conc, sz.count, cfg.Duration, int64(sz.size), func(ctx context.Context, i int) error {
			code, _, err := e.DoWith(ctx, http.MethodPut, fmt.Sprintf("/%s/copy/%s/%06d", far, sz.name, i), nil, nil, hdr)
			if err == nil && code != 200 {
				err = fmt.Errorf("status %d", code)
			}
			return err
		})
		emit(r)
		out = append(out, r)
	}
	return out
}

// runEdge compares the edge path with the direct path: small-object GET
// latency at concurrency 1 (the hop's added latency), then 1 MiB and 16 MiB
// throughput through the edge (compare with the direct rows above).
func runEdge(ctx context.Context, direct *Client, cfg Config, emit func(Result)) []Result {
	var out []Result
	if !cfg.wantsEdgeSize("") { // "edge:<size>" runs only the named sizes
		out = runEdgeSmall(ctx, direct, cfg, emit)
	}
	for _, sz := range []struct {
		name       string
		size, conc int
		count      int
	}{{"1MiB", 1 << 20, 8, 2000}, {"16MiB", 16 << 20, 4, 200}} {
		if cfg.wantsEdgeSize("") && !cfg.wantsEdgeSize(sz.name) {
			continue
		}
		out = append(out, runTiers(ctx, direct, cfg, emit, sz.name, sz.size, sz.conc, sz.count)...)
	}
	return out
}

// tierRounds is how many alternating slices of each tier a tier
// comparison runs: on a shared machine, what else runs changes from one
// second to the next, and alternating gives both tiers the same mix.
const tierRounds = 4

// runTiers measures PUT and then GET of one size directly and through the
// edge, in tierRounds alternating slices per tier (direct, edge, direct,
// edge, …) that add up to cfg.Duration per tier. The rows are "… direct
// (alt)" and "… via edge"; compareTiers pairs them. With cfg.DirectTLS a
// third tier, "… direct https (alt)", alternates with them (direct,
// direct https, edge, …).
func runTiers(ctx context.Context, direct *Client, cfg Config, emit func(Result), name string, size, conc, count int) []Result {
	payload := make([]byte, size)
	_, _ = rand.Read(payload)
	slice := cfg.Duration / tierRounds
	type tierClient struct {
		suffix string
		c      *Client
	}
	tiers := []tierClient{{tierDirect, direct}}
	if cfg.DirectTLS != nil {
		tiers = append(tiers, tierClient{tierDirectTLS, cfg.DirectTLS})
	}
	tiers = append(tiers, tierClient{tierEdge, cfg.Edge})
	var next atomic.Int64
	var stored atomic.Int64 // keys 0..stored-1 hold the payload (written in order by index)
	var written sync.Map
	var out []Result
	for _, op := range []string{"PUT", "GET"} {
		acc := make([]Result, len(tiers))
		for round := 0; round < tierRounds; round++ {
			for t, tier := range tiers {
				c := tier.c
				var r Result
				if op == "PUT" {
					r = cfg.phase(ctx, "", conc, count, slice, int64(size), func(ctx context.Context, _ int) error {
						i := next.Add(1) - 1
						code, _, err := c.Do(ctx, http.MethodPut, fmt.Sprintf("/%s/tier-%s/%08d", cfg.Bucket, name, i), nil, payload)
						if err == nil && code != 200 {
							err = fmt.Errorf("status %d", code)
						}
						if err == nil {
							written.Store(i, true)
						}
						return err
					})
				} else {
					n := stored.Load()
					r = cfg.phase(ctx, "", conc, 1<<30, slice, int64(size), func(ctx context.Context, i int) error {
						code, _, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/%s/tier-%s/%08d", cfg.Bucket, name, int64(i)%n), nil, nil)
						if err == nil && code != 200 {
							err = fmt.Errorf("status %d", code)
						}
						return err
					})
				}
				acc[t] = acc[t].merge(r)
			}
		}
		if op == "PUT" {
			// GETs read the prefix of keys that were all stored.
			n := int64(0)
			for ; ; n++ {
				if _, ok := written.Load(n); !ok {
					break
				}
			}
			stored.Store(n)
			if n == 0 {
				fmt.Fprintf(cfg.Out, "tier comparison of %s skipped: no PUT succeeded\n", name)
				return out
			}
		}
		for t, tier := range tiers {
			acc[t].Name = op + " " + name + " " + tier.suffix
			emit(acc[t])
			out = append(out, acc[t])
		}
	}
	return out
}

// The tiers' row suffixes (runTiers, compareTiers).
const (
	tierDirect    = "direct (alt)"
	tierDirectTLS = "direct https (alt)"
	tierEdge      = "via edge"
)

// loadAverage is the machine's 1/5/15-minute load average: the figures of
// a run on a shared machine mean little without it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// compareTiers prints, for every large-object workload run in alternating
// slices directly and through the edge (runTiers), the edge's throughput relative to direct and the server
// CPU per MiB the edge path adds (issue 9's edge goals: ≥ 0.8× and ≤ 0.5×).
// The CPU figures here are net of the cluster's idle CPU (idleRate CPU
// seconds per second, measured before the phases), which would otherwise
// weigh more on the slower tier.
//
// The first table compares with the plain-HTTP direct path, so "edge adds"
// includes TLS to the client; a second table, "tier comparison (HTTPS
// direct)", compares with the direct path over HTTPS when that tier ran,
// which leaves the edge's own cost (its hop to the region, its request
// handling).
func compareTiers(out io.Writer, rs []Result, idleRate float64) {
	byName := map[string]Result{}
	for _, r := range rs {
		byName[r.Name] = r
	}
	tierTable(out, byName, idleRate, tierDirect,
		"| tier comparison | edge/direct throughput | server CPU/MiB direct, net of idle | via edge | edge adds | added/direct |")
	tierTable(out, byName, idleRate, tierDirectTLS,
		"| tier comparison (HTTPS direct) | edge/direct-https throughput | server CPU/MiB direct https, net of idle | via edge | edge adds vs https | added/direct-https |")
}

// tierTable prints one table of compareTiers: the edge tier against the
// base tier, one row per operation and size that both ran.
func tierTable(out io.Writer, byName map[string]Result, idleRate float64, base, header string) {
	net := func(r Result) time.Duration {
		c := r.ServerCPU - time.Duration(idleRate*float64(r.Elapsed))
		return time.Duration(float64(max(c, 0)) / (float64(r.Bytes) / (1 << 20)))
	}
	printed := false
	for _, op := range []string{"PUT", "GET"} {
		for _, sz := range []string{"1MiB", "16MiB"} {
			d, ok1 := byName[op+" "+sz+" "+base]
			e, ok2 := byName[op+" "+sz+" "+tierEdge]
			if !ok1 || !ok2 || d.Ops == 0 || e.Ops == 0 {
				continue
			}
			if !printed {
				fmt.Fprintln(out, "\n"+header+"\n|---|---|---|---|---|---|")
				printed = true
			}
			row := fmt.Sprintf("| %s %s | %.2f× |", op, sz, e.MiBPerSec()/d.MiBPerSec())
			if d.Metered && e.Metered {
				dc, ec := net(d), net(e)
				if dc <= 0 || ec <= 0 {
					// The idle rate, measured before the phases, exceeded
					// a tier's whole CPU: other load moved it; no figure.
					row += " not measured: idle CPU ≥ the tier's CPU (machine busy) | — | — | — |"
				} else {
					row += fmt.Sprintf(" %.3f ms | %.3f ms | %+.3f ms | %.2f× |", ms(dc), ms(ec), ms(ec-dc), float64(ec-dc)/float64(dc))
				}
			} else {
				row += " — | — | — | — |"
			}
			fmt.Fprintln(out, row)
		}
	}
}

// runEdgeSmall measures the hop's added latency on a 4 KiB GET at
// concurrency 1.
func runEdgeSmall(ctx context.Context, direct *Client, cfg Config, emit func(Result)) []Result {
	var out []Result
	small := make([]byte, 4<<10)
	_, _ = rand.Read(small)
	const nSmall = 200
	for i := 0; i < nSmall; i++ {
		if code, _, err := direct.Do(ctx, http.MethodPut, fmt.Sprintf("/%s/edge-small/%04d", cfg.Bucket, i), nil, small); err != nil || code != 200 {
			fmt.Fprintf(cfg.Out, "edge phases skipped: seeding failed: %d %v\n", code, err)
			return nil
		}
	}
	getSmall := func(c *Client) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			code, _, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/%s/edge-small/%04d", cfg.Bucket, i%nSmall), nil, nil)
			if err == nil && code != 200 {
				err = fmt.Errorf("status %d", code)
			}
			return err
		}
	}
	for _, p := range []struct {
		name string
		c    *Client
	}{{"GET 4KiB c1 direct", direct}, {"GET 4KiB c1 via edge", cfg.Edge}} {
		r := cfg.phase(ctx, p.name, 1, 3000, cfg.Duration, 4<<10, getSmall(p.c))
		emit(r)
		out = append(out, r)
	}
	if len(out) == 2 {
		fmt.Fprintf(cfg.Out, "| edge hop adds          |      |         |               |                | %+8.2f ms | %+8.2f ms |   |\n",
			ms(out[1].P50-out[0].P50), ms(out[1].P99-out[0].P99))
	}
	return out
}

// MixedConfig shapes a mixed load: Concurrency workers, each putting an
// object of a random size in [MinSize, MaxSize] and reading it back, over
// and over, until Duration passes. Worker i uses Clients[i%len(Clients)]
// (e.g. an edge and the regional gateway directly).
type MixedConfig struct {
	Bucket           string
	Concurrency      int
	MinSize, MaxSize int
	Duration         time.Duration
	Clients          []*Client
	// Sample, when set, is called every second with the elapsed time
	// (e.g. to read the server's memory).
	Sample func(elapsed time.Duration)
}

// MixedResult counts what a mixed load did.
type MixedResult struct {
	Puts, Gets, Errors int64
	Bytes              int64
	Elapsed            time.Duration
	FirstErr           error
}

func (r MixedResult) String() string {
	return fmt.Sprintf("%d PUT + %d GET (%.1f MiB/s) in %s, %d errors",
		r.Puts, r.Gets, float64(r.Bytes)/(1<<20)/r.Elapsed.Seconds(), r.Elapsed.Round(time.Millisecond), r.Errors)
}

// Mixed runs a mixed PUT+GET load (the memory check: make memcheck). Every
// worker owns one payload buffer of MaxSize; a GET's body is read into a
// worker buffer and compared with what was put.
func Mixed(ctx context.Context, cfg MixedConfig) (MixedResult, error) {
	if cfg.Concurrency < 1 || len(cfg.Clients) == 0 || cfg.MinSize < 1 || cfg.MaxSize < cfg.MinSize {
		return MixedResult{}, fmt.Errorf("benchtool: bad mixed config")
	}
	if code, _, err := cfg.Clients[0].Do(ctx, http.MethodPut, "/"+cfg.Bucket, nil, nil); err != nil || (code != 200 && code != 409) {
		return MixedResult{}, fmt.Errorf("benchtool: create bucket: status %d: %v", code, err)
	}
	var puts, gets, errs, nbytes atomic.Int64
	var firstErr atomic.Pointer[error]
	fail := func(err error) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, &err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := cfg.Clients[w%len(cfg.Clients)]
			payload := make([]byte, cfg.MaxSize)
			_, _ = rand.Read(payload)
			got := make([]byte, cfg.MaxSize+1)
			seed := uint64(w)*0x9E3779B97F4A7C15 + 1
			for i := 0; ctx.Err() == nil; i++ {
				seed ^= seed << 13
				seed ^= seed >> 7
				seed ^= seed << 17
				size := cfg.MinSize + int(seed%uint64(cfg.MaxSize-cfg.MinSize+1))
				key := fmt.Sprintf("/%s/mixed/w%03d/%d", cfg.Bucket, w, i%8)
				code, _, err := c.Do(ctx, http.MethodPut, key, nil, payload[:size])
				if ctx.Err() != nil {
					return
				}
				if err != nil || code != 200 {
					fail(fmt.Errorf("PUT %s (%d B): %d %v", key, size, code, err))
					continue
				}
				puts.Add(1)
				nbytes.Add(int64(size))
				n, code, err := c.getInto(ctx, key, got)
				if ctx.Err() != nil {
					return
				}
				if err != nil || code != 200 || n != size || !bytes.Equal(got[:n], payload[:size]) {
					fail(fmt.Errorf("GET %s: %d, %d of %d B, %v", key, code, n, size, err))
					continue
				}
				gets.Add(1)
				nbytes.Add(int64(size))
			}
		}(w)
	}
	if cfg.Sample != nil {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		tick := time.NewTicker(time.Second)
	loop:
		for {
			select {
			case <-done:
				break loop
			case <-tick.C:
				cfg.Sample(time.Since(start))
			}
		}
		tick.Stop()
	}
	wg.Wait()
	r := MixedResult{Puts: puts.Load(), Gets: gets.Load(), Errors: errs.Load(), Bytes: nbytes.Load(), Elapsed: time.Since(start)}
	if p := firstErr.Load(); p != nil {
		r.FirstErr = *p
	}
	return r, nil
}

// getInto GETs path and reads the body into buf, returning its length.
func (c *Client) getInto(ctx context.Context, path string, buf []byte) (int, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoint+path, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
	if err := c.signer.SignHTTP(ctx, c.Creds, req, "UNSIGNED-PAYLOAD", "s3", c.Region, time.Now()); err != nil {
		return 0, 0, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.ReadFull(resp.Body, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return n, resp.StatusCode, err
}

package benchtool

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCompareTiers(t *testing.T) {
	const mib = 1 << 20
	tier := func(name string, cpu time.Duration) Result {
		return Result{Name: name, Ops: 10, Bytes: 100 * mib, Elapsed: 10 * time.Second, ServerCPU: cpu, Metered: true}
	}
	cases := []struct {
		name                string
		direct, https, edge time.Duration // https 0: no HTTPS direct tier
		idle                float64       // CPU seconds per second
		want, wantNot       []string
	}{
		{"net of idle", 600 * time.Millisecond, 0, 900 * time.Millisecond, 0.01,
			[]string{"| GET 16MiB | 1.00× | 5.000 ms | 8.000 ms | +3.000 ms | 0.60× |"}, []string{"not measured", "HTTPS direct"}},
		{"idle above the direct tier's CPU", 50 * time.Millisecond, 0, 900 * time.Millisecond, 0.01,
			[]string{"not measured: idle CPU ≥ the tier's CPU"}, []string{"Inf"}},
		{"https direct", 600 * time.Millisecond, 700 * time.Millisecond, 900 * time.Millisecond, 0.01,
			[]string{
				// The first table is unchanged by the third tier.
				"| tier comparison | edge/direct throughput | server CPU/MiB direct, net of idle | via edge | edge adds | added/direct |\n|---|---|---|---|---|---|\n" +
					"| GET 16MiB | 1.00× | 5.000 ms | 8.000 ms | +3.000 ms | 0.60× |\n",
				"| tier comparison (HTTPS direct) | edge/direct-https throughput | server CPU/MiB direct https, net of idle | via edge | edge adds vs https | added/direct-https |\n|---|---|---|---|---|---|\n" +
					"| GET 16MiB | 1.00× | 6.000 ms | 8.000 ms | +2.000 ms | 0.33× |\n",
			}, []string{"not measured"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			rs := []Result{tier("GET 16MiB direct (alt)", tc.direct), tier("GET 16MiB via edge", tc.edge)}
			if tc.https > 0 {
				rs = append(rs, tier("GET 16MiB direct https (alt)", tc.https))
			}
			compareTiers(&b, rs, tc.idle)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("got\n%s\nwant\n%s", b.String(), w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(b.String(), w) {
					t.Errorf("got\n%s\nwant no %q", b.String(), w)
				}
			}
		})
	}
}

// TestRunTiersThreeTiers: with DirectTLS, runTiers alternates three tiers,
// each on its own client, and emits a PUT and a GET row per tier.
func TestRunTiersThreeTiers(t *testing.T) {
	var mu sync.Mutex
	objects := map[string][]byte{}
	var order []string // which server served each slice's first request
	server := func(name string, hits *atomic.Int64) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			mu.Lock()
			if len(order) == 0 || order[len(order)-1] != name {
				order = append(order, name)
			}
			mu.Unlock()
			switch r.Method {
			case http.MethodPut:
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				objects[r.URL.Path] = b
				mu.Unlock()
			case http.MethodGet:
				mu.Lock()
				b, ok := objects[r.URL.Path]
				mu.Unlock()
				if !ok {
					http.NotFound(w, r)
					return
				}
				_, _ = w.Write(b)
			}
		}))
	}
	var nDirect, nHTTPS, nEdge atomic.Int64
	d, h, e := server("direct", &nDirect), server("https", &nHTTPS), server("edge", &nEdge)
	defer d.Close()
	defer h.Close()
	defer e.Close()
	client := func(s *httptest.Server) *Client { return NewClient(s.URL, "us-east-1", "AK", "SK", 2) }
	cfg := Config{Bucket: "b", Duration: 400 * time.Millisecond, Out: io.Discard, Edge: client(e), DirectTLS: client(h)}
	var names []string
	rs := runTiers(context.Background(), client(d), cfg, func(r Result) { names = append(names, r.Name) }, "1KiB", 1<<10, 2, 1<<20)
	want := []string{"PUT 1KiB direct (alt)", "PUT 1KiB direct https (alt)", "PUT 1KiB via edge",
		"GET 1KiB direct (alt)", "GET 1KiB direct https (alt)", "GET 1KiB via edge"}
	if strings.Join(names, ",") != strings.Join(want, ",") || len(rs) != len(want) {
		t.Fatalf("rows %q, want %q", names, want)
	}
	for _, r := range rs {
		if r.Ops == 0 || r.Errors != 0 {
			t.Errorf("%s: %d ops, %d errors", r.Name, r.Ops, r.Errors)
		}
	}
	if nDirect.Load() == 0 || nHTTPS.Load() == 0 || nEdge.Load() == 0 {
		t.Fatalf("requests: direct %d, https %d, edge %d", nDirect.Load(), nHTTPS.Load(), nEdge.Load())
	}
	// tierRounds rounds of three slices for each of PUT and GET.
	if len(order) != 2*tierRounds*3 || order[0] != "direct" || order[1] != "https" || order[2] != "edge" {
		t.Fatalf("slices served by %v, want direct, https, edge alternating", order)
	}
}

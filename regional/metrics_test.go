package regional_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meridian-s3/meridian/regional"
)

// The data path's counters (objectio.Stats) are in the Registry when one is
// set (the process serves it on its metrics listener), and move with traffic.
func TestDataPathMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := newWorldWith(t, func(c *regional.Config) { c.Registry = reg })
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	scrape := func(name string) float64 {
		t.Helper()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("%s not in /metrics:\n%s", name, body)
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if n := scrape("meridian_regional_dataio_shard_puts_total"); n != 0 {
		t.Fatalf("shard puts before any write = %v", n)
	}
	w.mustStatus(200, "PUT", "/metered", nil, nil)
	body := random(1 << 20) // above the inline threshold: erasure coded
	w.mustStatus(200, "PUT", "/metered/obj", body, nil)
	if n := scrape("meridian_regional_dataio_shard_puts_total"); n < 14 {
		t.Errorf("shard puts = %v, want ≥ 14 (10+4)", n)
	}
	if n := scrape("meridian_regional_dataio_bytes_written_total"); n != float64(len(body)) {
		t.Errorf("bytes written = %v, want %d", n, len(body))
	}
}

// A bucket named "metrics" is an ordinary bucket: the S3 listener serves no
// metrics of its own.
func TestMetricsIsABucketName(t *testing.T) {
	w := newWorldWith(t, func(c *regional.Config) { c.Registry = prometheus.NewRegistry() })
	w.mustStatus(200, "PUT", "/metrics", nil, nil)
	out := w.mustStatus(200, "GET", "/metrics", nil, nil)
	if !regexp.MustCompile(`<ListBucketResult`).Match(out) {
		t.Fatalf("GET /metrics is not a bucket listing: %.200s", out)
	}
}

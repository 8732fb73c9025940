package regional_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-s3/meridian/regional"
)

// The data path's counters (objectio.Stats) are on /metrics when a
// Registry is set, and move with traffic.
func TestDataPathMetrics(t *testing.T) {
	w := newWorldWith(t, func(c *regional.Config) { c.Registry = prometheus.NewRegistry() })
	scrape := func(name string) float64 {
		t.Helper()
		resp, err := http.Get(w.url + "/metrics")
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

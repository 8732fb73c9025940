package regional

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-s3/meridian/regional/objectio"
)

type metrics struct {
	requests *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, data DataPath) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "meridian_regional_request_seconds", Help: "S3 request latency at the regional gateway.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_regional_errors_total", Help: "S3 errors answered, by code.",
		}, []string{"code"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.errors)
		if st, ok := data.(statser); ok {
			reg.MustRegister(dataPathCollector(st))
		}
	}
	return m
}

func (m *metrics) observe(method string, d time.Duration) {
	m.requests.WithLabelValues(method).Observe(d.Seconds())
}

// statser is the optional capability of a DataPath that counts its shard
// traffic (objectio.Engine).
type statser interface{ Stats() objectio.Stats }

// dataPathCollector exports the data path's counters, one CounterFunc each,
// read at scrape time.
func dataPathCollector(st statser) prometheus.Collector {
	counters := []struct {
		name, help string
		get        func(objectio.Stats) int64
	}{
		{"shard_puts_total", "Shard Put calls (first attempts and rebuilds).", func(s objectio.Stats) int64 { return s.ShardPuts }},
		{"shard_put_failures_total", "Failed, stalled or mis-acknowledged shard Puts.", func(s objectio.Stats) int64 { return s.ShardPutFailures }},
		{"shards_rebuilt_total", "Shards rebuilt onto a replacement node during a write.", func(s objectio.Stats) int64 { return s.ShardsRebuilt }},
		{"rebuild_failures_total", "Failed shard rebuilds during a write.", func(s objectio.Stats) int64 { return s.RebuildFailures }},
		{"shard_gets_total", "Shard Get calls.", func(s objectio.Stats) int64 { return s.ShardGets }},
		{"shard_get_failures_total", "Failed, corrupt or hedged-out shard Gets.", func(s objectio.Stats) int64 { return s.ShardGetFailures }},
		{"read_windows_total", "Erasure windows decoded by reads.", func(s objectio.Stats) int64 { return s.ReadWindows }},
		{"reconstructed_windows_total", "Read windows that needed parity.", func(s objectio.Stats) int64 { return s.Reconstructed }},
		{"hedged_requests_total", "Extra shard requests started beyond k in a window.", func(s objectio.Stats) int64 { return s.Hedged }},
		{"bytes_written_total", "Object bytes written.", func(s objectio.Stats) int64 { return s.BytesWritten }},
		{"bytes_read_total", "Object bytes returned by reads.", func(s objectio.Stats) int64 { return s.BytesRead }},
		{"fresh_views_total", "Control-plane views read before a placement that would put two shards of a segment on one node.", func(s objectio.Stats) int64 { return s.FreshViews }},
		{"shared_placements_total", "Segments planned with two shards on one node (fewer healthy storage nodes than shards).", func(s objectio.Stats) int64 { return s.SharedPlacements }},
	}
	var cs collectors
	for _, c := range counters {
		get := c.get
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "meridian_regional_dataio_" + c.name, Help: c.help,
		}, func() float64 { return float64(get(st.Stats())) }))
	}
	return cs
}

// collectors is several collectors registered as one.
type collectors []prometheus.Collector

func (cs collectors) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range cs {
		c.Describe(ch)
	}
}

func (cs collectors) Collect(ch chan<- prometheus.Metric) {
	for _, c := range cs {
		c.Collect(ch)
	}
}

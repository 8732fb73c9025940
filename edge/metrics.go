package edge

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-s3/meridian/edge/bucketcache"
)

// metrics are the edge's Prometheus collectors. They exist (unregistered)
// when Config.Registry is nil, so the code never checks for nil.
type metrics struct {
	requests    *prometheus.HistogramVec // operation
	errors      *prometheus.CounterVec   // code: S3 errors the edge itself answered
	linkRetries prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, cache *bucketcache.Cache) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_edge_request_seconds",
			Help:    "S3 request latency at the edge, by operation (HTTP method).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_edge_errors_total",
			Help: "S3 errors answered by the edge itself (not relayed from a region), by code.",
		}, []string{"code"}),
		linkRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_edge_link_retries_total",
			Help: "Requests re-sent over the edge link after a region answered NoSuchBucket for a moved bucket.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	stat := func(name, help string, get func(bucketcache.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(get(cache.Stats())) })
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.errors, m.linkRetries,
		stat("meridian_edge_bucket_cache_hits_total", "Bucket lookups answered from the cache.",
			func(s bucketcache.Stats) uint64 { return s.Hits }),
		stat("meridian_edge_bucket_cache_misses_total", "Bucket lookups that went to the catalog.",
			func(s bucketcache.Stats) uint64 { return s.Misses }),
		stat("meridian_edge_bucket_cache_invalidations_total", "Bucket cache entries invalidated.",
			func(s bucketcache.Stats) uint64 { return s.Invalidations }),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(operation string, d time.Duration) {
	m.requests.WithLabelValues(operation).Observe(d.Seconds())
}

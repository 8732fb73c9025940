package regional

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests  *prometheus.HistogramVec
	errors    *prometheus.CounterVec
	reclaimed prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "meridian_regional_request_seconds", Help: "S3 request latency at the regional gateway.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_regional_errors_total", Help: "S3 errors answered, by code.",
		}, []string{"code"}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_regional_garbage_reclaimed_total", Help: "Garbage entries whose shards were deleted.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.errors, m.reclaimed)
	}
	return m
}

func (m *metrics) observe(method string, d time.Duration) {
	m.requests.WithLabelValues(method).Observe(d.Seconds())
}

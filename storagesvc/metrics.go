package storagesvc

import (
	"github.com/meridian-s3/meridian/storagesvc/shardstore"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node's Prometheus metrics. With no registry they are still
// updated but never exported.
type metrics struct {
	requests     *prometheus.CounterVec   // op, code
	latency      *prometheus.HistogramVec // op
	bytesIn      prometheus.Counter
	bytesOut     prometheus.Counter
	corrupt      prometheus.Counter
	heartbeatErr prometheus.Counter
	compacted    prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, nodeID string, store *shardstore.Store) *metrics {
	constLabels := prometheus.Labels{"node": nodeID}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "requests_total",
			Help: "Storage API requests by operation and result code.", ConstLabels: constLabels,
		}, []string{"op", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "request_seconds",
			Help:    "Storage API request latency by operation (PUT includes the fsync).",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16), ConstLabels: constLabels,
		}, []string{"op"}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "written_bytes_total",
			Help: "Shard bytes durably written.", ConstLabels: constLabels,
		}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "read_bytes_total",
			Help: "Verified shard bytes served.", ConstLabels: constLabels,
		}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "corrupt_total",
			Help: "Reads and verifies that found bytes failing their checksum.", ConstLabels: constLabels,
		}),
		heartbeatErr: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "heartbeat_errors_total",
			Help: "Failed heartbeats to the registrar.", ConstLabels: constLabels,
		}),
		compacted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "compaction_freed_bytes_total",
			Help: "Bytes of volume files removed by compaction.", ConstLabels: constLabels,
		}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut, m.corrupt, m.heartbeatErr, m.compacted,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "used_bytes",
			Help: "Bytes of all volume files.", ConstLabels: constLabels,
		}, func() float64 { return float64(store.Stats().UsedBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "live_bytes",
			Help: "Bytes of live records in volume files.", ConstLabels: constLabels,
		}, func() float64 { return float64(store.Stats().LiveBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "dead_bytes",
			Help: "Bytes of volume files held by deleted or replaced records (what compaction can free).", ConstLabels: constLabels,
		}, func() float64 { return float64(store.Stats().DeadBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "meridian", Subsystem: "storage", Name: "shards",
			Help: "Shards stored.", ConstLabels: constLabels,
		}, func() float64 { return float64(store.Stats().Shards) }),
	)
	return m
}

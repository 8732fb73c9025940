package background

import "github.com/prometheus/client_golang/prometheus"

// replMetrics are the replicator's series (docs/replication.md).
type replMetrics struct {
	ops         *prometheus.CounterVec   // bucket, rule, result (completed, failed)
	bytes       *prometheus.CounterVec   // bucket, rule
	lag         *prometheus.HistogramVec // bucket: source commit → destination commit
	sendSeconds prometheus.Histogram
	backlog     *prometheus.GaugeVec   // partition
	pending     *prometheus.GaugeVec   // bucket
	results     *prometheus.CounterVec // destination answer: created, exists
	retry       *prometheus.GaugeVec   // partition: retry list entries
	retryFull   prometheus.Counter     // steps that held the feed position because the retry list was full
}

func newReplMetrics(reg *prometheus.Registry) *replMetrics {
	m := &replMetrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_replication_operations_total",
			Help: "Replication copies by source bucket, rule and result (completed; failed attempts, retried).",
		}, []string{"bucket", "rule", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_replication_bytes_total", Help: "Object bytes replicated, by source bucket and rule.",
		}, []string{"bucket", "rule"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_replication_lag_seconds",
			Help:    "Replication lag: source commit to destination commit, by source bucket.",
			Buckets: []float64{.05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"bucket"}),
		sendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "meridian_replication_copy_seconds", Help: "Duration of one successful copy to a destination region.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meridian_replication_backlog_entries",
			Help: "Feed entries read but not yet acknowledged at the end of the replicator's last step, by partition (a lower bound while a batch is full).",
		}, []string{"partition"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meridian_replication_pending_versions",
			Help: "Versions and delete markers of a source bucket read from the change feed but not yet copied (in the retry list, or held before the feed position), over the partitions this process works on; a lower bound only while a retry list is full.",
		}, []string{"bucket"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_replication_destination_results_total",
			Help: "Destination answers to replication writes: created, or exists (the version id was already there).",
		}, []string{"result"}),
	}
	m.retry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meridian_replication_retry_entries",
		Help: "Failed copies in the partition's retry list (the feed position has passed them; each is retried with its own backoff).",
	}, []string{"partition"})
	m.retryFull = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "meridian_replication_retry_full_total",
		Help: "Replicator steps that held a partition's feed position because its retry list was full (ReplicationRetryMax).",
	})
	if reg != nil {
		reg.MustRegister(m.ops, m.bytes, m.lag, m.sendSeconds, m.backlog, m.pending, m.results, m.retry, m.retryFull)
	}
	return m
}

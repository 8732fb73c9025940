package background

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the background server's Prometheus series. Worker state and
// progress are read from the workers at scrape time (statusCollector).
type metrics struct {
	leasesHeld prometheus.Gauge
	items      *prometheus.CounterVec
	aborted    prometheus.Counter
	reclaimed  prometheus.Counter

	// Scrubber and healer.
	scrubVerified prometheus.Counter
	scrubFound    *prometheus.CounterVec // by kind: missing, corrupt
	healed        prometheus.Counter
	healFailures  prometheus.Counter
	rebuiltBytes  prometheus.Counter

	// Drainer (drain.go).
	drainMoved      prometheus.Counter
	drainMovedBytes prometheus.Counter
	drainFailures   prometheus.Counter

	// Lifecycle rules (lifecycle.go).
	lcExpired  prometheus.Counter
	lcVersions prometheus.Counter
	lcAborted  prometheus.Counter

	orphanScanned   prometheus.Counter
	orphansDeleted  prometheus.Counter
	orphanBytes     prometheus.Counter
	orphanNodeScans prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	m := &metrics{
		leasesHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meridian_background_leases_held", Help: "Partition leases this background server holds.",
		}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_background_items_total", Help: "Items handled by each worker.",
		}, []string{"worker"}),
		aborted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_background_janitor_aborted_total", Help: "Abandoned PREPAREs and part attempts aborted past their deadline.",
		}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_background_janitor_garbage_reclaimed_total", Help: "Garbage entries whose shards were deleted.",
		}),
		lcExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_background_lifecycle_expired_total", Help: "Objects expired by bucket lifecycle rules.",
		}),
		lcVersions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_background_lifecycle_versions_deleted_total", Help: "Noncurrent versions and expired delete markers removed by bucket lifecycle rules.",
		}),
		lcAborted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_background_lifecycle_uploads_aborted_total", Help: "Incomplete multipart uploads aborted by bucket lifecycle rules.",
		}),
		scrubVerified: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_scrub_shards_examined_total", Help: "Shards the scrubber examined (verified on their node, or judged missing).",
		}),
		scrubFound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_scrub_shards_damaged_total", Help: "Damaged shards the scrubber found, by kind (missing, corrupt).",
		}, []string{"kind"}),
		healed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_heal_shards_rebuilt_total", Help: "Shards rebuilt and swapped into their record.",
		}),
		healFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_heal_failures_total", Help: "Segment heals that failed (retried next pass).",
		}),
		rebuiltBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_heal_rebuilt_bytes_total", Help: "Shard bytes rebuilt by the healer.",
		}),
		drainMoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_drain_shards_moved_total", Help: "Shards moved off draining storage nodes (swapped into their record).",
		}),
		drainMovedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_drain_moved_bytes_total", Help: "Bytes of the shards moved off draining storage nodes.",
		}),
		drainFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_drain_failures_total", Help: "Segment moves off a draining node that failed (retried next pass).",
		}),
		orphanScanned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_background_janitor_orphan_shards_scanned_total", Help: "Shards listed by the orphan scan.",
		}),
		orphansDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_background_janitor_orphans_deleted_total", Help: "Unreferenced shards older than the orphan minimum age deleted.",
		}),
		orphanBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_background_janitor_orphan_bytes_deleted_total", Help: "Bytes of the orphan shards deleted.",
		}),
		orphanNodeScans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_background_janitor_orphan_node_scans_total", Help: "Complete (or failed) orphan scans of a storage node.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.leasesHeld, m.items, m.aborted, m.reclaimed, m.lcExpired, m.lcVersions, m.lcAborted, statusCollector{s},
			m.orphanScanned, m.orphansDeleted, m.orphanBytes, m.orphanNodeScans,
			m.scrubVerified, m.scrubFound, m.healed, m.healFailures, m.rebuiltBytes, durabilityCollector{s},
			m.drainMoved, m.drainMovedBytes, m.drainFailures)
	}
	return m
}

var (
	descDurObjects = prometheus.NewDesc("meridian_durability_objects",
		"Objects by redundancy class (full, degraded, at_risk, lost) as of the last complete scrub pass of the partitions this process holds; sum over background processes for the region.",
		[]string{"bucket", "class"}, nil)
	descDurBytes = prometheus.NewDesc("meridian_durability_bytes",
		"Object bytes by redundancy class, as meridian_durability_objects.", []string{"bucket", "class"}, nil)
	descDurNotTolerant = prometheus.NewDesc("meridian_durability_not_az_tolerant_objects",
		"Objects that would lose data if their most loaded AZ were lost.", []string{"bucket"}, nil)
	descHealQueue = prometheus.NewDesc("meridian_heal_queue_depth",
		"Damaged shards found in the current scrub passes and not yet healed.", nil, nil)
	descScrubLast = prometheus.NewDesc("meridian_scrub_last_complete_pass_timestamp_seconds",
		"End of the oldest last complete scrub pass over the partitions held (0: some have none).", nil, nil)
	descScrubProgress = prometheus.NewDesc("meridian_scrub_pass_records",
		"Records scrubbed in the current passes of the partitions held.", nil, nil)
)

// durabilityCollector exports the scrubber's per-partition reports of the
// partitions this process holds.
type durabilityCollector struct{ s *Server }

func (c durabilityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDurObjects, descDurBytes, descDurNotTolerant, descHealQueue, descScrubLast, descScrubProgress} {
		ch <- d
	}
}

func (c durabilityCollector) Collect(ch chan<- prometheus.Metric) {
	reps := c.s.ScrubReports()
	if reps == nil {
		return
	}
	buckets := map[string]*ClassCounts{}
	var queue, inPass int64
	oldest := time.Time{}
	complete := true
	for _, r := range reps {
		queue += r.Pending
		inPass += r.Current.Records
		src := &r.Current
		if r.Last != nil {
			src = r.Last
			if oldest.IsZero() || r.LastEnded.Before(oldest) {
				oldest = r.LastEnded
			}
		} else {
			complete = false
		}
		for b, d := range src.Buckets {
			name := BucketName(b)
			t := buckets[name]
			if t == nil {
				t = &ClassCounts{}
				buckets[name] = t
			}
			t.add(d.Objects)
		}
	}
	for b, cc := range buckets {
		for cl := Class(0); cl < numClasses; cl++ {
			ch <- prometheus.MustNewConstMetric(descDurObjects, prometheus.GaugeValue, float64(cc.Count[cl]), b, cl.String())
			ch <- prometheus.MustNewConstMetric(descDurBytes, prometheus.GaugeValue, float64(cc.Bytes[cl]), b, cl.String())
		}
		ch <- prometheus.MustNewConstMetric(descDurNotTolerant, prometheus.GaugeValue, float64(cc.NotTolerant), b)
	}
	ch <- prometheus.MustNewConstMetric(descHealQueue, prometheus.GaugeValue, float64(queue))
	last := 0.0
	if complete && !oldest.IsZero() {
		last = float64(oldest.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(descScrubLast, prometheus.GaugeValue, last)
	ch <- prometheus.MustNewConstMetric(descScrubProgress, prometheus.GaugeValue, float64(inPass))
}

var (
	descState = prometheus.NewDesc("meridian_background_worker_state",
		"1 for the worker's current state (idle, running, paused, failed), 0 for the others.", []string{"worker", "state"}, nil)
	descDone = prometheus.NewDesc("meridian_background_worker_done",
		"Items the worker handled since this process started.", []string{"worker"}, nil)
	descPasses = prometheus.NewDesc("meridian_background_worker_passes",
		"Passes the worker completed since this process started.", []string{"worker"}, nil)
	descRate = prometheus.NewDesc("meridian_background_worker_rate",
		"Items per second over the worker's last pass.", []string{"worker"}, nil)
	descPartitions = prometheus.NewDesc("meridian_background_worker_partitions",
		"Partitions the worker works on (leased by this process).", []string{"worker"}, nil)
	descLastPass = prometheus.NewDesc("meridian_background_worker_last_pass_timestamp_seconds",
		"End of the worker's last completed pass (0: none yet).", []string{"worker"}, nil)
)

// statusCollector exports every worker's Status at scrape time.
type statusCollector struct{ s *Server }

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descDone, descPasses, descRate, descPartitions, descLastPass} {
		ch <- d
	}
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.s.Workers() {
		for _, s := range States {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, st.Name, string(s))
		}
		ch <- prometheus.MustNewConstMetric(descDone, prometheus.GaugeValue, float64(st.Done), st.Name)
		ch <- prometheus.MustNewConstMetric(descPasses, prometheus.GaugeValue, float64(st.Passes), st.Name)
		ch <- prometheus.MustNewConstMetric(descRate, prometheus.GaugeValue, st.Rate, st.Name)
		ch <- prometheus.MustNewConstMetric(descPartitions, prometheus.GaugeValue, float64(len(st.Partitions)), st.Name)
		last := 0.0
		if !st.LastPass.IsZero() {
			last = float64(st.LastPass.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descLastPass, prometheus.GaugeValue, last, st.Name)
	}
}

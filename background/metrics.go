package background

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the background server's Prometheus series. Worker state and
// progress are read from the workers at scrape time (statusCollector).
type metrics struct {
	leasesHeld prometheus.Gauge
	items      *prometheus.CounterVec
	aborted    prometheus.Counter
	reclaimed  prometheus.Counter
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
	}
	if reg != nil {
		reg.MustRegister(m.leasesHeld, m.items, m.aborted, m.reclaimed, statusCollector{s})
	}
	return m
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

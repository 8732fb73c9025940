package metasvc

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node's Prometheus collectors. They exist (unregistered)
// when no registry is configured, so the code never checks for nil.
type metrics struct {
	azLossTolerant prometheus.Gauge
	ctlLeader      prometheus.Gauge
	rpcs           *prometheus.CounterVec   // op, code
	rpcSeconds     *prometheus.HistogramVec // op
	raftApply      *prometheus.HistogramVec // group: propose → applied (leader)
	fsmApply       *prometheus.HistogramVec // group: state machine apply
	verifyRounds   prometheus.Counter
	heartbeats     prometheus.Counter
	registrations  prometheus.Counter
	appendsSkipped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		azLossTolerant: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meridian_region_az_loss_tolerant",
			Help: "1 if the region's healthy storage nodes span enough AZs to lose one (invariant 5); authoritative on the control-plane leader (meridian_meta_ctl_leader=1), 0 elsewhere.",
		}),
		ctlLeader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meridian_meta_ctl_leader",
			Help: "1 while this node leads the region control plane.",
		}),
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_meta_rpc_total",
			Help: "Meta node RPCs by operation and HTTP status.",
		}, []string{"op", "code"}),
		rpcSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_meta_rpc_seconds",
			Help:    "Meta node RPC latency by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"op"}),
		raftApply: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_meta_raft_apply_seconds",
			Help:    "Time from proposing a command to its application on the leader.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"group"}),
		fsmApply: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_meta_fsm_apply_seconds",
			Help:    "Time the partition state machine spends applying one command.",
			Buckets: prometheus.ExponentialBuckets(0.000005, 2, 16),
		}, []string{"group"}),
		verifyRounds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_meta_verify_leader_rounds_total",
			Help: "VerifyLeader rounds run for linearizable reads (concurrent reads share a round).",
		}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_meta_ctl_heartbeats_total",
			Help: "Storage node heartbeats accepted by this node as control-plane leader.",
		}),
		registrations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_meta_ctl_registrations_total",
			Help: "Storage node (re-)registrations written through Raft by this node.",
		}),
		appendsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meridian_meta_raft_appends_skipped_total",
			Help: "Pipelined AppendEntries not sent because they carried nothing new to the follower (idle commit-index repeats; quietpipe.go).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.azLossTolerant, m.ctlLeader, m.rpcs, m.rpcSeconds, m.raftApply, m.fsmApply, m.verifyRounds, m.heartbeats, m.registrations, m.appendsSkipped} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

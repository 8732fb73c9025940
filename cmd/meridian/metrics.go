package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

func metricsFlag(fs *flag.FlagSet) *string {
	return fs.String("metrics-listen", "", "host:port serving Prometheus metrics on /metrics, and /healthz and /readyz (default: off)")
}

// health answers /healthz (the process serves HTTP) and /readyz (the role's
// server is ready) on the metrics listener. The S3 listeners answer
// neither: every path there belongs to buckets.
type health struct {
	ready atomic.Pointer[func() bool]
}

// readyWhen sets the role's readiness check; until then /readyz is 503.
func (h *health) readyWhen(f func() bool) { h.ready.Store(&f) }

func (h *health) serveReady(w http.ResponseWriter, _ *http.Request) {
	if f := h.ready.Load(); f != nil && (*f)() {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}

// closed reports whether ch is closed (a server's Ready channel).
func closed(ch <-chan struct{}) func() bool {
	return func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
}

// startMetrics serves reg on addr until ctx ends, with h's health
// endpoints; "" serves nothing and returns a nil registry. The registry
// includes the Go runtime's metrics.
func startMetrics(ctx context.Context, addr string, log *slog.Logger, h *health) (*prometheus.Registry, error) {
	if addr == "" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := serveGatherer(ctx, addr, reg, log, h); err != nil {
		return nil, err
	}
	return reg, nil
}

// startPprof serves Go's profiles on addr until ctx ends; "" serves nothing.
func startPprof(ctx context.Context, addr string) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	return nil
}

// nodeRegistries holds one metrics registry per node of an in-process
// deployment (`meridian dev`) and gathers them all, each metric labelled
// with its region and node, plus the process's own Go and process metrics.
type nodeRegistries struct {
	mu    sync.Mutex
	nodes []labelledGatherer
	proc  *prometheus.Registry
}

type labelledGatherer struct {
	g      prometheus.Gatherer
	labels []*dto.LabelPair
}

func newNodeRegistries() *nodeRegistries {
	proc := prometheus.NewRegistry()
	proc.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &nodeRegistries{proc: proc}
}

// For returns a new registry for node of region.
func (n *nodeRegistries) For(region, node string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	r, nd := region, node
	n.mu.Lock()
	n.nodes = append(n.nodes, labelledGatherer{g: reg, labels: []*dto.LabelPair{{Name: strPtr("node"), Value: &nd}, {Name: strPtr("region"), Value: &r}}})
	n.mu.Unlock()
	return reg
}

func strPtr(s string) *string { return &s }

// Gather implements prometheus.Gatherer.
func (n *nodeRegistries) Gather() ([]*dto.MetricFamily, error) {
	n.mu.Lock()
	gs := prometheus.Gatherers{n.proc}
	for _, lg := range n.nodes {
		gs = append(gs, lg)
	}
	n.mu.Unlock()
	return gs.Gather()
}

// Gather returns the node's families with its labels added to every metric.
func (l labelledGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := l.g.Gather()
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			for _, lp := range l.labels {
				if !slices.ContainsFunc(m.Label, func(x *dto.LabelPair) bool { return x.GetName() == lp.GetName() }) {
					m.Label = append(m.Label, lp) // a part's own const label (storage's node) wins
				}
			}
			sort.Slice(m.Label, func(i, j int) bool { return m.Label[i].GetName() < m.Label[j].GetName() })
		}
	}
	return mfs, err
}

// serveGatherer serves g on addr until ctx ends, with h's health endpoints.
func serveGatherer(ctx context.Context, addr string, g prometheus.Gatherer, log *slog.Logger, h *health) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /readyz", h.serveReady)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics listener stopped", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	return nil
}

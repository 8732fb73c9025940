package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestHealthOnMetricsListener: /healthz answers at once, /readyz only once
// the role's server is ready; both live on the metrics listener.
func TestHealthOnMetricsListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &health{}
	if _, err := startMetrics(ctx, addr, slog.New(slog.DiscardHandler), h); err != nil {
		t.Fatal(err)
	}
	status := func(path string) int {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/healthz"); got != 200 {
		t.Errorf("/healthz: %d", got)
	}
	if got := status("/readyz"); got != 503 {
		t.Errorf("/readyz before readyWhen: %d", got)
	}
	ready := make(chan struct{})
	h.readyWhen(closed(ready))
	if got := status("/readyz"); got != 503 {
		t.Errorf("/readyz before ready: %d", got)
	}
	close(ready)
	if got := status("/readyz"); got != 200 {
		t.Errorf("/readyz when ready: %d", got)
	}
	if got := status("/metrics"); got != 200 {
		t.Errorf("/metrics: %d", got)
	}
}

// `meridian dev --metrics-listen`: every node's metrics in one gather, each
// labelled with its region and node; a part's own node label is kept.
func TestNodeRegistriesLabelEveryNode(t *testing.T) {
	regs := newNodeRegistries()
	for _, n := range []struct{ region, node string }{{"r1", "meta-a"}, {"r2", "meta-a"}} {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
		c.Add(float64(len(n.region)))
		regs.For(n.region, n.node).MustRegister(c)
	}
	own := prometheus.NewGauge(prometheus.GaugeOpts{Name: "y", Help: "y", ConstLabels: prometheus.Labels{"node": "storage-a1"}})
	regs.For("r1", "ignored").MustRegister(own)
	mfs, err := regs.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			got[mf.GetName()] = append(got[mf.GetName()], strings.Join(ls, ","))
		}
	}
	slices.Sort(got["x_total"])
	if want := []string{"node=meta-a,region=r1", "node=meta-a,region=r2"}; !slices.Equal(got["x_total"], want) {
		t.Fatalf("x_total labels %v, want %v", got["x_total"], want)
	}
	if want := []string{"node=storage-a1,region=r1"}; !slices.Equal(got["y"], want) {
		t.Fatalf("y labels %v, want %v", got["y"], want)
	}
	if len(got["go_goroutines"]) != 1 {
		t.Fatalf("process metrics missing: %v", got["go_goroutines"])
	}
}

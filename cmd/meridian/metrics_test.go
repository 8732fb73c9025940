package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
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

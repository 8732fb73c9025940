package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// obsFlags are a role's logging, tracing and metrics flags.
type obsFlags struct{ level, trace, metrics *string }

// observabilityFlags declares --log-level (default level), and --trace and
// --metrics-listen where the role has them.
func observabilityFlags(fs *flag.FlagSet, level string, tracing, metrics bool) obsFlags {
	f := obsFlags{level: fs.String("log-level", level, "debug|info|warn|error")}
	if tracing {
		f.trace = traceFlag(fs)
	}
	if metrics {
		f.metrics = metricsFlag(fs)
	}
	return f
}

// roleObs is what a role's servers are given: a logger, a tracer provider
// (noop without --trace) and a metrics registry (nil without --metrics-listen).
type roleObs struct {
	log      *slog.Logger
	tracer   trace.TracerProvider
	registry *prometheus.Registry
	health   *health // /healthz and /readyz on the metrics listener
	stop     func()
}

// readyWhen makes /readyz answer 200 once f reports the role's server ready.
func (o roleObs) readyWhen(f func() bool) { o.health.readyWhen(f) }

// start builds them after flag parsing; stop flushes traces.
func (f obsFlags) start(ctx context.Context, role string) (roleObs, error) {
	o := roleObs{stop: func() {}, health: &health{}}
	var err error
	if o.log, err = newLogger(*f.level); err != nil {
		return o, err
	}
	exporter := "none"
	if f.trace != nil {
		exporter = *f.trace
	}
	if o.tracer, o.stop, err = newTracer(role, exporter); err != nil {
		return o, err
	}
	if f.metrics != nil {
		if o.registry, err = startMetrics(ctx, *f.metrics, o.log, o.health); err != nil {
			o.stop()
			return o, err
		}
	}
	return o, nil
}

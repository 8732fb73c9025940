package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/internal/telemetry"
)

// traceFlag adds --trace to a role's flags.
func traceFlag(fs *flag.FlagSet) *string {
	return fs.String("trace", "none", "span exporter: none|stdout (JSON spans on stdout)")
}

// newTracer builds the role's tracer provider; the returned stop flushes
// buffered spans.
func newTracer(role, exporter string) (trace.TracerProvider, func(), error) {
	exp, err := telemetry.ParseExporter(exporter)
	if err != nil {
		return nil, nil, err
	}
	cfg := telemetry.DefaultConfig()
	cfg.ServiceName = "meridian-" + role
	cfg.Exporter = exp
	cfg.Writer = os.Stdout
	tp, shutdown, err := telemetry.NewTracerProvider(cfg)
	if err != nil {
		return nil, nil, err
	}
	return tp, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "meridian: flushing spans:", err)
		}
	}, nil
}

package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Exporter names where finished spans go.
type Exporter string

const (
	// ExporterNone disables tracing (the noop provider).
	ExporterNone Exporter = "none"
	// ExporterStdout writes spans as JSON lines to Config.Writer.
	ExporterStdout Exporter = "stdout"
)

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("telemetry: invalid config")

// Config configures a tracer provider.
type Config struct {
	// ServiceName is the service.name resource attribute (e.g. "meridian-edge").
	ServiceName string
	// Exporter is "none" (default when empty) or "stdout".
	Exporter Exporter
	// Writer receives the stdout exporter's output; nil is os.Stdout.
	Writer io.Writer
	// SampleRatio is the fraction of new traces sampled, in [0, 1]; a span
	// whose parent was sampled is always sampled (ParentBased).
	SampleRatio float64
}

// DefaultConfig: tracing off, every trace sampled when turned on.
func DefaultConfig() Config {
	return Config{ServiceName: "meridian", Exporter: ExporterNone, SampleRatio: 1}
}

// ParseExporter maps a flag value to an Exporter.
func ParseExporter(s string) (Exporter, error) {
	switch Exporter(s) {
	case "", ExporterNone:
		return ExporterNone, nil
	case ExporterStdout:
		return ExporterStdout, nil
	}
	return "", fmt.Errorf("%w: unknown exporter %q (want none or stdout)", ErrConfig, s)
}

// Validate checks the config.
func (c Config) Validate() error {
	if _, err := ParseExporter(string(c.Exporter)); err != nil {
		return err
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		return fmt.Errorf("%w: SampleRatio %v not in [0, 1]", ErrConfig, c.SampleRatio)
	}
	if c.Exporter == ExporterStdout && c.ServiceName == "" {
		return fmt.Errorf("%w: ServiceName is required", ErrConfig)
	}
	return nil
}

// NewTracerProvider returns the provider for cfg and its shutdown function,
// which flushes buffered spans and is safe to call more than once.
func NewTracerProvider(cfg Config) (trace.TracerProvider, func(context.Context) error, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if cfg.Exporter == "" || cfg.Exporter == ExporterNone {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	w := cfg.Writer
	if w == nil {
		w = os.Stdout
	}
	exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: stdout exporter: %w", err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(cfg.ServiceName))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return tp, tp.Shutdown, nil
}

// Provider returns tp, or the noop provider when tp is nil.
func Provider(tp trace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return noop.NewTracerProvider()
	}
	return tp
}

// propagator is the W3C trace-context propagator. It is a stateless value
// (an empty struct), not mutable state.
var propagator propagation.TraceContext

// Inject writes ctx's span context into h as traceparent/tracestate. It
// writes nothing when ctx carries no valid span context.
func Inject(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Extract returns ctx with the remote span context carried by h, if any.
func Extract(ctx context.Context, h http.Header) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

package telemetry

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestInjectExtractRoundTrip(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	ctx, span := tp.Tracer("test").Start(context.Background(), "client")
	h := http.Header{}
	Inject(ctx, h)
	tp0 := h.Get("traceparent")
	if !strings.HasPrefix(tp0, "00-"+span.SpanContext().TraceID().String()+"-"+span.SpanContext().SpanID().String()) {
		t.Fatalf("traceparent %q does not carry span %v", tp0, span.SpanContext())
	}
	got := trace.SpanContextFromContext(Extract(context.Background(), h))
	if !got.IsRemote() || got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() || !got.IsSampled() {
		t.Fatalf("extracted %+v, want remote copy of %+v", got, span.SpanContext())
	}
	// A server span started from the extracted context is the client's child.
	_, child := tp.Tracer("test").Start(Extract(context.Background(), h), "server")
	child.End()
	span.End()
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Parent().SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("server span parent = %v, want %v", spans[0].Parent().SpanID(), span.SpanContext().SpanID())
	}
}

func TestInjectWithoutSpanWritesNothing(t *testing.T) {
	h := http.Header{}
	Inject(context.Background(), h)
	if len(h) != 0 {
		t.Fatalf("headers %v, want none", h)
	}
	h.Set("traceparent", "garbage")
	if sc := trace.SpanContextFromContext(Extract(context.Background(), h)); sc.IsValid() {
		t.Fatalf("extracted %v from a malformed traceparent", sc)
	}
}

func TestNewTracerProvider(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		wantErr  bool
		wantJSON bool
	}{
		{"none", Config{Exporter: ExporterNone}, false, false},
		{"empty is none", Config{}, false, false},
		{"stdout", Config{ServiceName: "svc", Exporter: ExporterStdout, SampleRatio: 1}, false, true},
		{"stdout unsampled", Config{ServiceName: "svc", Exporter: ExporterStdout, SampleRatio: 0}, false, false},
		{"unknown exporter", Config{Exporter: "jaeger"}, true, false},
		{"ratio too big", Config{Exporter: ExporterNone, SampleRatio: 2}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.cfg.Writer = &buf
			tp, shutdown, err := NewTracerProvider(tc.cfg)
			if tc.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, span := tp.Tracer("test").Start(context.Background(), "op-name")
			span.End()
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := shutdown(context.Background()); err != nil {
				t.Fatalf("second shutdown: %v", err)
			}
			if got := strings.Contains(buf.String(), `"Name":"op-name"`); got != tc.wantJSON {
				t.Fatalf("span in output = %v, want %v; output %q", got, tc.wantJSON, buf.String())
			}
			if tc.wantJSON && !strings.Contains(buf.String(), `"svc"`) {
				t.Fatalf("service name missing from %q", buf.String())
			}
		})
	}
}

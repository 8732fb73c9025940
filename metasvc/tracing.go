package metasvc

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/internal/telemetry"
)

const tracerName = "github.com/meridian-s3/meridian/metasvc"

// traced wraps the RPC handler: it extracts the caller's trace context
// (metaclient injects it) and starts a server span per RPC, named by the
// route pattern once the mux has matched it. With tracing off the request
// passes through untouched.
func (s *Server) traced(next http.Handler) http.Handler {
	tr := telemetry.Provider(s.cfg.TracerProvider).Tracer(tracerName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tr.Start(telemetry.Extract(r.Context(), r.Header), "metasvc "+r.Method,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("meta.node", s.cfg.NodeID)))
		if !span.IsRecording() {
			span.End()
			next.ServeHTTP(w, r)
			return
		}
		defer span.End()
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(ctx)
		next.ServeHTTP(sw, r) // the mux sets r.Pattern
		if r.Pattern != "" {
			span.SetName("metasvc " + r.Pattern)
		}
		if n := r.PathValue("n"); n != "" {
			span.SetAttributes(attribute.String("meta.partition", "p"+n))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", sw.code()))
		if sw.code() >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.code()))
		}
	})
}

// startApplyWait starts the span that covers a Raft Apply: propose,
// replicate to a quorum, apply on the leader.
func startApplyWait(ctx context.Context, g *group) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(tracerName).Start(ctx, "raft.Apply",
		trace.WithAttributes(attribute.String("meta.group", g.name)))
}

// endApplyWait ends the Raft Apply span with its outcome.
func endApplyWait(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// statusWriter records the status a handler answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

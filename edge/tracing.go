package edge

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/telemetry"
)

const tracerName = "github.com/meridian-s3/meridian/edge"

// startSpan starts the server span of one S3 request (a child of the
// client's traceparent, if it sent one) and returns the request carrying
// it, so the edge-link request (proxy.go) is injected with it.
func (s *Server) startSpan(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, trace.Span) {
	ctx, span := s.tracer.Start(telemetry.Extract(r.Context(), r.Header), "edge "+r.Method,
		trace.WithSpanKind(trace.SpanKindServer))
	if !span.IsRecording() {
		return w, r, span
	}
	return &statusWriter{ResponseWriter: w}, r.WithContext(ctx), span
}

// endSpan records the request's outcome and ends its span.
func endSpan(span trace.Span, w http.ResponseWriter, req *request) {
	if span.IsRecording() {
		span.SetAttributes(attribute.String("s3.bucket", req.bucket), attribute.String("s3.key", req.key),
			attribute.String("s3.request_id", req.id))
		if sw, ok := w.(*statusWriter); ok {
			span.SetAttributes(attribute.Int("http.response.status_code", sw.code()))
			if sw.code() >= 500 {
				span.SetStatus(codes.Error, http.StatusText(sw.code()))
			}
		}
	}
	span.End()
}

// traceError records the S3 error code the edge answered.
func traceError(req *request, e *s3err.Error) {
	trace.SpanFromContext(req.r.Context()).SetAttributes(attribute.String("s3.error_code", string(e.Code)))
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

// Flush keeps relayed bodies streaming.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

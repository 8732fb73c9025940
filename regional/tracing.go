package regional

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3route"
	"github.com/meridian-s3/meridian/internal/telemetry"
)

// Span attribute keys of an S3 request span (shared spelling with edge).
const (
	attrBucket    = attribute.Key("s3.bucket")
	attrKey       = attribute.Key("s3.key")
	attrRequestID = attribute.Key("s3.request_id")
	attrErrorCode = attribute.Key("s3.error_code")
	attrStatus    = attribute.Key("http.response.status_code")
)

const tracerName = "github.com/meridian-s3/meridian/regional"

// startSpan starts the server span of one S3 request, as the child of the
// trace context the caller (an edge) sent, and returns the request carrying
// it and the writer to answer through. With tracing off (the noop
// provider) it returns r and w unchanged.
func (g *Gateway) startSpan(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, trace.Span) {
	ctx := telemetry.Extract(r.Context(), r.Header)
	ctx, span := g.tracer.Start(ctx, "S3 "+r.Method, trace.WithSpanKind(trace.SpanKindServer))
	if !span.IsRecording() {
		return w, r, span
	}
	return &statusWriter{ResponseWriter: w}, r.WithContext(ctx), span
}

// endSpan names the span after the request's S3 operation and records
// the request's outcome.
func endSpan(span trace.Span, w http.ResponseWriter, req *request) {
	if !span.IsRecording() {
		span.End()
		return
	}
	if req.op != s3route.Unknown {
		span.SetName(req.op.String())
	}
	span.SetAttributes(attrBucket.String(req.bucket), attrKey.String(req.key), attrRequestID.String(req.id))
	if sw, ok := w.(*statusWriter); ok {
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		span.SetAttributes(attrStatus.Int(status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	span.End()
}

// traceError records the S3 error code answered on the request's span.
func traceError(req *request, e *s3err.Error) {
	trace.SpanFromContext(req.r.Context()).SetAttributes(attrErrorCode.String(string(e.Code)))
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

// Flush keeps streaming responses streaming.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

package metaclient

import (
	"context"
	"errors"
	"path"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

const tracerName = "github.com/meridian-s3/meridian/metasvc/metaclient"

// startAttempt starts the client span of one RPC attempt: group ("p3",
// "ctl"), operation (the path's last element: apply, get, status …), the
// address tried, and the attempt number.
func (c *Client) startAttempt(ctx context.Context, group, p, addr string, attempt int) (context.Context, trace.Span) {
	op := path.Base(p)
	return c.tr.Start(ctx, "metaclient."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("meta.partition", group),
			attribute.String("meta.op", op),
			attribute.String("meta.leader_addr", addr),
			attribute.Int("meta.attempt", attempt),
		))
}

// recordStatus records the HTTP status the meta node answered.
func recordStatus(ctx context.Context, status int) {
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("http.response.status_code", status))
}

// endAttempt records the attempt's result code and ends its span.
func endAttempt(span trace.Span, err error) {
	if span.IsRecording() {
		result := "ok"
		var re *ResultError
		var rt errRetry
		switch {
		case err == nil:
		case errors.As(err, &re):
			result = string(re.Code)
		case errors.As(err, &rt):
			result = "retry"
		default:
			result = "error"
		}
		span.SetAttributes(attribute.String("meta.result", result))
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
}

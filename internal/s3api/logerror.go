package s3api

import (
	"context"
	"log/slog"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// LogError logs one error answer at the level its cause deserves: a client
// that went away (the request's context ended) is a cancellation, logged at
// INFO whatever error it caused downstream; the client's mistakes (4xx) and
// NotImplemented are INFO; only the server's own failures (other 5xx) are
// ERROR.
func LogError(ctx context.Context, log *slog.Logger, err error, e *s3err.Error) {
	switch {
	case ctx.Err() != nil:
		log.Info("request cancelled by the client", "err", err, "code", e.Code)
	case e.Status >= 500 && e.Code != s3err.NotImplemented:
		log.Error("request failed", "err", err, "code", e.Code, "status", e.Status)
	default:
		log.Info("request rejected", "err", err, "code", e.Code, "status", e.Status)
	}
}

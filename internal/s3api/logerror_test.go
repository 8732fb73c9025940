package s3api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func TestLogErrorLevels(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name  string
		ctx   context.Context
		err   error
		level string
		msg   string
	}{
		{"client error", context.Background(), s3err.New(s3err.AccessDenied), "INFO", "request rejected"},
		{"not found", context.Background(), s3err.New(s3err.NoSuchKey), "INFO", "request rejected"},
		{"not implemented", context.Background(), s3err.New(s3err.NotImplemented), "INFO", "request rejected"},
		{"server failure", context.Background(), errors.New("disk on fire"), "ERROR", "request failed"},
		{"unavailable", context.Background(), s3err.New(s3err.ServiceUnavailable), "ERROR", "request failed"},
		{"client went away", cancelled, errors.New("region unreachable: context canceled"), "INFO", "request cancelled by the client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			e := s3err.As(c.err)
			LogError(c.ctx, log, c.err, e)
			line := buf.String()
			if !strings.Contains(line, "level="+c.level) || !strings.Contains(line, `msg="`+c.msg+`"`) {
				t.Fatalf("logged %q, want level %s msg %q", line, c.level, c.msg)
			}
		})
	}
}

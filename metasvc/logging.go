package metasvc

import (
	"context"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// hclogFor returns an hclog.Logger for hashicorp/raft that forwards lines at
// or above level to log.
func hclogFor(log *slog.Logger, name string, level slog.Level) hclog.Logger {
	hl := hclog.Warn
	switch {
	case level <= slog.LevelDebug:
		hl = hclog.Debug
	case level <= slog.LevelInfo:
		hl = hclog.Info
	case level <= slog.LevelWarn:
		hl = hclog.Warn
	default:
		hl = hclog.Error
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:        name,
		Level:       hl,
		Output:      slogWriter{log: log},
		DisableTime: true,
	})
}

type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	lvl := slog.LevelInfo
	switch {
	case strings.Contains(line, "transport shutdown"):
		// Raft reports its own transport closing during a clean shutdown as
		// an error; only hclog's text is available to tell it apart.
		lvl = slog.LevelDebug
	case strings.Contains(line, "[ERROR]"):
		lvl = slog.LevelError
	case strings.Contains(line, "[WARN]"):
		lvl = slog.LevelWarn
	case strings.Contains(line, "[DEBUG]"), strings.Contains(line, "[TRACE]"):
		lvl = slog.LevelDebug
	}
	w.log.Log(context.Background(), lvl, line)
	return len(p), nil
}

package regional

import (
	"log/slog"
	"reflect"
	"runtime"
	"strings"
	"time"
)

func (g *Gateway) logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// handlerName names a method value such as g.putObject.
func handlerName(g *Gateway, h handler) string {
	name := runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name()
	name = name[strings.LastIndex(name, ".")+1:]
	return strings.TrimSuffix(name, "-fm")
}

func timeAt(ns int64) time.Time { return time.Unix(0, 1_700_000_000_000_000_000+ns) }

package background

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// stallContext bounds a copy by its progress, not its length: the returned
// context is cancelled when idle passes without a byte of the body taken
// by the link (wrap the body with the returned function) — or, once the
// body is sent, without an answer. A total deadline per copy cannot know
// the copy's share of the link: with 16 copies of 16 MiB in flight across
// 80 ms, each moved at a sixteenth of ~6 MiB/s and all were cancelled at
// their 46 s deadline just before they ended, then re-sent from the start
// (a backlog drain at 2.7 MiB/s, 512 MiB sent for 256). A copy that keeps
// moving is now never cut; one that stalls is cut after idle.
func stallContext(ctx context.Context, idle time.Duration) (context.Context, func(io.Reader) io.Reader, context.CancelFunc) {
	cctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(idle, func() {
		cancel(fmt.Errorf("replication: copy made no progress for %v", idle))
	})
	wrap := func(r io.Reader) io.Reader {
		if r == nil || r == http.NoBody {
			return r
		}
		return &progressReader{r: r, timer: timer, idle: idle}
	}
	return cctx, wrap, func() {
		timer.Stop()
		cancel(context.Canceled)
	}
}

// progressReader restarts the stall timer on every read that returns data.
type progressReader struct {
	r     io.Reader
	timer *time.Timer
	idle  time.Duration
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.timer.Reset(p.idle)
	}
	return n, err
}

package s3api

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// BodyTimeouts bound how long a request body may take to arrive.
type BodyTimeouts struct {
	// Idle: no byte of the body for this long ends the request with 400
	// RequestTimeout (S3 waits about 20 s).
	Idle time.Duration
	// Total caps the whole body, however steadily it trickles; 0: no cap.
	Total time.Duration
}

// Validate checks t (part is the config's owner, for the message).
func (t BodyTimeouts) Validate(part string) error {
	if t.Idle <= 0 || t.Total < 0 || (t.Total > 0 && t.Total < t.Idle) {
		return errors.New(part + ": BodyIdleTimeout must be positive and BodyTotalTimeout 0 or at least BodyIdleTimeout")
	}
	return nil
}

// Bounds of the draining done before an early error answer (PrepareError):
// a body this small that is already on its way is read so the connection
// can be kept; anything larger, slower or unknown closes the connection.
const (
	drainLimit = 64 << 10
	drainWait  = 250 * time.Millisecond
)

// WatchedBody is a request body under BodyTimeouts. Each read pushes the
// read deadline of the connection (HTTP/1.1), stream (HTTP/2) or QUIC stream
// (HTTP/3) — set through http.ResponseController — to now+Idle, capped by
// the Total deadline; a read that hits it fails with RequestTimeout. The
// first deadline is set when the body is watched, so even a body nobody
// reads (net/http discards unread bodies before answering) cannot hold a
// connection past Idle.
//
// A nil *WatchedBody is an inert watcher (requests built without one).
// Read is called by one goroutine at a time; the other methods may be
// called from another (the edge forwards bodies from the link's goroutine).
type WatchedBody struct {
	src     io.ReadCloser
	rc      *http.ResponseController
	r       *http.Request
	idle    time.Duration
	end     time.Time // zero: no total cap
	armed   time.Time // when the deadline was last pushed
	read    atomic.Int64
	failed  atomic.Bool
	err     error // only the reading goroutine touches it
	eof     atomic.Bool
	timeout atomic.Bool
	abandon bool // PrepareError gave up on the rest of the body
}

// WatchBody puts r's body under t: it replaces r.Body and returns the
// watcher, whose PrepareError and Finish the handler calls. w must be the
// server's own ResponseWriter (or one that unwraps to it). A request without
// a body gets an inert watcher.
func WatchBody(w http.ResponseWriter, r *http.Request, t BodyTimeouts) *WatchedBody {
	b := &WatchedBody{r: r, idle: t.Idle}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || t.Idle <= 0 {
		// No body: nothing to wait for. (An HTTP/1.1 request without a body
		// must not get a read deadline: net/http's background read of the
		// next request would trip it and cancel the request's context.)
		b.eof.Store(true)
		return b
	}
	b.src, b.rc = r.Body, http.NewResponseController(w)
	now := time.Now()
	if t.Total > 0 {
		b.end = now.Add(t.Total)
	}
	if !strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		b.arm(now, true)
	} // else the client waits for "100 Continue", sent on the first read: the clock starts there
	r.Body = b
	return b
}

// arm pushes the read deadline to now+idle (capped by end). To keep the
// cost of small reads low it moves the deadline only when a sixteenth of the
// idle time has passed since the last push, so the effective idle timeout
// lies between 15/16 and 1 of Idle.
func (b *WatchedBody) arm(now time.Time, force bool) {
	if !force && now.Sub(b.armed) < b.idle/16 {
		return
	}
	d := now.Add(b.idle)
	if !b.end.IsZero() && d.After(b.end) {
		d = b.end
	}
	b.armed = now
	_ = b.rc.SetReadDeadline(d) // every server Meridian runs supports it
}

// Read reads the body, translating a deadline into RequestTimeout.
func (b *WatchedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	b.arm(time.Now(), false)
	n, err := b.src.Read(p)
	b.read.Add(int64(n))
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		b.eof.Store(true)
		// The body is complete: the handler may take its time now (net/http
		// starts its background read on EOF; a stale deadline would cancel
		// the request's context).
		_ = b.rc.SetReadDeadline(time.Time{})
	case isTimeout(err):
		b.timeout.Store(true)
		err = s3err.New(s3err.RequestTimeout)
		b.err = err
	default:
		b.err = err
	}
	if b.err != nil {
		b.failed.Store(true)
	}
	return n, err
}

// Close closes the underlying body.
func (b *WatchedBody) Close() error { return b.src.Close() }

// TimedOut reports whether the body hit its deadline.
func (b *WatchedBody) TimedOut() bool { return b != nil && b.timeout.Load() }

// Done reports whether the body was read to its end (or there was none).
func (b *WatchedBody) Done() bool { return b == nil || b.eof.Load() }

// PrepareError readies the connection for an error answer written before
// the body was read to its end; h is the response header. It reads at most
// drainLimit bytes for at most drainWait (on HTTP/1.1 only, where unread
// bytes would be taken for the next request), and otherwise marks the
// answer "Connection: close" so that net/http neither drains the body
// before writing the answer nor keeps the connection. HTTP/2 and HTTP/3
// reset the request stream instead and need nothing.
func (b *WatchedBody) PrepareError(h http.Header) {
	if b == nil || b.src == nil || b.eof.Load() || b.abandon {
		return
	}
	if b.r.ProtoMajor != 1 {
		b.abandon = true
		return
	}
	expect := strings.EqualFold(b.r.Header.Get("Expect"), "100-continue")
	if !b.timeout.Load() && !expect && !b.failed.Load() && b.r.ContentLength >= 0 && b.r.ContentLength-b.read.Load() <= drainLimit {
		_ = b.rc.SetReadDeadline(time.Now().Add(drainWait))
		if _, err := io.CopyN(io.Discard, b.src, drainLimit+1); errors.Is(err, io.EOF) {
			b.eof.Store(true)
			_ = b.rc.SetReadDeadline(time.Time{})
			return // the whole body arrived: the connection stays usable
		}
	}
	b.abandon = true
	h.Set("Connection", "close")
}

// Finish is called when the handler returns. When the body was abandoned
// it expires the read deadline at once, so net/http's closing of the body
// (which reads up to 256 KiB looking for its end) returns immediately.
func (b *WatchedBody) Finish() {
	if b != nil && b.src != nil && (b.abandon || b.timeout.Load()) && !b.eof.Load() {
		_ = b.rc.SetReadDeadline(time.Now())
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

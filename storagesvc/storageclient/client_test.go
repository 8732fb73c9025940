package storageclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/storagesvc/storagepb"
)

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   error
	}{
		{404, `{"code":"NotFound","message":"x"}`, ErrNotFound},
		{422, `{"code":"Corrupt","message":"x"}`, ErrCorrupt},
		{400, `{"code":"Checksum","message":"x"}`, ErrChecksum},
		{507, `{"code":"NoSpace","message":"x"}`, ErrNoSpace},
		{400, `{"code":"BadRequest","message":"x"}`, ErrBadRequest},
		{404, `not json`, ErrNotFound}, // falls back to the status
		{422, ``, ErrCorrupt},
	}
	for _, tc := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		c := New(nil)
		_, err := c.Get(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "id", 0, -1)
		var e *Error
		if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Status != tc.status {
			t.Errorf("%d %q: got %v, want %v", tc.status, tc.body, err, tc.want)
		}
		for _, other := range []error{ErrNotFound, ErrCorrupt, ErrChecksum, ErrNoSpace, ErrBadRequest} {
			if other != tc.want && errors.Is(err, other) {
				t.Errorf("%d %q also matches %v", tc.status, tc.body, other)
			}
		}
		srv.Close()
	}
}

// A body cut short by the server (connection aborted) is ErrTruncated, and
// a cancelled context aborts a request in flight.
func TestTruncatedAndCancel(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/shards/short":
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			io.WriteString(w, strings.Repeat("a", 40))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case "/v1/shards/slow":
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(block)
	addr := strings.TrimPrefix(srv.URL, "http://")
	c := New(nil)
	rc, err := c.Get(context.Background(), addr, "short", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, ErrTruncated) || len(got) != 40 {
		t.Fatalf("read %d bytes, err %v", len(got), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Stat(ctx, addr, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stat = %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("cancellation did not abort the request")
	}
}

func TestTransportTuned(t *testing.T) {
	tr := NewTransport()
	if tr.MaxIdleConnsPerHost < 64 || tr.MaxIdleConns < 16*tr.MaxIdleConnsPerHost {
		t.Fatalf("transport pool too small: %d per host, %d total", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
	_ = storagepb.CodeCorrupt
}

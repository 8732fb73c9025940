package sigv4

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

const (
	docAccessKey = "AKIAIOSFODNN7EXAMPLE"
	docSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var docTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// fakeCreds is an in-memory credential store with a fault hook.
type fakeCreds struct {
	keys    map[string]string // access key → secret
	fail    error             // returned for every lookup when set
	lookups atomic.Int64
}

func (f *fakeCreds) Lookup(_ context.Context, id string) (string, string, error) {
	f.lookups.Add(1)
	if f.fail != nil {
		return "", "", f.fail
	}
	s, ok := f.keys[id]
	if !ok {
		return "", "", fmt.Errorf("fake: %q: %w", id, ErrUnknownAccessKey)
	}
	return s, "principal:" + id, nil
}

func newTestVerifier(t testing.TB, now time.Time, mutate ...func(*VerifierConfig)) (*Verifier, *fakeCreds) {
	t.Helper()
	creds := &fakeCreds{keys: map[string]string{docAccessKey: docSecret}}
	cfg := DefaultVerifierConfig()
	cfg.Credentials = creds
	cfg.Now = func() time.Time { return now }
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v, creds
}

// code returns the S3 error code of err, or "" for nil / io.EOF.
func code(err error) s3err.Code {
	if err == nil || err == io.EOF {
		return ""
	}
	var e *s3err.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "not-an-s3-error: " + s3err.Code(err.Error())
}

// readBody reads all of a.Body and returns the data and the terminal error
// (nil when the body ended with io.EOF).
func readBody(a *Auth) ([]byte, error) {
	var out []byte
	buf := make([]byte, 3000) // odd size: reads straddle chunk boundaries
	for {
		n, err := a.Body.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func mustRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func setHeaders(r *http.Request, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Set(kv[i], kv[i+1])
	}
}

var _ = strings.Repeat

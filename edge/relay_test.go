package edge

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) { c.writes++; return c.Buffer.Write(p) }

func TestRelayBody(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	// One byte per read (like tiny DATA frames): still few, large writes.
	var w countingWriter
	if err := relayBody(&w, iotest.OneByteReader(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), data) || w.writes > 16 {
		t.Fatalf("relayed %d bytes in %d writes", w.Len(), w.writes)
	}
	// A body that fails midway reports the failure after relaying what came.
	boom := errors.New("stream reset")
	w = countingWriter{}
	err := relayBody(&w, io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || w.Len() != 1000 {
		t.Fatalf("err %v, relayed %d", err, w.Len())
	}
	// An empty body.
	if err := relayBody(&countingWriter{}, bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
}

// TestStaleBucketReadsErrorsWhole: an error answer is read whole before any
// of it is relayed, and one cut off mid-body is an error, not a 4xx with a
// truncated document.
func TestStaleBucketReadsErrorsWhole(t *testing.T) {
	doc := func(code string) string { return "<Error><Code>" + code + "</Code></Error>" }
	reset := errors.New("stream reset")
	for _, c := range []struct {
		name      string
		status    int
		method    string
		body      io.Reader
		stale     bool
		head      string
		wantErr   bool
		errHeader string
	}{
		{"ok answer untouched", 200, "GET", strings.NewReader("data"), false, "", false, ""},
		{"no such bucket", 404, "GET", strings.NewReader(doc("NoSuchBucket")), true, doc("NoSuchBucket"), false, ""},
		{"no such key", 404, "GET", strings.NewReader(doc("NoSuchKey")), false, doc("NoSuchKey"), false, ""},
		{"permanent redirect", 301, "GET", strings.NewReader(doc("PermanentRedirect")), true, doc("PermanentRedirect"), false, ""},
		{"request timeout read whole", 400, "PUT", strings.NewReader(doc("RequestTimeout")), false, doc("RequestTimeout"), false, ""},
		{"cut off error", 400, "PUT", io.MultiReader(strings.NewReader("<Error><Co"), iotest.ErrReader(reset)), false, "", true, ""},
		{"cut off 503", 503, "GET", iotest.ErrReader(reset), false, "", true, ""},
		{"head no such bucket", 404, "HEAD", iotest.ErrReader(reset), true, "", false, "NoSuchBucket"},
		{"head other 404", 404, "HEAD", iotest.ErrReader(reset), false, "", false, "NoSuchKey"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, "https://region/b/k", nil)
			resp := &http.Response{StatusCode: c.status, Body: io.NopCloser(c.body), Request: req, Header: http.Header{}}
			if c.errHeader != "" {
				resp.Header.Set("x-amz-error-code", c.errHeader)
			}
			stale, head, err := staleBucket(resp)
			if (err != nil) != c.wantErr || stale != c.stale || string(head) != c.head {
				t.Fatalf("stale %v head %q err %v; want %v %q err %v", stale, head, err, c.stale, c.head, c.wantErr)
			}
		})
	}
}

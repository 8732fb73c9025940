package s3api

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// bodyServer answers like the S3 listeners do: read the body (or refuse it
// at once when the path says so), then answer; errors go through
// PrepareError.
func bodyServer(t *testing.T, bt BodyTimeouts, h2 bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := WatchBody(w, r, bt)
		defer b.Finish()
		var err error
		if r.URL.Path == "/slowstart" {
			time.Sleep(2 * bt.Idle) // the handler looks things up before it reads
		}
		if r.URL.Path == "/refuse" {
			err = s3err.New(s3err.AccessDenied)
		} else {
			_, err = io.Copy(io.Discard, r.Body)
		}
		if b.TimedOut() {
			err = s3err.New(s3err.RequestTimeout)
		}
		if err != nil {
			b.PrepareError(w.Header())
			s3err.Write(w, r, err, "RID", "HID")
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// rawRequest sends a request head declaring length bytes, then body, and
// returns the response and how long it took; the connection stays open for
// the caller.
func rawRequest(t *testing.T, addr, path string, length int, body string) (*http.Response, *bufio.Reader, net.Conn, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	start := time.Now()
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", path, length, body)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: no answer: %v", path, err)
	}
	return resp, br, c, time.Since(start)
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	_, rest, _ := strings.Cut(string(b), "<Code>")
	code, _, _ := strings.Cut(rest, "</Code>")
	return code
}

// closed reports whether the server closed the connection (EOF within 2 s).
func closed(br *bufio.Reader, c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := br.ReadByte()
	return errors.Is(err, io.EOF)
}

func TestBodyTimeoutHTTP1(t *testing.T) {
	bt := BodyTimeouts{Idle: 300 * time.Millisecond, Total: 2 * time.Second}
	srv := bodyServer(t, bt, false)
	addr := srv.Listener.Addr().String()

	t.Run("silent body: RequestTimeout after Idle, connection closed", func(t *testing.T) {
		resp, br, c, took := rawRequest(t, addr, "/put", 1000, "")
		if resp.StatusCode != 400 || errorCode(t, resp) != "RequestTimeout" {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if took < bt.Idle*15/16 || took > bt.Idle+time.Second {
			t.Fatalf("answered after %v, idle %v", took, bt.Idle)
		}
		if !closed(br, c) {
			t.Fatal("connection kept open after RequestTimeout")
		}
	})
	t.Run("partial body then silence", func(t *testing.T) {
		resp, _, _, _ := rawRequest(t, addr, "/put", 1000, strings.Repeat("x", 500))
		if resp.StatusCode != 400 || errorCode(t, resp) != "RequestTimeout" {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("steady trickle is cut by Total, not Idle", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		fmt.Fprintf(c, "PUT /put HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := c.Write([]byte("y")); err != nil {
						return
					}
				}
			}
		}()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if resp.StatusCode != 400 || errorCode(t, resp) != "RequestTimeout" {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if took < bt.Total-100*time.Millisecond || took > bt.Total+time.Second {
			t.Fatalf("trickle cut after %v, total %v", took, bt.Total)
		}
	})
	t.Run("early error with a silent body: answered at once, connection closed", func(t *testing.T) {
		resp, br, c, took := rawRequest(t, addr, "/refuse", 1<<20, "")
		if resp.StatusCode != 403 || errorCode(t, resp) != "AccessDenied" {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if took > time.Second {
			t.Fatalf("403 took %v", took)
		}
		if !closed(br, c) {
			t.Fatal("connection kept open")
		}
	})
	t.Run("early error with a small silent body: drain bounded", func(t *testing.T) {
		resp, br, c, took := rawRequest(t, addr, "/refuse", 1000, "")
		if resp.StatusCode != 403 || errorCode(t, resp) != "AccessDenied" || took > drainWait+time.Second {
			t.Fatalf("status %d after %v", resp.StatusCode, took)
		}
		if !closed(br, c) {
			t.Fatal("connection kept open")
		}
	})
	t.Run("early error with a small body sent: drained, connection kept", func(t *testing.T) {
		resp, br, c, _ := rawRequest(t, addr, "/refuse", 1000, strings.Repeat("z", 1000))
		if resp.StatusCode != 403 || resp.Close {
			t.Fatalf("status %d close %v", resp.StatusCode, resp.Close)
		}
		errorCode(t, resp)
		fmt.Fprintf(c, "PUT /put HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("second request on the kept connection: %v %v", resp, err)
		}
	})
	t.Run("Expect: 100-continue: the clock starts at the first read", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "PUT /slowstart HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil || !strings.Contains(line, "100 Continue") {
			t.Fatalf("want 100 Continue, got %q %v", line, err)
		}
		_, _ = br.ReadString('\n') // the blank line after it
		fmt.Fprint(c, "abc")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("answer %v %v", resp, err)
		}
	})
	t.Run("a complete body is not cut after Idle", func(t *testing.T) {
		resp, _, _, _ := rawRequest(t, addr, "/put", 3, "abc")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestBodyTimeoutHTTP2(t *testing.T) {
	bt := BodyTimeouts{Idle: 300 * time.Millisecond, Total: 5 * time.Second}
	srv := bodyServer(t, bt, true)
	tr := &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/put", pr)
	req.ContentLength = 1000
	start := time.Now()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if resp.StatusCode != 400 || errorCode(t, resp) != "RequestTimeout" {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if took > bt.Idle+time.Second {
		t.Fatalf("answered after %v", took)
	}
}

package connbuf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestHTTPServer: an http.Server over a Listener of Conns, set up by
// ConfigureServer, serves HTTP/1.1 and HTTP/2 to standard TLS clients and
// to clients over Conns, with r.TLS set; large bodies both ways arrive whole.
func TestHTTPServer(t *testing.T) {
	p := MustPool(DefaultOptions())
	scfg, ccfg := testConfigs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	srv := &http.Server{
		Protocols: protos,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil || !r.TLS.HandshakeComplete || len(r.TLS.PeerCertificates) == 0 {
				http.Error(w, "no TLS state", http.StatusUnauthorized)
				return
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			sum := sha256.Sum256(body)
			w.Header().Set("X-Proto", fmt.Sprintf("%d/%s", r.ProtoMajor, r.TLS.NegotiatedProtocol))
			w.Header().Set("X-Sum", fmt.Sprintf("%x", sum))
			_, _ = w.Write(bytes.Repeat(body, 2))
		}),
	}
	ConfigureServer(srv)
	go func() { _ = srv.Serve(p.NewListener(ln, scfg)) }()
	defer srv.Close()
	url := "https://" + ln.Addr().String() + "/x"

	h1 := ccfg.Clone()
	h1.NextProtos = []string{"http/1.1"}
	h2 := ccfg.Clone()
	h2.NextProtos = []string{"h2"}
	d := &net.Dialer{Timeout: 5 * time.Second}
	bufH1 := &http.Transport{DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return p.Dial(ctx, d, network, addr, h1)
	}}
	bufH2 := &http.Transport{DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return p.Dial(ctx, d, network, addr, h2)
	}}
	HTTP2Transport(bufH2)
	std2 := &http.Transport{TLSClientConfig: h2, ForceAttemptHTTP2: true}
	for _, tc := range []struct {
		name  string
		tr    *http.Transport
		proto string
	}{
		{"tls-http1", &http.Transport{TLSClientConfig: h1}, "1/http/1.1"},
		{"tls-h2", std2, "2/h2"},
		{"connbuf-http1", bufH1, "1/http/1.1"},
		{"connbuf-h2", bufH2, "2/h2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.tr.CloseIdleConnections()
			c := &http.Client{Transport: tc.tr, Timeout: 30 * time.Second}
			for _, n := range []int{0, 5, 16 << 10, 1<<20 + 3} {
				body := pattern(n, byte(n))
				resp, err := c.Post(url, "application/octet-stream", bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != 200 {
					t.Fatalf("%d: %s", resp.StatusCode, got)
				}
				if p := resp.Header.Get("X-Proto"); p != tc.proto {
					t.Fatalf("served as %s, want %s", p, tc.proto)
				}
				if !bytes.Equal(got, bytes.Repeat(body, 2)) {
					t.Fatalf("size %d: response differs", n)
				}
			}
		})
	}
	if _, ok := any(&Conn{}).(interface{ ConnectionState() tls.ConnectionState }); ok {
		t.Fatal("Conn must not have ConnectionState: net/http would then refuse HTTP/2 by preface")
	}
}

package regionalclient

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestTransportPerRegion(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.Regions = map[string][]string{"us-east-1": {"127.0.0.1:1"}, "eu-west-1": {"127.0.0.1:2", "127.0.0.1:3"}}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{{}}}
		return c
	}
	for _, tc := range []struct {
		name    string
		tcp     []string
		want    map[string]Transport
		wantErr string
	}{
		{"all quic by default", nil, map[string]Transport{"us-east-1": TransportQUIC, "eu-west-1": TransportQUIC, "ap-south-1": ""}, ""},
		{"own region over tcp", []string{"us-east-1"}, map[string]Transport{"us-east-1": TransportTCP, "eu-west-1": TransportQUIC}, ""},
		{"unknown tcp region", []string{"ap-south-1"}, nil, `TCP region "ap-south-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			cfg.TCPRegions = tc.tcp
			c, err := New(cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for r, want := range tc.want {
				if got := c.Transport(r); got != want {
					t.Errorf("Transport(%s) = %q, want %q", r, got, want)
				}
			}
		})
	}
}

// TCPConns spreads a TCP region's requests over that many HTTP/2
// connections to the gateway.
func TestTCPConnsSpreadRequests(t *testing.T) {
	for _, conns := range []int{1, 3} {
		t.Run(fmt.Sprint(conns), func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]bool{}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.ProtoMajor != 2 {
					t.Errorf("request over %s, want HTTP/2", r.Proto)
				}
				mu.Lock()
				seen[r.RemoteAddr] = true
				mu.Unlock()
			}))
			srv.EnableHTTP2 = true
			srv.StartTLS()
			defer srv.Close()
			cfg := DefaultConfig()
			cfg.Regions = map[string][]string{"r": {srv.Listener.Addr().String()}}
			cfg.TCPRegions, cfg.TCPConns = []string{"r"}, conns
			cfg.TLS = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs,
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tls.Certificate{}, nil }}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := 0; i < 3*conns; i++ {
				req, _ := http.NewRequest(http.MethodGet, "/", nil)
				resp, err := c.Do(req, "r")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if len(seen) != conns {
				t.Fatalf("%d connections used, want %d", len(seen), conns)
			}
		})
	}
}

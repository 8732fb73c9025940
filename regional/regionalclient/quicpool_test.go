package regionalclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/quic-go/quic-go/http3"

	"github.com/meridian-s3/meridian/testbed/devca"
)

// testCert is a server certificate for 127.0.0.1 from a fresh test CA
// (testbed/devca) and a pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	ca, err := devca.EnsureCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer(nil, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return cert, ca.Pool()
}

func TestQUICConnsSpreadRequests(t *testing.T) {
	cert, pool := testCert(t)
	for _, tc := range []struct{ conns, want int }{{0, 1}, {1, 1}, {4, 4}} {
		t.Run(fmt.Sprint(tc.conns), func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]bool{}
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http3.Server{TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}),
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					seen[r.RemoteAddr] = true
					mu.Unlock()
				})}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(pc) }()
			defer func() {
				_ = srv.Close()
				if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
					t.Errorf("serve: %v", err)
				}
				pc.Close()
			}()
			cfg := DefaultConfig()
			cfg.Regions = map[string][]string{"r": {pc.LocalAddr().String()}}
			cfg.QUICConns = tc.conns
			cfg.TLS = &tls.Config{RootCAs: pool,
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tls.Certificate{}, nil }}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := 0; i < 3*tc.want; i++ {
				req, _ := http.NewRequest(http.MethodGet, "/", nil)
				resp, err := c.Do(req, "r")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if len(seen) != tc.want {
				t.Fatalf("%d connections used, want %d (%v)", len(seen), tc.want, seen)
			}
		})
	}
	cfg := DefaultConfig()
	cfg.Regions = map[string][]string{"r": {"127.0.0.1:1"}}
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	cfg.QUICConns = 65
	if _, err := New(cfg); err == nil {
		t.Fatal("QUICConns 65 accepted")
	}
}

package regionalclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// testCert is a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// QUICConns spreads a QUIC region's requests over that many QUIC
// connections (distinct client addresses at the gateway); zero means one.
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

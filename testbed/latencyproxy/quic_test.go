package latencyproxy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

const quicALPN = "meridian-latencyproxy-test"

// selfSignedTLS returns a server config with a fresh self-signed
// certificate for localhost/127.0.0.1 and a client config that trusts it.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
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
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{quicALPN},
	}
	client = &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{quicALPN}}
	return server, client
}

// startQUICEcho runs a QUIC server that echoes every stream.
func startQUICEcho(t *testing.T, tlsConf *tls.Config) string {
	t.Helper()
	ln, err := quic.ListenAddr("127.0.0.1:0", tlsConf, &quic.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.CloseWithError(0, "")
				for {
					str, err := conn.AcceptStream(ctx)
					if err != nil {
						return
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, _ = io.Copy(str, str)
						_ = str.Close()
					}()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestQUICThroughUDPProxy runs a real quic-go handshake and stream echo
// through the UDP proxy: each must pay the emulated round trip.
func TestQUICThroughUDPProxy(t *testing.T) {
	const delay = 50 * time.Millisecond
	serverTLS, clientTLS := selfSignedTLS(t)
	p := newUDP(t, Config{Target: startQUICEcho(t, serverTLS), Delay: delay})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	conn, err := quic.DialAddr(ctx, p.Addr(), clientTLS, &quic.Config{})
	if err != nil {
		t.Fatalf("dial through proxy: %v", err)
	}
	defer conn.CloseWithError(0, "")
	handshake := time.Since(start)

	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	echoStart := time.Now()
	msg := []byte("hello through a long link")
	if _, err := str.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(str, got); err != nil {
		t.Fatalf("echo read: %v", err)
	}
	echo := time.Since(echoStart)
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo = %q", got)
	}

	// A larger transfer on the same stream: many full-size packets, all
	// of which QUIC authenticates, so any corruption, coalescing or
	// splitting by the proxy would fail it.
	big := make([]byte, 256<<10)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	bulkStart := time.Now()
	werr := make(chan error, 1)
	go func() {
		_, err := str.Write(big)
		if err == nil {
			err = str.Close()
		}
		werr <- err
	}()
	back, err := io.ReadAll(str)
	if err != nil {
		t.Fatalf("bulk read: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("bulk write: %v", err)
	}
	bulk := time.Since(bulkStart)
	if !bytes.Equal(back, big) {
		t.Fatalf("bulk echo: %d bytes back, differ from %d sent", len(back), len(big))
	}

	st := p.Stats()
	t.Logf("QUIC via %v proxy: handshake %v, stream echo %v, 256 KiB echo %v; datagrams c→t %d, t→c %d, dropped %d/%d",
		delay, handshake, echo, bulk, st.ClientToTarget.Packets, st.TargetToClient.Packets,
		st.ClientToTarget.Dropped, st.TargetToClient.Dropped)
	if handshake < 2*delay {
		t.Fatalf("handshake took %v, less than one RTT (%v)", handshake, 2*delay)
	}
	if echo < 2*delay {
		t.Fatalf("stream echo took %v, less than one RTT (%v)", echo, 2*delay)
	}
	if handshake+echo > 5*time.Second {
		t.Fatalf("handshake+echo took %v", handshake+echo)
	}
	if st.Accepted != 1 {
		t.Fatalf("stats = %+v, want one UDP session", st)
	}
}

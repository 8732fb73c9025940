package connbuf

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// testConfigs returns a server and a client config sharing one self-signed
// certificate (TLS 1.3, as Meridian's hops).
func testConfigs(t testing.TB) (*tls.Config, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "connbuf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	srv := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, NextProtos: []string{"h2", "http/1.1"}}
	cli := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
		RootCAs: pool, ServerName: "localhost"}
	return srv, cli
}

// pair returns a connected client and server Conn over loopback TCP, both
// handshaken. wrap, when set, wraps the client's TCP connection.
func pair(t testing.TB, p *Pool, wrap func(net.Conn) net.Conn) (cli, srv *Conn) {
	t.Helper()
	scfg, ccfg := testConfigs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := p.NewListener(ln, scfg)
	got := make(chan *Conn, 1)
	errc := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			errc <- err
			return
		}
		cc := c.(*Conn)
		if err := cc.Handshake(); err != nil {
			errc <- err
			return
		}
		got <- cc
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		raw = wrap(raw)
	}
	cli = p.Client(raw, ccfg)
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	select {
	case srv = <-got:
	case err := <-errc:
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close(); srv.Close() })
	return cli, srv
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// TestInterleavedRequestResponse: a client writes a length-prefixed request
// and waits for the reply, which the server sends only after reading the
// whole request — it deadlocks unless every Write is on the wire when it
// returns. Sizes straddle the record (16 KiB) and buffer (256 KiB) sizes,
// with exact multiples of the record size, whose last record gives no hint
// that the write ended.
func TestInterleavedRequestResponse(t *testing.T) {
	p := MustPool(DefaultOptions())
	cli, srv := pair(t, p, nil)
	sizes := []int{0, 1, 100, 1023, 1024, 16 << 10, 16<<10 + 1, 32 << 10, 64 << 10, 256 << 10, 256<<10 + 17, 1 << 20, 3<<20 + 5}
	done := make(chan error, 1)
	go func() { // echo server: reply with the request reversed in size order
		for {
			var hdr [4]byte
			if _, err := io.ReadFull(srv, hdr[:]); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				done <- err
				return
			}
			req := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(srv, req); err != nil {
				done <- err
				return
			}
			for i := range req {
				req[i] ^= 0x5a
			}
			if _, err := srv.Write(append(hdr[:], req...)); err != nil {
				done <- err
				return
			}
		}
	}()
	_ = cli.SetDeadline(time.Now().Add(30 * time.Second))
	for round := 0; round < 3; round++ {
		for i, n := range sizes {
			req := pattern(n, byte(i+round))
			msg := binary.BigEndian.AppendUint32(nil, uint32(n))
			if _, err := cli.Write(append(msg, req...)); err != nil {
				t.Fatalf("write %d: %v", n, err)
			}
			var hdr [4]byte
			if _, err := io.ReadFull(cli, hdr[:]); err != nil {
				t.Fatalf("read reply header %d: %v", n, err)
			}
			got := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(cli, got); err != nil {
				t.Fatalf("read reply %d: %v", n, err)
			}
			for j := range got {
				got[j] ^= 0x5a
			}
			if !bytes.Equal(got, req) {
				t.Fatalf("size %d: reply differs", n)
			}
		}
	}
	if err := cli.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w, r := p.InUse(); w != 0 || r != 0 {
		t.Fatalf("buffers still held after the exchange: write %d read %d", w, r)
	}
}

// TestFewerSystemCalls: one 4 MiB Write goes out in 256 KiB system calls
// (not one per 16 KiB record), and the reader fetches many records per
// read call.
func TestFewerSystemCalls(t *testing.T) {
	p := MustPool(DefaultOptions())
	cli, srv := pair(t, p, nil)
	const size = 4 << 20
	go func() { _, _ = cli.Write(pattern(size, 1)) }()
	got := make([]byte, size)
	// Let the whole message arrive first, as on a loaded machine; then
	// every read call finds a full buffer's worth.
	time.Sleep(200 * time.Millisecond)
	_ = srv.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(srv, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pattern(size, 1)) {
		t.Fatal("data differs")
	}
	ws, rs := cli.Stats().WriteCalls, srv.Stats().ReadCalls
	t.Logf("4 MiB: %d write calls, %d read calls (16 KiB records: %d)", ws, rs, size/(16<<10))
	if ws > size/(256<<10)+4 {
		t.Errorf("%d write calls for 4 MiB; want ≈ %d", ws, size/(256<<10))
	}
	if rs > size/(64<<10) {
		t.Errorf("%d read calls for 4 MiB; want well under one per record (%d)", rs, size/(16<<10))
	}
}

// TestIdleConnHoldsNoBuffer: a reader blocked on a quiet connection holds
// no read buffer, and none stays after the bytes are consumed.
func TestIdleConnHoldsNoBuffer(t *testing.T) {
	p := MustPool(DefaultOptions())
	cli, srv := pair(t, p, nil)
	readErr := make(chan error, 1)
	buf := make([]byte, 1<<20)
	go func() { _, err := io.ReadFull(srv, buf); readErr <- err }()
	time.Sleep(100 * time.Millisecond)
	if w, r := p.InUse(); w != 0 || r != 0 {
		t.Fatalf("blocked reader holds buffers: write %d read %d", w, r)
	}
	if _, err := cli.Write(pattern(1<<20, 3)); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	if w, r := p.InUse(); w != 0 || r != 0 {
		t.Fatalf("buffers held after the read: write %d read %d", w, r)
	}
}

// TestDeadlines: a read deadline ends a blocked read with a timeout; a
// write deadline ends a Write whose peer does not read, and the error sticks.
func TestDeadlines(t *testing.T) {
	p := MustPool(DefaultOptions())
	cli, srv := pair(t, p, nil)

	_ = srv.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	_, err := srv.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v; want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("read deadline took %v", d)
	}

	// Nobody reads srv: the socket buffers fill and the Write must stop
	// at its deadline.
	_ = cli.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
	start = time.Now()
	big := pattern(64<<20, 9)
	var werr error
	for i := 0; i < 8 && werr == nil; i++ {
		_, werr = cli.Write(big)
	}
	if !errors.As(werr, &ne) || !ne.Timeout() {
		t.Fatalf("write past the deadline: %v; want a timeout", werr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("write deadline took %v", d)
	}
	_ = cli.SetWriteDeadline(time.Time{})
	if _, err := cli.Write([]byte("after")); err == nil {
		t.Fatal("write after a timed-out write succeeded; the TLS stream is corrupt, it must fail")
	}
}

// shortConn accepts at most max bytes per Write, as a net.Conn may.
type shortConn struct {
	net.Conn
	max   int
	err   error // returned once, after failAfter bytes
	after int
	n     int
}

func (s *shortConn) Write(p []byte) (int, error) {
	if s.err != nil && s.n >= s.after {
		return 0, s.err
	}
	if len(p) > s.max {
		p = p[:s.max]
	}
	n, err := s.Conn.Write(p)
	s.n += n
	return n, err
}

// TestShortWrites: short writes are continued until the whole buffer is
// out; a failing write surfaces from Write and sticks.
func TestShortWrites(t *testing.T) {
	p := MustPool(DefaultOptions())
	var sc *shortConn
	cli, srv := pair(t, p, func(c net.Conn) net.Conn { sc = &shortConn{Conn: c, max: 1000}; return sc })
	msg := pattern(700<<10, 4)
	wrote := make(chan error, 1)
	go func() { _, err := cli.Write(msg); wrote <- err }()
	got := make([]byte, len(msg))
	_ = srv.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(srv, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("data differs after short writes")
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")
	sc.err, sc.after = boom, sc.n+100<<10
	n, err := cli.Write(msg)
	if !errors.Is(err, boom) || n >= len(msg) {
		t.Fatalf("write over a failing connection: n=%d err=%v; want boom and n < %d", n, err, len(msg))
	}
	if _, err := cli.Write([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("next write: %v; want the sticky boom", err)
	}
	if w, _ := p.InUse(); w != 0 {
		t.Fatalf("%d write buffers held after a failed write", w)
	}
}

// TestPeerClosesMidRecord: a peer that vanishes in the middle of a record
// gives the reader an error, never a clean EOF or partial plaintext as if
// it were whole.
func TestPeerClosesMidRecord(t *testing.T) {
	p := MustPool(DefaultOptions())
	scfg, ccfg := testConfigs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The proxy forwards the handshake and then only part of the data.
	proxy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() {
		defer wg.Done()
		c, err := p.NewListener(ln, scfg).Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write(pattern(1<<20, 5))
		_, _ = io.Copy(io.Discard, c)
	}()
	go func() {
		defer wg.Done()
		down, err := proxy.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			down.Close()
			return
		}
		go func() { _, _ = io.Copy(up, down) }()
		// Handshake flights plus 100,000 bytes of records: not a record
		// boundary (records are 16,401 bytes on the wire).
		_, _ = io.CopyN(down, up, 8<<10+100_000)
		down.Close()
		up.Close()
	}()
	raw, err := net.Dial("tcp", proxy.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cli := p.Client(raw, ccfg)
	defer cli.Close()
	_ = cli.SetDeadline(time.Now().Add(20 * time.Second))
	n, err := io.ReadFull(cli, make([]byte, 1<<20))
	if err == nil || errors.Is(err, io.EOF) && n == 0 {
		t.Fatalf("read across a connection cut mid-record: n=%d err=%v; want an error", n, err)
	}
	if n >= 1<<20 {
		t.Fatalf("read %d bytes of a cut stream", n)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("error (not ErrUnexpectedEOF, acceptable): %v", err)
	}
}

// TestCloseBreaksWrite: Close during a Write blocked on a peer that does not
// read returns promptly and fails the Write.
func TestCloseBreaksWrite(t *testing.T) {
	p := MustPool(DefaultOptions())
	cli, _ := pair(t, p, nil)
	werr := make(chan error, 1)
	go func() {
		var err error
		for err == nil {
			_, err = cli.Write(pattern(8<<20, 1))
		}
		werr <- err
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	_ = cli.Close()
	select {
	case err := <-werr:
		if err == nil {
			t.Fatal("write survived Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not break the blocked Write")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if _, err := cli.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

// TestPlainHTTPGets400: a plain HTTP request to a server Conn is answered
// with 400, as net/http answers it on a *tls.Conn.
func TestPlainHTTPGets400(t *testing.T) {
	p := MustPool(DefaultOptions())
	scfg, _ := testConfigs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := p.NewListener(ln, scfg).Accept()
		if err == nil {
			_ = c.(*Conn).HandshakeContext(context.Background())
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !bytes.HasPrefix(b, []byte("HTTP/1.0 400 Bad Request")) {
		t.Fatalf("answer %q", b)
	}
}

// TestHandshakeHonoursDeadline: a client that connects and sends nothing
// holds a server Conn only until the read deadline net/http sets before its
// first read (the handshake runs inside that read).
func TestHandshakeHonoursDeadline(t *testing.T) {
	p := MustPool(DefaultOptions())
	scfg, _ := testConfigs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c, err := p.NewListener(ln, scfg).Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	start := time.Now()
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read on a silent peer: %v; want a timeout from the handshake", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("handshake deadline took %v", d)
	}
	if c.(*Conn).State() != nil {
		t.Fatal("state set without a handshake")
	}
}

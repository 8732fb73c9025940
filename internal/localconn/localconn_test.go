package localconn_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/localconn"
)

// shortDir is a fresh folder with a short path (socket paths are limited
// to 107 bytes; t.TempDir's names carry the test's name).
func shortDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "lc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return filepath.Join(d, "sockets")
}

// server is a Listener whose refusals are recorded.
type server struct {
	*localconn.Listener
	mu      sync.Mutex
	refused []error
}

func (s *server) errs() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.refused...)
}

// waitRefused waits until the server refused n connections.
func (s *server) waitRefused(t *testing.T, n int) []error {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if e := s.errs(); len(e) >= n {
			return e
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("server refused %d connections, want %d", len(s.errs()), n)
	return nil
}

func listen(t *testing.T, dir string, tc *tls.Config, timeout time.Duration) *server {
	t.Helper()
	s := &server{}
	l, err := localconn.Listen(dir, "127.0.0.1:1", localconn.ListenConfig{TLS: tc, HandshakeTimeout: timeout,
		OnError: func(err error) { s.mu.Lock(); s.refused = append(s.refused, err); s.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	s.Listener = l
	return s
}

// accept returns the next accepted connection, or nil after d.
func accept(l net.Listener, d time.Duration) net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	select {
	case c := <-ch:
		return c
	case <-time.After(d):
		return nil
	}
}

// TestHandshake: both directions are authenticated as crypto/tls would
// authenticate them with the same configs; every refusal leaves the
// server's Accept untouched and the client with ErrHandshake.
func TestHandshake(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	good := ca.issue(t, leafOpts{})
	for _, tc := range []struct {
		name        string
		server      *tls.Config
		client      *tls.Config
		proto       string
		serverFails bool // the server refuses (else: the client refuses, or both succeed)
		clientFails bool
	}{
		{name: "ecdsa both", server: serverTLS(good, ca, "h2", "http/1.1"), client: clientTLS(ca.issue(t, leafOpts{}), ca), proto: "h2"},
		{name: "rsa client", server: serverTLS(good, ca), client: clientTLS(ca.issue(t, leafOpts{keyType: "rsa"}), ca), proto: "http/1.1"},
		{name: "ed25519 server", server: serverTLS(ca.issue(t, leafOpts{keyType: "ed25519"}), ca), client: clientTLS(good, ca), proto: ""},
		{name: "client of another CA", server: serverTLS(good, ca), client: clientTLS(other.issue(t, leafOpts{}), ca), proto: "h2", serverFails: true},
		{name: "client certificate expired", server: serverTLS(good, ca), client: clientTLS(ca.issue(t, leafOpts{expired: true}), ca), proto: "h2", serverFails: true},
		{name: "client certificate for servers only", server: serverTLS(good, ca),
			client: clientTLS(ca.issue(t, leafOpts{usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}), ca), proto: "h2", serverFails: true},
		{name: "server of another CA", server: serverTLS(other.issue(t, leafOpts{}), ca), client: clientTLS(good, ca), proto: "h2", clientFails: true},
		{name: "server certificate expired", server: serverTLS(ca.issue(t, leafOpts{expired: true}), ca), client: clientTLS(good, ca), proto: "h2", clientFails: true},
		{name: "server certificate for clients only", server: serverTLS(ca.issue(t, leafOpts{usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}), ca),
			client: clientTLS(good, ca), proto: "h2", clientFails: true},
		{name: "server name not in the certificate", server: serverTLS(good, ca), proto: "h2", clientFails: true,
			client: func() *tls.Config { c := clientTLS(good, ca); c.ServerName = "elsewhere.example"; return c }()},
		{name: "client's VerifyConnection refuses the server", server: serverTLS(good, ca), proto: "h2", clientFails: true,
			client: func() *tls.Config {
				c := clientTLS(good, ca)
				c.VerifyConnection = func(tls.ConnectionState) error { return errors.New("not the role I dial") }
				return c
			}()},
		{name: "protocol the server does not speak", server: serverTLS(good, ca, "h2"), client: clientTLS(good, ca), proto: "http/1.1", serverFails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := listen(t, shortDir(t), tc.server, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := localconn.Dial(ctx, s.Path(), tc.proto, tc.client)
			if tc.serverFails || tc.clientFails {
				if err == nil {
					c.Close()
					t.Fatal("Dial succeeded")
				}
				if !errors.Is(err, localconn.ErrHandshake) || errors.Is(err, localconn.ErrUnavailable) {
					t.Fatalf("Dial: %v, want ErrHandshake", err)
				}
				errs := s.waitRefused(t, 1)
				if !errors.Is(errs[0], localconn.ErrHandshake) {
					t.Fatalf("server: %v", errs[0])
				}
				// Fixed-format errors: nothing the peer chose (its
				// certificates' names) is in either side's text.
				for _, e := range []error{err, errs[0]} {
					if strings.Contains(e.Error(), "peer-chosen") || !strings.HasPrefix(e.Error(), "localconn: handshake failed: ") {
						t.Fatalf("error text %q", e)
					}
				}
				t.Logf("client: %v; server: %v", err, errs[0])
				if got := accept(s, 100*time.Millisecond); got != nil {
					t.Fatal("Accept returned a refused connection")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sc := accept(s, 5*time.Second)
			if sc == nil {
				t.Fatal("no connection accepted")
			}
			defer sc.Close()
			st := sc.(*localconn.Conn).State()
			if !st.HandshakeComplete || st.NegotiatedProtocol != tc.proto || len(st.VerifiedChains) == 0 ||
				!bytes.Equal(st.PeerCertificates[0].Raw, tc.client.Certificates[0].Certificate[0]) {
				t.Fatalf("server state: %+v", st)
			}
			cst := c.State()
			if !bytes.Equal(cst.PeerCertificates[0].Raw, tc.server.Certificates[0].Certificate[0]) || len(cst.VerifiedChains) == 0 {
				t.Fatalf("client state: %+v", cst)
			}
			// Bytes both ways, unchanged.
			msg := bytes.Repeat([]byte("meridian"), 1<<17)
			go func() { _, _ = c.Write(msg); _ = c.CloseWrite() }()
			got, err := io.ReadAll(sc)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("server read %d bytes, %v", len(got), err)
			}
			go func() { _, _ = sc.Write(msg[:12345]); _ = sc.Close() }()
			got, err = io.ReadAll(c)
			if err != nil || !bytes.Equal(got, msg[:12345]) {
				t.Fatalf("client read %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestBadHandshakes: truncated, oversized and garbage client messages are
// refused within the deadline without reaching Accept, and the listener
// serves a good client afterwards.
func TestBadHandshakes(t *testing.T) {
	ca := newCA(t)
	good := ca.issue(t, leafOpts{})
	hello := func() []byte { return append([]byte(localconn.Magic), make([]byte, localconn.NonceSize)...) }
	chainHdr := func(count byte, size uint32) []byte {
		return binary.BigEndian.AppendUint32([]byte{count}, size)
	}
	for _, tc := range []struct {
		name string
		send []byte
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat("x", 100))},
		{"short HTTP request", []byte("GET / HTTP/1.1\r\n\r\n")},
		{"TLS client hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}},
		{"truncated hello", []byte(localconn.Magic)[:5]},
		{"truncated nonce", append([]byte(localconn.Magic), 1, 2, 3)},
		{"no certificates", append(append(hello(), 2, 'h', '2'), chainHdr(0, 0)...)},
		{"too many certificates", append(append(hello(), 2, 'h', '2'), chainHdr(200, 10)...)},
		{"certificate larger than the bound", append(append(hello(), 2, 'h', '2'), chainHdr(1, 1<<30)...)},
		{"truncated certificate", append(append(append(hello(), 0), chainHdr(1, 1000)...), make([]byte, 10)...)},
		{"certificate that does not parse", append(append(append(hello(), 0), chainHdr(1, 16)...), bytes.Repeat([]byte{0x30}, 16)...)},
		{"signature larger than the bound", append(append(append(append(hello(), 0), chainHdr(1, uint32(len(good.Certificate[0])))...), good.Certificate[0]...), 0xff, 0xff)},
		{"signature of garbage", append(append(append(append(hello(), 0), chainHdr(1, uint32(len(good.Certificate[0])))...), good.Certificate[0]...), 0, 8, 1, 2, 3, 4, 5, 6, 7, 8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := listen(t, shortDir(t), serverTLS(good, ca), time.Second)
			c, err := net.Dial("unix", s.Path())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			_, _ = c.Write(tc.send)
			// The server's hello arrives, then the connection closes: no
			// answer to the bad message, within the handshake deadline.
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = io.Copy(io.Discard, c)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("read: %v", err)
			}
			// Within the (1 s) deadline; a wrong magic at once.
			d := time.Since(start)
			if d > 4*time.Second || (strings.HasPrefix(tc.name, "garbage") || strings.Contains(tc.name, "HTTP") || strings.HasPrefix(tc.name, "TLS")) && d > 500*time.Millisecond {
				t.Fatalf("closed after %v", d)
			}
			errs := s.waitRefused(t, 1)
			if !errors.Is(errs[0], localconn.ErrHandshake) {
				t.Fatalf("server: %v", errs[0])
			}
			if strings.Contains(errs[0].Error(), "Host: x") {
				t.Fatalf("error echoes the peer's bytes: %v", errs[0])
			}
			// A good client is still served.
			gc, err := localconn.Dial(context.Background(), s.Path(), "", clientTLS(good, ca))
			if err != nil {
				t.Fatal(err)
			}
			gc.Close()
			if ac := accept(s, 5*time.Second); ac == nil {
				t.Fatal("good client not accepted")
			} else {
				ac.Close()
			}
		})
	}
}

// TestSilentClient: a client that sends nothing holds only its own
// handshake; others are served at once, and it is closed at the deadline.
func TestSilentClient(t *testing.T) {
	ca := newCA(t)
	good := ca.issue(t, leafOpts{})
	s := listen(t, shortDir(t), serverTLS(good, ca), 1500*time.Millisecond)
	var silent []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("unix", s.Path())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent = append(silent, c)
	}
	start := time.Now()
	gc, err := localconn.Dial(context.Background(), s.Path(), "h2", clientTLS(good, ca))
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	ac := accept(s, 5*time.Second)
	if ac == nil {
		t.Fatal("good client not accepted")
	}
	ac.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("good client waited %v behind silent ones", d)
	}
	for _, c := range silent {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Fatalf("silent clients closed after %v, want the 1.5 s deadline", d)
	}
	s.waitRefused(t, 3)
}

// TestCloseDuringHandshake: Close breaks handshakes in progress, returns
// promptly and removes the socket file.
func TestCloseDuringHandshake(t *testing.T) {
	ca := newCA(t)
	good := ca.issue(t, leafOpts{})
	s := listen(t, shortDir(t), serverTLS(good, ca), time.Minute)
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if _, err := os.Lstat(s.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file after Close: %v", err)
	}
	if _, err := s.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	_ = s.Close() // twice is fine
	if _, err := localconn.Dial(context.Background(), s.Path(), "", clientTLS(good, ca)); !errors.Is(err, localconn.ErrUnavailable) {
		t.Fatalf("Dial after Close: %v, want ErrUnavailable", err)
	}
}

// TestSocketFiles: the folder and socket modes, a stale socket file, a
// live one, a file that is not a socket, a path too long.
func TestSocketFiles(t *testing.T) {
	ca := newCA(t)
	tc := serverTLS(ca.issue(t, leafOpts{}), ca)
	dir := shortDir(t)
	// A stale socket: bound, then abandoned without removing the file (a
	// process killed with -9).
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := localconn.SocketPath(dir, "127.0.0.1:1")
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	l, err := localconn.Listen(dir, "127.0.0.1:1", localconn.ListenConfig{TLS: tc})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v, %v; want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	// A live socket of the same name is not taken over.
	if _, err := localconn.Listen(dir, "127.0.0.1:1", localconn.ListenConfig{TLS: tc}); !errors.Is(err, localconn.ErrConfig) {
		t.Fatalf("second Listen: %v", err)
	}
	// Nor is a file that is not a socket.
	if err := os.WriteFile(localconn.SocketPath(dir, "127.0.0.1:2"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := localconn.Listen(dir, "127.0.0.1:2", localconn.ListenConfig{TLS: tc}); !errors.Is(err, localconn.ErrConfig) {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if _, err := localconn.Listen(dir, strings.Repeat("h", 120)+":1", localconn.ListenConfig{TLS: tc}); !errors.Is(err, localconn.ErrConfig) {
		t.Fatalf("Listen with a long path: %v", err)
	}
	// A server config that does not require client certificates.
	weak := tc.Clone()
	weak.ClientAuth = tls.VerifyClientCertIfGiven
	if _, err := localconn.Listen(dir, "127.0.0.1:3", localconn.ListenConfig{TLS: weak}); !errors.Is(err, localconn.ErrConfig) {
		t.Fatalf("Listen without client authentication: %v", err)
	}
}

func TestSocketPath(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1:9200", "/d/127.0.0.1%3A9200.sock"},
		{"[::1]:9200", "/d/%5B%3A%3A1%5D%3A9200.sock"},
		{"storage-a1.example:1", "/d/storage-a1.example%3A1.sock"},
		{"a_b:1", "/d/a%5Fb%3A1.sock"},
		{"../../etc:1", "/d/..%2F..%2Fetc%3A1.sock"},
	} {
		if got := localconn.SocketPath("/d", tc.addr); got != tc.want {
			t.Errorf("SocketPath(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// childEnv makes the test binary a local client (TestPeerUID's child).
const childEnv = "LOCALCONN_TEST_DIAL"

func TestMain(m *testing.M) {
	if p := os.Getenv(childEnv); p != "" {
		c, err := net.Dial("unix", p)
		if err != nil {
			os.Stdout.WriteString("dial: " + err.Error())
			os.Exit(2)
		}
		// Wait for the server's verdict: it closes before its hello.
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := io.Copy(io.Discard, c)
		if n > 0 {
			os.Stdout.WriteString("the server spoke to another user")
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestPeerUID: a process of another user is refused before the server
// says anything, even when the folder's and socket's modes would let it
// connect.
func TestPeerUID(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	ca := newCA(t)
	s := listen(t, shortDir(t), serverTLS(ca.issue(t, leafOpts{}), ca), 0)
	// Open the door the modes keep shut, to test the check behind it.
	for p, m := range map[string]os.FileMode{filepath.Dir(filepath.Dir(s.Path())): 0o755, filepath.Dir(s.Path()): 0o755, s.Path(): 0o666} {
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
	}
	// The test binary, where the other user can run it.
	bin := filepath.Join(filepath.Dir(filepath.Dir(s.Path())), "child.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), childEnv+"="+s.Path())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as nobody: %v: %s", err, out)
	}
	errs := s.waitRefused(t, 1)
	if !errors.Is(errs[0], localconn.ErrPeerUID) {
		t.Fatalf("server: %v, want ErrPeerUID", errs[0])
	}
}

package mtls_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/connbuf"
	"github.com/meridian-s3/meridian/internal/localconn"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/testbed/devca"
)

// shortDir: socket paths are limited to 107 bytes.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "mt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return filepath.Join(d, "s")
}

// serveHTTP serves h on a TLS listener (connbuf) and, when the node has a
// socket folder, on the same address's local socket, as storagesvc does.
func serveHTTP(t *testing.T, node *mtls.Node, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	connbuf.ConfigureServer(srv)
	go func() { _ = srv.Serve(connbuf.MustPool(connbuf.DefaultOptions()).NewListener(ln, node.ServerConfig())) }()
	ll, err := node.ListenLocal(addr, []string{"http/1.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ll != nil {
		go func() { _ = srv.Serve(ll) }()
	}
	t.Cleanup(func() { _ = srv.Close() })
	return addr
}

// TestLocalDialer: a Node with a socket folder reaches a server on the same
// host over its local socket, with the same identity checks as over TLS:
// the server's route policy answers 403 to a caller of another role or
// region, the dialer refuses a server of the wrong role (and falls back to
// TLS, which refuses it too, logging once), and a missing socket falls back
// to TLS silently.
func TestLocalDialer(t *testing.T) {
	ca := devca.TestCA(t)
	dir := shortDir(t)
	storage := devca.TestNode(t, ca, mtls.RoleStorage, "s1", "r", "a")
	storage.SetLocalDir(dir, nil)
	h := mtls.Allow(mtls.Policy{Region: "r", Roles: []mtls.Role{mtls.RoleGateway}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := mtls.FromRequest(r)
		_, _ = io.WriteString(w, id.String()+" "+r.TLS.NegotiatedProtocol)
	}))
	addr := serveHTTP(t, storage, h)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	client := func(role mtls.Role, region string, serverRoles ...mtls.Role) (*mtls.Node, *http.Client) {
		n := devca.TestNode(t, ca, role, "c-"+string(role), region, "")
		n.SetLocalDir(dir, log)
		tr := &http.Transport{DialTLSContext: n.Dialer(5*time.Second, []string{"http/1.1"}, serverRoles...)}
		t.Cleanup(tr.CloseIdleConnections)
		return n, &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	get := func(hc *http.Client, a string) (int, string, error) {
		resp, err := hc.Get("https://" + a + "/")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	for _, tc := range []struct {
		name       string
		role       mtls.Role
		region     string
		want       int
		wantLocal  bool
		wantFailed bool
	}{
		{"gateway of the region", mtls.RoleGateway, "r", http.StatusOK, true, false},
		{"background: not allowed by the route", mtls.RoleBackground, "r", http.StatusForbidden, true, false},
		{"gateway of another region", mtls.RoleGateway, "other", http.StatusForbidden, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, hc := client(tc.role, tc.region, mtls.RoleStorage)
			code, body, err := get(hc, addr)
			if err != nil || code != tc.want {
				t.Fatalf("GET: %d %q %v, want %d", code, body, err, tc.want)
			}
			if code == http.StatusOK && body != n.Identity.String()+" http/1.1" {
				t.Fatalf("identity seen by the handler: %q", body)
			}
			if st := n.DialStats(); st != (mtls.DialStats{Local: 1}) {
				t.Fatalf("dial stats %+v, want one local connection", st)
			}
		})
	}
	t.Run("server of the wrong role", func(t *testing.T) {
		n, hc := client(mtls.RoleGateway, "r", mtls.RoleMeta)
		for i := 0; i < 2; i++ {
			if _, _, err := get(hc, addr); err == nil || !strings.Contains(err.Error(), "not one of") {
				t.Fatalf("GET of a storage node by a meta dialer: %v", err)
			}
		}
		if st := n.DialStats(); st.Local != 0 || st.LocalFailed != 2 || st.TLS != 0 {
			t.Fatalf("dial stats %+v", st)
		}
		if c := strings.Count(logs.String(), "local socket handshake failed"); c != 1 {
			t.Fatalf("logged %d times, want once:\n%s", c, logs.String())
		}
	})
	t.Run("no local socket: TLS", func(t *testing.T) {
		tlsOnly := devca.TestNode(t, ca, mtls.RoleStorage, "s2", "r", "a")
		other := serveHTTP(t, tlsOnly, h)
		n, hc := client(mtls.RoleGateway, "r", mtls.RoleStorage)
		if code, _, err := get(hc, other); err != nil || code != http.StatusOK {
			t.Fatalf("GET: %d %v", code, err)
		}
		if st := n.DialStats(); st != (mtls.DialStats{TLS: 1}) {
			t.Fatalf("dial stats %+v", st)
		}
	})
	t.Run("unauthenticated connect to the socket", func(t *testing.T) {
		c, err := net.Dial("unix", localconn.SocketPath(dir, addr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c)
		if bytes.Contains(b, []byte("HTTP/1.1")) {
			t.Fatalf("an unauthenticated client got an HTTP answer: %q", b)
		}
	})
}

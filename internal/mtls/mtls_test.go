package mtls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/testbed/devca"
)

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want mtls.Identity
		ok   bool
	}{
		{"meridian://storage/storage-a1?az=a&region=us-east-1", mtls.Identity{Role: mtls.RoleStorage, ID: "storage-a1", Region: "us-east-1", AZ: "a"}, true},
		{"meridian://meta/meta-b?region=eu-west-1&az=b", mtls.Identity{Role: mtls.RoleMeta, ID: "meta-b", Region: "eu-west-1", AZ: "b"}, true},
		{"meridian://gateway/regional?region=us-east-1", mtls.Identity{Role: mtls.RoleGateway, ID: "regional", Region: "us-east-1"}, true},
		{"meridian://admin/ops?region=r1", mtls.Identity{Role: mtls.RoleAdmin, ID: "ops", Region: "r1"}, true},
		{"meridian://edge/edge-us", mtls.Identity{Role: mtls.RoleEdge, ID: "edge-us"}, true},
		{"meridian://storage/storage-a1?region=us-east-1", mtls.Identity{}, false}, // storage needs an AZ
		{"meridian://meta/m?az=a", mtls.Identity{}, false},                         // internal needs a region
		{"meridian://gateway/g", mtls.Identity{}, false},
		{"meridian://edge/e?region=r", mtls.Identity{}, false},
		{"meridian://root/x?region=r&az=a", mtls.Identity{}, false},
		{"meridian://storage/a/b?region=r&az=a", mtls.Identity{}, false},
		{"meridian://storage/?region=r&az=a", mtls.Identity{}, false},
		{"meridian://storage:1/a?region=r&az=a", mtls.Identity{}, false},
		{"meridian://u@storage/a?region=r&az=a", mtls.Identity{}, false},
		{"meridian://storage/a?region=r&az=a&x=1", mtls.Identity{}, false},
		{"meridian://storage/a?region=r&az=a&az=b", mtls.Identity{}, false},
		{"meridian://storage/a?region=r&az=a#f", mtls.Identity{}, false},
		{"meridian://storage/a%2Fb?region=r&az=a", mtls.Identity{}, false},
		{"meridian://storage/a?region=r%20x&az=a", mtls.Identity{}, false},
		{"spiffe://storage/a?region=r&az=a", mtls.Identity{}, false},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			u, err := url.Parse(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			got, err := mtls.ParseURI(u)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("ParseURI = %+v, %v; want %+v ok=%v", got, err, tc.want, tc.ok)
			}
			if tc.ok {
				if back, err := mtls.ParseURI(got.URI()); err != nil || back != got {
					t.Fatalf("round trip %s: %+v %v", got.URI(), back, err)
				}
			}
		})
	}
}

func TestFromCertNeedsExactlyOneIdentity(t *testing.T) {
	u := func(s string) *url.URL { v, _ := url.Parse(s); return v }
	for _, tc := range []struct {
		name string
		uris []*url.URL
		ok   bool
	}{
		{"none", nil, false},
		{"one", []*url.URL{u("meridian://gateway/g?region=r")}, true},
		{"one and a foreign URI", []*url.URL{u("https://example.com/x"), u("meridian://gateway/g?region=r")}, true},
		{"two", []*url.URL{u("meridian://gateway/g?region=r"), u("meridian://meta/m?region=r&az=a")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mtls.FromCert(&x509.Certificate{URIs: tc.uris})
			if tc.ok != (err == nil) {
				t.Fatalf("FromCert: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if _, err := mtls.PeerIdentity(nil); !errors.Is(err, mtls.ErrNoIdentity) {
		t.Fatalf("nil state: %v", err)
	}
	if _, err := mtls.PeerIdentity(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{{}}}); !errors.Is(err, mtls.ErrNoIdentity) {
		t.Fatalf("unverified peer certificates must not count: %v", err)
	}
}

func TestPolicy(t *testing.T) {
	p := mtls.Policy{Region: "us", Roles: []mtls.Role{mtls.RoleGateway, mtls.RoleBackground}}
	for _, tc := range []struct {
		id mtls.Identity
		ok bool
	}{
		{mtls.Identity{Role: mtls.RoleGateway, ID: "g", Region: "us"}, true},
		{mtls.Identity{Role: mtls.RoleBackground, ID: "b", Region: "us"}, true},
		{mtls.Identity{Role: mtls.RoleGateway, ID: "g", Region: "eu"}, false},
		{mtls.Identity{Role: mtls.RoleStorage, ID: "s", Region: "us", AZ: "a"}, false},
		{mtls.Identity{Role: mtls.RoleMeta, ID: "m", Region: "us", AZ: "a"}, false},
		{mtls.Identity{Role: mtls.RoleAdmin, ID: "a", Region: "us"}, false},
		{mtls.Identity{Role: mtls.RoleEdge, ID: "e"}, false},
	} {
		if err := p.Check(tc.id); tc.ok != (err == nil) || (err != nil && !errors.Is(err, mtls.ErrForbidden)) {
			t.Errorf("Check(%s) = %v, want ok=%v", tc.id, err, tc.ok)
		}
	}
}

// serve accepts TLS connections with node's server config and reports each
// handshake's peer identity (or error) on the channel.
func serve(t *testing.T, node *mtls.Node) (string, <-chan error) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", node.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errs := make(chan error, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					errs <- err
					return
				}
				cs := tc.ConnectionState()
				_, err := mtls.PeerIdentity(&cs)
				errs <- err
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String(), errs
}

func TestHandshakes(t *testing.T) {
	ca := devca.TestCA(t)
	storage := devca.TestNode(t, ca, mtls.RoleStorage, "s1", "r", "a")
	gw := devca.TestNode(t, ca, mtls.RoleGateway, "g", "r", "")
	addr, served := serve(t, storage)
	ctx := context.Background()

	dial := gw.Dialer(5*time.Second, nil, mtls.RoleStorage)
	for i := 0; i < 3; i++ {
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cs := c.(*tls.Conn).ConnectionState()
		if cs.Version != tls.VersionTLS13 {
			t.Fatalf("version %x", cs.Version)
		}
		// The ticket arrives after the handshake: read once so the client
		// processes it, then the next dial resumes.
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, _ = c.Read(make([]byte, 1))
		if i > 0 && !cs.DidResume {
			t.Errorf("dial %d did not resume the session", i)
		}
		c.Close()
		if err := <-served; err != nil {
			t.Fatalf("server saw %v", err)
		}
	}
	// A client that expects a meta node refuses the storage node.
	if _, err := gw.Dialer(5*time.Second, nil, mtls.RoleMeta)(ctx, "tcp", addr); !errors.Is(err, mtls.ErrForbidden) {
		t.Fatalf("role check: %v", err)
	}
	<-served
	// A client of another CA is refused by the server, and refuses it.
	other := devca.TestNode(t, devca.TestCA(t), mtls.RoleGateway, "g", "r", "")
	if _, err := other.Dialer(5*time.Second, nil, mtls.RoleStorage)(ctx, "tcp", addr); err == nil {
		t.Fatal("a node of another CA connected")
	}
	<-served
	raw := &tls.Config{Certificates: other.ServerConfig().Certificates, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if c, err := tls.Dial("tcp", addr, raw); err == nil {
		_, err = c.Read(make([]byte, 1)) // TLS 1.3: the server's verdict arrives after the client's Finished
		c.Close()
		if err == nil {
			t.Fatal("server accepted a certificate of another CA")
		}
	}
	if err := <-served; err == nil {
		t.Fatal("server handshake with another CA's certificate succeeded")
	}
	// Plain TCP.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	c.Close()
	if err := <-served; err == nil {
		t.Fatal("plain connection completed a handshake")
	}
}

func TestLoadChecksFiles(t *testing.T) {
	dir := t.TempDir()
	ca, err := devca.EnsureCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := mtls.Identity{Role: mtls.RoleMeta, ID: "meta-a", Region: "r", AZ: "a"}
	cp, kp, err := ca.WriteNodeFiles(dir, "meta-a", id, []string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := mtls.Load(dir+"/"+devca.CertFile, cp, kp)
	if err != nil || n.Identity != id {
		t.Fatalf("Load = %+v, %v", n, err)
	}
	otherDir := t.TempDir()
	if _, err := devca.EnsureCA(otherDir); err != nil {
		t.Fatal(err)
	}
	if _, err := mtls.Load(otherDir+"/"+devca.CertFile, cp, kp); !errors.Is(err, mtls.ErrBadFiles) {
		t.Fatalf("a certificate of another CA loaded: %v", err)
	}
	if _, err := mtls.Load("", cp, kp); !errors.Is(err, mtls.ErrBadFiles) {
		t.Fatalf("missing CA: %v", err)
	}
}

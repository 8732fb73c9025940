package devca

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
)

func TestEnsureCAReusesAndIssues(t *testing.T) {
	dir := t.TempDir()
	a, err := EnsureCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EnsureCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Cert.Equal(b.Cert) {
		t.Fatal("EnsureCA created a second CA instead of reusing the first")
	}
	srv, err := b.IssueServer([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Leaf.Verify(x509.VerifyOptions{Roots: a.Pool(), DNSName: "localhost"}); err != nil {
		t.Fatalf("server cert does not verify: %v", err)
	}
	cl, err := b.IssueClient("edge-1", RoleEdge)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Leaf.Verify(x509.VerifyOptions{Roots: a.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client cert does not verify: %v", err)
	}
	if len(cl.Leaf.URIs) != 1 || cl.Leaf.URIs[0].String() != "meridian://edge/edge-1" {
		t.Fatalf("client URIs %v", cl.Leaf.URIs)
	}
	if _, err := b.IssueClient("x/y", RoleEdge); err == nil {
		t.Fatal("a name with a slash was accepted")
	}
	cp, kp, err := WriteCertFiles(dir, "edge", cl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(cp, kp); err != nil {
		t.Fatalf("written files do not load: %v", err)
	}
}

package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/testbed/devca"
)

// TestS3ServerTLS: the regional role's --listen-tls flags are checked
// together: the certificate and key come with the listener, and only with it.
func TestS3ServerTLS(t *testing.T) {
	ca := devca.TestCA(t)
	cert, err := ca.IssueServer([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, err := devca.WriteCertFiles(dir, "s3", cert)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, listen, cert, key string
		wantErr                 string // "" : no error
		wantTLS                 bool
	}{
		{"off", "", "", "", "", false},
		{"certificate without listener", "", certFile, "", "need --listen-tls", false},
		{"listener without key", "127.0.0.1:0", certFile, "", "needs --listen-tls-cert and --listen-tls-key", false},
		{"listener without certificate", "127.0.0.1:0", "", keyFile, "needs --listen-tls-cert and --listen-tls-key", false},
		{"missing file", "127.0.0.1:0", filepath.Join(dir, "nope.pem"), keyFile, "--listen-tls-cert/--listen-tls-key:", false},
		{"key of another certificate", "127.0.0.1:0", certFile, certFile, "--listen-tls-cert/--listen-tls-key:", false},
		{"on", "127.0.0.1:0", certFile, keyFile, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s3ServerTLS(tc.listen, tc.cert, tc.key)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			case tc.wantTLS != (c != nil && len(c.Certificates) == 1):
				t.Fatalf("config %+v, want a certificate: %v", c, tc.wantTLS)
			}
		})
	}
}

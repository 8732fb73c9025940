package storagesvc_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
	"github.com/meridian-s3/meridian/testbed/devca"
)

// TestShardAuthorization calls every route with a certificate of every role
// (docs/security.md's table) and checks that refused calls changed nothing,
// over mutual TLS and over authenticated local sockets (internal/localconn).
func TestShardAuthorization(t *testing.T) {
	for _, transport := range []string{"tls", "local"} {
		t.Run(transport, func(t *testing.T) { testShardAuthorization(t, transport == "local") })
	}
}

func testShardAuthorization(t *testing.T, local bool) {
	cfg := testConfig(t.TempDir())
	sockets := ""
	if local {
		sockets = filepath.Join(t.TempDir(), "s")
		cfg.TLS.SetLocalDir(sockets, nil)
	}
	n := startNode(t, cfg)
	if local != (n.srv.LocalAddr() != "") {
		t.Fatalf("local socket %q", n.srv.LocalAddr())
	}
	ctx := context.Background()
	gwNode := identity(mtls.RoleGateway, "gw", "az-a")
	gwNode.SetLocalDir(sockets, nil)
	gw := storageclient.NewTLS(gwNode)
	if _, err := gw.Put(ctx, n.addr, "keep", bytes.NewReader([]byte("precious")), 8, crc([]byte("precious"))); err != nil {
		t.Fatal(err)
	}
	edgeCert, err := testPKI().IssueClient("edge-x", devca.RoleEdge)
	if err != nil {
		t.Fatal(err)
	}
	edge, err := mtls.NewNode(testPKI().Pool(), edgeCert)
	if err != nil {
		t.Fatal(err)
	}
	callers := map[string]*mtls.Node{
		"meta":       identity(mtls.RoleMeta, "meta-a", "az-a"),
		"storage":    identity(mtls.RoleStorage, "n2", "az-a"),
		"gateway":    identity(mtls.RoleGateway, "gw", ""),
		"background": identity(mtls.RoleBackground, "bg", ""),
		"admin":      identity(mtls.RoleAdmin, "admin", ""),
		"edge":       edge,
		"gateway of another region": func() *mtls.Node {
			n, err := testPKI().Node(mtls.Identity{Role: mtls.RoleGateway, ID: "gw", Region: "elsewhere"})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}(),
	}
	for _, c := range callers {
		c.SetLocalDir(sockets, nil)
	}
	shard := []string{"gateway", "background"}
	for _, tc := range []struct {
		method, path, body string
		allowed            []string
	}{
		{"PUT", "/v1/shards/new", "abc", shard},
		{"GET", "/v1/shards/keep", "", shard},
		{"HEAD", "/v1/shards/keep", "", shard},
		{"GET", "/v1/shards", "", shard},
		{"POST", "/v1/shards/keep/verify", "", shard},
		{"DELETE", "/v1/shards/keep", "", shard},
		{"GET", "/v1/status", "", []string{"gateway", "background", "admin"}},
		{"GET", "/readyz", "", []string{"meta", "storage", "gateway", "background", "admin"}},
	} {
		for name, node := range callers {
			t.Run(fmt.Sprintf("%s %s as %s", tc.method, tc.path, name), func(t *testing.T) {
				allowed := false
				for _, a := range tc.allowed {
					allowed = allowed || a == name
				}
				if allowed && tc.method == "DELETE" {
					t.Skip("the allowed delete would remove the shard the other cases check")
				}
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				req, _ := http.NewRequest(tc.method, "https://"+n.addr+tc.path, body)
				resp, err := httpsClient(t, node).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if refused := resp.StatusCode == http.StatusForbidden; allowed == refused || (allowed && resp.StatusCode/100 != 2) {
					t.Fatalf("%d %s (allowed: %v)", resp.StatusCode, bytes.TrimSpace(msg), allowed)
				}
				got, err := readAll(t, gw, n.addr, "keep", 0, -1)
				if err != nil || string(got) != "precious" {
					t.Fatalf("the shard changed: %q %v", got, err)
				}
			})
		}
	}
	for _, c := range append(slices.Collect(maps.Values(callers)), gwNode) {
		st := c.DialStats()
		if local && (st.Local == 0 || st.TLS != 0 || st.LocalFailed != 0) || !local && st.Local != 0 {
			t.Errorf("%s dialed %+v (local sockets: %v)", c.Identity, st, local)
		}
	}
}

// TestRefusesPlainAndStrangers: plain HTTP, TLS without a client
// certificate and a certificate of another CA never reach a handler.
func TestRefusesPlainAndStrangers(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	other := devca.TestNode(t, devca.TestCA(t), mtls.RoleGateway, "gw", testRegion, "")
	for name, hc := range map[string]*http.Client{
		"plain": {Timeout: 5 * time.Second},
		"no client certificate": {Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: testPKI().Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS13}}},
		"another CA": {Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates: other.ServerConfig().Certificates, RootCAs: testPKI().Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS13}}},
	} {
		scheme := "https://"
		if name == "plain" {
			scheme = "http://"
		}
		resp, err := hc.Get(scheme + n.addr + "/v1/shards")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// Go's TLS server answers a plain HTTP request with a 400
			// telling it to use HTTPS; nothing else may come back.
			if name != "plain" || resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "HTTPS") {
				t.Errorf("%s: %s %q", name, resp.Status, b)
			}
		}
	}
}

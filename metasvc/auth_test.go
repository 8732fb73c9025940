package metasvc_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
	"github.com/meridian-s3/meridian/metasvc/raftmux"
	"github.com/meridian-s3/meridian/testbed/devca"
)

// TestRPCAuthorization calls every RPC route with a certificate of every
// role and checks who gets in (docs/security.md's table).
func TestRPCAuthorization(t *testing.T) {
	c := metasvctest.Start(t, metasvctest.Options{Partitions: 1})
	if _, err := c.Client().RegionStatus(context.Background()); err != nil { // the control plane is initialized
		t.Fatal(err)
	}
	leader := "https://" + c.Peers[c.LeaderOf("p0", 5*time.Second)].Addr
	ctl := "https://" + c.Peers[c.LeaderOf("ctl", 5*time.Second)].Addr
	edgeCert, err := c.CA.IssueClient("edge-x", devca.RoleEdge)
	if err != nil {
		t.Fatal(err)
	}
	edge, err := mtls.NewNode(c.CA.Pool(), edgeCert)
	if err != nil {
		t.Fatal(err)
	}
	callers := map[string]*mtls.Node{
		"meta":                      c.Identity(mtls.RoleMeta, "meta-0", "a"),
		"storage":                   c.Identity(mtls.RoleStorage, "s1", "a"),
		"gateway":                   c.Identity(mtls.RoleGateway, "gw", "a"),
		"background":                c.Identity(mtls.RoleBackground, "bg", "a"),
		"admin":                     c.Identity(mtls.RoleAdmin, "admin", "a"),
		"edge":                      edge,
		"gateway of another region": devca.TestNode(t, c.CA, mtls.RoleGateway, "gw", "other-region", "a"),
	}
	hb := `{"id":"s1","az":"a","addr":"127.0.0.1:9","capacity":100}`
	for _, tc := range []struct {
		method, url, body string
		allowed           []string
	}{
		{"POST", leader + "/v1/p/0/apply", `{"t":4,"delete":{"bucket":"b","key":"k"}}`, []string{"gateway", "background"}},
		{"POST", leader + "/v1/p/0/get", `{"bucket":"b","key":"k"}`, []string{"gateway", "background", "admin"}},
		{"POST", leader + "/v1/p/0/feed", `{"max":1}`, []string{"gateway", "background", "admin"}},
		{"POST", ctl + "/v1/ctl/heartbeat", hb, []string{"storage"}},
		{"GET", ctl + "/v1/ctl/status", "", []string{"meta", "storage", "gateway", "background", "admin"}},
		{"GET", ctl + "/v1/ctl/nodes", "", []string{"gateway", "background", "admin"}},
		{"POST", ctl + "/v1/ctl/drain", `{"id":"nosuch","on":true}`, []string{"admin"}},
		{"POST", ctl + "/v1/ctl/remove", `{"id":"nosuch"}`, []string{"admin"}},
		{"GET", ctl + "/readyz", "", []string{"meta", "storage", "gateway", "background", "admin"}},
	} {
		for name, node := range callers {
			t.Run(fmt.Sprintf("%s %s as %s", tc.method, tc.url[strings.Index(tc.url[len("https://"):], "/")+len("https://"):], name), func(t *testing.T) {
				allowed := false
				for _, a := range tc.allowed {
					allowed = allowed || a == name
				}
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				req, _ := http.NewRequest(tc.method, tc.url, body)
				resp, err := c.HTTPClient(node).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				// An admitted call may still meet an election (421, 503):
				// what is tested is only whether the role got past the door.
				refused := resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized
				if allowed == refused || (refused && !strings.Contains(string(msg), "mtls:")) {
					t.Fatalf("%d %s (allowed: %v)", resp.StatusCode, bytes.TrimSpace(msg), allowed)
				}
			})
		}
	}
}

// TestHeartbeatBoundToCertificate: a storage node cannot register or move
// another node, nor itself into another AZ.
func TestHeartbeatBoundToCertificate(t *testing.T) {
	c := metasvctest.Start(t, metasvctest.Options{Partitions: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	real := metapb.StorageNode{ID: "b1", AZ: "b", Addr: "127.0.0.1:7001", CapacityBytes: 100}
	if err := c.StorageClient("b1", "b").Heartbeat(ctx, real); err != nil {
		t.Fatal(err)
	}
	a1 := c.StorageClient("a1", "a")
	for _, forged := range []metapb.StorageNode{
		{ID: "b1", AZ: "b", Addr: "127.0.0.1:6666", CapacityBytes: 100}, // move b1
		{ID: "rogue", AZ: "a", Addr: "127.0.0.1:6666", CapacityBytes: 100},
		{ID: "a1", AZ: "c", Addr: "127.0.0.1:6666", CapacityBytes: 100}, // itself, in another AZ
	} {
		if err := a1.Heartbeat(ctx, forged); !errors.Is(err, metaclient.ErrForbidden) {
			t.Fatalf("forged heartbeat %+v: %v, want ErrForbidden", forged, err)
		}
	}
	nodes, err := c.Client().StorageNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].ID != "b1" || nodes[0].Addr != real.Addr {
		t.Fatalf("registrations changed by forged heartbeats: %+v", nodes)
	}
}

// TestRefusesStrangers: plain HTTP, no client certificate, a certificate of
// another CA, and Raft from a non-meta certificate are all refused.
func TestRefusesStrangers(t *testing.T) {
	c := metasvctest.Start(t, metasvctest.Options{Partitions: 1})
	addr := c.Peers[0].Addr
	hc := &http.Client{Timeout: 5 * time.Second}
	if resp, err := hc.Get("http://" + addr + "/v1/ctl/status"); err == nil {
		resp.Body.Close()
		t.Fatalf("plain HTTP answered %s", resp.Status)
	}
	// TLS without a client certificate (trusting the CA).
	noCert := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: c.CA.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS13}}}
	if resp, err := noCert.Get("https://" + addr + "/v1/ctl/status"); err == nil {
		resp.Body.Close()
		t.Fatalf("no client certificate answered %s", resp.Status)
	}
	// A gateway certificate from another CA: the server refuses it; and our
	// client refuses the server (it does not chain to the other CA).
	other := devca.TestCA(t)
	stranger := devca.TestNode(t, other, mtls.RoleGateway, "gw", "test-1", "a")
	strangerHC := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: stranger.ServerConfig().Certificates, RootCAs: c.CA.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS13}}}
	if resp, err := strangerHC.Get("https://" + addr + "/v1/ctl/status"); err == nil {
		resp.Body.Close()
		t.Fatalf("another CA's certificate answered %s", resp.Status)
	}
	// Raft with a gateway certificate of the right CA: the handshake
	// succeeds, then the mux closes the connection before any group sees it.
	gw := c.Identity(mtls.RoleGateway, "gw", "a")
	conn, err := gw.Dialer(5*time.Second, []string{raftmux.ALPN}, mtls.RoleMeta)(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write(raftmux.Header(metasvc.PartitionGroup(0)))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := conn.Read(b[:]); err == nil || errors.Is(err, net.ErrClosed) || isTimeout(err) {
		t.Fatalf("raft connection with a gateway certificate was not closed by the server: %v", err)
	}
	// A meta certificate of the region is a Raft peer (the cluster runs on it).
	if _, err := c.Client().RegionStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

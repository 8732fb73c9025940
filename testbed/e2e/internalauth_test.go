package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/internal/localconn"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/raftmux"
	"github.com/meridian-s3/meridian/testbed/devca"
)

// TestInternalAuth attacks a region's internal ports the way a stranger on
// the internal network would (issue 6): no client certificate, a
// certificate of another CA, a storage node's certificate impersonating
// another node in a heartbeat or deleting a record through /apply, a
// gateway certificate speaking Raft, an edge certificate reading shards.
// Every attempt is refused and nothing changes: the object reads back, the
// storage nodes keep their registrations and shards.
func TestInternalAuth(t *testing.T) {
	r := StartRegion(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := r.Client()
	const bucket, key = "internal-auth", "precious"
	body := make([]byte, 1<<20) // stored as shards, not inline
	_, _ = rand.Read(body)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	load := r.NodeTLS
	edgeNode, err := mtls.Load(filepath.Join(r.certDir, "ca.pem"), filepath.Join(r.certDir, "edge-client.pem"), filepath.Join(r.certDir, "edge-client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	storageA1, storageB1, gateway := load("storage-a1"), r.Proc("storage-b1"), load("regional")
	before := shardCounts(t, r, gateway)
	stranger := devca.TestNode(t, devca.TestCA(t), mtls.RoleGateway, "regional", r.region, "")

	deleteBody := fmt.Sprintf(`{"t":%d,"delete":{"bucket":%q,"key":%q}}`, metapb.CmdDelete, bucket, key)
	forged := `{"id":"storage-b1","az":"b","addr":"127.0.0.1:1","capacity":1099511627776}`
	rogue := `{"id":"storage-rogue","az":"a","addr":"127.0.0.1:1","capacity":1099511627776}`
	plain := &http.Client{Timeout: 5 * time.Second}
	noCert := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}}}
	as := func(n *mtls.Node, server mtls.Role) *http.Client {
		tr := &http.Transport{DialTLSContext: n.Dialer(5*time.Second, []string{"http/1.1"}, server)}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Timeout: 10 * time.Second, Transport: tr}
	}
	// The client of another CA must not refuse the server first: skip its
	// verification so that the server's verdict is what is tested.
	strangerHC := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: stranger.ServerConfig().Certificates, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}}}

	type attempt struct {
		name, method, url, body string
		hc                      *http.Client
		want                    int // 0: the request must fail before any HTTP answer
	}
	var attempts []attempt
	for p := 0; p < r.Opts.Partitions; p++ {
		for _, m := range r.MetaAddrs {
			u := fmt.Sprintf("%s/v1/p/%d/apply", m, p)
			attempts = append(attempts,
				attempt{"apply delete, plain HTTP", "POST", "http://" + u, deleteBody, plain, 0},
				attempt{"apply delete, no client certificate", "POST", "https://" + u, deleteBody, noCert, 0},
				attempt{"apply delete, another CA", "POST", "https://" + u, deleteBody, strangerHC, 0},
				attempt{"apply delete, storage certificate", "POST", "https://" + u, deleteBody, as(storageA1, mtls.RoleMeta), http.StatusForbidden},
				attempt{"apply delete, edge certificate", "POST", "https://" + u, deleteBody, as(edgeNode, mtls.RoleMeta), http.StatusForbidden})
		}
	}
	for _, m := range r.MetaAddrs {
		u := "https://" + m + "/v1/ctl/heartbeat"
		attempts = append(attempts,
			attempt{"heartbeat moving storage-b1, storage-a1's certificate", "POST", u, forged, as(storageA1, mtls.RoleMeta), http.StatusForbidden},
			attempt{"heartbeat registering a rogue node, storage-a1's certificate", "POST", u, rogue, as(storageA1, mtls.RoleMeta), http.StatusForbidden},
			attempt{"heartbeat, gateway certificate", "POST", u, forged, as(gateway, mtls.RoleMeta), http.StatusForbidden},
			attempt{"heartbeat, plain HTTP", "POST", "http://" + m + "/v1/ctl/heartbeat", rogue, plain, 0},
			attempt{"heartbeat, another CA", "POST", u, rogue, strangerHC, 0})
	}
	for _, s := range r.Storage[:4] {
		u := "https://" + s.Addr + "/v1/shards"
		attempts = append(attempts,
			attempt{"list shards, storage certificate", "GET", u, "", as(storageA1, mtls.RoleStorage), http.StatusForbidden},
			attempt{"list shards, edge certificate", "GET", u, "", as(edgeNode, mtls.RoleStorage), http.StatusForbidden},
			attempt{"list shards, no client certificate", "GET", u, "", noCert, 0},
			attempt{"list shards, another CA", "GET", u, "", strangerHC, 0},
			attempt{"write a shard, storage certificate", "PUT", u + "/forged", "evil", as(storageA1, mtls.RoleStorage), http.StatusForbidden})
	}
	for _, a := range attempts {
		req, err := http.NewRequestWithContext(ctx, a.method, a.url, strings.NewReader(a.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.hc.Do(req)
		if err != nil {
			if a.want != 0 {
				t.Errorf("%s: %s: %v, want %d", a.name, a.url, err, a.want)
			}
			continue
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// A TLS listener answers a plain HTTP request with Go's canned
		// 400 "client sent an HTTP request to an HTTPS server": no handler ran.
		canned := resp.StatusCode == http.StatusBadRequest && strings.Contains(string(msg), "HTTPS server")
		if (a.want == 0 && !canned) || (a.want != 0 && resp.StatusCode != a.want) {
			t.Errorf("%s: %s: %d %s, want %d", a.name, a.url, resp.StatusCode, bytes.TrimSpace(msg), a.want)
		}
	}

	// The storage nodes' local sockets (--local-socket-dir): the same
	// answers as over TLS, and nothing for a caller without a certificate
	// of the region's CA.
	if r.Sockets == "" {
		t.Log("MERIDIAN_E2E_TLS_ONLY: no local sockets to probe")
	} else {
		localAs := func(n *mtls.Node) *http.Client {
			n.SetLocalDir(r.Sockets, nil)
			return as(n, mtls.RoleStorage)
		}
		localStorage, localEdge, localStranger := load("storage-a1"), edgeNodeCopy(t, r), devca.TestNode(t, devca.TestCA(t), mtls.RoleGateway, "regional", r.region, "")
		localStrangerHC := localAs(localStranger)
		for _, s := range r.Storage[:4] {
			u := "https://" + s.Addr + "/v1/shards"
			for _, a := range []attempt{
				{"local: list shards, storage certificate", "GET", u, "", localAs(localStorage), http.StatusForbidden},
				{"local: write a shard, storage certificate", "PUT", u + "/forged", "evil", localAs(localStorage), http.StatusForbidden},
				{"local: list shards, edge certificate", "GET", u, "", localAs(localEdge), http.StatusForbidden},
				{"local: list shards, another CA", "GET", u, "", localStrangerHC, 0},
			} {
				req, _ := http.NewRequestWithContext(ctx, a.method, a.url, strings.NewReader(a.body))
				resp, err := a.hc.Do(req)
				if err != nil {
					if a.want != 0 {
						t.Errorf("%s: %s: %v, want %d", a.name, a.url, err, a.want)
					}
					continue
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != a.want {
					t.Errorf("%s: %s: %d %s, want %d", a.name, a.url, resp.StatusCode, bytes.TrimSpace(msg), a.want)
				}
			}
			// No certificate at all: a plain HTTP request on the socket gets
			// the server's hello and the connection closed, no HTTP answer.
			conn, err := net.Dial("unix", localconn.SocketPath(r.Sockets, s.Addr))
			if err != nil {
				t.Fatalf("%s: no local socket: %v", s.Name, err)
			}
			_, _ = io.WriteString(conn, "GET /v1/shards HTTP/1.1\r\nHost: x\r\n\r\n")
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, _ := io.ReadAll(conn)
			conn.Close()
			if bytes.Contains(got, []byte("HTTP/1.1")) || !bytes.HasPrefix(got, []byte(localconn.Magic)) {
				t.Errorf("%s: unauthenticated local client read %q", s.Name, got)
			}
		}
		for name, n := range map[string]*mtls.Node{"storage": localStorage, "edge": localEdge} {
			if st := n.DialStats(); st.Local == 0 || st.TLS != 0 {
				t.Errorf("%s certificate: dialed %+v, want local sockets only", name, st)
			}
		}
		if st := localStranger.DialStats(); st.Local != 0 || st.LocalFailed == 0 {
			t.Errorf("another CA: dialed %+v, want refused local handshakes", st)
		}
	}

	// Raft with a gateway certificate of the region's CA: the handshake
	// completes (ALPN meridian-raft), then the meta node hangs up.
	for _, m := range r.MetaAddrs {
		conn, err := gateway.Dialer(5*time.Second, []string{raftmux.ALPN}, mtls.RoleMeta)(ctx, "tcp", m)
		if err != nil {
			t.Fatalf("raft dial %s: %v", m, err)
		}
		_, _ = conn.Write(raftmux.Header("p0"))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(make([]byte, 1))
		conn.Close()
		if err == nil || isTimeout(err) {
			t.Errorf("raft from a gateway certificate at %s: read %d bytes, %v; want the connection closed", m, n, err)
		}
	}

	// Nothing changed: the object, the registrations, the shards.
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("the object is gone: %v", err)
	}
	b, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil || !bytes.Equal(b, body) {
		t.Fatalf("the object changed: %d bytes, %v", len(b), err)
	}
	st, err := r.Status(r.MetaAddrs...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(st.Raw, "storage-rogue") || len(st.StorageHealthy) != len(r.Storage) {
		t.Errorf("registrations changed:\n%s", st.Raw)
	}
	for _, line := range strings.Split(st.Raw, "\n") {
		if strings.Contains(line, " storage-b1 ") && !strings.Contains(line, storageB1.Addr) {
			t.Errorf("storage-b1 moved: %q, want address %s", line, storageB1.Addr)
		}
	}
	if after := shardCounts(t, r, gateway); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("shards changed: before %v, after %v", before, after)
	}
}

// edgeNodeCopy loads the edge client certificate again (a Node of its own).
func edgeNodeCopy(t *testing.T, r *Region) *mtls.Node {
	t.Helper()
	n, err := mtls.Load(filepath.Join(r.certDir, "ca.pem"), filepath.Join(r.certDir, "edge-client.pem"), filepath.Join(r.certDir, "edge-client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// shardCounts lists every storage node's shards with the gateway's certificate.
func shardCounts(t *testing.T, r *Region, gateway *mtls.Node) map[string]int {
	t.Helper()
	tr := &http.Transport{DialTLSContext: gateway.Dialer(5*time.Second, []string{"http/1.1"}, mtls.RoleStorage)}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	out := map[string]int{}
	for _, s := range r.Storage {
		resp, err := hc.Get("https://" + s.Addr + "/v1/shards?limit=10000")
		if err != nil {
			t.Fatalf("list %s as the gateway: %v", s.Name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list %s as the gateway: %d %s", s.Name, resp.StatusCode, b)
		}
		out[s.Name] = bytes.Count(b, []byte(`"id"`))
	}
	return out
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

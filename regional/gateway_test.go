package regional_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/meridian-s3/meridian/background"
	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/embedded"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
	"github.com/meridian-s3/meridian/regional"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/regional/objectio/objectiotest"
)

const (
	testKey    = "AKIDGATEWAYTEST"
	testSecret = "gateway-test-secret"
)

// world is a gateway on a real 3-node metadata cluster, with shards in the
// in-memory fake (fault hooks, shard counts) instead of storage nodes.
type world struct {
	t       testing.TB
	url     string
	store   *objectiotest.Store
	meta    *metaclient.Client
	catalog *embedded.Store
	nodes   []metapb.StorageNode
	signer  *v4.Signer
	gw      *regional.Gateway
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, nil)
}

// newWorldWith is newWorld with mod applied to the gateway's config.
func newWorldWith(t testing.TB, mod func(*regional.Config)) *world {
	t.Helper()
	w := &world{t: t, signer: v4.NewSigner()}
	ctx := context.Background()
	ecfg := embedded.DefaultConfig()
	ecfg.EncryptionKey = make([]byte, 32)
	catalog, err := embedded.Open(filepath.Join(t.TempDir(), "catalog.db"), ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = catalog.Close() })
	w.catalog = catalog
	acct, err := catalog.CreateAccount(ctx, bucketsvc.Account{DisplayName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.PutAccessKey(ctx, bucketsvc.AccessKey{ID: testKey, Secret: testSecret, AccountID: acct.ID, Status: bucketsvc.KeyActive, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	w.meta = metasvctest.Start(t, metasvctest.Options{Partitions: 2, Region: "us-east-1"}).Client()
	w.store = objectiotest.New(false)
	for a := 0; a < 4; a++ {
		for j := 0; j < 4; j++ {
			w.nodes = append(w.nodes, metapb.StorageNode{ID: fmt.Sprintf("n-%c%d", 'a'+a, j), AZ: fmt.Sprintf("az-%c", 'a'+a),
				Addr: fmt.Sprintf("10.9.%d.%d:7000", a, j), Healthy: true, CapacityBytes: 1 << 40})
		}
	}
	oc := objectio.DefaultConfig()
	oc.Client = w.store
	oc.Nodes = func() []metapb.StorageNode { return w.nodes }
	oc.Logger = slog.New(slog.DiscardHandler)
	oc.SegmentSize = 4 << 20 // several segments per object in these tests
	engine, err := objectio.New(oc)
	if err != nil {
		t.Fatal(err)
	}
	gc := regional.DefaultConfig()
	gc.Listen = "127.0.0.1:0"
	gc.ShutdownTimeout = 2 * time.Second
	gc.Meta, gc.Data, gc.Catalog = w.meta, engine, catalog
	if mod != nil {
		mod(&gc)
	}
	g, err := regional.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = g.Close()
		<-done
	})
	<-g.Ready()
	w.gw = g
	w.url = "http://" + g.Addr()
	// The garbage queue is drained by a background server (the gateway
	// keeps no background loops).
	bc := background.DefaultConfig()
	bc.ID = "bg-" + t.Name()
	bc.Meta, bc.Data = w.meta, engine
	bc.Region, bc.Catalog, bc.LifecycleDay = gc.Region, catalog, gc.LifecycleDay // lifecycle rules (lifecycle_test.go)
	bc.Interval = 50 * time.Millisecond
	bc.GarbageGrace = 0
	bc.Logger = slog.New(slog.DiscardHandler)
	bg, err := background.New(bc)
	if err != nil {
		t.Fatal(err)
	}
	bgDone := make(chan error, 1)
	go func() { bgDone <- bg.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = bg.Close()
		<-bgDone
	})
	return w
}

// do sends a SigV4-signed request with a verified payload hash.
func (w *world) do(method, path string, body []byte, hdr map[string]string) (int, []byte) {
	w.t.Helper()
	return w.doAs(aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}, method, path, body, hdr)
}

// doAs is do with other credentials.
func (w *world) doAs(creds aws.Credentials, method, path string, body []byte, hdr map[string]string) (int, []byte) {
	w.t.Helper()
	code, _, out := w.doFull(creds, method, path, body, hdr)
	return code, out
}

// doResp is do answering the response headers too.
func (w *world) doResp(method, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	w.t.Helper()
	return w.doFull(aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}, method, path, body, hdr)
}

// doFull sends a request signed with creds (UNSIGNED-PAYLOAD) and returns
// the status, the response headers and the body.
func (w *world) doFull(creds aws.Credentials, method, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.url+path, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
	if err := w.signer.SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		w.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func (w *world) mustStatus(want int, method, path string, body []byte, hdr map[string]string) []byte {
	w.t.Helper()
	code, out := w.do(method, path, body, hdr)
	if code != want {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, out)
	}
	return out
}

// settle waits until the reclaimer brought the shard count to want.
func (w *world) settle(want int) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for w.store.Count() != want {
		if time.Now().After(deadline) {
			w.t.Fatalf("shards stored: %d, want %d", w.store.Count(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func s3code(body []byte) string {
	var e struct {
		Code string `xml:"Code"`
	}
	_ = xml.Unmarshal(body, &e)
	return e.Code
}

// TestNothingLeaks drives the gateway through successes and failures and
// checks after each step that the shards stored are exactly those of the
// committed versions: no failure leaves data visible or shards behind, a
// retry never stores a second copy, and overwritten, deleted and unused
// multipart data is reclaimed (docs/design.md invariants 2–4).
func TestNothingLeaks(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/leaks", nil, nil)
	perObject := func(size int) int { return 14 * ((size + (4 << 20) - 1) / (4 << 20)) } // 14 shards per 4 MiB segment

	a := random(6 << 20)
	w.mustStatus(200, "PUT", "/leaks/a", a, nil)
	w.settle(perObject(len(a)))
	if got := w.mustStatus(200, "GET", "/leaks/a", nil, nil); !bytes.Equal(got, a) {
		t.Fatal("GET a: content differs")
	}

	t.Run("overwrite reclaims the old version", func(t *testing.T) {
		a2 := random(3 << 20)
		w.mustStatus(200, "PUT", "/leaks/a", a2, nil)
		w.settle(perObject(len(a2)))
		if got := w.mustStatus(200, "GET", "/leaks/a", nil, nil); !bytes.Equal(got, a2) {
			t.Fatal("GET after overwrite: content differs")
		}
		a = a2
	})
	base := perObject(len(a))

	t.Run("bad Content-MD5 stores nothing", func(t *testing.T) {
		body := random(2 << 20)
		wrong := md5.Sum([]byte("something else"))
		out := w.mustStatus(400, "PUT", "/leaks/bad-md5", body, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(wrong[:])})
		if s3code(out) != "BadDigest" {
			t.Fatalf("code %q", s3code(out))
		}
		w.mustStatus(404, "GET", "/leaks/bad-md5", nil, nil)
		w.settle(base)
	})

	t.Run("failed shard writes store nothing", func(t *testing.T) {
		for _, n := range w.nodes[:12] { // three of four AZs refuse every write
			w.store.SetFault(n.Addr, objectiotest.Fault{PutFail: true, PutFailAfter: 100 << 10})
		}
		code, out := w.do("PUT", "/leaks/faulty", random(5<<20), nil)
		for _, n := range w.nodes[:12] {
			w.store.SetFault(n.Addr, objectiotest.Fault{})
		}
		if code < 500 {
			t.Fatalf("PUT with 12 of 16 nodes failing: status %d %s", code, out)
		}
		w.mustStatus(404, "GET", "/leaks/faulty", nil, nil)
		w.settle(base)
		// No PREPARING record is left for the janitor either.
		for p := 0; p < w.meta.Partitions(); p++ {
			left, err := w.meta.ScanPreparing(context.Background(), p, time.Now().Add(time.Hour), 10)
			if err != nil || len(left) != 0 {
				t.Fatalf("partition %d: preparing records %v, err %v", p, left, err)
			}
		}
	})

	t.Run("a retried PUT stores one copy", func(t *testing.T) {
		body := random(5 << 20)
		hdr := map[string]string{"amz-sdk-invocation-id": "retry-1"}
		w.mustStatus(200, "PUT", "/leaks/retried", body, hdr)
		w.mustStatus(200, "PUT", "/leaks/retried", body, hdr)
		w.settle(base + perObject(len(body)))
		// The same token with another body is not a retry: refused, not acknowledged.
		out := w.mustStatus(400, "PUT", "/leaks/retried", random(5<<20), hdr)
		if s3code(out) != "InvalidRequest" {
			t.Fatalf("token reuse: code %q", s3code(out))
		}
		if got := w.mustStatus(200, "GET", "/leaks/retried", nil, nil); !bytes.Equal(got, body) {
			t.Fatal("retried object changed")
		}
		w.settle(base + perObject(len(body)))
		w.mustStatus(204, "DELETE", "/leaks/retried", nil, nil)
		w.settle(base)
	})

	t.Run("multipart keeps only the listed parts", func(t *testing.T) {
		out := w.mustStatus(200, "POST", "/leaks/mp?uploads", nil, nil)
		var init struct {
			UploadID string `xml:"UploadId"`
		}
		if err := xml.Unmarshal(out, &init); err != nil || init.UploadID == "" {
			t.Fatalf("create upload: %s", out)
		}
		up := "/leaks/mp?uploadId=" + init.UploadID
		p1, p1again, p2, p3 := random(5<<20), random(5<<20), random(1<<20), random(1<<20)
		w.mustStatus(200, "PUT", up+"&partNumber=1", p1, nil)
		w.mustStatus(200, "PUT", up+"&partNumber=1", p1again, nil) // replaces the first attempt
		w.mustStatus(200, "PUT", up+"&partNumber=2", p2, nil)
		w.mustStatus(200, "PUT", up+"&partNumber=3", p3, nil) // uploaded but not listed
		etag := func(b []byte) string { s := md5.Sum(b); return fmt.Sprintf("%x", s) }
		complete := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"%s"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"%s"</ETag></Part></CompleteMultipartUpload>`, etag(p1again), etag(p2))
		w.mustStatus(200, "POST", up, []byte(complete), nil)
		want := append(append([]byte{}, p1again...), p2...)
		if got := w.mustStatus(200, "GET", "/leaks/mp", nil, nil); !bytes.Equal(got, want) {
			t.Fatal("multipart content differs")
		}
		w.settle(base + perObject(len(p1again)) + perObject(len(p2)))
		w.mustStatus(204, "DELETE", "/leaks/mp", nil, nil)
		w.settle(base)

		// An aborted upload leaves nothing either.
		out = w.mustStatus(200, "POST", "/leaks/mp2?uploads", nil, nil)
		_ = xml.Unmarshal(out, &init)
		w.mustStatus(200, "PUT", "/leaks/mp2?partNumber=1&uploadId="+init.UploadID, random(5<<20), nil)
		w.mustStatus(204, "DELETE", "/leaks/mp2?uploadId="+init.UploadID, nil, nil)
		w.settle(base)
	})

	t.Run("delete reclaims everything", func(t *testing.T) {
		w.mustStatus(204, "DELETE", "/leaks/a", nil, nil)
		w.settle(0)
		out := w.mustStatus(200, "GET", "/leaks?list-type=2", nil, nil)
		if strings.Contains(string(out), "<Contents>") {
			t.Fatalf("listing not empty: %s", out)
		}
		w.mustStatus(204, "DELETE", "/leaks", nil, nil)
	})
}

// A GET whose shards are unreachable from the first stripe on answers an S3
// error (503, XML) instead of a 200 header followed by a cut connection; with
// enough shards back it serves the object.
func TestGetUnreadableAnswersError(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/unreadable", nil, nil)
	body := random(3 << 20)
	w.mustStatus(200, "PUT", "/unreadable/obj", body, nil)
	for _, n := range w.nodes[:8] { // two whole AZs: at most 8 of 14 shards left
		w.store.SetFault(n.Addr, objectiotest.Fault{Down: true})
	}
	code, out := w.do("GET", "/unreadable/obj", nil, nil)
	if code != http.StatusServiceUnavailable || s3code(out) != "ServiceUnavailable" || !strings.Contains(string(out), "<RequestId>") {
		t.Fatalf("GET with 8 of 16 nodes down: %d %s", code, out)
	}
	for _, n := range w.nodes[:8] {
		w.store.SetFault(n.Addr, objectiotest.Fault{})
	}
	if got := w.mustStatus(200, "GET", "/unreadable/obj", nil, nil); !bytes.Equal(got, body) {
		t.Fatal("content differs after recovery")
	}
}

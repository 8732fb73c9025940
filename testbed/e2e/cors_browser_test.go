package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// browserPage is served from the page's own origin. It writes an object
// with a presigned PUT carrying a custom header (so the browser sends a
// preflight first), reads it back with a presigned GET (the body and the
// exposed ETag are readable only if the answer carries the CORS headers),
// reads an object of a bucket without CORS rules (the browser must refuse
// to hand over the answer), and posts what it saw to its origin.
const browserPage = `<!doctype html><title>cors</title><script>
const put = %q, get = %q, denied = %q;
(async () => {
  const res = {};
  try {
    const r = await fetch(put, {method: "PUT", body: "written by a browser", headers: {"x-amz-meta-note": "browser"}});
    res.put = r.status;
  } catch (e) { res.put = "blocked: " + e; }
  try {
    const r = await fetch(get);
    res.get = r.status; res.body = await r.text(); res.etag = r.headers.get("ETag") || "";
  } catch (e) { res.get = "blocked: " + e; }
  try {
    const r = await fetch(denied);
    res.denied = "read, status " + r.status;
  } catch (e) { res.denied = "blocked"; }
  await fetch("/result", {method: "POST", body: JSON.stringify(res)});
})();
</script>`

// testGlobalCORSBrowser: headless Chromium, on a page of another origin,
// uploads and downloads through an edge with fetch(): the real browser
// sends the preflight and enforces the answers (docs/access-control.md
// "CORS").
func testGlobalCORSBrowser(t *testing.T, g *Global) {
	needClient(t, "chromium", lookPath("chromium"))
	ctx := context.Background()
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	c := g.Client(near, testAccessKey, testSecretKey)
	const bucket, closed = "cors-browser", "cors-browser-closed"
	for _, b := range []string{bucket, closed} {
		if err := CreateBucketIn(ctx, c, b, far.Region); err != nil {
			t.Fatalf("CreateBucket %s: %v", b, err)
		}
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(closed), Key: aws.String("secret.txt"), Body: strings.NewReader("not for pages")}); err != nil {
		t.Fatal(err)
	}

	// The page's origin: a plain HTTP server on loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()
	_, err = c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(bucket), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{
			{AllowedOrigins: []string{"https://elsewhere.example"}, AllowedMethods: []string{"GET"}},
			{AllowedOrigins: []string{"http://127.0.0.1:*"}, AllowedMethods: []string{"PUT", "GET"},
				AllowedHeaders: []string{"x-amz-meta-*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(60)},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	pc := s3.NewPresignClient(c)
	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("from-browser.txt"),
		Metadata: map[string]string{"note": "browser"}}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("from-browser.txt")}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	denied, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(closed), Key: aws.String("secret.txt")}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan string, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, browserPage, put.URL, get.URL, denied.URL)
		case "/result":
			b, _ := io.ReadAll(r.Body)
			select {
			case results <- string(b):
			default:
			}
		default:
			http.NotFound(w, r)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	// Chromium as the machine notes start it, plus the dev CA's edge
	// certificate accepted; its own process group, killed at the end.
	bctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(bctx, "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--ignore-certificate-errors",
		"--user-data-dir="+t.TempDir(), origin+"/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var raw string
	select {
	case raw = <-results:
	case <-bctx.Done():
	}
	cancel()
	_ = cmd.Wait()
	if raw == "" {
		t.Fatalf("the page reported nothing within 90 s; chromium said:\n%s", stderr.String())
	}
	var res struct {
		Put    any    `json:"put"`
		Get    any    `json:"get"`
		Body   string `json:"body"`
		ETag   string `json:"etag"`
		Denied string `json:"denied"`
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("page result %q: %v", raw, err)
	}
	t.Logf("browser (origin %s): %s", origin, raw)
	if res.Put != float64(200) || res.Get != float64(200) || res.Body != "written by a browser" || res.ETag == "" || res.Denied != "blocked" {
		t.Fatalf("browser saw %s; want PUT 200, GET 200 with the body and an ETag, the closed bucket blocked", raw)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("from-browser.txt")})
	if err != nil || head.Metadata["note"] != "browser" || aws.ToString(head.ETag) != res.ETag {
		t.Fatalf("the browser's object: %v %+v (page saw ETag %s)", err, head, res.ETag)
	}
}

package regional_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

const corsDoc = `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
	`<CORSRule><ID>app</ID><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>` +
	`<AllowedHeader>content-type</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>` +
	`<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>` +
	`</CORSConfiguration>`

// options sends an unsigned request, as a browser sends a preflight.
func (w *world) unsigned(method, path string, hdr map[string]string) (int, http.Header, string) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.url+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(out)
}

// TestCORSConfigurationAPI: Put/Get/Delete round trip through the
// catalog; the integrity check; a rejected document stores nothing.
func TestCORSConfigurationAPI(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/corsbucket", nil, nil)
	if code, out := w.do("GET", "/corsbucket?cors", nil, nil); code != 404 || s3code(out) != "NoSuchCORSConfiguration" ||
		!strings.Contains(string(out), "<BucketName>corsbucket</BucketName>") {
		t.Fatalf("GET before put: %d %s", code, out)
	}
	w.mustStatus(204, "DELETE", "/corsbucket?cors", nil, nil) // none: still 204
	body := []byte(corsDoc)
	if code, out := w.do("PUT", "/corsbucket?cors", body, nil); code != 400 || s3code(out) != "InvalidRequest" || !strings.Contains(string(out), "Content-MD5") {
		t.Fatalf("PUT without Content-MD5: %d %s", code, out)
	}
	w.mustStatus(200, "PUT", "/corsbucket?cors", body, md5Header(body))
	got := string(w.mustStatus(200, "GET", "/corsbucket?cors", nil, nil))
	for _, want := range []string{"<ID>app</ID>", "<AllowedOrigin>https://app.example.com</AllowedOrigin>", "<AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>",
		"<AllowedHeader>content-type</AllowedHeader>", "<ExposeHeader>ETag</ExposeHeader>", "<MaxAgeSeconds>600</MaxAgeSeconds>", "<AllowedOrigin>*</AllowedOrigin>"} {
		if !strings.Contains(got, want) {
			t.Errorf("GET lacks %s:\n%s", want, got)
		}
	}
	bad := []struct{ body, code, msg string }{
		{`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`,
			"InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"},
		{`<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`, "MalformedXML", ""},
		{`<CORSConfiguration/>`, "MalformedXML", ""},
	}
	for _, b := range bad {
		code, out := w.do("PUT", "/corsbucket?cors", []byte(b.body), md5Header([]byte(b.body)))
		if code != 400 || s3code(out) != b.code || !strings.Contains(string(out), b.msg) {
			t.Errorf("PUT %s: %d %s, want 400 %s", b.body, code, out, b.code)
		}
	}
	if again := string(w.mustStatus(200, "GET", "/corsbucket?cors", nil, nil)); again != got {
		t.Fatalf("a refused PUT changed the configuration:\n%s\nwas\n%s", again, got)
	}
	w.mustStatus(204, "DELETE", "/corsbucket?cors", nil, nil)
	if code, out := w.do("GET", "/corsbucket?cors", nil, nil); code != 404 || s3code(out) != "NoSuchCORSConfiguration" {
		t.Fatalf("GET after delete: %d %s", code, out)
	}
}

// TestCORSDirect: the direct listener answers preflights unauthenticated
// from the rules and adds Access-Control-* to answers of requests with an
// Origin — errors included — and nothing to requests without one.
func TestCORSDirect(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/corsdirect", nil, nil)
	pre := map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "Content-Type"}

	if code, _, out := w.unsigned("OPTIONS", "/corsdirect/k", pre); code != 403 || s3code([]byte(out)) != "AccessForbidden" ||
		!strings.Contains(out, "CORSResponse: CORS is not enabled for this bucket.") || !strings.Contains(out, "<ResourceType>BUCKET</ResourceType>") {
		t.Fatalf("preflight without rules: %d %s", code, out)
	}
	if code, _, out := w.unsigned("OPTIONS", "/nosuchbucket/k", pre); code != 403 || !strings.Contains(out, "CORSResponse: Bucket not found") {
		t.Fatalf("preflight on a missing bucket: %d %s", code, out)
	}
	body := []byte(corsDoc)
	w.mustStatus(200, "PUT", "/corsdirect?cors", body, md5Header(body))

	code, h, out := w.unsigned("OPTIONS", "/corsdirect/k", pre)
	if code != 200 || out != "" || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Allow-Methods") != "PUT, GET" || h.Get("Access-Control-Allow-Headers") != "content-type" ||
		h.Get("Access-Control-Expose-Headers") != "ETag" || h.Get("Access-Control-Max-Age") != "600" ||
		h.Get("Vary") != "Origin, Access-Control-Request-Headers, Access-Control-Request-Method" {
		t.Fatalf("preflight: %d %v %s", code, h, out)
	}
	// A presigned URL's query does not make a preflight an authenticated request.
	if code, _, out := w.unsigned("OPTIONS", "/corsdirect/k?X-Amz-Signature=00&X-Amz-Credential=x", pre); code != 200 {
		t.Fatalf("preflight with a presign query: %d %s", code, out)
	}
	if code, _, out := w.unsigned("OPTIONS", "/corsdirect/k", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"}); code != 403 ||
		!strings.Contains(out, "This CORS request is not allowed") || !strings.Contains(out, "<Method>PUT</Method><ResourceType>OBJECT</ResourceType>") {
		t.Fatalf("preflight from another origin: %d %s", code, out)
	}
	if code, _, out := w.unsigned("OPTIONS", "/corsdirect/k", map[string]string{"Access-Control-Request-Method": "PUT"}); code != 400 || s3code([]byte(out)) != "BadRequest" ||
		!strings.Contains(out, "Insufficient information. Origin request header needed.") {
		t.Fatalf("preflight without Origin: %d %s", code, out)
	}

	// Actual requests.
	w.mustStatus(200, "PUT", "/corsdirect/k", []byte("v"), nil)
	code, h, _ = w.doResp("GET", "/corsdirect/k", nil, map[string]string{"Origin": "https://app.example.com"})
	if code != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Fatalf("GET with Origin: %d %v", code, h)
	}
	code, h, _ = w.doResp("GET", "/corsdirect/k", nil, map[string]string{"Origin": "http://elsewhere"})
	if code != 200 || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("GET from any origin: %d %v", code, h)
	}
	code, h, _ = w.doResp("GET", "/corsdirect/missing", nil, map[string]string{"Origin": "https://app.example.com"})
	if code != 404 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("an error answer lacks CORS headers: %d %v", code, h)
	}
	code, h, _ = w.doResp("DELETE", "/corsdirect/k", nil, map[string]string{"Origin": "https://app.example.com"})
	if code != 204 || h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("DELETE (not allowed by any rule) got CORS headers: %d %v", code, h)
	}
	code, h, _ = w.doResp("GET", "/corsdirect?cors", nil, nil)
	if code != 200 || h.Get("Access-Control-Allow-Origin") != "" || h.Get("Vary") != "" {
		t.Fatalf("a request without Origin got CORS headers: %d %v", code, h)
	}
}

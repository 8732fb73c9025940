package regional_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/sigv4"
)

// postForm builds a browser-style form signed with SigV4 for testKey.
func postForm(t *testing.T, policyJSON string, fields [][2]string, file []byte, trailer bool) (string, []byte) {
	t.Helper()
	now := time.Now().UTC()
	date := now.Format("20060102")
	policy := base64.StdEncoding.EncodeToString([]byte(policyJSON))
	key := sigv4.SigningKey(testSecret, date, "us-east-1", "s3")
	sig := hex.EncodeToString(hmacSHA256(key, policy))
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	all := append([][2]string{
		{"x-amz-algorithm", sigv4.Algorithm}, {"x-amz-credential", testKey + "/" + date + "/us-east-1/s3/aws4_request"},
		{"x-amz-date", now.Format("20060102T150405Z")}, {"policy", policy}, {"x-amz-signature", sig},
	}, fields...)
	for _, f := range all {
		_ = mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("file", "report.csv")
	_, _ = fw.Write(file)
	if trailer {
		_ = mw.WriteField("after", "file")
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// TestPostObjectDirect: a form upload straight to the gateway (no request
// signature, only the form's), its ${filename} key and stored bytes, and
// refusals that store nothing.
func TestPostObjectDirect(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/forms", nil, nil)
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	policy := `{"expiration":"` + exp + `","conditions":[{"bucket":"forms"},["starts-with","$key","in/"],["content-length-range",1,8000000],{"x-amz-algorithm":"AWS4-HMAC-SHA256"},["starts-with","$x-amz-credential",""],["starts-with","$x-amz-date",""],["starts-with","$Content-Type",""]]}`
	post := func(ctype string, body []byte) (int, string) {
		req, _ := http.NewRequest("POST", w.url+"/forms", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 300000) // 4.8 MB: several segments
	ct, body := postForm(t, policy, [][2]string{{"key", "in/${filename}"}, {"Content-Type", "text/csv"}}, data, false)
	if code, out := post(ct, body); code != 204 {
		t.Fatalf("POST: %d %s", code, out)
	}
	if got := w.mustStatus(200, "GET", "/forms/in/report.csv", nil, nil); !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want %d", len(got), len(data))
	}
	for _, c := range []struct {
		name   string
		fields [][2]string
		file   []byte
		after  bool
		code   int
		s3code string
	}{
		{"field after the file", [][2]string{{"key", "in/late"}, {"Content-Type", "x"}}, []byte("abc"), true, 400, "MalformedPOSTRequest"},
		{"key outside the policy", [][2]string{{"key", "out/x"}, {"Content-Type", "x"}}, []byte("abc"), false, 403, "AccessDenied"},
		{"empty file", [][2]string{{"key", "in/empty"}, {"Content-Type", "x"}}, nil, false, 400, "EntityTooSmall"},
		{"no key", [][2]string{{"Content-Type", "x"}}, []byte("abc"), false, 400, "InvalidArgument"},
	} {
		ct, body := postForm(t, policy, c.fields, c.file, c.after)
		code, out := post(ct, body)
		if code != c.code || !strings.Contains(out, "<Code>"+c.s3code+"</Code>") {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, out, c.code, c.s3code)
		}
	}
	if code, out := w.do("GET", "/forms?list-type=2", nil, nil); code != 200 || strings.Count(string(out), "<Key>") != 1 {
		t.Errorf("refused forms stored something: %s", out)
	}
	// Without a form signature, an unsigned POST is AccessDenied; any other
	// unsigned request too.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("key", "in/anon")
	fw, _ := mw.CreateFormFile("file", "f")
	_, _ = fw.Write([]byte("x"))
	_ = mw.Close()
	if code, out := post(mw.FormDataContentType(), buf.Bytes()); code != 403 {
		t.Errorf("anonymous form: %d %s", code, out)
	}
	if resp, err := http.Get(w.url + "/forms/in/report.csv"); err != nil || resp.StatusCode != 403 {
		t.Errorf("unsigned GET: %v %v", err, resp)
	}
	// A bucket policy that lets anyone put under in/ admits the anonymous
	// form (authorized as s3:PutObject on its key), and only there.
	w.mustStatus(204, "PUT", "/forms?policy", []byte(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::forms/in/*"}]}`), nil)
	if code, out := post(mw.FormDataContentType(), buf.Bytes()); code != 204 {
		t.Errorf("anonymous form under a public-write policy: %d %s", code, out)
	}
	if got := w.mustStatus(200, "GET", "/forms/in/anon", nil, nil); string(got) != "x" {
		t.Errorf("anonymous form stored %q", got)
	}
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	_ = mw.WriteField("key", "out/anon")
	fw, _ = mw.CreateFormFile("file", "f")
	_, _ = fw.Write([]byte("x"))
	_ = mw.Close()
	if code, out := post(mw.FormDataContentType(), buf.Bytes()); code != 403 {
		t.Errorf("anonymous form outside the policy's prefix: %d %s", code, out)
	}
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

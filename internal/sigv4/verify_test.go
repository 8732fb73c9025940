package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
)

var testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

const testBody = "hello world"

func hexSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// signedPut returns a PUT of body signed with payload hash ph at testNow,
// after before() adjusted the request and before after() tampers with it.
func signedPut(t *testing.T, body, ph string, before func(*http.Request)) *http.Request {
	r := mustRequest(t, "PUT", "https://bucket.s3.us-east-1.amazonaws.com/dir/my%20key+1.txt?x-id=PutObject", strings.NewReader(body))
	r.Header.Set("Content-Type", "text/plain")
	if before != nil {
		before(r)
	}
	Sign(r, docAccessKey, docSecret, "us-east-1", testNow, ph)
	return r
}

func replaceAuth(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

func TestVerifyTamper(t *testing.T) {
	cases := []struct {
		name      string
		ph        string // payload hash; "" = hex of the body
		before    func(*http.Request)
		tamper    func(*http.Request)
		cfg       func(*VerifierConfig)
		now       time.Time // zero = testNow
		verifyErr s3err.Code
		bodyErr   s3err.Code
	}{
		{name: "intact"},
		{name: "intact, unsigned payload", ph: UnsignedPayload},
		{name: "changed signed header", tamper: func(r *http.Request) { r.Header.Set("Content-Type", "text/html") }, verifyErr: s3err.SignatureDoesNotMatch},
		{name: "changed method", tamper: func(r *http.Request) { r.Method = "POST" }, verifyErr: s3err.SignatureDoesNotMatch},
		{name: "changed path", tamper: func(r *http.Request) { r.URL.Path, r.URL.RawPath = "/dir/other", "" }, verifyErr: s3err.SignatureDoesNotMatch},
		{name: "changed query", tamper: func(r *http.Request) { r.URL.RawQuery = "x-id=GetObject" }, verifyErr: s3err.SignatureDoesNotMatch},
		{name: "changed host", tamper: func(r *http.Request) { r.Host = "evil.example" }, verifyErr: s3err.SignatureDoesNotMatch},
		{name: "extra whitespace in signed value is canonical", tamper: func(r *http.Request) { r.Header.Set("Content-Type", "  text/plain  ") }},
		{name: "changed body", tamper: func(r *http.Request) { r.Body = http.NoBody; r.Body = nopBody("hellO world") }, bodyErr: s3err.XAmzContentSHA256Mismatch},
		{name: "short body", tamper: func(r *http.Request) { r.Body = nopBody("hello") }, bodyErr: s3err.IncompleteBody},
		{name: "long body", tamper: func(r *http.Request) { r.Body = nopBody("hello world!") }, bodyErr: s3err.IncompleteBody},
		{name: "wrong secret", tamper: func(r *http.Request) {
			Sign(r, docAccessKey, "other-secret", "us-east-1", testNow, hexSHA(testBody))
		}, verifyErr: s3err.SignatureDoesNotMatch},
		{name: "unknown access key", tamper: func(r *http.Request) { replaceAuth(r, docAccessKey, "AKIDUNKNOWN") }, verifyErr: s3err.InvalidAccessKeyID},
		{name: "unsigned x-amz header", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Meta-Evil", "1") }, verifyErr: s3err.AccessDenied},
		{name: "skew past", now: testNow.Add(16 * time.Minute), verifyErr: s3err.RequestTimeTooSkewed},
		{name: "skew future", now: testNow.Add(-16 * time.Minute), verifyErr: s3err.RequestTimeTooSkewed},
		{name: "skew within", now: testNow.Add(14 * time.Minute)},
		{name: "scope date differs", tamper: func(r *http.Request) { replaceAuth(r, "/20250314/", "/20250313/") }, verifyErr: s3err.AuthorizationHeaderMalformed},
		{name: "region not allowed", cfg: func(c *VerifierConfig) { c.AllowedRegions = []string{"eu-west-1"} }, verifyErr: s3err.AuthorizationHeaderMalformed},
		{name: "region allowed", cfg: func(c *VerifierConfig) { c.AllowedRegions = []string{"eu-west-1", "us-east-1"} }},
		{name: "wrong service", tamper: func(r *http.Request) { replaceAuth(r, "/s3/", "/ec2/") }, verifyErr: s3err.AuthorizationHeaderMalformed},
		{name: "wrong terminator", tamper: func(r *http.Request) { replaceAuth(r, "aws4_request", "aws5_request") }, verifyErr: s3err.AuthorizationHeaderMalformed},
		{name: "host not signed", tamper: func(r *http.Request) {
			replaceAuth(r, "SignedHeaders=content-type;host;", "SignedHeaders=content-type;")
		}, verifyErr: s3err.AuthorizationHeaderMalformed},
		{name: "missing content sha256", tamper: func(r *http.Request) {
			r.Header.Del("X-Amz-Content-Sha256")
			replaceAuth(r, "x-amz-content-sha256;", "")
		}, verifyErr: s3err.InvalidRequest},
		{name: "bad content sha256 value", ph: "NOT-A-HASH", verifyErr: s3err.InvalidArgument},
		{name: "sigv2 forged", tamper: func(r *http.Request) { r.Header.Set("Authorization", "AWS "+docAccessKey+":c2lnbmF0dXJl") }, verifyErr: s3err.AccessDenied}, // its X-Amz-Date is not a SigV2 date
		{name: "missing date", tamper: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, verifyErr: s3err.AccessDenied},
		{name: "credentials backend down", cfg: func(c *VerifierConfig) {
			c.Credentials.(*fakeCreds).fail = errors.New("bucketsvc unavailable")
		}, verifyErr: s3err.InternalError},
		{name: "checksum header ok", before: func(r *http.Request) { r.Header.Set("X-Amz-Checksum-Crc32", "DUoRhQ==") }},
		{name: "checksum header mismatch", before: func(r *http.Request) { r.Header.Set("X-Amz-Checksum-Crc32", "AAAAAA==") }, bodyErr: s3err.BadDigest},
		{name: "checksum header invalid", before: func(r *http.Request) { r.Header.Set("X-Amz-Checksum-Sha256", "AAAAAA==") }, verifyErr: s3err.InvalidRequest},
		{name: "two checksum headers", before: func(r *http.Request) {
			r.Header.Set("X-Amz-Checksum-Crc32", "DUoRhQ==")
			r.Header.Set("X-Amz-Checksum-Crc32c", "yZRlqg==")
		}, verifyErr: s3err.InvalidRequest},
		{name: "checksum with unsigned payload", ph: UnsignedPayload, before: func(r *http.Request) { r.Header.Set("X-Amz-Checksum-Sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0=") }},
		{name: "trailer header without trailer mode", before: func(r *http.Request) { r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32") }, verifyErr: s3err.InvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ph := c.ph
			if ph == "" {
				ph = hexSHA(testBody)
			}
			now := c.now
			if now.IsZero() {
				now = testNow
			}
			v, _ := newTestVerifier(t, now, func(cfg *VerifierConfig) {
				if c.cfg != nil {
					c.cfg(cfg)
				}
			})
			r := signedPut(t, testBody, ph, c.before)
			if c.tamper != nil {
				c.tamper(r)
			}
			a, err := v.Verify(r)
			if got := code(err); got != c.verifyErr {
				t.Fatalf("Verify error = %v (%s), want %s", err, got, c.verifyErr)
			}
			if err != nil {
				if s3err.As(err).Status == 0 {
					t.Fatal("error has no HTTP status")
				}
				return
			}
			data, err := readBody(a)
			if got := code(err); got != c.bodyErr {
				t.Fatalf("body error = %v (%s), want %s", err, got, c.bodyErr)
			}
			if err == nil && string(data) != testBody {
				t.Fatalf("body = %q", data)
			}
			if err == nil && c.before != nil && r.Header.Get("X-Amz-Checksum-Crc32") != "" {
				if a.Checksums()["CRC32"] != "DUoRhQ==" {
					t.Fatalf("checksums = %v", a.Checksums())
				}
			}
			if err != nil && a.Checksums() != nil {
				t.Fatal("checksums reported after a failed body")
			}
			// The error is sticky.
			if _, again := a.Body.Read(make([]byte, 10)); err != nil && code(again) != c.bodyErr {
				t.Fatalf("second read error = %v", again)
			}
		})
	}
}

func nopBody(s string) *readCloser { return &readCloser{strings.NewReader(s)} }

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func TestRegionMismatchMessage(t *testing.T) {
	v, _ := newTestVerifier(t, testNow, func(c *VerifierConfig) { c.AllowedRegions = []string{"eu-west-1"} })
	_, err := v.Verify(signedPut(t, testBody, UnsignedPayload, nil))
	e := s3err.As(err)
	want := "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"
	if e.Code != s3err.AuthorizationHeaderMalformed || e.Message != want || len(e.Extra) != 1 || e.Extra[0] != (s3err.Field{Name: "Region", Value: "eu-west-1"}) {
		t.Fatalf("error = %+v", e)
	}
}

func TestPresignTamper(t *testing.T) {
	base := func(t *testing.T) string {
		r := mustRequest(t, "GET", "https://bucket.s3.us-east-1.amazonaws.com/photos/cat%2B1.jpg?versionId=abc", nil)
		u, err := Presign(r, docAccessKey, docSecret, "us-east-1", testNow, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	cases := []struct {
		name   string
		edit   func(string) string
		now    time.Time
		header [2]string
		want   s3err.Code
		msg    string
	}{
		{name: "intact", now: testNow.Add(30 * time.Minute)},
		{name: "expired", now: testNow.Add(61 * time.Minute), want: s3err.AccessDenied, msg: "Request has expired"},
		{name: "not yet valid", now: testNow.Add(-20 * time.Minute), want: s3err.AccessDenied, msg: "Request is not valid yet"},
		{name: "expires changed", edit: func(u string) string { return strings.Replace(u, "X-Amz-Expires=3600", "X-Amz-Expires=7200", 1) }, want: s3err.SignatureDoesNotMatch},
		{name: "expires over a week", edit: func(u string) string { return strings.Replace(u, "X-Amz-Expires=3600", "X-Amz-Expires=604801", 1) }, want: s3err.AuthorizationQueryParametersEr},
		{name: "expires negative", edit: func(u string) string { return strings.Replace(u, "X-Amz-Expires=3600", "X-Amz-Expires=-1", 1) }, want: s3err.AuthorizationQueryParametersEr},
		{name: "missing signature", edit: func(u string) string { return u[:strings.Index(u, "&X-Amz-Signature")] }, want: s3err.AuthorizationQueryParametersEr},
		{name: "wrong algorithm", edit: func(u string) string {
			return strings.Replace(u, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1", 1)
		}, want: s3err.AuthorizationQueryParametersEr},
		{name: "query param added", edit: func(u string) string { return u + "&response-content-type=text%2Fhtml" }, want: s3err.SignatureDoesNotMatch},
		{name: "path changed", edit: func(u string) string { return strings.Replace(u, "cat%2B1", "cat%2B2", 1) }, want: s3err.SignatureDoesNotMatch},
		{name: "unsigned x-amz header", header: [2]string{"X-Amz-Meta-A", "b"}, want: s3err.AccessDenied},
		{name: "unsigned ordinary header is fine", header: [2]string{"Range", "bytes=0-1"}},
		{name: "sigv2 query", edit: func(string) string {
			return "https://bucket.s3.amazonaws.com/k?AWSAccessKeyId=AKID&Expires=1&Signature=abc"
		}, want: s3err.AccessDenied}, // SigV2, expired in 1970
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := base(t)
			if c.edit != nil {
				u = c.edit(u)
			}
			now := c.now
			if now.IsZero() {
				now = testNow
			}
			v, _ := newTestVerifier(t, now)
			r := mustRequest(t, "GET", u, nil)
			if c.header[0] != "" {
				r.Header.Set(c.header[0], c.header[1])
			}
			a, err := v.Verify(r)
			if got := code(err); got != c.want {
				t.Fatalf("Verify = %v, want %s", err, c.want)
			}
			if c.msg != "" && s3err.As(err).Message != c.msg {
				t.Fatalf("message = %q, want %q", s3err.As(err).Message, c.msg)
			}
			if err == nil && (!a.Presigned || a.AccessKeyID != docAccessKey) {
				t.Fatalf("auth = %+v", a)
			}
		})
	}
}

func TestAnonymous(t *testing.T) {
	v, creds := newTestVerifier(t, testNow)
	r := mustRequest(t, "PUT", "https://bucket.s3.amazonaws.com/k", strings.NewReader(testBody))
	r.Header.Set("X-Amz-Checksum-Crc32", "AAAAAA==")
	a, err := v.Verify(r)
	if err != nil || !a.Anonymous || a.AccessKeyID != "" {
		t.Fatalf("Verify = %+v, %v", a, err)
	}
	if _, err := readBody(a); code(err) != s3err.BadDigest {
		t.Fatalf("anonymous body with a wrong checksum: %v", err)
	}
	if creds.lookups.Load() != 0 {
		t.Fatal("anonymous request looked up credentials")
	}
	// A query that merely mentions X-Amz- is not a presigned URL.
	r = mustRequest(t, "GET", "https://bucket.s3.amazonaws.com/?prefix=X-Amz-Date&list-type=2", nil)
	if a, err := v.Verify(r); err != nil || !a.Anonymous {
		t.Fatalf("anonymous list with X-Amz- in a value: %+v, %v", a, err)
	}
	// A signed streaming mode cannot be anonymous.
	r = mustRequest(t, "PUT", "https://bucket.s3.amazonaws.com/k", strings.NewReader(testBody))
	r.Header.Set("X-Amz-Content-Sha256", StreamingSignedPayload)
	r.Header.Set("X-Amz-Decoded-Content-Length", "11")
	if _, err := v.Verify(r); code(err) != s3err.AccessDenied {
		t.Fatalf("anonymous signed streaming: %v", err)
	}
}

func TestCanonicalURI(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/test.txt", "/test.txt"},
		{"/test$file.text", "/test%24file.text"},
		{"/test%24file.text", "/test%24file.text"},
		{"/my%20key+1.txt", "/my%20key%2B1.txt"},
		{"/a//b/./c", "/a//b/./c"},
		{"/a%2Fb", "/a%2Fb"},
		{"/%E2%82%AC", "/%E2%82%AC"},
		{"/~user/_-.", "/~user/_-."},
	}
	for _, c := range cases {
		if got := canonicalURI(c.in); got != c.want {
			t.Errorf("canonicalURI(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	cases := []struct{ in, skip, want string }{
		{"", "", ""},
		{"lifecycle", "", "lifecycle="},
		{"prefix=J&max-keys=2", "", "max-keys=2&prefix=J"},
		{"a=2&a=1&b", "", "a=1&a=2&b="},
		{"prefix=a%2Fb&delimiter=%2F", "", "delimiter=%2F&prefix=a%2Fb"},
		{"k=a+b", "", "k=a%20b"},
		{"k=%7E", "", "k=~"},
		{"X-Amz-Signature=abc&x=1", "X-Amz-Signature", "x=1"},
	}
	for _, c := range cases {
		if got := canonicalQuery(c.in, c.skip); got != c.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTrimCollapse(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a", "a"},
		{"  a  b   c ", "a b c"},
		{"a\t\tb", "a b"},
		{"", ""},
	}
	for _, c := range cases {
		if got := trimCollapse(c.in); got != c.want {
			t.Errorf("trimCollapse(%q) = %q", c.in, got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultVerifierConfig()
	ok.Credentials = &fakeCreds{}
	cases := []struct {
		name string
		edit func(*VerifierConfig)
		ok   bool
	}{
		{"default", func(*VerifierConfig) {}, true},
		{"no credentials", func(c *VerifierConfig) { c.Credentials = nil }, false},
		{"no service", func(c *VerifierConfig) { c.Service = "" }, false},
		{"zero skew", func(c *VerifierConfig) { c.MaxSkew = 0 }, false},
		{"expiry over a week", func(c *VerifierConfig) { c.MaxPresignExpiry = 8 * 24 * time.Hour }, false},
		{"empty region", func(c *VerifierConfig) { c.AllowedRegions = []string{""} }, false},
	}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		_, err := NewVerifier(cfg)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
}

// The signing key cache must not outlive a secret rotation.
func TestSigningKeyCacheFollowsRotation(t *testing.T) {
	v, creds := newTestVerifier(t, testNow)
	for i := 0; i < 2; i++ {
		if _, err := v.Verify(signedPut(t, testBody, UnsignedPayload, nil)); err != nil {
			t.Fatal(err)
		}
	}
	creds.keys[docAccessKey] = "rotated"
	if _, err := v.Verify(signedPut(t, testBody, UnsignedPayload, nil)); code(err) != s3err.SignatureDoesNotMatch {
		t.Fatalf("old secret accepted after rotation: %v", err)
	}
	r := mustRequest(t, "GET", "https://b.s3.amazonaws.com/k", nil)
	Sign(r, docAccessKey, "rotated", "us-east-1", testNow, UnsignedPayload)
	if _, err := v.Verify(r); err != nil {
		t.Fatalf("new secret rejected: %v", err)
	}
}

var _ = url.Parse
var _ = s3checksum.CRC32

package sigv4

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestParseHTTPDate: the Date header forms clients send (botocore signs
// with email.utils.formatdate's "-0000" zone when a Date header is set).
func TestParseHTTPDate(t *testing.T) {
	want := time.Date(2026, 11, 30, 22, 27, 43, 0, time.UTC)
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"Mon, 30 Nov 2026 22:27:43 GMT", true},
		{"Mon, 30 Nov 2026 22:27:43 -0000", true},
		{"Mon, 30 Nov 2026 22:27:43 +0000", true},
		{"Mon, 30 Nov 2026 23:27:43 +0100", true},
		{"Monday, 30-Nov-26 22:27:43 GMT", true},
		{"Mon Nov 30 22:27:43 2026", true},
		{"20261130T222743Z", false},
		{"yesterday", false},
		{"", false},
	} {
		got, err := ParseHTTPDate(c.in)
		if (err == nil) != c.ok || (c.ok && !got.Equal(want)) {
			t.Errorf("ParseHTTPDate(%q) = %v, %v; want ok=%v %v", c.in, got, err, c.ok, want)
		}
	}
}

// TestSignedExpectOverHTTP2: a client that signs "Expect: 100-continue"
// (curl does) still verifies over HTTP/2, whose server deletes the header
// after answering it; over HTTP/1.1 the header is kept and must match.
func TestSignedExpectOverHTTP2(t *testing.T) {
	v, _ := newTestVerifier(t, docTime)
	for _, c := range []struct {
		name   string
		proto  int
		strip  bool
		expect string // sent value ("" with strip: removed by the server)
		want   string
	}{
		{"HTTP/2, header removed by the server", 2, true, "", ""},
		{"HTTP/1.1, header kept", 1, false, "100-continue", ""},
		{"HTTP/1.1, header missing", 1, true, "", "SignatureDoesNotMatch"},
		{"HTTP/2, other value", 2, false, "200", "SignatureDoesNotMatch"},
	} {
		r, _ := http.NewRequest(http.MethodPut, "https://examplebucket.s3.amazonaws.com/k", strings.NewReader("x"))
		r.Header.Set("Expect", "100-continue")
		signWithExpect(r)
		r.ProtoMajor = c.proto
		if c.strip {
			r.Header.Del("Expect")
		} else {
			r.Header.Set("Expect", c.expect)
		}
		_, err := v.Verify(r)
		if got := string(code(err)); got != c.want {
			t.Errorf("%s: %q (%v), want %q", c.name, got, err, c.want)
		}
	}
}

// signWithExpect signs r as curl does: "expect" among the signed headers.
func signWithExpect(r *http.Request) {
	amzDate, date := docTime.Format(amzDateFormat), docTime.Format(scopeDateFmt)
	r.Header.Set("X-Amz-Date", amzDate)
	r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
	signed := []string{"expect", "host", "x-amz-content-sha256", "x-amz-date"}
	scope := scopeString(date, "us-east-1", "s3")
	canon := canonicalRequest(r, signed, canonicalQuery(r.URL.RawQuery, ""), UnsignedPayload)
	sig := signHex(SigningKey(docSecret, date, "us-east-1", "s3"), stringToSign(amzDate, scope, canon))
	r.Header.Set("Authorization", Algorithm+" Credential="+docAccessKey+"/"+scope+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
}

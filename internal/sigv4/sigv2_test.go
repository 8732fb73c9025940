package sigv4

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func awsHostBucket(host string) string {
	b, _ := strings.CutSuffix(host, ".s3.amazonaws.com")
	if b == host || b == "s3" {
		return ""
	}
	return b
}

// TestSigV2DocumentedExamples: the string to sign and signature of the
// examples in S3's Signature Version 2 documentation, and that Verify
// accepts each request at its time (and refuses it edited).
func TestSigV2DocumentedExamples(t *testing.T) {
	cases := []struct {
		name, method, url string
		headers           [][2]string
		sts, sig          string
	}{
		{"object GET", "GET", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg",
			[][2]string{{"Date", "Tue, 27 Mar 2007 19:36:42 +0000"}},
			"GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg", "bWq2s1WEIj+Ydj0vQ697zp+IXMU="},
		{"object PUT", "PUT", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg",
			[][2]string{{"Content-Type", "image/jpeg"}, {"Date", "Tue, 27 Mar 2007 21:15:45 +0000"}},
			"PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg", "MyyxeRY7whkBe+bq8fHCL/2kKUg="},
		{"list", "GET", "http://johnsmith.s3.amazonaws.com/?prefix=photos&max-keys=50&marker=puppy",
			[][2]string{{"Date", "Tue, 27 Mar 2007 19:42:41 +0000"}},
			"GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/", "htDYFYduRNen8P9ZfE/s9SuKy0U="},
		{"acl sub-resource", "GET", "http://johnsmith.s3.amazonaws.com/?acl",
			[][2]string{{"Date", "Tue, 27 Mar 2007 19:44:46 +0000"}},
			"GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl", "c2WLPFtWHVgbEmeEG93a4cG37dM="},
		{"x-amz-date, path style", "DELETE", "http://s3.amazonaws.com/johnsmith/photos/puppy.jpg",
			[][2]string{{"X-Amz-Date", "Tue, 27 Mar 2007 21:20:26 +0000"}},
			"DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg", ""}, // signature: computed
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest(c.method, c.url, nil)
			for _, h := range c.headers {
				r.Header.Set(h[0], h[1])
			}
			dateLine := r.Header.Get("Date")
			if r.Header.Get("X-Amz-Date") != "" {
				dateLine = ""
			}
			if sts := StringToSignV2(r, dateLine, awsHostBucket); sts != c.sts {
				t.Fatalf("string to sign\n%q\nwant\n%q", sts, c.sts)
			}
			if c.sig == "" {
				c.sig = SignV2(docSecret, c.sts)
			}
			if sig := SignV2(docSecret, c.sts); sig != c.sig {
				t.Fatalf("signature %s, want %s", sig, c.sig)
			}
			at, _ := ParseHTTPDate(c.headers[len(c.headers)-1][1])
			v, _ := newTestVerifier(t, at.Add(time.Minute), func(cfg *VerifierConfig) { cfg.HostBucket = awsHostBucket })
			r.Header.Set("Authorization", "AWS "+docAccessKey+":"+c.sig)
			a, err := v.Verify(r)
			if err != nil || !a.SignatureV2 || a.Principal != "principal:"+docAccessKey || a.PayloadMode != UnsignedPayload {
				t.Fatalf("Verify: %+v, %v", a, err)
			}
			r.Header.Set("X-Amz-Meta-Added", "1")
			if _, err := v.Verify(r); code(err) != s3err.SignatureDoesNotMatch {
				t.Fatalf("edited request: %v, want SignatureDoesNotMatch", err)
			}
		})
	}
}

// TestSigV2Query: presigned URLs (the documented example, and ones made by
// PresignV2) verify until Expires; edits and expiry are refused.
func TestSigV2Query(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg", nil)
	if sts := StringToSignV2(r, "1175139620", awsHostBucket); sts != "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg" {
		t.Fatalf("sts %q", sts)
	}
	if sig := SignV2(docSecret, "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg"); url.QueryEscape(sig) != "NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D" {
		t.Fatalf("documented query signature: %s", sig)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	v, creds := newTestVerifier(t, now, func(cfg *VerifierConfig) { cfg.HostBucket = awsHostBucket })
	mk := func(rawURL string, exp time.Time) string {
		r, _ := http.NewRequest("GET", rawURL, nil)
		return PresignV2(r, docAccessKey, docSecret, exp, awsHostBucket)
	}
	verify := func(u string, hdr ...string) error {
		r, _ := http.NewRequest("GET", u, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		a, err := v.Verify(r)
		if err == nil && (!a.Presigned || !a.SignatureV2) {
			t.Fatalf("auth %+v", a)
		}
		return err
	}
	good := mk("http://s3.amazonaws.com/b/a%20key+x?versionId=v1&response-content-type=text%2Fplain&uploads", now.Add(time.Hour))
	for _, c := range []struct {
		name string
		u    string
		hdr  []string
		want s3err.Code
	}{
		{"valid (path style, sub-resources, escaped key)", good, nil, ""},
		{"virtual-hosted", mk("http://b.s3.amazonaws.com/k?acl", now.Add(time.Minute)), nil, ""},
		{"path-style bucket signed as /b/", mk("http://s3.amazonaws.com/b?versioning", now.Add(time.Minute)), nil, ""},
		{"path-style bucket signed as sent", func() string {
			r, _ := http.NewRequest("GET", "http://s3.amazonaws.com/b?versioning", nil)
			exp := now.Add(time.Minute).Unix()
			sig := SignV2(docSecret, stringToSignV2(r, fmt.Sprint(exp), awsHostBucket, false))
			return fmt.Sprintf("http://s3.amazonaws.com/b?versioning&AWSAccessKeyId=%s&Expires=%d&Signature=%s", docAccessKey, exp, url.QueryEscape(sig))
		}(), nil, ""},
		{"other parameters are not signed", good + "&x-id=GetObject", nil, ""},
		{"sub-resource changed", strings.Replace(good, "versionId=v1", "versionId=v2", 1), nil, s3err.SignatureDoesNotMatch},
		{"key changed", strings.Replace(good, "a%20key", "b%20key", 1), nil, s3err.SignatureDoesNotMatch},
		{"expired", mk("http://s3.amazonaws.com/b/k", now.Add(-time.Second)), nil, s3err.AccessDenied},
		{"expires edited", strings.Replace(good, "Expires=", "Expires=9", 1), nil, s3err.SignatureDoesNotMatch},
		{"x-amz header added", good, []string{"X-Amz-Meta-A", "1"}, s3err.SignatureDoesNotMatch},
		{"missing signature", "http://s3.amazonaws.com/b/k?AWSAccessKeyId=" + docAccessKey + "&Expires=9999999999", nil, s3err.AccessDenied},
		{"unknown key", strings.Replace(good, docAccessKey, "AKIANOTAKEY", 1), nil, s3err.InvalidAccessKeyID},
	} {
		if err := verify(c.u, c.hdr...); code(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if creds.lookups.Load() == 0 {
		t.Fatal("no credential lookups")
	}
}

// TestSigV2HeaderRules: skew, missing date, malformed header, streaming.
func TestSigV2HeaderRules(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	v, _ := newTestVerifier(t, now)
	for _, c := range []struct {
		name string
		at   time.Time
		edit func(r *http.Request)
		want s3err.Code
	}{
		{"valid", now, nil, ""},
		{"14 minutes off", now.Add(-14 * time.Minute), nil, ""},
		{"16 minutes off", now.Add(-16 * time.Minute), nil, s3err.RequestTimeTooSkewed},
		{"no date", now, func(r *http.Request) { r.Header.Del("Date") }, s3err.AccessDenied},
		{"no colon", now, func(r *http.Request) { r.Header.Set("Authorization", "AWS "+docAccessKey) }, s3err.InvalidArgument},
		{"streaming payload", now, func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", StreamingSignedPayload) }, s3err.InvalidRequest},
		{"content-md5 changed", now, func(r *http.Request) { r.Header.Set("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==") }, s3err.SignatureDoesNotMatch},
	} {
		r, _ := http.NewRequest("PUT", "http://s3.amazonaws.com/b/k", strings.NewReader("x"))
		r.Header.Set("Content-Type", "text/plain")
		SignRequestV2(r, docAccessKey, docSecret, c.at, nil)
		if c.edit != nil {
			c.edit(r)
		}
		if _, err := v.Verify(r); code(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

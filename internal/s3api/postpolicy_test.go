package s3api

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParsePostPolicy(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		want      s3err.Code
	}{
		{"valid", `{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],["content-length-range",1,10],["eq","$x-amz-meta-a","1"]]}`, ""},
		{"no expiration", `{"conditions":[]}`, s3err.InvalidPolicyDocument},
		{"bad expiration", `{"expiration":"tomorrow","conditions":[]}`, s3err.InvalidPolicyDocument},
		{"no conditions", `{"expiration":"2030-01-01T00:00:00Z"}`, s3err.InvalidPolicyDocument},
		{"not json", `{"expiration":`, s3err.InvalidPolicyDocument},
		{"unknown operator", `{"expiration":"2030-01-01T00:00:00Z","conditions":[["ends-with","$key","x"]]}`, s3err.InvalidPolicyDocument},
		{"field without $", `{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","key","x"]]}`, s3err.InvalidPolicyDocument},
		{"two properties", `{"expiration":"2030-01-01T00:00:00Z","conditions":[{"a":"1","b":"2"}]}`, s3err.InvalidPolicyDocument},
		{"range reversed", `{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",10,1]]}`, s3err.InvalidPolicyDocument},
		{"range not numbers", `{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range","a",1]]}`, s3err.InvalidPolicyDocument},
	} {
		_, err := ParsePostPolicy(b64(c.doc))
		if codeOf(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := ParsePostPolicy("!!!"); codeOf(err) != s3err.InvalidPolicyDocument {
		t.Errorf("not base64: %v", err)
	}
}

func TestPostPolicyCheck(t *testing.T) {
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := ParsePostPolicy(b64(`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],
		{"success_action_status":"201"},["starts-with","$Content-Type","image/"],["starts-with","$x-amz-meta-any",""],
		{"x-amz-algorithm":"AWS4-HMAC-SHA256"},["content-length-range",10,20]]}`))
	if err != nil {
		t.Fatal(err)
	}
	base := func() map[string]string {
		return map[string]string{"bucket": "b", "key": "u/a.png", "success_action_status": "201", "content-type": "image/png",
			"x-amz-algorithm": "AWS4-HMAC-SHA256", "policy": "p", "x-amz-signature": "s", "x-ignore-me": "1"}
	}
	for _, c := range []struct {
		name string
		edit func(m map[string]string)
		at   time.Time
		want s3err.Code
	}{
		{"all met", nil, now, ""},
		{"empty starts-with matches a missing field", func(m map[string]string) { delete(m, "x-amz-meta-any") }, now, ""},
		{"several content types", func(m map[string]string) { m["content-type"] = "image/png, image/jpeg" }, now, ""},
		{"expired", nil, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), s3err.AccessDenied},
		{"other bucket", func(m map[string]string) { m["bucket"] = "c" }, now, s3err.AccessDenied},
		{"key outside prefix", func(m map[string]string) { m["key"] = "v/a" }, now, s3err.AccessDenied},
		{"eq missing", func(m map[string]string) { delete(m, "success_action_status") }, now, s3err.AccessDenied},
		{"one content type off", func(m map[string]string) { m["content-type"] = "image/png,text/html" }, now, s3err.AccessDenied},
		{"extra field", func(m map[string]string) { m["x-amz-meta-other"] = "1" }, now, s3err.AccessDenied},
	} {
		m := base()
		if c.edit != nil {
			c.edit(m)
		}
		if err := p.Check(m, c.at); codeOf(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	for size, want := range map[int64]s3err.Code{9: s3err.EntityTooSmall, 10: "", 20: "", 21: s3err.EntityTooLarge} {
		if err := p.CheckLength(size); codeOf(err) != want {
			t.Errorf("length %d: %v, want %q", size, err, want)
		}
	}
}

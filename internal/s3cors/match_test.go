package s3cors

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func intp(v int) *int { return &v }

// rules is a configuration whose order matters: several rules match some
// requests, and the first wins.
var rules = &Configuration{Rules: []Rule{
	{ID: "app-writes", AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT", "POST", "DELETE"},
		AllowedHeaders: []string{"Content-Type", "X-Amz-*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: intp(600)},
	{ID: "subdomains", AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"GET", "HEAD"},
		AllowedHeaders: []string{"range"}},
	{ID: "suffix-prefix", AllowedOrigins: []string{"*suffix", "start*end", "prefix*"}, AllowedMethods: []string{"GET"}},
	{ID: "anyone-reads", AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"*"}},
}}

func TestMatch(t *testing.T) {
	tests := []struct {
		name, origin, method string
		headers              []string
		want                 string // rule ID, "" for no match
	}{
		{"exact origin and method", "https://app.example.com", "PUT", nil, "app-writes"},
		{"allowed headers any case", "https://app.example.com", "PUT", []string{"content-type", "x-amz-meta-a"}, "app-writes"},
		{"one header not allowed", "https://app.example.com", "PUT", []string{"content-type", "authorization"}, ""},
		{"first rule lacks the method: next rule", "https://app.example.com", "GET", nil, "subdomains"},
		{"first rule lacks the method: wildcard rule", "https://app.example.com", "GET", []string{"x-custom"}, "anyone-reads"},
		{"origin scheme differs", "http://app.example.com", "PUT", nil, ""},
		{"origin with port differs", "https://app.example.com:443", "PUT", nil, ""},
		{"origin trailing slash differs", "https://app.example.com/", "PUT", nil, ""},
		{"origin case-sensitive", "https://APP.example.com", "PUT", nil, ""},
		{"wildcard subdomain", "https://cdn.example.com", "HEAD", []string{"range"}, "subdomains"},
		{"wildcard needs its prefix", "http://cdn.example.com", "HEAD", nil, ""},
		{"star matches nothing too", "https://.example.com", "HEAD", nil, "subdomains"},
		{"leading star", "foo.suffix", "GET", nil, "suffix-prefix"},
		{"middle star, empty", "startend", "GET", nil, "suffix-prefix"},
		{"middle star", "start12end", "GET", nil, "suffix-prefix"},
		{"trailing star", "prefix.suffix", "GET", nil, "suffix-prefix"},
		{"anchored at the start", "0start12end", "GET", nil, "anyone-reads"},
		{"anchored at the end", "foo.suffix.get", "HEAD", nil, ""},
		{"method case-sensitive", "https://app.example.com", "put", nil, ""},
		{"no rule allows PATCH", "https://app.example.com", "PATCH", nil, ""},
		{"wildcard origin, header wildcard", "http://anything", "GET", []string{"x-a", "authorization"}, "anyone-reads"},
		{"wildcard origin, other method", "http://anything", "DELETE", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := rules.Match(tt.origin, tt.method, tt.headers)
			got := ""
			if ok {
				got = r.ID
			}
			if got != tt.want {
				t.Fatalf("matched %q, want %q", got, tt.want)
			}
		})
	}
	if _, ok := (*Configuration)(nil).Match("a", "GET", nil); ok {
		t.Fatal("nil configuration matched")
	}
	noHeaders := &Configuration{Rules: []Rule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}}}
	if _, ok := noHeaders.Match("o", "GET", []string{"x-a"}); ok {
		t.Fatal("a rule without AllowedHeader allowed a requested header")
	}
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func forbidden(method, resourceType string) []s3err.Field {
	return []s3err.Field{{Name: "Method", Value: method}, {Name: "ResourceType", Value: resourceType}}
}

func TestPreflight(t *testing.T) {
	found := Resource{Found: true, Config: rules, Object: true}
	tests := []struct {
		name   string
		h      http.Header
		res    Resource
		status int
		code   s3err.Code
		msg    string
		extra  []s3err.Field
		want   http.Header // the headers of a 200
	}{
		{name: "no origin", h: hdr(HeaderRequestMethod, "GET"), res: found,
			status: 400, code: s3err.BadRequest, msg: "Insufficient information. Origin request header needed."},
		{name: "no headers at all, missing bucket", h: hdr(), res: Resource{},
			status: 400, code: s3err.BadRequest, msg: "Insufficient information. Origin request header needed."},
		{name: "bad method", h: hdr(HeaderOrigin, "o", HeaderRequestMethod, "get"), res: found,
			status: 400, code: s3err.BadRequest, msg: "Invalid Access-Control-Request-Method: get"},
		{name: "bucket not found", h: hdr(HeaderOrigin, "o", HeaderRequestMethod, "PUT"), res: Resource{Object: true},
			status: 403, code: s3err.AccessForbidden, msg: MsgBucketNotFound, extra: forbidden("PUT", "BUCKET")},
		{name: "not enabled", h: hdr(HeaderOrigin, "o", HeaderRequestMethod, "PUT"), res: Resource{Found: true, Object: true},
			status: 403, code: s3err.AccessForbidden, msg: MsgNotEnabled, extra: forbidden("PUT", "BUCKET")},
		{name: "not enabled, no method", h: hdr(HeaderOrigin, "o"), res: Resource{Found: true},
			status: 403, code: s3err.AccessForbidden, msg: MsgNotEnabled, extra: forbidden("OPTIONS", "BUCKET")},
		{name: "rules, no method", h: hdr(HeaderOrigin, "o"), res: found,
			status: 400, code: s3err.BadRequest, msg: "Invalid Access-Control-Request-Method: null"},
		{name: "not allowed on a key", h: hdr(HeaderOrigin, "http://localhost:4200", HeaderRequestMethod, "PUT"), res: found,
			status: 403, code: s3err.AccessForbidden, msg: MsgNotAllowed, extra: forbidden("PUT", "OBJECT")},
		{name: "not allowed on the bucket", h: hdr(HeaderOrigin, "http://localhost:4200", HeaderRequestMethod, "PUT"), res: Resource{Found: true, Config: rules},
			status: 403, code: s3err.AccessForbidden, msg: MsgNotAllowed, extra: forbidden("PUT", "BUCKET")},
		{name: "header not allowed", h: hdr(HeaderOrigin, "https://app.example.com", HeaderRequestMethod, "PUT", HeaderRequestHeaders, "content-type,authorization"), res: found,
			status: 403, code: s3err.AccessForbidden, msg: MsgNotAllowed, extra: forbidden("PUT", "OBJECT")},
		{name: "specific origin", h: hdr(HeaderOrigin, "https://app.example.com", HeaderRequestMethod, "PUT", HeaderRequestHeaders, "Content-Type, X-AMZ-Date,,"), res: found,
			status: 200, want: hdr(HeaderAllowOrigin, "https://app.example.com", HeaderAllowCredentials, "true",
				HeaderAllowMethods, "PUT, POST, DELETE", HeaderAllowHeaders, "content-type, x-amz-date",
				HeaderExposeHeaders, "ETag", HeaderMaxAge, "600", "Vary", vary)},
		{name: "two request-headers lines", h: hdr(HeaderOrigin, "https://app.example.com", HeaderRequestMethod, "POST", HeaderRequestHeaders, "x-amz-a", HeaderRequestHeaders, "x-amz-b"), res: found,
			status: 200, want: hdr(HeaderAllowOrigin, "https://app.example.com", HeaderAllowCredentials, "true",
				HeaderAllowMethods, "PUT, POST, DELETE", HeaderAllowHeaders, "x-amz-a, x-amz-b",
				HeaderExposeHeaders, "ETag", HeaderMaxAge, "600", "Vary", vary)},
		{name: "wildcard origin", h: hdr(HeaderOrigin, "http://random:1234", HeaderRequestMethod, "GET"), res: found,
			status: 200, want: hdr(HeaderAllowOrigin, "*", HeaderAllowMethods, "GET", "Vary", vary)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := http.Header{}
			p, err := ParsePreflight(tt.h)
			if err == nil {
				err = p.Answer(tt.res, out)
			}
			if tt.status == 200 {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(out, tt.want) {
					t.Fatalf("headers %v\nwant    %v", out, tt.want)
				}
				return
			}
			e := s3err.As(err)
			if e.Status != tt.status || e.Code != tt.code || e.Message != tt.msg || !reflect.DeepEqual(e.Extra, tt.extra) {
				t.Fatalf("got %d %s %q %v\nwant %d %s %q %v", e.Status, e.Code, e.Message, e.Extra, tt.status, tt.code, tt.msg, tt.extra)
			}
			if len(out) != 0 {
				t.Fatalf("a refused preflight got headers %v", out)
			}
		})
	}
}

func TestActual(t *testing.T) {
	tests := []struct {
		name   string
		h      http.Header
		method string
		want   http.Header // nil: no match, nothing added
	}{
		{"no origin", hdr(), "GET", nil},
		{"matching origin", hdr(HeaderOrigin, "https://app.example.com"), "PUT",
			hdr(HeaderAllowOrigin, "https://app.example.com", HeaderAllowCredentials, "true", HeaderAllowMethods, "PUT, POST, DELETE",
				HeaderExposeHeaders, "ETag", HeaderMaxAge, "600", "Vary", vary)},
		{"headers not checked", hdr(HeaderOrigin, "https://app.example.com", "Authorization", "x", HeaderRequestHeaders, "authorization"), "PUT",
			hdr(HeaderAllowOrigin, "https://app.example.com", HeaderAllowCredentials, "true", HeaderAllowMethods, "PUT, POST, DELETE",
				HeaderExposeHeaders, "ETag", HeaderMaxAge, "600", "Vary", vary)},
		{"request-method header decides", hdr(HeaderOrigin, "http://x", HeaderRequestMethod, "PUT"), "GET", nil},
		{"wildcard", hdr(HeaderOrigin, "http://x"), "GET", hdr(HeaderAllowOrigin, "*", HeaderAllowMethods, "GET", "Vary", vary)},
		{"method not allowed", hdr(HeaderOrigin, "http://x"), "PUT", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := http.Header{}
			ok := Actual(rules, tt.h, tt.method, out)
			if ok != (tt.want != nil) {
				t.Fatalf("matched %v, headers %v", ok, out)
			}
			if tt.want == nil {
				tt.want = http.Header{}
			}
			if !reflect.DeepEqual(out, tt.want) {
				t.Fatalf("headers %v\nwant    %v", out, tt.want)
			}
		})
	}
	if Actual(nil, hdr(HeaderOrigin, "o"), "GET", http.Header{}) {
		t.Fatal("no configuration matched")
	}
}

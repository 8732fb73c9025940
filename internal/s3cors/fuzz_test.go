package s3cors

import (
	"encoding/xml"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// FuzzParse: no input panics; every rejection is an S3 error; an accepted
// configuration has 1..100 rules, each with an origin and a supported
// method, its GET document parses back to the same configuration, and
// evaluating a preflight against it never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		doc(rule("<ID>a</ID><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>60</MaxAgeSeconds>")),
		doc(rule(getAny), rule("<AllowedOrigin>a*</AllowedOrigin><AllowedMethod>DELETE</AllowedMethod>")),
		"<CORSConfiguration/>", "", "<",
	} {
		f.Add([]byte(s), "https://a.example.com", "PUT", "x-a, content-type")
	}
	f.Fuzz(func(t *testing.T, body []byte, origin, method, headers string) {
		cfg, err := Parse(body)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) {
				t.Fatalf("non-S3 error %v for %q", err, body)
			}
			return
		}
		if len(cfg.Rules) == 0 || len(cfg.Rules) > MaxRules {
			t.Fatalf("accepted %d rules", len(cfg.Rules))
		}
		for _, r := range cfg.Rules {
			if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
				t.Fatalf("accepted rule %+v", r)
			}
			for _, m := range r.AllowedMethods {
				if !isMethod(m) {
					t.Fatalf("accepted method %q", m)
				}
			}
		}
		out, err := xml.Marshal(Render(cfg))
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(out)
		if err != nil || !reflect.DeepEqual(again, cfg) {
			t.Fatalf("%q renders as %s, which parses to %+v, %v", body, out, again, err)
		}
		h := http.Header{HeaderOrigin: {origin}, HeaderRequestMethod: {method}, HeaderRequestHeaders: {headers}}
		if p, err := ParsePreflight(h); err == nil {
			_ = p.Answer(Resource{Found: true, Config: cfg}, http.Header{})
		}
		Actual(cfg, h, method, http.Header{})
	})
}

package s3cors

import (
	"fmt"
	"net/http"
	"testing"
)

// worstCase is a full configuration (100 rules) that only its last rule
// matches: every request walks all of them.
func worstCase() *Configuration {
	c := &Configuration{}
	for i := range MaxRules - 1 {
		c.Rules = append(c.Rules, Rule{AllowedOrigins: []string{fmt.Sprintf("https://*.site%d.example", i), fmt.Sprintf("https://site%d.example", i)},
			AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"content-type", "x-amz-*"}})
	}
	c.Rules = append(c.Rules, Rule{AllowedOrigins: []string{"https://*.app.example"}, AllowedMethods: []string{"GET", "PUT", "POST"},
		AllowedHeaders: []string{"content-type", "x-amz-*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: intp(600)})
	return c
}

// BenchmarkActual: the work an edge adds to a request with an Origin once
// the bucket is in its cache (the last of 100 rules matches).
func BenchmarkActual(b *testing.B) {
	c := worstCase()
	h := http.Header{HeaderOrigin: {"https://ui.app.example"}}
	b.ReportAllocs()
	for b.Loop() {
		out := http.Header{}
		if !Actual(c, h, "GET", out) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkPreflight: parse and answer a preflight with two requested
// headers against the same configuration.
func BenchmarkPreflight(b *testing.B) {
	c := worstCase()
	h := http.Header{HeaderOrigin: {"https://ui.app.example"}, HeaderRequestMethod: {"PUT"}, HeaderRequestHeaders: {"content-type,x-amz-meta-a"}}
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParsePreflight(h)
		if err == nil {
			err = p.Answer(Resource{Found: true, Config: c, Object: true}, http.Header{})
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkActualOneRule: the common case, one matching rule.
func BenchmarkActualOneRule(b *testing.B) {
	c := &Configuration{Rules: worstCase().Rules[MaxRules-1:]}
	h := http.Header{HeaderOrigin: {"https://ui.app.example"}}
	b.ReportAllocs()
	for b.Loop() {
		if !Actual(c, h, "GET", http.Header{}) {
			b.Fatal("no match")
		}
	}
}

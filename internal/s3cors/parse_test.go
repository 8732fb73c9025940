package s3cors

import (
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func doc(rules ...string) string {
	return `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + strings.Join(rules, "") + `</CORSConfiguration>`
}

func rule(inner string) string { return "<CORSRule>" + inner + "</CORSRule>" }

const getAny = "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"

func TestParseErrors(t *testing.T) {
	many := make([]string, MaxRules+1)
	for i := range many {
		many[i] = rule(getAny)
	}
	big := doc(rule(getAny + "<ExposeHeader>" + strings.Repeat("x", MaxBody) + "</ExposeHeader>"))
	tests := []struct {
		name, body string
		code       s3err.Code
		msg        string // the exact message ("" = the code's default)
	}{
		{"not xml", "<CORSConfiguration", s3err.MalformedXML, ""},
		{"empty body", "", s3err.MalformedXML, ""},
		{"wrong root", "<LifecycleConfiguration/>", s3err.MalformedXML, ""},
		{"no rules", doc(), s3err.MalformedXML, ""},
		{"too many rules", doc(many...), s3err.MalformedXML, ""},
		{"over 64 KB", big, s3err.MalformedXML, ""},
		{"empty rule", doc("<CORSRule/>"), s3err.MalformedXML, ""},
		{"no origin", doc(rule("<AllowedMethod>GET</AllowedMethod>")), s3err.MalformedXML, ""},
		{"no method", doc(rule("<AllowedOrigin>*</AllowedOrigin>")), s3err.MalformedXML, ""},
		{"unknown element", doc(rule(getAny + "<AllowedMethods>GET</AllowedMethods>")), s3err.MalformedXML, ""},
		{"unknown root child", doc(rule(getAny), "<Foo/>"), s3err.MalformedXML, ""},
		{"two ids", doc(rule(getAny + "<ID>a</ID><ID>b</ID>")), s3err.MalformedXML, ""},
		{"max age not a number", doc(rule(getAny + "<MaxAgeSeconds>soon</MaxAgeSeconds>")), s3err.MalformedXML, ""},
		{"max age negative", doc(rule(getAny + "<MaxAgeSeconds>-1</MaxAgeSeconds>")), s3err.MalformedXML, ""},
		{"two max ages", doc(rule(getAny + "<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>2</MaxAgeSeconds>")), s3err.MalformedXML, ""},
		{"doctype", `<!DOCTYPE x []>` + doc(rule(getAny)), s3err.MalformedXML, ""},
		{"method PATCH", doc(rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>")), s3err.InvalidRequest,
			"Found unsupported HTTP method in CORS config. Unsupported method is PATCH"},
		{"method OPTIONS", doc(rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>OPTIONS</AllowedMethod>")), s3err.InvalidRequest,
			"Found unsupported HTTP method in CORS config. Unsupported method is OPTIONS"},
		{"method lower case", doc(rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>")), s3err.InvalidRequest,
			"Found unsupported HTTP method in CORS config. Unsupported method is get"},
		{"method empty", doc(rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod/>")), s3err.InvalidRequest,
			"Found unsupported HTTP method in CORS config. Unsupported method is "},
		{"origin two wildcards", doc(rule("<AllowedOrigin>*example*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>")), s3err.InvalidRequest,
			`AllowedOrigin "*example*.com" can not have more than one wildcard.`},
		{"header two wildcards", doc(rule(getAny + "<AllowedHeader>x-*-*</AllowedHeader>")), s3err.InvalidRequest,
			`AllowedHeader "x-*-*" can not have more than one wildcard.`},
		{"expose wildcard", doc(rule(getAny + "<ExposeHeader>*</ExposeHeader>")), s3err.InvalidRequest,
			`ExposeHeader "*" contains wildcard. We currently do not support wildcard for ExposeHeader.`},
		{"id too long", doc(rule(getAny + "<ID>" + strings.Repeat("i", 256) + "</ID>")), s3err.InvalidArgument,
			"ID length should not exceed allowed limit of 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("accepted: %+v", cfg)
			}
			e := s3err.As(err)
			if e.Code != tt.code {
				t.Fatalf("code %s (%s), want %s", e.Code, e.Message, tt.code)
			}
			if tt.msg != "" && e.Message != tt.msg {
				t.Fatalf("message %q, want %q", e.Message, tt.msg)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	hundred := make([]string, MaxRules)
	for i := range hundred {
		hundred[i] = rule(getAny)
	}
	for name, body := range map[string]string{
		"100 rules":           doc(hundred...),
		"no namespace":        `<CORSConfiguration>` + rule(getAny) + `</CORSConfiguration>`,
		"empty origin":        doc(rule("<AllowedOrigin></AllowedOrigin><AllowedMethod>GET</AllowedMethod>")),
		"id of 255":           doc(rule(getAny + "<ID>" + strings.Repeat("i", 255) + "</ID>")),
		"expose any name":     doc(rule(getAny + "<ExposeHeader>GET</ExposeHeader>")),
		"one wildcard header": doc(rule(getAny + "<AllowedHeader>x-amz-*</AllowedHeader><AllowedHeader>*</AllowedHeader>")),
		"max age zero":        doc(rule(getAny + "<MaxAgeSeconds>0</MaxAgeSeconds>")),
	} {
		if _, err := Parse([]byte(body)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestParseRenderStore: a configuration keeps every field, in the order
// sent, through the GetBucketCors document and the catalog's JSON.
func TestParseRenderStore(t *testing.T) {
	body := doc(
		rule("<ID>uploads</ID><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedOrigin>http://*.example.com</AllowedOrigin>"+
			"<AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod>"+
			"<AllowedHeader>Content-Type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>"+
			"<ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-request-id</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds>"),
		rule(getAny),
	)
	cfg, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	three := 3000
	want := &Configuration{Rules: []Rule{
		{ID: "uploads", AllowedOrigins: []string{"https://app.example.com", "http://*.example.com"},
			AllowedMethods: []string{"PUT", "POST", "DELETE"}, AllowedHeaders: []string{"Content-Type", "x-amz-*"},
			ExposeHeaders: []string{"ETag", "x-amz-request-id"}, MaxAgeSeconds: &three},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}},
	}}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("parsed %+v\nwant %+v", cfg, want)
	}
	out, err := xml.Marshal(Render(cfg))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out)
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("document %s parses back to %+v, %v", out, again, err)
	}
	if strings.Contains(string(out), "<ID></ID>") || strings.Contains(string(out), "MaxAgeSeconds></") && strings.Count(string(out), "MaxAgeSeconds") != 2 {
		t.Errorf("absent fields rendered: %s", out)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var stored Configuration
	if err := json.Unmarshal(raw, &stored); err != nil || !reflect.DeepEqual(&stored, want) {
		t.Fatalf("JSON %s reads back as %+v, %v", raw, stored, err)
	}
}

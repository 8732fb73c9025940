package s3cors

import (
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// Limits S3 documents for a CORS configuration.
const (
	MaxRules    = 100      // CORSRule elements
	MaxBody     = 64 << 10 // bytes of the PutBucketCors document
	MaxIDLength = 255      // characters of a rule ID
)

// Methods are the values S3 accepts in AllowedMethod.
var Methods = []string{"GET", "PUT", "POST", "DELETE", "HEAD"}

// Rule is one CORSRule, as sent (order and case kept).
type Rule struct {
	ID             string   `json:"id,omitempty"`
	AllowedOrigins []string `json:"allowed_origins"`
	AllowedMethods []string `json:"allowed_methods"`
	AllowedHeaders []string `json:"allowed_headers,omitempty"`
	ExposeHeaders  []string `json:"expose_headers,omitempty"`
	// MaxAgeSeconds is nil when the rule has none (no Access-Control-Max-Age).
	MaxAgeSeconds *int `json:"max_age_seconds,omitempty"`
}

// Configuration is a bucket's CORS configuration: 1..MaxRules rules,
// evaluated in order.
type Configuration struct {
	Rules []Rule `json:"rules"`
}

type xmlConfig struct {
	XMLName xml.Name              `xml:"CORSConfiguration"`
	Rules   []xmlRule             `xml:"CORSRule"`
	Unknown s3api.UnknownElements `xml:",any"`
}

type xmlRule struct {
	ID             []string              `xml:"ID"`
	AllowedOrigins []string              `xml:"AllowedOrigin"`
	AllowedMethods []string              `xml:"AllowedMethod"`
	AllowedHeaders []string              `xml:"AllowedHeader"`
	ExposeHeaders  []string              `xml:"ExposeHeader"`
	MaxAgeSeconds  []string              `xml:"MaxAgeSeconds"`
	Unknown        s3api.UnknownElements `xml:",any"`
}

func malformed() error { return s3err.New(s3err.MalformedXML) }

func invalidRequest(msg string) error { return s3err.WithMessage(s3err.InvalidRequest, msg) }

// Parse decodes and validates a PutBucketCors body (at most MaxBody bytes:
// the caller refuses a longer one with MalformedXML before reading it
// all). Every rejection is an *s3err.Error with the code and message AWS
// answers: MalformedXML for a document outside S3's schema (no rule, more
// than MaxRules, a rule without AllowedOrigin or AllowedMethod, an unknown
// element, a MaxAgeSeconds that is not an integer), InvalidRequest for a
// method S3 does not support and for a second '*' in an origin or allowed
// header or any '*' in an expose header, InvalidArgument for an ID over
// MaxIDLength characters.
func Parse(body []byte) (*Configuration, error) {
	if len(body) > MaxBody {
		return nil, malformed()
	}
	var doc xmlConfig
	if err := s3api.DecodeXML(body, &doc); err != nil {
		return nil, err
	}
	if len(doc.Unknown) > 0 || len(doc.Rules) == 0 || len(doc.Rules) > MaxRules {
		return nil, malformed()
	}
	cfg := &Configuration{Rules: make([]Rule, 0, len(doc.Rules))}
	for i := range doc.Rules {
		r, err := parseRule(&doc.Rules[i])
		if err != nil {
			return nil, err
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	return cfg, nil
}

func parseRule(x *xmlRule) (Rule, error) {
	if len(x.Unknown) > 0 || len(x.AllowedOrigins) == 0 || len(x.AllowedMethods) == 0 ||
		len(x.ID) > 1 || len(x.MaxAgeSeconds) > 1 {
		return Rule{}, malformed()
	}
	r := Rule{AllowedOrigins: x.AllowedOrigins, AllowedMethods: x.AllowedMethods,
		AllowedHeaders: x.AllowedHeaders, ExposeHeaders: x.ExposeHeaders}
	if len(x.ID) == 1 {
		r.ID = x.ID[0]
		if len([]rune(r.ID)) > MaxIDLength {
			return Rule{}, s3err.WithMessage(s3err.InvalidArgument, "ID length should not exceed allowed limit of 255").
				With("ArgumentName", "ID").With("ArgumentValue", r.ID)
		}
	}
	if len(x.MaxAgeSeconds) == 1 {
		n, err := strconv.ParseInt(strings.TrimSpace(x.MaxAgeSeconds[0]), 10, 32)
		if err != nil || n < 0 {
			return Rule{}, malformed()
		}
		v := int(n)
		r.MaxAgeSeconds = &v
	}
	for _, m := range r.AllowedMethods {
		if !isMethod(m) {
			return Rule{}, invalidRequest("Found unsupported HTTP method in CORS config. Unsupported method is " + m)
		}
	}
	for _, o := range r.AllowedOrigins {
		if strings.Count(o, "*") > 1 {
			return Rule{}, invalidRequest(`AllowedOrigin "` + o + `" can not have more than one wildcard.`)
		}
	}
	for _, h := range r.AllowedHeaders {
		if strings.Count(h, "*") > 1 {
			return Rule{}, invalidRequest(`AllowedHeader "` + h + `" can not have more than one wildcard.`)
		}
	}
	for _, h := range r.ExposeHeaders {
		if strings.Contains(h, "*") {
			return Rule{}, invalidRequest(`ExposeHeader "` + h + `" contains wildcard. We currently do not support wildcard for ExposeHeader.`)
		}
	}
	return r, nil
}

func isMethod(m string) bool {
	for _, x := range Methods {
		if m == x {
			return true
		}
	}
	return false
}

// Document is the GetBucketCors answer.
type Document struct {
	XMLName xml.Name  `xml:"CORSConfiguration"`
	XMLNS   string    `xml:"xmlns,attr"`
	Rules   []docRule `xml:"CORSRule"`
}

type docRule struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds,omitempty"`
}

// Render returns c as S3's GetBucketCors document: every rule with the
// elements it was stored with, lists in the order sent.
func Render(c *Configuration) Document {
	d := Document{XMLNS: s3api.XMLNS}
	for _, r := range c.Rules {
		d.Rules = append(d.Rules, docRule{ID: r.ID, AllowedHeaders: r.AllowedHeaders, AllowedMethods: r.AllowedMethods,
			AllowedOrigins: r.AllowedOrigins, ExposeHeaders: r.ExposeHeaders, MaxAgeSeconds: r.MaxAgeSeconds})
	}
	return d
}

package s3cors

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// The request and response headers of the CORS protocol.
const (
	HeaderOrigin         = "Origin"
	HeaderRequestMethod  = "Access-Control-Request-Method"
	HeaderRequestHeaders = "Access-Control-Request-Headers"

	HeaderAllowOrigin      = "Access-Control-Allow-Origin"
	HeaderAllowCredentials = "Access-Control-Allow-Credentials"
	HeaderAllowMethods     = "Access-Control-Allow-Methods"
	HeaderAllowHeaders     = "Access-Control-Allow-Headers"
	HeaderExposeHeaders    = "Access-Control-Expose-Headers"
	HeaderMaxAge           = "Access-Control-Max-Age"
)

// vary is the Vary value S3 sends with every answer a rule matched.
const vary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

// match reports whether value matches pattern: equal, or — with one '*' in
// pattern — starting with what precedes the '*' and ending with what
// follows it (the '*' may stand for nothing).
func match(pattern, value string) bool {
	before, after, wild := strings.Cut(pattern, "*")
	if !wild {
		return pattern == value
	}
	return len(value) >= len(before)+len(after) && strings.HasPrefix(value, before) && strings.HasSuffix(value, after)
}

// allowsOrigin: an AllowedOrigin of the rule matches origin (case-sensitive).
func (r *Rule) allowsOrigin(origin string) bool {
	for _, o := range r.AllowedOrigins {
		if match(o, origin) {
			return true
		}
	}
	return false
}

// allowsHeader: an AllowedHeader matches name (lower case), ignoring case.
func (r *Rule) allowsHeader(name string) bool {
	for _, h := range r.AllowedHeaders {
		if match(strings.ToLower(h), name) {
			return true
		}
	}
	return false
}

// Match returns the first rule that allows origin with method and, for a
// preflight, every one of headers (lower-case names; nil or empty for an
// actual request, whose headers S3 does not check). ok is false when no
// rule matches.
func (c *Configuration) Match(origin, method string, headers []string) (r *Rule, ok bool) {
	if c == nil {
		return nil, false
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if !slices.Contains(r.AllowedMethods, method) || !r.allowsOrigin(origin) {
			continue
		}
		all := true
		for _, h := range headers {
			if !r.allowsHeader(h) {
				all = false
				break
			}
		}
		if all {
			return r, true
		}
	}
	return nil, false
}

// wildcardOrigin: the rule allows every origin, so S3 answers '*' rather
// than the origin, and no credentials.
func (r *Rule) wildcardOrigin() bool { return slices.Contains(r.AllowedOrigins, "*") }

// setHeaders writes the Access-Control-* answer of rule r to origin into
// out; requested are the preflight's requested header names (echoed in
// lower case, in the order asked).
func (r *Rule) setHeaders(out http.Header, origin string, requested []string) {
	if r.wildcardOrigin() {
		out.Set(HeaderAllowOrigin, "*")
	} else {
		out.Set(HeaderAllowOrigin, origin)
		out.Set(HeaderAllowCredentials, "true")
	}
	out.Set(HeaderAllowMethods, strings.Join(r.AllowedMethods, ", "))
	if len(requested) > 0 {
		out.Set(HeaderAllowHeaders, strings.Join(requested, ", "))
	}
	if len(r.ExposeHeaders) > 0 {
		out.Set(HeaderExposeHeaders, strings.Join(r.ExposeHeaders, ", "))
	}
	if r.MaxAgeSeconds != nil {
		out.Set(HeaderMaxAge, strconv.Itoa(*r.MaxAgeSeconds))
	}
	out.Set("Vary", vary)
}

// HasOrigin reports whether a request carries an Origin header: only
// then is it a cross-origin request that CORS evaluation concerns (the
// callers read the bucket's configuration only for those).
func HasOrigin(h http.Header) bool { return len(h.Values(HeaderOrigin)) > 0 }

// Actual adds to out the Access-Control-* headers that cfg's first
// matching rule gives an actual (non-preflight) request with headers h
// and the given method, and reports whether a rule matched. Nothing is
// added without an Origin or a matching rule: the request is served as
// it would be without CORS. As S3 does, an Access-Control-Request-Method
// header on an actual request replaces its method in the match, and its
// requested headers are not checked.
func Actual(cfg *Configuration, h http.Header, method string, out http.Header) bool {
	if cfg == nil || !HasOrigin(h) {
		return false
	}
	origin := h.Get(HeaderOrigin)
	if m := h.Values(HeaderRequestMethod); len(m) > 0 {
		method = m[0]
	}
	r, ok := cfg.Match(origin, method, nil)
	if ok {
		r.setHeaders(out, origin, nil)
	}
	return ok
}

// Preflight is a parsed preflight (OPTIONS) request.
type Preflight struct {
	Origin string
	// Method is the Access-Control-Request-Method ("" when absent: HasMethod false).
	Method    string
	HasMethod bool
	// Headers are the Access-Control-Request-Headers names, lower case, in
	// the order sent, empty elements dropped.
	Headers []string
}

// requestMethods are the Access-Control-Request-Method values S3 takes
// into evaluation (case-sensitive); any other is a 400. PATCH and OPTIONS
// are valid requests that no rule can allow.
var requestMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// ParsePreflight reads a preflight's headers. It refuses what S3 refuses
// before looking at the bucket: no Origin header (400 BadRequest
// "Insufficient information. Origin request header needed.") and an
// Access-Control-Request-Method that is not a method (400 BadRequest
// "Invalid Access-Control-Request-Method: <value>").
func ParsePreflight(h http.Header) (Preflight, error) {
	if !HasOrigin(h) {
		return Preflight{}, s3err.WithMessage(s3err.BadRequest, "Insufficient information. Origin request header needed.")
	}
	p := Preflight{Origin: h.Get(HeaderOrigin)}
	if m := h.Values(HeaderRequestMethod); len(m) > 0 {
		p.Method, p.HasMethod = m[0], true
		if !slices.Contains(requestMethods, p.Method) {
			return Preflight{}, s3err.WithMessage(s3err.BadRequest, "Invalid Access-Control-Request-Method: "+p.Method)
		}
	}
	for _, v := range h.Values(HeaderRequestHeaders) {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				p.Headers = append(p.Headers, name)
			}
		}
	}
	return p, nil
}

// Resource is what a preflight addresses, as the caller looked it up.
type Resource struct {
	Found  bool           // the bucket exists
	Config *Configuration // its CORS configuration; nil: none
	Object bool           // the request names a key
}

// The 403 messages of S3's CORS answers (code AccessForbidden).
const (
	MsgBucketNotFound = "CORSResponse: Bucket not found"
	MsgNotEnabled     = "CORSResponse: CORS is not enabled for this bucket."
	MsgNotAllowed     = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)

// forbidden is S3's 403 for a refused preflight: AccessForbidden with the
// method asked about (OPTIONS when none was) and the resource type.
func (p Preflight) forbidden(msg, resourceType string) error {
	m := p.Method
	if !p.HasMethod {
		m = http.MethodOptions
	}
	return s3err.WithMessage(s3err.AccessForbidden, msg).With("Method", m).With("ResourceType", resourceType)
}

// Answer evaluates the preflight against res. On success it writes the
// matched rule's Access-Control-* headers into out (the caller answers 200
// with an empty body); otherwise it returns S3's error: 403 AccessForbidden
// "Bucket not found" or "CORS is not enabled for this bucket." (resource
// type BUCKET), 400 BadRequest when the bucket has rules but the request
// names no method, and 403 "This CORS request is not allowed…" (resource
// type OBJECT for a key, BUCKET for the bucket) when no rule matches.
func (p Preflight) Answer(res Resource, out http.Header) error {
	switch {
	case !res.Found:
		return p.forbidden(MsgBucketNotFound, "BUCKET")
	case res.Config == nil || len(res.Config.Rules) == 0:
		return p.forbidden(MsgNotEnabled, "BUCKET")
	case !p.HasMethod:
		return s3err.WithMessage(s3err.BadRequest, "Invalid Access-Control-Request-Method: null")
	}
	r, ok := res.Config.Match(p.Origin, p.Method, p.Headers)
	if !ok {
		rt := "BUCKET"
		if res.Object {
			rt = "OBJECT"
		}
		return p.forbidden(MsgNotAllowed, rt)
	}
	r.setHeaders(out, p.Origin, p.Headers)
	return nil
}

// Rules reads a bucket's CORS configuration: found is false when there is
// no such bucket (or the name cannot be one); cfg is nil when it has none.
type Rules func(ctx context.Context, bucket string) (cfg *Configuration, found bool, err error)

// ServePreflight answers the preflight OPTIONS h of bucket/key (bucket ""
// names none) from the rules the lookup returns: 200 with the headers of
// the first matching rule, or the S3 error to write (s3err). The request's
// headers are checked before the bucket is looked up.
func ServePreflight(ctx context.Context, w http.ResponseWriter, h http.Header, bucket, key string, rules Rules) error {
	p, err := ParsePreflight(h)
	if err != nil {
		return err
	}
	res := Resource{Object: key != ""}
	if bucket != "" {
		if res.Config, res.Found, err = rules(ctx, bucket); err != nil {
			return err
		}
	}
	if err := p.Answer(res, w.Header()); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

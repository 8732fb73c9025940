package s3acl

import (
	"net/http"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// CannedHeader names the canned ACL of a request.
const CannedHeader = "x-amz-acl"

// GrantHeaders maps each x-amz-grant-* header to the permission it grants,
// in the order S3 documents them.
var GrantHeaders = []struct {
	Header     string
	Permission Permission
}{
	{"x-amz-grant-read", Read},
	{"x-amz-grant-write", Write},
	{"x-amz-grant-read-acp", ReadACP},
	{"x-amz-grant-write-acp", WriteACP},
	{"x-amz-grant-full-control", FullControl},
}

// HasACLHeaders reports whether h carries x-amz-acl or any x-amz-grant-*.
func HasACLHeaders(h http.Header) bool {
	if h.Get(CannedHeader) != "" {
		return true
	}
	for _, gh := range GrantHeaders {
		if h.Get(gh.Header) != "" {
			return true
		}
	}
	return false
}

// FromHeaders is the ACL a request's headers give a resource owned by
// owner in a bucket owned by bucketOwner: x-amz-acl expanded (Canned), or
// exactly the grants of the x-amz-grant-* headers (the owner gets no
// implicit grant, as in S3). ok is false when the request has neither.
// Both together answer 400 InvalidRequest, as S3. Email grantees are left
// for Resolve.
func FromHeaders(h http.Header, owner, bucketOwner string, t Target) (a ACL, ok bool, err error) {
	canned := h.Get(CannedHeader)
	var grants []Grant
	for _, gh := range GrantHeaders {
		for _, v := range h.Values(gh.Header) {
			gs, err := ParseGrantHeader(gh.Header, gh.Permission, v)
			if err != nil {
				return ACL{}, false, err
			}
			grants = append(grants, gs...)
		}
	}
	switch {
	case canned != "" && grants != nil:
		return ACL{}, false, s3err.WithMessage(s3err.InvalidRequest, "Specifying both Canned ACLs and Header Grants is not allowed")
	case canned != "":
		a, err := Canned(canned, owner, bucketOwner, t)
		return a, err == nil, err
	case grants != nil:
		if len(grants) > MaxGrants {
			return ACL{}, false, errTooManyGrants()
		}
		return ACL{Owner: owner, Grants: grants}, true, nil
	}
	return ACL{}, false, nil
}

// ParseGrantHeader parses one x-amz-grant-* value: a comma-separated list
// of grantees, each type="value" with type id (canonical user), uri (a
// group) or emailAddress; the quotes may be left out. A value that does
// not parse answers 400 InvalidArgument naming the header, an unknown group
// 400 InvalidArgument "Invalid group uri".
func ParseGrantHeader(header string, p Permission, value string) ([]Grant, error) {
	bad := func() error {
		return s3err.WithMessage(s3err.InvalidArgument, "Argument format not recognized").
			With("ArgumentName", header).With("ArgumentValue", truncate(value))
	}
	var out []Grant
	for _, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		k, v, found := strings.Cut(item, "=")
		if !found {
			return nil, bad()
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if v == "" || strings.ContainsRune(v, '"') {
			return nil, bad()
		}
		var g Grantee
		switch strings.ToLower(k) {
		case "id":
			g = Grantee{Type: CanonicalUser, ID: v}
		case "uri":
			if !knownGroup(v) {
				return nil, errInvalidGroup(v)
			}
			g = Grantee{Type: Group, URI: v}
		case "emailaddress":
			g = Grantee{Type: ByEmail, Email: v}
		default:
			return nil, bad()
		}
		out = append(out, Grant{Grantee: g, Permission: p})
	}
	return out, nil
}

func knownGroup(uri string) bool {
	return uri == AllUsers || uri == AuthenticatedUsers || uri == LogDelivery
}

func errInvalidGroup(uri string) error {
	return s3err.WithMessage(s3err.InvalidArgument, "Invalid group uri").With("ArgumentName", "uri").With("ArgumentValue", truncate(uri))
}

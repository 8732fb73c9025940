package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Protocol constants.
const (
	Algorithm      = "AWS4-HMAC-SHA256"
	terminator     = "aws4_request"
	amzDateFormat  = "20060102T150405Z"
	scopeDateFmt   = "20060102"
	chunkAlgorithm = "AWS4-HMAC-SHA256-PAYLOAD"
	trailerAlgo    = "AWS4-HMAC-SHA256-TRAILER"

	// EmptySHA256 is the hex SHA-256 of an empty payload.
	EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Payload modes: the values of x-amz-content-sha256 other than a hex
// SHA-256, plus PayloadSigned for that case.
const (
	PayloadSigned                 = "SIGNED-PAYLOAD" // x-amz-content-sha256 is a hex SHA-256 of the body
	UnsignedPayload               = "UNSIGNED-PAYLOAD"
	StreamingSignedPayload        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingSignedPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer      = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// uriEncode appends the SigV4 URI encoding of s to dst: every byte but the
// unreserved A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex). A '/' is
// kept when keepSlash is set.
func uriEncode(dst []byte, s string, keepSlash bool) []byte {
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexd[c>>4], hexd[c&15])
	}
	return dst
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// canonicalURI returns the canonical path the way S3 computes it: the
// path as the client escaped it is split at '/', each segment is
// unescaped once and re-encoded strictly. This neither double-encodes
// ("%24" stays "%24") nor normalizes ("a//b", "./" are kept).
func canonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	if !strings.ContainsRune(escapedPath, '%') {
		// Fast path: nothing to unescape.
		needs := false
		for i := 0; i < len(escapedPath); i++ {
			if c := escapedPath[i]; !unreserved(c) && c != '/' {
				needs = true
				break
			}
		}
		if !needs {
			return escapedPath
		}
		return string(uriEncode(make([]byte, 0, len(escapedPath)+16), escapedPath, true))
	}
	out := make([]byte, 0, len(escapedPath)+16)
	for i, seg := range strings.Split(escapedPath, "/") {
		if i > 0 {
			out = append(out, '/')
		}
		dec, err := url.PathUnescape(seg)
		if err != nil {
			dec = seg
		}
		out = uriEncode(out, dec, false)
	}
	return string(out)
}

type queryPair struct{ k, v string }

// canonicalQuery returns the canonical query string of rawQuery: pairs
// decoded once, re-encoded strictly, sorted by name then value. A pair
// named skip (the presigned signature) is left out.
func canonicalQuery(rawQuery, skip string) string {
	if rawQuery == "" {
		return ""
	}
	pairs := make([]queryPair, 0, 8)
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		if skip != "" && dk == skip {
			continue
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			dv = v
		}
		pairs = append(pairs, queryPair{
			string(uriEncode(nil, dk, false)),
			string(uriEncode(nil, dv, false)),
		})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// headerValue returns the canonical value of the (lower-case) header name
// in r: values joined with ",", each trimmed with inner runs of spaces
// collapsed. Host, Content-Length and Transfer-Encoding come from the
// fields net/http moves them to, and Expect from what HTTP/2 removed.
func headerValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		return trimCollapse(h)
	case "content-length":
		vals = r.Header.Values("Content-Length")
		if len(vals) == 0 && r.ContentLength >= 0 {
			return strconv.FormatInt(r.ContentLength, 10)
		}
	case "transfer-encoding":
		vals = r.Header.Values("Transfer-Encoding")
		if len(vals) == 0 {
			vals = r.TransferEncoding
		}
	case "expect":
		vals = r.Header.Values("Expect")
		if len(vals) == 0 && r.ProtoMajor >= 2 {
			// net/http's HTTP/2 server answers "Expect: 100-continue"
			// itself and deletes the header; it is the only value it
			// deletes, so a client that signed it (curl does) sent that.
			return "100-continue"
		}
	default:
		vals = lookupHeader(r.Header, name)
		if vals == nil {
			vals = r.Header[name] // set without canonicalization
		}
	}
	if len(vals) == 1 {
		return trimCollapse(vals[0])
	}
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(trimCollapse(v))
	}
	return b.String()
}

// lookupHeader finds the values of a lower-case header name in h without
// allocating for names up to 64 bytes.
func lookupHeader(h http.Header, name string) []string {
	if len(name) > 64 {
		return h[textproto.CanonicalMIMEHeaderKey(name)]
	}
	var buf [64]byte
	b := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
		upper = c == '-'
	}
	return h[string(b)]
}

// trimCollapse trims s and collapses each run of spaces or tabs to one space.
func trimCollapse(s string) string {
	s = strings.TrimSpace(s)
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\t' || (c == ' ' && i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t')) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, c)
	}
	return string(b)
}

// canonicalRequest builds the SigV4 canonical request.
func canonicalRequest(r *http.Request, signed []string, query, payloadHash string) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL.EscapedPath()))
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func stringToSign(amzDate, scope, canonical string) string {
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonical)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// SigningKey derives the SigV4 signing key for a scope.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func signHex(key []byte, sts string) string {
	return hex.EncodeToString(hmacSHA256(key, sts))
}

func scopeString(date, region, service string) string {
	return date + "/" + region + "/" + service + "/" + terminator
}

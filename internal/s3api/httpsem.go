package s3api

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxKeyLength is S3's limit on object key length in bytes.
const MaxKeyLength = 1024

// MaxUserMetadata is S3's limit on the total size of x-amz-meta-* headers (names + values).
const MaxUserMetadata = 2 << 10

// MaxSinglePut is the largest object a single PutObject may upload (5 GiB).
const MaxSinglePut = 5 << 30

// MaxPartSize is the largest multipart part (5 GiB).
const MaxPartSize = 5 << 30

// ErrKeyTooLong and ErrKeyInvalid report object-key problems.
var (
	ErrKeyTooLong = errors.New("s3api: key too long")
	ErrKeyInvalid = errors.New("s3api: key is not valid UTF-8 or empty")
)

// ValidateKey checks an object key as S3 does: 1..1024 bytes of UTF-8.
func ValidateKey(key string) error {
	if len(key) > MaxKeyLength {
		return ErrKeyTooLong
	}
	if key == "" || !utf8.ValidString(key) {
		return ErrKeyInvalid
	}
	return nil
}

// Range is a resolved byte range [Start, Start+Length).
type Range struct {
	Start, Length int64
}

// ErrRangeUnsatisfiable means the range selects no byte of the object (416).
var ErrRangeUnsatisfiable = errors.New("s3api: range not satisfiable")

// ParseRange resolves an HTTP Range header against an object of size bytes.
// ok is false when the header is absent or not a valid single byte range:
// S3, like RFC 9110 §14.2, then ignores it and serves the whole object.
// Multiple ranges are not supported by S3 either; it serves the whole object.
//
// Positions are 1*DIGIT of any length (RFC 9110 §14.1.1 sets no bound). A
// number too large for int64 is read as "larger than any object" rather than
// as a syntax error, so the header keeps its meaning (RFC 9110 §14.1.2):
//   - first-pos overflows ("bytes=99999999999999999999-"): it lies past the
//     end, the range is unsatisfiable → 416 InvalidRange;
//   - last-pos overflows ("bytes=0-99999999999999999999"): it is clamped to
//     the last byte, as any last-pos past the end is → 206 of [first, end];
//   - suffix-length overflows ("bytes=-99999999999999999999"): longer than
//     the object, so the whole object → 206 with its full Content-Range.
//
// Anything that is not 1*DIGIT (signs, spaces inside, hex) stays invalid
// and the header is ignored.
func ParseRange(header string, size int64) (r Range, ok bool, err error) {
	if header == "" {
		return Range{}, false, nil
	}
	spec, found := strings.CutPrefix(header, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return Range{}, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return Range{}, false, nil
	}
	if first == "" { // suffix: last N bytes
		n, valid := parseDigits(last)
		if !valid {
			return Range{}, false, nil
		}
		if n == 0 || size == 0 {
			return Range{}, true, ErrRangeUnsatisfiable
		}
		if n > size {
			n = size
		}
		return Range{Start: size - n, Length: n}, true, nil
	}
	start, valid := parseDigits(first)
	if !valid {
		return Range{}, false, nil
	}
	end := size - 1
	if last != "" {
		e, valid := parseDigits(last)
		if !valid || e < start {
			return Range{}, false, nil
		}
		if e < end {
			end = e
		}
	}
	if start >= size {
		return Range{}, true, ErrRangeUnsatisfiable
	}
	return Range{Start: start, Length: end - start + 1}, true, nil
}

// parseDigits reads 1*DIGIT; a value beyond int64 saturates at MaxInt64.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64 // keep scanning: the rest must still be digits
			continue
		}
		n = n*10 + d
	}
	return n, true
}

// ContentRange formats the Content-Range header for r of an object of size bytes.
func (r Range) ContentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.Start, 10) + "-" + strconv.FormatInt(r.Start+r.Length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

// Condition is the outcome of evaluating conditional request headers.
type Condition int

const (
	CondOK                 Condition = iota // serve
	CondNotModified                         // 304
	CondPreconditionFailed                  // 412
)

// EvalConditions applies If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since in S3's order (RFC 9110 §13.2.2, with S3's rule that
// If-Match true + If-Unmodified-Since false still serves, and If-None-Match
// false + If-Modified-Since true answers 304). etag is unquoted.
func EvalConditions(h http.Header, etag string, modified time.Time) Condition {
	modified = modified.UTC().Truncate(time.Second)
	ifMatch := h.Get("If-Match")
	if ifMatch != "" {
		if !etagListMatches(ifMatch, etag) {
			return CondPreconditionFailed
		}
	} else if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && modified.After(t) {
			return CondPreconditionFailed
		}
	}
	ifNoneMatch := h.Get("If-None-Match")
	if ifNoneMatch != "" {
		if etagListMatches(ifNoneMatch, etag) {
			return CondNotModified
		}
	} else if v := h.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !modified.After(t) {
			return CondNotModified
		}
	}
	return CondOK
}

func etagListMatches(list, etag string) bool {
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "*" {
			return true
		}
		item = strings.TrimPrefix(item, "W/")
		if strings.Trim(item, `"`) == etag {
			return true
		}
	}
	return false
}

// QuoteETag returns etag in the quoted form S3 sends in headers and XML.
func QuoteETag(etag string) string { return `"` + etag + `"` }

// UnquoteETag strips surrounding quotes (and a W/ prefix) from an ETag.
func UnquoteETag(s string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(s), "W/"), `"`)
}

// HeaderSectionSize approximates the size of a request's header section
// (request line, Host and every header line) as it arrived.
func HeaderSectionSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Host) + 16
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// ExtendedRequestID is the x-amz-id-2 of one request: a digest of the
// answering host's id and the request id, so that, like S3's, it differs per
// request and names the host that served it.
func ExtendedRequestID(hostID, requestID string) string {
	sum := sha256.Sum256([]byte(hostID + "/" + requestID))
	return base64.StdEncoding.EncodeToString(sum[:24])
}

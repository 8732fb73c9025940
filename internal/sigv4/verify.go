package sigv4

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// Credentials resolves an access key id to its secret and the principal
// it authenticates. It is owned by the consumer (the gateway backs it
// with bucketsvc). Unknown keys return an error wrapping
// ErrUnknownAccessKey; other errors become InternalError.
type Credentials interface {
	Lookup(ctx context.Context, accessKeyID string) (secret string, principal string, err error)
}

// CredentialsFunc adapts a function to Credentials.
type CredentialsFunc func(ctx context.Context, accessKeyID string) (string, string, error)

// Lookup calls f.
func (f CredentialsFunc) Lookup(ctx context.Context, id string) (string, string, error) {
	return f(ctx, id)
}

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Credentials resolves access keys. Required.
	Credentials Credentials
	// Service is the service name in the credential scope ("s3").
	Service string
	// AllowedRegions are the regions accepted in the credential scope;
	// empty accepts any. The first is named in "expecting" messages.
	AllowedRegions []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the largest accepted difference between the request time
	// and Now (S3: 15 minutes).
	MaxSkew time.Duration
	// MaxPresignExpiry caps X-Amz-Expires (S3: 7 days, 604800 s).
	MaxPresignExpiry time.Duration
	// MinChunkSize is the smallest size a signed aws-chunked data chunk
	// may have unless it is the last one (S3: 8192). 0 disables the check.
	MinChunkSize int
	// SigningKeyCache bounds the number of derived signing keys kept (one
	// per access key, day, region). 0 disables the cache.
	SigningKeyCache int
	// HostBucket names the bucket of a virtual-hosted-style Host ("" for
	// path style). SigV2 signs the bucket in its resource whatever the
	// style; nil treats every request as path style.
	HostBucket func(host string) string
}

// DefaultVerifierConfig returns S3's limits; Credentials must be set.
func DefaultVerifierConfig() VerifierConfig {
	return VerifierConfig{
		Service:          "s3",
		MaxSkew:          15 * time.Minute,
		MaxPresignExpiry: 7 * 24 * time.Hour,
		MinChunkSize:     8192,
		SigningKeyCache:  4096,
	}
}

// ErrInvalidConfig is returned by Validate.
var ErrInvalidConfig = errors.New("sigv4: invalid config")

// maxExpirySeconds is S3's hard limit on X-Amz-Expires.
const maxExpirySeconds = 604800

// Validate checks c.
func (c VerifierConfig) Validate() error {
	switch {
	case c.Credentials == nil:
		return fmt.Errorf("%w: Credentials is nil", ErrInvalidConfig)
	case c.Service == "":
		return fmt.Errorf("%w: Service is empty", ErrInvalidConfig)
	case c.MaxSkew <= 0:
		return fmt.Errorf("%w: MaxSkew must be positive", ErrInvalidConfig)
	case c.MaxPresignExpiry <= 0 || c.MaxPresignExpiry > maxExpirySeconds*time.Second:
		return fmt.Errorf("%w: MaxPresignExpiry must be in (0, 7 days]", ErrInvalidConfig)
	case c.MinChunkSize < 0 || c.SigningKeyCache < 0:
		return fmt.Errorf("%w: negative MinChunkSize or SigningKeyCache", ErrInvalidConfig)
	}
	for _, r := range c.AllowedRegions {
		if r == "" {
			return fmt.Errorf("%w: empty region in AllowedRegions", ErrInvalidConfig)
		}
	}
	return nil
}

// Verifier authenticates S3 requests signed with AWS Signature Version 4.
// It is safe for concurrent use.
type Verifier struct {
	cfg     VerifierConfig
	now     func() time.Time
	regions map[string]bool

	mu   sync.Mutex
	keys map[keyCacheKey]keyCacheEntry
}

type keyCacheKey struct{ accessKey, date, region string }
type keyCacheEntry struct {
	secret string
	key    []byte
}

// NewVerifier returns a Verifier for cfg.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, now: cfg.Now, keys: make(map[keyCacheKey]keyCacheEntry)}
	if v.now == nil {
		v.now = time.Now
	}
	if len(cfg.AllowedRegions) > 0 {
		v.regions = make(map[string]bool, len(cfg.AllowedRegions))
		for _, r := range cfg.AllowedRegions {
			v.regions[r] = true
		}
	}
	v.cfg.AllowedRegions = slices.Clone(cfg.AllowedRegions)
	return v, nil
}

// Auth is the outcome of a successful Verify.
type Auth struct {
	AccessKeyID string
	Principal   string
	Region      string
	Anonymous   bool
	Presigned   bool
	// PayloadMode is PayloadSigned, UnsignedPayload or one of the
	// Streaming* modes.
	PayloadMode string
	// Body is the decoded, verifying body. It yields the object bytes; a
	// read that reaches the end returns io.EOF only when every check
	// (SHA-256, chunk and trailer signatures, checksums, length) passed,
	// and an *s3err.Error otherwise. Data must not be committed before
	// Body returned io.EOF. Closing it closes the request body.
	Body io.ReadCloser
	// DecodedLength is the object length, or -1 if unknown.
	DecodedLength int64
	// Checksums, once Body returned io.EOF, maps each verified algorithm
	// ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256") to the base64
	// value that was sent (in a header or trailer) and verified. Before
	// that it returns nil.
	Checksums func() map[string]string
	// SignedHeaders lists the signed header names (lower case).
	SignedHeaders []string
	// RequestTime is the signing time (X-Amz-Date or Date).
	RequestTime time.Time
	// Expires is when a presigned URL expires; zero otherwise.
	Expires time.Time
	// SignatureV2 marks a request authenticated with Signature Version 2
	// (no region, no signed payload).
	SignatureV2 bool
}

// signed holds what a parsed Authorization header or presigned query says.
type signed struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
	amzDate                          string
	t                                time.Time
	presigned                        bool
	expires                          time.Time
}

// Verify authenticates r. It returns Auth{Anonymous: true} for a request
// without any SigV4 material (the caller decides what anonymous may do)
// and an *s3err.Error when authentication fails. On success Auth.Body
// replaces r.Body for reading the payload; Verify itself reads none of it.
func (v *Verifier) Verify(r *http.Request) (*Auth, error) {
	if r.URL == nil {
		return nil, invalidRequest("The request has no URL.")
	}
	az := r.Header.Get("Authorization")
	var (
		s   signed
		err error
	)
	switch {
	case strings.HasPrefix(az, v2Prefix):
		return v.verifyV2(r, false)
	case az != "":
		s, err = v.parseHeader(r, az)
	case isPresignedV2(r.URL.RawQuery):
		return v.verifyV2(r, true)
	case isPresigned(r.URL.RawQuery):
		s, err = v.parseQuery(r)
	default:
		return v.anonymous(r)
	}
	if err != nil {
		return nil, err
	}
	return v.authenticate(r, &s)
}

// isPresigned reports whether the query carries presigned-URL parameters
// (SigV4, or SigV2's AWSAccessKeyId so that it gets its proper error).
func isPresigned(rawQuery string) bool {
	if !strings.Contains(rawQuery, "X-Amz-") && !strings.Contains(rawQuery, "AWSAccessKeyId") {
		return false
	}
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		switch k {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId":
			return true
		}
	}
	return false
}

// isPresignedV2: a SigV2 presigned URL (AWSAccessKeyId without SigV4's
// X-Amz-Algorithm; a query with both is SigV4's to judge).
func isPresignedV2(rawQuery string) bool {
	if !strings.Contains(rawQuery, "AWSAccessKeyId") || strings.Contains(rawQuery, "X-Amz-Algorithm") {
		return false
	}
	for part := range strings.SplitSeq(rawQuery, "&") {
		if k, _, _ := strings.Cut(part, "="); k == "AWSAccessKeyId" {
			return true
		}
	}
	return false
}

func (v *Verifier) parseHeader(r *http.Request, az string) (signed, error) {
	var s signed
	alg, rest, ok := strings.Cut(strings.TrimSpace(az), " ")
	if !ok || alg != Algorithm {
		return s, malformedHeader("the authorization mechanism is not supported; expecting \"" + Algorithm + "\".")
	}
	var cred, hdrs, sig string
	var seen [3]bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return s, malformedHeader("the component \"" + truncate(part) + "\" is not of the form key=value.")
		}
		var i int
		switch k {
		case "Credential":
			cred, i = val, 0
		case "SignedHeaders":
			hdrs, i = val, 1
		case "Signature":
			sig, i = val, 2
		default:
			return s, malformedHeader("unknown component \"" + truncate(k) + "\".")
		}
		if seen[i] {
			return s, malformedHeader("the component " + k + " appears twice.")
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return s, malformedHeader("it must contain Credential, SignedHeaders and Signature.")
	}
	if err := v.parseCredential(&s, cred, false); err != nil {
		return s, err
	}
	var err error
	if s.signedHeaders, err = parseSignedHeaders(hdrs); err != nil {
		return s, malformedHeader(err.Error())
	}
	s.signature = sig

	// Request time: X-Amz-Date, else Date.
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, err := time.Parse(amzDateFormat, d)
		if err != nil {
			return s, accessDenied("AWS authentication requires a valid Date or x-amz-date header")
		}
		s.t, s.amzDate = t, d
		if !slices.Contains(s.signedHeaders, "x-amz-date") {
			return s, unsignedHeaders("x-amz-date")
		}
	} else if d := r.Header.Get("Date"); d != "" {
		t, err := ParseHTTPDate(d)
		if err != nil {
			return s, accessDenied("AWS authentication requires a valid Date or x-amz-date header")
		}
		s.t, s.amzDate = t.UTC(), t.UTC().Format(amzDateFormat)
		if !slices.Contains(s.signedHeaders, "date") {
			return s, unsignedHeaders("date")
		}
	} else {
		return s, accessDenied("AWS authentication requires a valid Date or x-amz-date header")
	}
	if s.date != s.t.Format(scopeDateFmt) {
		return s, malformedHeader("Invalid credential date. Date is not the same as X-Amz-Date: \"" + s.t.Format(scopeDateFmt) + "\".")
	}
	now := v.now()
	if d := now.Sub(s.t); d > v.cfg.MaxSkew || d < -v.cfg.MaxSkew {
		return s, skewed(s.t, now, v.cfg.MaxSkew)
	}
	return s, nil
}

func (v *Verifier) parseQuery(r *http.Request) (signed, error) {
	var s signed
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return s, malformedQuery("The query string could not be parsed.")
	}
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		if len(q[k]) != 1 || q[k][0] == "" {
			return s, malformedQuery("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	if q.Get("X-Amz-Algorithm") != Algorithm {
		return s, malformedQuery("X-Amz-Algorithm only supports \"" + Algorithm + "\"")
	}
	s.presigned = true
	if err := v.parseCredential(&s, q.Get("X-Amz-Credential"), true); err != nil {
		return s, err
	}
	if s.signedHeaders, err = parseSignedHeaders(q.Get("X-Amz-SignedHeaders")); err != nil {
		return s, malformedQuery(err.Error())
	}
	s.signature = q.Get("X-Amz-Signature")
	s.amzDate = q.Get("X-Amz-Date")
	if s.t, err = time.Parse(amzDateFormat, s.amzDate); err != nil {
		return s, malformedQuery("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	if s.date != s.t.Format(scopeDateFmt) {
		return s, malformedQuery("Invalid credential date \"" + s.date + "\". This date is not the same as X-Amz-Date: \"" + s.t.Format(scopeDateFmt) + "\".")
	}
	exp, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	switch {
	case err != nil:
		return s, malformedQuery("X-Amz-Expires should be a number")
	case exp < 0:
		return s, malformedQuery("X-Amz-Expires must be non-negative")
	case exp > maxExpirySeconds || time.Duration(exp)*time.Second > v.cfg.MaxPresignExpiry:
		return s, malformedQuery(fmt.Sprintf("X-Amz-Expires must be less than a week (in seconds) that is %d", int64(v.cfg.MaxPresignExpiry/time.Second)))
	}
	s.expires = s.t.Add(time.Duration(exp) * time.Second)
	now := v.now()
	if s.t.Sub(now) > v.cfg.MaxSkew {
		return s, accessDenied("Request is not valid yet")
	}
	if now.After(s.expires) {
		return s, accessDenied("Request has expired").
			With("X-Amz-Expires", strconv.FormatInt(exp, 10)).
			With("Expires", s.expires.UTC().Format(time.RFC3339)).
			With("ServerTime", now.UTC().Format(time.RFC3339))
	}
	return s, nil
}

// parseCredential parses "AKID/YYYYMMDD/region/service/aws4_request".
func (v *Verifier) parseCredential(s *signed, cred string, presigned bool) error {
	return v.parseScope(s, cred, presigned, true)
}

// parseScope parses a credential; checkRegion applies AllowedRegions.
func (v *Verifier) parseScope(s *signed, cred string, presigned, checkRegion bool) error {
	bad := func(detail string) error {
		if presigned {
			return malformedQuery("Error parsing the X-Amz-Credential parameter; " + detail)
		}
		return malformedHeader(detail)
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return bad("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
	}
	n := len(parts)
	s.accessKey = strings.Join(parts[:n-4], "/")
	s.date, s.region, s.service = parts[n-4], parts[n-3], parts[n-2]
	if s.accessKey == "" {
		return bad("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
	}
	if _, err := time.Parse(scopeDateFmt, s.date); err != nil {
		return bad("incorrect date format \"" + truncate(s.date) + "\". This date in the credential must be in the format \"yyyyMMdd\".")
	}
	if parts[n-1] != terminator {
		return bad("incorrect terminal \"" + truncate(parts[n-1]) + "\". This endpoint uses \"" + terminator + "\".")
	}
	if s.service != v.cfg.Service {
		return bad("incorrect service \"" + truncate(s.service) + "\". This endpoint belongs to \"" + v.cfg.Service + "\".")
	}
	if checkRegion && v.regions != nil && !v.regions[s.region] {
		want := v.cfg.AllowedRegions[0]
		return bad("the region '"+truncate(s.region)+"' is wrong; expecting '"+want+"'").(*s3err.Error).With("Region", want)
	}
	return nil
}

func parseSignedHeaders(h string) ([]string, error) {
	if h == "" {
		return nil, errors.New("SignedHeaders is empty.")
	}
	out := strings.Split(h, ";")
	host := false
	for _, name := range out {
		if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, " \t:") {
			return nil, errors.New("the SignedHeaders component is mal-formed.")
		}
		host = host || name == "host"
	}
	if !host {
		return nil, errors.New("the SignedHeaders must include host.")
	}
	return out, nil
}

func unsignedHeaders(names ...string) *s3err.Error {
	return accessDenied("There were headers present in the request which were not signed").
		With("HeadersNotSigned", strings.Join(names, ", "))
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if len(x) == len(s) && strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// authenticate checks the signature of a parsed request and sets up the body.
func (v *Verifier) authenticate(r *http.Request, s *signed) (*Auth, error) {
	// Every x-amz-* header sent must be signed.
	var notSigned []string
	for k := range r.Header {
		if len(k) > 6 && strings.EqualFold(k[:6], "x-amz-") && !containsFold(s.signedHeaders, k) {
			notSigned = append(notSigned, strings.ToLower(k))
		}
	}
	if len(notSigned) > 0 {
		slices.Sort(notSigned)
		return nil, unsignedHeaders(notSigned...)
	}

	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		if !s.presigned {
			return nil, invalidRequest("Missing required header for this request: x-amz-content-sha256")
		}
		payloadHash = UnsignedPayload
	}
	mode, err := payloadMode(payloadHash)
	if err != nil {
		return nil, err
	}
	if s.presigned && mode != PayloadSigned && mode != UnsignedPayload {
		return nil, invalidRequest("Streaming uploads are not supported with query-string authentication.")
	}

	secret, principal, err := v.cfg.Credentials.Lookup(r.Context(), s.accessKey)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) || errors.Is(err, ErrDisabledAccessKey) {
			return nil, s3err.New(s3err.InvalidAccessKeyID).With("AWSAccessKeyId", s.accessKey)
		}
		return nil, fmt.Errorf("%w (sigv4: credentials lookup: %w)", s3err.New(s3err.InternalError), err)
	}
	key := v.signingKey(s.accessKey, secret, s.date, s.region)
	scope := scopeString(s.date, s.region, s.service)
	skip := ""
	if s.presigned {
		skip = "X-Amz-Signature"
	}
	canon := canonicalRequest(r, s.signedHeaders, canonicalQuery(r.URL.RawQuery, skip), payloadHash)
	sts := stringToSign(s.amzDate, scope, canon)
	want := signHex(key, sts)
	if !hmac.Equal([]byte(want), []byte(s.signature)) {
		return nil, signatureMismatch(s.accessKey, sts, s.signature, canon)
	}

	a := &Auth{
		AccessKeyID:   s.accessKey,
		Principal:     principal,
		Region:        s.region,
		Presigned:     s.presigned,
		PayloadMode:   mode,
		SignedHeaders: s.signedHeaders,
		RequestTime:   s.t,
		Expires:       s.expires,
	}
	ch := &chain{key: key, amzDate: s.amzDate, scope: scope, prev: s.signature}
	if err := v.setupBody(r, a, payloadHash, ch); err != nil {
		return nil, err
	}
	return a, nil
}

// anonymous handles a request without SigV4 material. Unsigned payload
// framing and checksums are still decoded and verified.
func (v *Verifier) anonymous(r *http.Request) (*Auth, error) {
	a := &Auth{Anonymous: true, DecodedLength: -1}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		payloadHash = UnsignedPayload
	}
	mode, err := payloadMode(payloadHash)
	if err != nil {
		return nil, err
	}
	if mode == StreamingSignedPayload || mode == StreamingSignedPayloadTrailer {
		return nil, accessDenied("Access Denied")
	}
	a.PayloadMode = mode
	if err := v.setupBody(r, a, payloadHash, nil); err != nil {
		return nil, err
	}
	return a, nil
}

func payloadMode(h string) (string, error) {
	switch h {
	case UnsignedPayload, StreamingSignedPayload, StreamingSignedPayloadTrailer, StreamingUnsignedTrailer:
		return h, nil
	}
	if isHexSHA256(h) {
		return PayloadSigned, nil
	}
	if strings.HasPrefix(h, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") {
		return "", s3err.WithMessage(s3err.NotImplemented, "SigV4a streaming payloads are not implemented.")
	}
	return "", s3err.WithMessage(s3err.InvalidArgument,
		"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.").
		With("ArgumentName", "x-amz-content-sha256").With("ArgumentValue", truncate(h))
}

func isHexSHA256(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// signingKey returns the derived key, from the cache when the secret is
// unchanged.
func (v *Verifier) signingKey(accessKey, secret, date, region string) []byte {
	if v.cfg.SigningKeyCache == 0 {
		return SigningKey(secret, date, region, v.cfg.Service)
	}
	ck := keyCacheKey{accessKey, date, region}
	v.mu.Lock()
	e, ok := v.keys[ck]
	v.mu.Unlock()
	if ok && e.secret == secret {
		return e.key
	}
	key := SigningKey(secret, date, region, v.cfg.Service)
	v.mu.Lock()
	if len(v.keys) >= v.cfg.SigningKeyCache {
		clear(v.keys) // crude but bounded; keys are cheap to re-derive
	}
	v.keys[ck] = keyCacheEntry{secret: secret, key: key}
	v.mu.Unlock()
	return key
}

// dateLayouts are the Date header forms clients send: RFC 1123 with GMT
// (the HTTP form), with a numeric zone (Python's email.utils.formatdate,
// which botocore uses: "-0000"), RFC 850 and asctime.
var dateLayouts = []string{http.TimeFormat, time.RFC1123Z, time.RFC1123, time.RFC850, time.ANSIC}

// ParseHTTPDate parses a Date header in any of the forms S3 accepts.
func ParseHTTPDate(d string) (time.Time, error) {
	var err error
	for _, l := range dateLayouts {
		var t time.Time
		if t, err = time.Parse(l, d); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

package sigv4

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/internal/s3checksum"
)

// The client side: a signer for tests, benchmarks and Meridian's own
// clients. It signs the way the AWS SDKs sign S3 requests.

// unsignedHeaderNames are never signed by Sign (as in the AWS SDKs).
var unsignedHeaderNames = map[string]bool{
	"authorization": true, "user-agent": true, "x-amzn-trace-id": true, "expect": true,
	"transfer-encoding": true, "connection": true, "accept-encoding": true,
}

// signedHeaderNames returns the sorted lower-case names Sign signs: host
// and every header present in r.Header, except a few hop-by-hop ones.
func signedHeaderNames(r *http.Request) []string {
	names := []string{"host"}
	for k := range r.Header {
		lk := strings.ToLower(k)
		if !unsignedHeaderNames[lk] && lk != "host" && !slices.Contains(names, lk) {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	return names
}

// Sign signs r in the Authorization header form at time now. payloadHash
// is the hex SHA-256 of the body or one of the UnsignedPayload /
// Streaming* modes ("" means UnsignedPayload); it is sent as
// x-amz-content-sha256. Every header already in r.Header is signed, plus
// host; set Content-Length in r.Header to sign it. Sign returns the
// signature, which is the seed of a streaming upload.
func Sign(r *http.Request, accessKey, secret, region string, now time.Time, payloadHash string) string {
	if payloadHash == "" {
		payloadHash = UnsignedPayload
	}
	now = now.UTC()
	amzDate := now.Format(amzDateFormat)
	date := now.Format(scopeDateFmt)
	r.Header.Del("Authorization")
	r.Header.Set("X-Amz-Date", amzDate)
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	signed := signedHeaderNames(r)
	scope := scopeString(date, region, "s3")
	canon := canonicalRequest(r, signed, canonicalQuery(r.URL.RawQuery, ""), payloadHash)
	sig := signHex(SigningKey(secret, date, region, "s3"), stringToSign(amzDate, scope, canon))
	r.Header.Set("Authorization", Algorithm+" Credential="+accessKey+"/"+scope+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
	return sig
}

// ErrPresignExpiry is returned by Presign for an expiry outside (0, 7 days].
var ErrPresignExpiry = errors.New("sigv4: presign expiry must be between 1 second and 7 days")

// Presign returns a presigned URL for r valid for expires from now. The
// URL signs host and every header in r.Header (the caller must send them
// unchanged); the payload is UNSIGNED-PAYLOAD. r.URL must be absolute.
func Presign(r *http.Request, accessKey, secret, region string, now time.Time, expires time.Duration) (string, error) {
	if expires < time.Second || expires > maxExpirySeconds*time.Second {
		return "", fmt.Errorf("%w: %v", ErrPresignExpiry, expires)
	}
	now = now.UTC()
	amzDate := now.Format(amzDateFormat)
	date := now.Format(scopeDateFmt)
	scope := scopeString(date, region, "s3")
	signed := signedHeaderNames(r)
	u := *r.URL
	q := u.RawQuery
	add := func(k, v string) {
		if q != "" {
			q += "&"
		}
		q += string(uriEncode(nil, k, false)) + "=" + string(uriEncode(nil, v, false))
	}
	add("X-Amz-Algorithm", Algorithm)
	add("X-Amz-Credential", accessKey+"/"+scope)
	add("X-Amz-Date", amzDate)
	add("X-Amz-Expires", strconv.FormatInt(int64(expires/time.Second), 10))
	add("X-Amz-SignedHeaders", strings.Join(signed, ";"))
	u.RawQuery = q
	rr := *r
	rr.URL = &u
	canon := canonicalRequest(&rr, signed, canonicalQuery(q, ""), UnsignedPayload)
	sig := signHex(SigningKey(secret, date, region, "s3"), stringToSign(amzDate, scope, canon))
	add("X-Amz-Signature", sig)
	u.RawQuery = q
	return u.String(), nil
}

// ChunkedOptions describes an aws-chunked body to encode.
type ChunkedOptions struct {
	// ChunkSize is the data size of every chunk but the last (default 64 KiB).
	ChunkSize int
	// Trailer, when set, appends that checksum as a trailer.
	Trailer s3checksum.Algorithm
	// TrailerValue overrides the computed trailer value (for tests).
	TrailerValue string
	// Signing, when set, signs every chunk (and the trailer) starting from
	// Signing.Seed; nil produces unsigned chunks.
	Signing *ChunkSigning
}

// ChunkSigning is what a streaming signer needs: the key material, the
// request time and region, and the seed (header) signature.
type ChunkSigning struct {
	Secret, Region string
	Time           time.Time
	Seed           string
}

// EncodedLength returns the length of the aws-chunked encoding of
// decodedLen bytes with opts (the Content-Length to send).
func EncodedLength(decodedLen int64, opts ChunkedOptions) int64 {
	size := int64(opts.chunkSize())
	frame := func(n int64) int64 {
		l := int64(len(strconv.FormatInt(n, 16))) + 2 + n + 2
		if opts.Signing != nil {
			l += int64(len(";chunk-signature=")) + 64
		}
		return l
	}
	var total int64
	full := decodedLen / size
	total += full * frame(size)
	if rest := decodedLen % size; rest > 0 {
		total += frame(rest)
	}
	total += frame(0) - 2 // final chunk has no data CRLF of its own
	if opts.Trailer != "" {
		total += int64(len(s3checksum.HeaderName(opts.Trailer))) + 1 +
			int64(len(s3checksum.Sum(opts.Trailer, nil))) + 2
		if opts.Signing != nil {
			total += int64(len("x-amz-trailer-signature:")) + 64 + 2
		}
	}
	return total + 2
}

func (o ChunkedOptions) chunkSize() int {
	if o.ChunkSize <= 0 {
		return 64 << 10
	}
	return o.ChunkSize
}

// ChunkedReader encodes data as an aws-chunked body while it is read.
type ChunkedReader struct {
	src   io.Reader
	opts  ChunkedOptions
	chain *chain
	sums  *s3checksum.MultiHasher
	data  []byte
	out   []byte // pending encoded bytes
	off   int
	done  bool
	err   error
}

// NewChunkedReader returns a reader of the aws-chunked encoding of src.
func NewChunkedReader(src io.Reader, opts ChunkedOptions) *ChunkedReader {
	c := &ChunkedReader{src: src, opts: opts, data: make([]byte, opts.chunkSize())}
	if opts.Trailer != "" {
		c.sums = s3checksum.NewMultiHasher(opts.Trailer)
	}
	if s := opts.Signing; s != nil {
		t := s.Time.UTC()
		date := t.Format(scopeDateFmt)
		c.chain = &chain{
			key:     SigningKey(s.Secret, date, s.Region, "s3"),
			amzDate: t.Format(amzDateFormat),
			scope:   scopeString(date, s.Region, "s3"),
			prev:    s.Seed,
		}
	}
	return c
}

func (c *ChunkedReader) Read(p []byte) (int, error) {
	for c.off == len(c.out) {
		if c.err != nil {
			return 0, c.err
		}
		if c.done {
			return 0, io.EOF
		}
		c.fill()
	}
	n := copy(p, c.out[c.off:])
	c.off += n
	return n, nil
}

func (c *ChunkedReader) fill() {
	c.out, c.off = c.out[:0], 0
	n, err := io.ReadFull(c.src, c.data)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		c.err = err
		return
	}
	if n > 0 {
		c.frame(c.data[:n])
		if c.sums != nil {
			c.sums.Write(c.data[:n])
		}
	}
	if err == nil {
		return
	}
	c.frame(nil) // final chunk
	if c.opts.Trailer != "" {
		name := s3checksum.HeaderName(c.opts.Trailer)
		val, _ := c.sums.Sum(c.opts.Trailer)
		if c.opts.TrailerValue != "" {
			val = c.opts.TrailerValue
		}
		c.out = append(c.out, name+":"+val+"\r\n"...)
		if c.chain != nil {
			c.out = append(c.out, "x-amz-trailer-signature:"+c.chain.trailerSignature(name+":"+val+"\n")+"\r\n"...)
		}
	}
	c.out = append(c.out, "\r\n"...)
	c.done = true
}

func (c *ChunkedReader) frame(data []byte) {
	c.out = strconv.AppendInt(c.out, int64(len(data)), 16)
	if c.chain != nil {
		sum := sha256.Sum256(data)
		sig := c.chain.chunkSignature(sum[:])
		c.chain.prev = sig
		c.out = append(c.out, ";chunk-signature="+sig...)
	}
	c.out = append(c.out, "\r\n"...)
	if len(data) > 0 {
		c.out = append(c.out, data...)
		c.out = append(c.out, "\r\n"...)
	}
}

// SignChunked prepares and signs r for a streaming upload of decodedLen
// bytes read from r.Body: it sets Content-Encoding, the decoded length,
// x-amz-trailer and Content-Length, signs the headers with mode as
// x-amz-content-sha256, and replaces r.Body with the chunk encoder. mode
// is StreamingSignedPayload, StreamingSignedPayloadTrailer or
// StreamingUnsignedTrailer; the trailer modes need opts.Trailer.
// opts.Signing is filled in for signed modes.
func SignChunked(r *http.Request, accessKey, secret, region string, now time.Time, mode string, decodedLen int64, opts ChunkedOptions) error {
	signedMode := mode == StreamingSignedPayload || mode == StreamingSignedPayloadTrailer
	if !signedMode && mode != StreamingUnsignedTrailer {
		return fmt.Errorf("sigv4: SignChunked: unsupported mode %q", mode)
	}
	if (mode == StreamingSignedPayload) == (opts.Trailer != "") && mode != StreamingUnsignedTrailer {
		return fmt.Errorf("sigv4: SignChunked: mode %s and trailer %q disagree", mode, opts.Trailer)
	}
	if signedMode {
		opts.Signing = &ChunkSigning{Secret: secret, Region: region, Time: now}
	} else {
		opts.Signing = nil
	}
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(decodedLen, 10))
	if opts.Trailer != "" {
		r.Header.Set("X-Amz-Trailer", s3checksum.HeaderName(opts.Trailer))
	}
	n := EncodedLength(decodedLen, opts)
	r.ContentLength = n
	r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
	seed := Sign(r, accessKey, secret, region, now, mode)
	if opts.Signing != nil {
		opts.Signing.Seed = seed
	}
	src := r.Body
	if src == nil {
		src = http.NoBody
	}
	r.Body = io.NopCloser(NewChunkedReader(src, opts))
	return nil
}

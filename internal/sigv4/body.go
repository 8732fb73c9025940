package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// Limits of the aws-chunked decoder. Memory per request is the bufio
// buffer plus a few small strings, whatever the chunk sizes.
const (
	chunkBufSize   = 8 << 10 // read buffer; larger reads bypass it (one copy less)
	maxLineLen     = 4096    // a chunk header or trailer line
	maxTrailers    = 8       // trailer lines besides the signature
	maxChunkHexLen = 16
)

// chain carries the signing state of a streaming upload: the previous
// signature, starting with the seed (header) signature.
type chain struct {
	key     []byte
	amzDate string
	scope   string
	prev    string
}

// chunkSignature returns the signature of a chunk whose data hashes to sum.
func (c *chain) chunkSignature(sum []byte) string {
	var hx [64]byte
	hex.Encode(hx[:], sum)
	return signHex(c.key, chunkAlgorithm+"\n"+c.amzDate+"\n"+c.scope+"\n"+c.prev+"\n"+EmptySHA256+"\n"+string(hx[:]))
}

// trailerSignature returns the signature of the canonical trailer block.
func (c *chain) trailerSignature(canonicalTrailers string) string {
	return signHex(c.key, trailerAlgo+"\n"+c.amzDate+"\n"+c.scope+"\n"+c.prev+"\n"+sha256Hex(canonicalTrailers))
}

// setupBody installs the verifying body on a according to the payload
// mode and the checksum headers of r.
func (v *Verifier) setupBody(r *http.Request, a *Auth, payloadHash string, ch *chain) error {
	src := r.Body
	if src == nil {
		src = http.NoBody
	}
	b := &body{closer: src, want: -1}

	// A plain x-amz-checksum-<alg> header. On CompleteMultipartUpload it
	// is the whole object's checksum, not the XML body's: the gateway
	// checks it against the parts (ObjectChecksumHeaders).
	var headerAlg s3checksum.Algorithm
	for k, vals := range r.Header {
		if ObjectChecksumHeaders(r) {
			break
		}
		if len(k) <= len(s3checksum.HeaderPrefix) || !strings.EqualFold(k[:len(s3checksum.HeaderPrefix)], s3checksum.HeaderPrefix) {
			continue
		}
		lk := strings.ToLower(k)
		alg, err := s3checksum.Parse(lk)
		if err != nil {
			continue // x-amz-checksum-type, -mode, -algorithm: not values
		}
		if headerAlg != "" || len(vals) != 1 {
			return invalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		if _, err := s3checksum.Decode(alg, strings.TrimSpace(vals[0])); err != nil {
			return invalidRequest("Value for " + lk + " header is invalid.")
		}
		headerAlg = alg
		b.expect = append(b.expect, expected{alg, strings.TrimSpace(vals[0])})
	}

	trailerHdr := strings.TrimSpace(r.Header.Get("X-Amz-Trailer"))
	mode := a.PayloadMode
	streaming := mode == StreamingSignedPayload || mode == StreamingSignedPayloadTrailer || mode == StreamingUnsignedTrailer
	trailerMode := mode == StreamingSignedPayloadTrailer || mode == StreamingUnsignedTrailer
	if trailerHdr != "" && !trailerMode {
		return invalidRequest("The x-amz-trailer header requires a STREAMING-*-TRAILER x-amz-content-sha256.")
	}

	var declared []s3checksum.Algorithm
	if trailerHdr != "" {
		for name := range strings.SplitSeq(trailerHdr, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			alg, err := s3checksum.Parse(name)
			if err != nil || !strings.HasPrefix(name, s3checksum.HeaderPrefix) {
				return invalidRequest("The value specified in the x-amz-trailer header is not supported")
			}
			if headerAlg != "" || len(declared) > 0 {
				return invalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
			}
			declared = append(declared, alg)
		}
	}

	if streaming {
		dl := r.Header.Get("X-Amz-Decoded-Content-Length")
		if dl == "" {
			return s3err.WithMessage(s3err.MissingContentLength, "You must provide the x-amz-decoded-content-length header for aws-chunked uploads.")
		}
		n, err := strconv.ParseInt(dl, 10, 64)
		if err != nil || n < 0 {
			return s3err.WithMessage(s3err.InvalidArgument, "x-amz-decoded-content-length must be a non-negative integer.").
				With("ArgumentName", "x-amz-decoded-content-length").With("ArgumentValue", truncate(dl))
		}
		b.want = n
		cr := &chunkReader{
			br:       bufio.NewReaderSize(src, chunkBufSize),
			trailers: trailerMode,
			declared: declared,
			limit:    n,
		}
		if mode != StreamingUnsignedTrailer {
			if ch == nil {
				return accessDenied("Access Denied")
			}
			cr.chain = ch
			cr.sha = sha256.New()
			cr.minChunk = int64(v.cfg.MinChunkSize)
		}
		b.chunks = cr
		b.src = cr
	} else {
		b.src = src
		b.want = r.ContentLength
		if b.want < 0 {
			b.want = -1
		}
	}

	if mode == PayloadSigned {
		sum, _ := hex.DecodeString(payloadHash)
		b.sha, b.shaWant = sha256.New(), sum
	}
	if len(b.expect) > 0 || len(declared) > 0 {
		b.sums = s3checksum.NewMultiHasher()
		for _, e := range b.expect {
			b.sums.Add(e.alg)
		}
		for _, alg := range declared {
			b.sums.Add(alg)
		}
	}
	a.Body = b
	a.DecodedLength = b.want
	a.Checksums = b.checksums
	return nil
}

type expected struct {
	alg   s3checksum.Algorithm
	value string
}

// body is the verifying reader handed out as Auth.Body.
type body struct {
	src    io.Reader
	closer io.Closer
	chunks *chunkReader // nil unless aws-chunked

	sha     hash.Hash // PayloadSigned only
	shaWant []byte
	sums    *s3checksum.MultiHasher
	expect  []expected // from headers; trailers are added at the end

	n, want  int64
	err      error
	verified map[string]string
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.src.Read(p)
	if n > 0 {
		if b.sha != nil {
			b.sha.Write(p[:n])
		}
		if b.sums != nil {
			b.sums.Write(p[:n])
		}
		b.n += int64(n)
		if b.want >= 0 && b.n > b.want {
			b.err = incompleteBody("The request body is longer than the declared length.")
			return n, b.err
		}
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		b.err = b.finish()
	default:
		b.err = readError(err)
	}
	return n, b.err
}

// finish runs the end-of-body checks; it returns io.EOF when all pass.
func (b *body) finish() error {
	if b.want >= 0 && b.n < b.want {
		return incompleteBody("")
	}
	if b.sha != nil {
		got := b.sha.Sum(nil)
		if !bytes.Equal(got, b.shaWant) {
			return s3err.New(s3err.XAmzContentSHA256Mismatch).
				With("ClientComputedContentSHA256", hex.EncodeToString(b.shaWant)).
				With("S3ComputedContentSHA256", hex.EncodeToString(got))
		}
	}
	expect := b.expect
	if b.chunks != nil {
		expect = append(expect, b.chunks.values...)
	}
	verified := make(map[string]string, len(expect))
	for _, e := range expect {
		got, _ := b.sums.Sum(e.alg)
		if got != e.value {
			return s3err.WithMessage(s3err.BadDigest, "The "+digestName(e.alg)+" you specified did not match the calculated checksum.")
		}
		verified[string(e.alg)] = e.value
	}
	b.verified = verified
	return io.EOF
}

// digestName is how S3's BadDigest message spells an algorithm.
func digestName(a s3checksum.Algorithm) string {
	switch a {
	case s3checksum.SHA1, s3checksum.SHA256:
		return strings.ToLower(string(a))
	}
	return string(a)
}

func (b *body) checksums() map[string]string {
	if b.verified == nil {
		return nil
	}
	out := make(map[string]string, len(b.verified))
	for k, v := range b.verified {
		out[k] = v
	}
	return out
}

func (b *body) Close() error { return b.closer.Close() }

// readError translates an error from the request body into an S3 error
// that still wraps the cause.
func readError(err error) error {
	var s3e *s3err.Error
	if errors.As(err, &s3e) {
		return err
	}
	var mbe *http.MaxBytesError
	var ne net.Error
	var code s3err.Code
	switch {
	case errors.As(err, &mbe):
		code = s3err.EntityTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		code = s3err.RequestTimeout
	default:
		code = s3err.IncompleteBody
	}
	return &wrapped{s3: s3err.New(code), cause: err}
}

// wrapped is an S3 error with the transport error that caused it.
type wrapped struct {
	s3    *s3err.Error
	cause error
}

func (w *wrapped) Error() string   { return w.s3.Error() + " (" + w.cause.Error() + ")" }
func (w *wrapped) Unwrap() []error { return []error{w.s3, w.cause} }

// chunkReader decodes an aws-chunked body:
//
//	hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n
//	[trailer-name:value\r\n ... [x-amz-trailer-signature:sig\r\n]] \r\n
//
// It verifies chunk signatures as each chunk ends and the trailer
// signature at the end; data is passed through as it arrives, so the
// caller learns that a chunk was forged only at its end (Auth.Body's
// contract: commit nothing before io.EOF).
type chunkReader struct {
	br       *bufio.Reader
	chain    *chain    // nil for unsigned chunks
	sha      hash.Hash // hash of the current chunk (signed only)
	trailers bool
	declared []s3checksum.Algorithm
	minChunk int64
	limit    int64 // x-amz-decoded-content-length

	inData    bool
	remaining int64  // of the current chunk's data
	chunkSig  string // signature the current chunk claims
	lastSize  int64  // size of the previous data chunk (-1 none)
	index     int
	total     int64
	done      bool
	err       error
	values    []expected // checksum trailers received
}

func framingError(detail string) *s3err.Error {
	return incompleteBody("The aws-chunked body is malformed: " + detail)
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.done {
		return 0, io.EOF
	}
	for !c.inData {
		if err := c.readHeader(); err != nil {
			c.err = err
			return 0, err
		}
		if c.done {
			return 0, io.EOF
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	if n > 0 {
		if c.sha != nil {
			c.sha.Write(p[:n])
		}
		c.remaining -= int64(n)
	}
	if c.remaining == 0 {
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
		return n, nil
	}
	if err != nil {
		if err == io.EOF {
			err = incompleteBody("")
		} else {
			err = readError(err)
		}
		c.err = err
		return n, err
	}
	return n, nil
}

// readLine returns the next line without its line ending ("\r\n", or a
// bare "\n" which some clients send in trailers). It returns io.EOF only
// when no byte at all was left.
func (c *chunkReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > maxLineLen {
		return "", framingError("a line is too long.")
	}
	if err != nil {
		if err == io.EOF {
			if len(line) == 0 {
				return "", io.EOF
			}
			return "", incompleteBody("")
		}
		return "", readError(err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}

func (c *chunkReader) readHeader() error {
	line, err := c.readLine()
	if err == io.EOF {
		return incompleteBody("")
	}
	if err != nil {
		return err
	}
	sizeStr, ext, hasExt := strings.Cut(line, ";")
	size, ok := parseHexSize(sizeStr)
	if !ok {
		return framingError("invalid chunk size " + strconv.Quote(truncate(sizeStr)) + ".")
	}
	c.chunkSig = ""
	if hasExt {
		name, val, _ := strings.Cut(ext, "=")
		if strings.TrimSpace(name) == "chunk-signature" {
			c.chunkSig = strings.TrimSpace(val)
		}
	}
	if c.chain != nil && c.chunkSig == "" {
		return framingError("chunk " + strconv.Itoa(c.index) + " has no chunk-signature.")
	}
	if size > 0 && c.minChunk > 0 && c.index > 0 && c.lastSize < c.minChunk {
		return s3err.New(s3err.InvalidChunkSizeError).
			With("Chunk", strconv.Itoa(c.index)).
			With("BadChunkSize", strconv.FormatInt(c.lastSize, 10))
	}
	if c.total+size > c.limit {
		return incompleteBody("The aws-chunked body is longer than x-amz-decoded-content-length.")
	}
	c.index++
	c.total += size
	c.lastSize = size
	if c.sha != nil {
		c.sha.Reset()
	}
	if size == 0 {
		if err := c.checkSignature(); err != nil {
			return err
		}
		if err := c.readTrailers(); err != nil {
			return err
		}
		c.done = true
		return nil
	}
	c.remaining = size
	c.inData = true
	return nil
}

func parseHexSize(s string) (int64, bool) {
	if s == "" || len(s) > maxChunkHexLen {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(d)
	}
	if n > 1<<62 {
		return 0, false
	}
	return int64(n), true
}

// endChunk consumes the CRLF after a chunk's data and checks its signature.
func (c *chunkReader) endChunk() error {
	c.inData = false
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return incompleteBody("")
		}
		return readError(err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return framingError("chunk data is not followed by CRLF.")
	}
	return c.checkSignature()
}

func (c *chunkReader) checkSignature() error {
	if c.chain == nil {
		return nil
	}
	want := c.chain.chunkSignature(c.sha.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(c.chunkSig)) {
		return signatureMismatch("", "", c.chunkSig, "")
	}
	c.chain.prev = want
	return nil
}

// readTrailers reads what follows the final chunk: nothing but a CRLF
// without trailers, else trailer lines up to an empty line (or the end).
func (c *chunkReader) readTrailers() error {
	var sig string
	seenSig := false
	got := map[string]string{}
	var order []string
	for lines := 0; ; lines++ {
		line, err := c.readLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if line == "" {
			if lines == 0 && c.trailers && len(c.declared) > 0 {
				continue // tolerate "0\r\n\r\n" before the trailer lines
			}
			break
		}
		if !c.trailers || lines > maxTrailers {
			return malformedTrailer("")
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			return malformedTrailer("")
		}
		name, val = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(val)
		if name == "x-amz-trailer-signature" {
			if seenSig {
				return malformedTrailer("")
			}
			sig, seenSig = val, true
			continue
		}
		if _, dup := got[name]; dup || !c.isDeclared(name) {
			return malformedTrailer("The trailer " + strconv.Quote(truncate(name)) + " was not declared in x-amz-trailer.")
		}
		got[name] = val
		order = append(order, name)
	}
	// Nothing may follow the terminator.
	if _, err := c.br.ReadByte(); err != io.EOF {
		if err != nil {
			return readError(err)
		}
		return framingError("data follows the final chunk.")
	}
	for _, alg := range c.declared {
		name := s3checksum.HeaderName(alg)
		v, ok := got[name]
		if !ok {
			return malformedTrailer("The trailer " + name + " declared in x-amz-trailer is missing.")
		}
		if _, err := s3checksum.Decode(alg, v); err != nil {
			return invalidRequest("Value for " + name + " trailing header is invalid.")
		}
		c.values = append(c.values, expected{alg, v})
	}
	if c.chain != nil && c.trailers {
		if !seenSig {
			return malformedTrailer("The x-amz-trailer-signature is missing.")
		}
		sort.Strings(order)
		var canon strings.Builder
		for _, n := range order {
			canon.WriteString(n + ":" + got[n] + "\n")
		}
		want := c.chain.trailerSignature(canon.String())
		if !hmac.Equal([]byte(want), []byte(sig)) {
			return signatureMismatch("", "", sig, "")
		}
	}
	return nil
}

func (c *chunkReader) isDeclared(name string) bool {
	for _, a := range c.declared {
		if s3checksum.HeaderName(a) == name {
			return true
		}
	}
	return false
}

// ObjectChecksumHeaders reports whether r's x-amz-checksum-<alg> headers
// name the checksum of an object assembled elsewhere rather than of r's
// body: CompleteMultipartUpload (POST with ?uploadId), whose full-object
// checksum the gateway compares with the one computed from the parts.
func ObjectChecksumHeaders(r *http.Request) bool {
	if r.Method != http.MethodPost || r.URL == nil {
		return false
	}
	_, ok := r.URL.Query()["uploadId"]
	return ok
}

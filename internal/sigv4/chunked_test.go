package sigv4

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
)

func randomData(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// chunkedPut signs a streaming PUT of data and returns it with its
// encoded body as bytes (for tampering).
func chunkedPut(t testing.TB, data []byte, mode string, opts ChunkedOptions) (*http.Request, []byte) {
	r := mustRequest(t, "PUT", "https://bucket.s3.us-east-1.amazonaws.com/obj", bytes.NewReader(data))
	if err := SignChunked(r, docAccessKey, docSecret, "us-east-1", testNow, mode, int64(len(data)), opts); err != nil {
		t.Fatal(err)
	}
	enc, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(enc)) != r.ContentLength {
		t.Fatalf("encoded %d bytes, Content-Length %d", len(enc), r.ContentLength)
	}
	return r, enc
}

func TestChunkedModes(t *testing.T) {
	data := randomData(200_000, 1)
	type tc struct {
		name      string
		mode      string
		trailer   s3checksum.Algorithm
		chunk     int
		tamper    func(enc []byte) []byte
		hdr       func(r *http.Request)
		verifyErr s3err.Code
		bodyErr   s3err.Code
	}
	cases := []tc{
		{name: "signed", mode: StreamingSignedPayload},
		{name: "signed, 8 KiB chunks", mode: StreamingSignedPayload, chunk: 8192},
		{name: "signed trailer crc32", mode: StreamingSignedPayloadTrailer, trailer: s3checksum.CRC32},
		{name: "signed trailer sha256", mode: StreamingSignedPayloadTrailer, trailer: s3checksum.SHA256},
		{name: "unsigned trailer crc32c", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32C},
		{name: "unsigned trailer crc64nvme", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC64NVME},
		{name: "unsigned trailer sha1, tiny chunks", mode: StreamingUnsignedTrailer, trailer: s3checksum.SHA1, chunk: 1000},
		{name: "signed, chunk below minimum", mode: StreamingSignedPayload, chunk: 4096, bodyErr: s3err.InvalidChunkSizeError},
		{name: "signed, flipped data byte", mode: StreamingSignedPayload, tamper: flipAt(100_000), bodyErr: s3err.SignatureDoesNotMatch},
		{name: "signed, chunk signature changed", mode: StreamingSignedPayload, tamper: replaceFirst(";chunk-signature=", ";chunk-signature=0"), bodyErr: s3err.SignatureDoesNotMatch},
		{name: "signed, chunk signature missing", mode: StreamingSignedPayload, tamper: dropSignature, bodyErr: s3err.IncompleteBody},
		{name: "signed, chunks reordered", mode: StreamingSignedPayload, tamper: swapFirstChunks, bodyErr: s3err.SignatureDoesNotMatch},
		{name: "signed trailer, trailer value changed", mode: StreamingSignedPayloadTrailer, trailer: s3checksum.CRC32, tamper: changeTrailerValue, bodyErr: s3err.SignatureDoesNotMatch},
		{name: "signed trailer, trailer signature dropped", mode: StreamingSignedPayloadTrailer, trailer: s3checksum.CRC32, tamper: dropLineWith("x-amz-trailer-signature"), bodyErr: s3err.MalformedTrailerError},
		{name: "unsigned trailer, wrong checksum", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, tamper: changeTrailerValue, bodyErr: s3err.BadDigest},
		{name: "unsigned trailer, flipped data byte", mode: StreamingUnsignedTrailer, trailer: s3checksum.SHA256, tamper: flipAt(5000), bodyErr: s3err.BadDigest},
		{name: "unsigned trailer, trailer missing", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, tamper: dropLineWith("x-amz-checksum-crc32:"), bodyErr: s3err.MalformedTrailerError},
		{name: "unsigned trailer, undeclared trailer", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, tamper: replaceFirst("x-amz-checksum-crc32:", "x-amz-checksum-sha1:"), bodyErr: s3err.MalformedTrailerError},
		{name: "truncated in data", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, tamper: truncateAt(150_000), bodyErr: s3err.IncompleteBody},
		{name: "truncated before final chunk", mode: StreamingSignedPayload, tamper: cutFinal, bodyErr: s3err.IncompleteBody},
		{name: "garbage chunk size", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, tamper: replaceFirst("10000\r\n", "zz\r\n"), bodyErr: s3err.IncompleteBody},
		{name: "missing CRLF after data", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, tamper: replaceFirst("\r\n10000\r\n", "XX10000\r\n"), bodyErr: s3err.IncompleteBody},
		{name: "data after the end", mode: StreamingSignedPayload, tamper: func(b []byte) []byte { return append(b, "junk"...) }, bodyErr: s3err.IncompleteBody},
		{name: "decoded length too small", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, hdr: setDecoded("100"), bodyErr: s3err.IncompleteBody},
		{name: "decoded length too large", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, hdr: setDecoded("300000"), bodyErr: s3err.IncompleteBody},
		{name: "decoded length missing", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, hdr: func(r *http.Request) { r.Header.Del("X-Amz-Decoded-Content-Length") }, verifyErr: s3err.MissingContentLength},
		{name: "unsupported trailer name", mode: StreamingUnsignedTrailer, trailer: s3checksum.CRC32, hdr: func(r *http.Request) { r.Header.Set("X-Amz-Trailer", "x-amz-meta-foo") }, verifyErr: s3err.InvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, enc := chunkedPut(t, data, c.mode, ChunkedOptions{ChunkSize: c.chunk, Trailer: c.trailer})
			if c.tamper != nil {
				enc = c.tamper(enc)
			}
			r.Body = io.NopCloser(bytes.NewReader(enc))
			if c.hdr != nil {
				c.hdr(r)
				// Re-sign so only the body-level check can object.
				seed := Sign(r, docAccessKey, docSecret, "us-east-1", testNow, c.mode)
				_ = seed
				if c.mode != StreamingUnsignedTrailer {
					t.Fatal("header edits re-sign and need an unsigned-chunk mode")
				}
			}
			v, _ := newTestVerifier(t, testNow)
			a, err := v.Verify(r)
			if got := code(err); got != c.verifyErr {
				t.Fatalf("Verify = %v, want %s", err, c.verifyErr)
			}
			if err != nil {
				return
			}
			if a.PayloadMode != c.mode {
				t.Fatalf("mode %s", a.PayloadMode)
			}
			got, err := readBody(a)
			if gc := code(err); gc != c.bodyErr {
				t.Fatalf("body error = %v, want %s", err, c.bodyErr)
			}
			if err != nil {
				if a.Checksums() != nil {
					t.Fatal("checksums reported for a failed body")
				}
				return
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("decoded %d bytes, differ from the %d sent", len(got), len(data))
			}
			if c.trailer != "" {
				if cs := a.Checksums(); cs[string(c.trailer)] != s3checksum.Sum(c.trailer, data) || len(cs) != 1 {
					t.Fatalf("checksums = %v", cs)
				}
			}
		})
	}
}

func flipAt(i int) func([]byte) []byte {
	return func(b []byte) []byte { b[i] ^= 1; return b }
}

func replaceFirst(old, new string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
}

func truncateAt(n int) func([]byte) []byte { return func(b []byte) []byte { return b[:n] } }

func cutFinal(b []byte) []byte { return b[:bytes.LastIndex(b, []byte("\r\n0;"))+2] }

func dropSignature(b []byte) []byte {
	i := bytes.Index(b, []byte(";chunk-signature="))
	return append(b[:i:i], b[i+len(";chunk-signature=")+64:]...)
}

func dropLineWith(s string) func([]byte) []byte {
	return func(b []byte) []byte {
		i := bytes.Index(b, []byte(s))
		j := bytes.Index(b[i:], []byte("\r\n"))
		return append(b[:i:i], b[i+j+2:]...)
	}
}

func changeTrailerValue(b []byte) []byte {
	i := bytes.Index(b, []byte("x-amz-checksum-"))
	j := bytes.IndexByte(b[i:], ':') + i + 1
	if b[j] == 'A' {
		b[j] = 'B'
	} else {
		b[j] = 'A'
	}
	return b
}

// swapFirstChunks exchanges the first two (equal-size) chunks, signatures
// and all: each is intact, but the chain is out of order.
func swapFirstChunks(b []byte) []byte {
	frame := bytes.Index(b[1:], []byte("10000;chunk-signature=")) + 1
	first, second := append([]byte(nil), b[:frame]...), append([]byte(nil), b[frame:2*frame]...)
	out := append(second, first...)
	return append(out, b[2*frame:]...)
}

func setDecoded(v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("X-Amz-Decoded-Content-Length", v) }
}

// Trailer wire forms seen from different clients all decode.
func TestTrailerWireVariants(t *testing.T) {
	data := []byte("hello world")
	crc := s3checksum.Sum(s3checksum.CRC32, data)
	variants := map[string]string{
		"crlf + final crlf":         "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n",
		"lf line endings":           "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:" + crc + "\n\n",
		"no final empty line":       "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n",
		"empty line before trailer": "b\r\nhello world\r\n0\r\n\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n",
		"spaces around value":       "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32: " + crc + " \r\n\r\n",
	}
	for name, body := range variants {
		t.Run(name, func(t *testing.T) {
			r := mustRequest(t, "PUT", "https://b.s3.amazonaws.com/k", strings.NewReader(body))
			setHeaders(r, "X-Amz-Decoded-Content-Length", "11", "X-Amz-Trailer", "x-amz-checksum-crc32", "Content-Encoding", "aws-chunked")
			Sign(r, docAccessKey, docSecret, "us-east-1", testNow, StreamingUnsignedTrailer)
			v, _ := newTestVerifier(t, testNow)
			a, err := v.Verify(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readBody(a)
			if err != nil || string(got) != "hello world" || a.Checksums()["CRC32"] != crc {
				t.Fatalf("got %q, %v, %v", got, err, a.Checksums())
			}
		})
	}
}

// The decoder never holds more than its buffer: a 16 MiB chunk streams
// through reads of 1 KiB.
func TestLargeChunkStreams(t *testing.T) {
	data := randomData(16<<20, 3)
	r, enc := chunkedPut(t, data, StreamingSignedPayload, ChunkedOptions{ChunkSize: 16 << 20})
	r.Body = io.NopCloser(bytes.NewReader(enc))
	v, _ := newTestVerifier(t, testNow)
	a, err := v.Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	buf := make([]byte, 1024)
	for {
		k, err := a.Body.Read(buf)
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if k > len(buf) {
			t.Fatal("overlong read")
		}
	}
	if n != len(data) {
		t.Fatalf("read %d of %d", n, len(data))
	}
}

func TestEncodedLength(t *testing.T) {
	for _, n := range []int{0, 1, 8191, 8192, 65535, 65536, 65537, 200_000} {
		for _, opts := range []ChunkedOptions{
			{}, {ChunkSize: 8192}, {Trailer: s3checksum.SHA256},
			{Trailer: s3checksum.CRC32, Signing: &ChunkSigning{Secret: "s", Region: "r", Time: testNow, Seed: strings.Repeat("0", 64)}},
		} {
			enc, _ := io.ReadAll(NewChunkedReader(bytes.NewReader(make([]byte, n)), opts))
			if got := EncodedLength(int64(n), opts); got != int64(len(enc)) {
				t.Fatalf("n=%d opts=%+v: EncodedLength %d, actual %d", n, opts, got, len(enc))
			}
		}
	}
	_ = strconv.Itoa
}

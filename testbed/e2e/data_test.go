package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

// payload is deterministic random content: the same seed and size always
// give the same bytes, so big objects are regenerated rather than kept.
type payload struct {
	Seed uint64
	Size int64
}

func (p payload) Reader() io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], p.Seed)
	binary.LittleEndian.PutUint64(s[8:], 0x6d65726964696169) // "meridian"
	return io.LimitReader(rand.NewChaCha8(s), p.Size)
}

func (p payload) Bytes() []byte {
	b := make([]byte, p.Size)
	if _, err := io.ReadFull(p.Reader(), b); err != nil {
		panic(err) // a ChaCha8 stream never ends
	}
	return b
}

// SHA is the hex SHA-256 of the content.
func (p payload) SHA() string {
	h := sha256.New()
	_, _ = io.Copy(h, p.Reader())
	return hex.EncodeToString(h.Sum(nil))
}

// SliceSHA is the hex SHA-256 of content[off:off+n].
func (p payload) SliceSHA(off, n int64) string {
	r := p.Reader()
	_, _ = io.CopyN(io.Discard, r, off)
	h := sha256.New()
	_, _ = io.CopyN(h, r, n)
	return hex.EncodeToString(h.Sum(nil))
}

// File writes the content to a file under dir, streaming.
func (p payload) File(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("payload-%d-%d", p.Seed, p.Size))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, p.Reader()); err != nil {
		t.Fatal(err)
	}
	return path
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// hashReader hashes r to its end.
func hashReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// putPayload PUTs p with PutObject; contents over 32 MiB go through a temp
// file so that the SDK gets a seekable body without a big buffer.
func putPayload(ctx context.Context, t testing.TB, c *s3.Client, bucket, key string, p payload) (string, error) {
	var body io.ReadSeeker
	if p.Size > 32*mib {
		f, err := os.Open(p.File(t, t.TempDir()))
		if err != nil {
			return "", err
		}
		defer f.Close()
		body = f
	} else {
		body = bytes.NewReader(p.Bytes())
	}
	out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: body})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// checkObject GETs bucket/key and compares size and SHA-256.
func checkObject(ctx context.Context, c *s3.Client, bucket, key string, wantSHA string, wantSize int64) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("GET %s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	sum, n, err := hashReader(out.Body)
	if err != nil {
		return fmt.Errorf("GET %s/%s: reading body after %d bytes: %w", bucket, key, n, err)
	}
	if n != wantSize || sum != wantSHA {
		return fmt.Errorf("GET %s/%s: got %d bytes sha256 %.12s…, want %d bytes %.12s…", bucket, key, n, sum, wantSize, wantSHA)
	}
	if out.ContentLength != nil && *out.ContentLength != wantSize {
		return fmt.Errorf("GET %s/%s: Content-Length %d, want %d", bucket, key, *out.ContentLength, wantSize)
	}
	return nil
}

// httpStatus extracts the HTTP status of an SDK error (0 if none).
func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// ---- raw SigV4 requests ----

// rawRequest builds a request to the gateway.
func (r *Region) rawRequest(method, path string, body []byte) *http.Request {
	r.t.Helper()
	req, err := http.NewRequest(method, r.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	req.ContentLength = int64(len(body))
	return req
}

// sign signs req with SigV4 for s3 in the test region. payloadHash is the
// value of x-amz-content-sha256 (hex SHA-256 or UNSIGNED-PAYLOAD).
func sign(t testing.TB, req *http.Request, ak, sk, payloadHash string, at time.Time) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk},
		req, payloadHash, "s3", testRegion, at)
	if err != nil {
		t.Fatal(err)
	}
}

// signedDo signs req with the test key and the body's real hash, sends it and
// returns status, headers and body.
func (r *Region) signedDo(req *http.Request, body []byte) (int, http.Header, []byte) {
	r.t.Helper()
	sign(r.t, req, testAccessKey, testSecretKey, sha256Hex(body), time.Now())
	return do(r.t, req)
}

func do(t testing.TB, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, resp.Header, b
}

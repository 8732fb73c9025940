package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsv4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// verifyServer runs Verify behind a real listener and answers 200 with
// the verified checksums, or the S3 error.
func verifyServer(t *testing.T, v *Verifier) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := v.Verify(r)
		if err == nil {
			_, err = io.Copy(io.Discard, a.Body)
		}
		if err != nil {
			s3err.Write(w, r, err, "req", "host")
			return
		}
		for k, val := range a.Checksums() {
			w.Header().Set("X-Verified-"+k, val)
		}
		w.Header().Set("X-Principal", a.Principal)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, r *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Requests signed by the AWS SDK for Go v2 signer verify with ours, over
// a real socket.
func TestAWSSDKSignerInterop(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	v, _ := newTestVerifier(t, now, func(c *VerifierConfig) { c.AllowedRegions = []string{"us-west-2"} })
	srv := verifyServer(t, v)
	creds := aws.Credentials{AccessKeyID: docAccessKey, SecretAccessKey: docSecret}
	signer := awsv4.NewSigner(func(o *awsv4.SignerOptions) { o.DisableURIPathEscaping = true })
	body := []byte("interop body \x00\xff")
	// An S3 SDK escapes the key once; the signer signs the escaped path as is.
	path := "/bucket/dir/my%20key%2B1%20%E2%82%AC%24%27%21.txt"

	cases := []struct {
		name     string
		method   string
		query    string
		payload  string
		headers  []string
		tamper   func(*http.Request)
		wantCode int
	}{
		{name: "PUT signed payload", method: "PUT", payload: hexSHA(string(body)), headers: []string{"Content-Type", "application/octet-stream", "X-Amz-Meta-Color", "  blue   green ", "X-Amz-Checksum-Crc32c", s3checksum.Sum(s3checksum.CRC32C, body)}, wantCode: 200},
		{name: "PUT unsigned payload", method: "PUT", payload: UnsignedPayload, wantCode: 200},
		{name: "GET list with query", method: "GET", query: "list-type=2&prefix=dir%2F&delimiter=%2F&start-after=a%20b", payload: EmptySHA256, wantCode: 200},
		{name: "GET sub-resource", method: "GET", query: "acl", payload: EmptySHA256, wantCode: 200},
		{name: "tampered header", method: "PUT", payload: UnsignedPayload, headers: []string{"Content-Type", "a/b"}, tamper: func(r *http.Request) { r.Header.Set("Content-Type", "a/c") }, wantCode: 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := srv.URL + path
			if c.query != "" {
				u += "?" + c.query
			}
			var rd io.Reader
			if c.method == "PUT" {
				rd = bytes.NewReader(body)
			}
			r := mustRequest(t, c.method, u, rd)
			setHeaders(r, c.headers...)
			r.Header.Set("X-Amz-Content-Sha256", c.payload)
			if err := signer.SignHTTP(context.Background(), creds, r, c.payload, "s3", "us-west-2", now); err != nil {
				t.Fatal(err)
			}
			if c.tamper != nil {
				c.tamper(r)
			}
			resp, msg := do(t, r)
			if resp.StatusCode != c.wantCode {
				t.Fatalf("status %d: %s", resp.StatusCode, msg)
			}
		})
	}

	t.Run("presigned GET", func(t *testing.T) {
		r := mustRequest(t, "GET", srv.URL+path+"?X-Amz-Expires=600&versionId=3", nil)
		signed, hdr, err := signer.PresignHTTP(context.Background(), creds, r, UnsignedPayload, "s3", "us-west-2", now)
		if err != nil {
			t.Fatal(err)
		}
		r2 := mustRequest(t, "GET", signed, nil)
		for k, vs := range hdr {
			if !strings.EqualFold(k, "host") {
				r2.Header[k] = vs
			}
		}
		if resp, msg := do(t, r2); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, msg)
		}
	})

	t.Run("wrong region", func(t *testing.T) {
		r := mustRequest(t, "GET", srv.URL+path, nil)
		r.Header.Set("X-Amz-Content-Sha256", EmptySHA256)
		if err := signer.SignHTTP(context.Background(), creds, r, EmptySHA256, "s3", "eu-west-1", now); err != nil {
			t.Fatal(err)
		}
		resp, msg := do(t, r)
		if resp.StatusCode != 400 || !strings.Contains(msg, "<Code>AuthorizationHeaderMalformed</Code>") || !strings.Contains(msg, "<Region>us-west-2</Region>") {
			t.Fatalf("status %d: %s", resp.StatusCode, msg)
		}
	})
}

// Our streaming encoder over a real socket, every mode, checked by the
// server side end to end (Content-Length as net/http delivers it).
func TestChunkedOverHTTP(t *testing.T) {
	now := time.Now().UTC()
	v, _ := newTestVerifier(t, now)
	srv := verifyServer(t, v)
	data := randomData(300_000, 9)
	for _, c := range []struct {
		mode    string
		trailer s3checksum.Algorithm
	}{
		{StreamingSignedPayload, ""},
		{StreamingSignedPayloadTrailer, s3checksum.CRC64NVME},
		{StreamingUnsignedTrailer, s3checksum.CRC32},
	} {
		t.Run(c.mode, func(t *testing.T) {
			r := mustRequest(t, "PUT", srv.URL+"/bucket/key", bytes.NewReader(data))
			if err := SignChunked(r, docAccessKey, docSecret, "us-east-1", now, c.mode, int64(len(data)), ChunkedOptions{Trailer: c.trailer}); err != nil {
				t.Fatal(err)
			}
			resp, msg := do(t, r)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, msg)
			}
			if c.trailer != "" && resp.Header.Get("X-Verified-"+string(c.trailer)) != s3checksum.Sum(c.trailer, data) {
				t.Fatalf("verified checksums: %v", resp.Header)
			}
		})
	}
}

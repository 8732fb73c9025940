package regional_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/meridian-s3/meridian/regional"
	"github.com/meridian-s3/meridian/testbed/devca"
)

// TestListenTLS: the gateway's HTTPS listener serves the S3 API to
// aws-sdk-go-v2 over HTTP/2 and HTTP/1.1 (SigV4 as on the plain listener),
// requests on it count as secure (SSE-C is admitted there and refused on
// the plain listener), and a plain HTTP request on its port gets 400.
func TestListenTLS(t *testing.T) {
	ca := devca.TestCA(t)
	cert, err := ca.IssueServer([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorldWith(t, func(c *regional.Config) {
		c.ListenTLS = "127.0.0.1:0"
		c.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	addr := w.gw.TLSAddr()
	if addr == "" {
		t.Fatal("TLSAddr empty with ListenTLS set")
	}
	w.mustStatus(200, http.MethodPut, "/tls-bucket", nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for _, tc := range []struct {
		name  string
		h2    bool
		proto int // the response's major version
	}{{"h2", true, 2}, {"http/1.1", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: tc.h2}
			if !tc.h2 {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
			}
			t.Cleanup(tr.CloseIdleConnections)
			hc := &http.Client{Transport: tr, Timeout: time.Minute}
			c := s3.New(s3.Options{
				Region:       "us-east-1",
				BaseEndpoint: aws.String("https://localhost:" + portOf(t, addr)),
				UsePathStyle: true,
				Credentials:  credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
				HTTPClient:   hc,
				// What config.LoadDefaultConfig gives: aws-chunked with trailers.
				RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
				ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
			})
			body := random(3<<20 + 17)
			key := "obj-" + tc.name
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tls-bucket"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tls-bucket"), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			data, err := io.ReadAll(got.Body)
			_ = got.Body.Close()
			if err != nil || !bytes.Equal(data, body) {
				t.Fatalf("GetObject: %d bytes, equal %v, err %v", len(data), bytes.Equal(data, body), err)
			}
			list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("tls-bucket"), Prefix: aws.String(key)})
			if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != key || aws.ToInt64(list.Contents[0].Size) != int64(len(body)) {
				t.Fatalf("ListObjectsV2: %+v, %v", list, err)
			}

			// SSE-C needs a secure connection: admitted here.
			k := random(32)
			sum := md5.Sum(k)
			ssec := func(in *s3.PutObjectInput) {
				in.SSECustomerAlgorithm = aws.String("AES256")
				in.SSECustomerKey = aws.String(base64.StdEncoding.EncodeToString(k))
				in.SSECustomerKeyMD5 = aws.String(base64.StdEncoding.EncodeToString(sum[:]))
			}
			in := &s3.PutObjectInput{Bucket: aws.String("tls-bucket"), Key: aws.String(key + "-ssec"), Body: bytes.NewReader(body[:1000])}
			ssec(in)
			if _, err := c.PutObject(ctx, in); err != nil {
				t.Fatalf("PutObject with SSE-C over HTTPS: %v", err)
			}

			// The protocol ALPN chose, as a signed raw request sees it.
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://localhost:"+portOf(t, addr)+"/tls-bucket/"+key, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
			if err := w.signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != tc.proto || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
				t.Fatalf("raw GET: status %d, proto %s, TLS %v", resp.StatusCode, resp.Proto, resp.TLS != nil)
			}
		})
	}

	// The same SSE-C PUT on the plain listener is refused, as S3 refuses it.
	k := random(32)
	sum := md5.Sum(k)
	code, out := w.do(http.MethodPut, "/tls-bucket/plain-ssec", []byte("x"), map[string]string{
		"x-amz-server-side-encryption-customer-algorithm": "AES256",
		"x-amz-server-side-encryption-customer-key":       base64.StdEncoding.EncodeToString(k),
		"x-amz-server-side-encryption-customer-key-md5":   base64.StdEncoding.EncodeToString(sum[:]),
	})
	if code != 400 || s3code(out) != "InvalidRequest" {
		t.Fatalf("SSE-C over plain HTTP: %d %s", code, out)
	}

	// Plain HTTP on the TLS port: net/http's answer to an HTTP request on
	// an HTTPS server.
	resp, err := http.Get("http://" + addr + "/tls-bucket")
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 400 || !bytes.Contains(msg, []byte("HTTP request to an HTTPS server")) {
		t.Fatalf("plain HTTP on the TLS port: %d %q", resp.StatusCode, msg)
	}

	// A wrong signature is refused over TLS as over HTTP.
	bad := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("https://localhost:" + portOf(t, addr)), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testKey, "wrong-secret", ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}},
	})
	_, err = bad.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("tls-bucket")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret over TLS: %v", err)
	}
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestListenTLSConfig: ListenTLS needs a server certificate.
func TestListenTLSConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  *tls.Config
		want bool // ErrServerTLS expected
	}{
		{"no config", nil, true},
		{"no certificate", &tls.Config{MinVersion: tls.VersionTLS12}, true},
		{"certificate", &tls.Config{Certificates: []tls.Certificate{{}}}, false},
		{"GetCertificate", &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := regional.DefaultConfig()
			c.ListenTLS, c.ServerTLS = "127.0.0.1:0", tc.tls
			if err := c.Validate(); errors.Is(err, regional.ErrServerTLS) != tc.want {
				t.Fatalf("Validate: %v, want ErrServerTLS %v", err, tc.want)
			}
		})
	}
	c := regional.DefaultConfig()
	c.ServerTLS = nil // ListenTLS off: no certificate needed
	if err := c.Validate(); errors.Is(err, regional.ErrServerTLS) {
		t.Fatalf("Validate without ListenTLS: %v", err)
	}
}

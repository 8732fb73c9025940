package e2e

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

type s3Error struct {
	Code      string
	Message   string
	RequestID string `xml:"RequestId"`
}

func parseS3Error(b []byte) (s3Error, error) {
	var e s3Error
	err := xml.Unmarshal(b, &e)
	return e, err
}

// testBadInput sends malformed requests (invariant 8): each gets AWS's
// status and error code, an XML body with a RequestId, and stores nothing.
func testBadInput(t *testing.T, r *Region) {
	const bucket = "bad-input"
	c := r.Client()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("small"),
		Body: strings.NewReader("0123456789")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	body := []byte("hello, bad input")
	now := time.Now()
	signed := func(method, path string, body []byte, mutate func(*http.Request)) func() *http.Request {
		return func() *http.Request {
			req := r.rawRequest(method, path, body)
			if mutate != nil {
				mutate(req)
			}
			sign(t, req, testAccessKey, testSecretKey, sha256Hex(body), time.Now())
			return req
		}
	}
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
		absent string // a key that must not exist afterwards
	}{
		{"invalid bucket name", signed("PUT", "/Bad_Bucket..name", nil, nil), 400, "InvalidBucketName", ""},
		{"key too long", signed("PUT", "/"+bucket+"/"+strings.Repeat("k", 1025), body, nil), 400, "KeyTooLongError", ""},
		{"no authorization", func() *http.Request {
			return r.rawRequest("GET", "/"+bucket+"/small", nil)
		}, 403, "AccessDenied", ""},
		{"anonymous put", func() *http.Request {
			return r.rawRequest("PUT", "/"+bucket+"/anon", body)
		}, 403, "AccessDenied", "anon"},
		{"malformed authorization", func() *http.Request {
			req := signed("PUT", "/"+bucket+"/malformed", body, nil)()
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAccessKey+"/20240101/us-east-1")
			return req
		}, 400, "AuthorizationHeaderMalformed", "malformed"},
		{"unknown access key", func() *http.Request {
			req := r.rawRequest("PUT", "/"+bucket+"/unknown-key", body)
			sign(t, req, "AKIDNOSUCHKEY", testSecretKey, sha256Hex(body), time.Now())
			return req
		}, 403, "InvalidAccessKeyId", "unknown-key"},
		{"wrong secret", func() *http.Request {
			req := r.rawRequest("PUT", "/"+bucket+"/wrong-secret", body)
			sign(t, req, testAccessKey, "NOT-THE-SECRET", sha256Hex(body), time.Now())
			return req
		}, 403, "SignatureDoesNotMatch", "wrong-secret"},
		{"date 20 minutes off", func() *http.Request {
			req := r.rawRequest("PUT", "/"+bucket+"/skewed", body)
			sign(t, req, testAccessKey, testSecretKey, sha256Hex(body), now.Add(-20*time.Minute))
			return req
		}, 403, "RequestTimeTooSkewed", "skewed"},
		{"wrong x-amz-content-sha256", func() *http.Request {
			req := r.rawRequest("PUT", "/"+bucket+"/sha-mismatch", body)
			sign(t, req, testAccessKey, testSecretKey, sha256Hex([]byte("other content")), time.Now())
			return req
		}, 400, "XAmzContentSHA256Mismatch", "sha-mismatch"},
		{"wrong Content-MD5", signed("PUT", "/"+bucket+"/md5-mismatch", body, func(req *http.Request) {
			sum := md5.Sum([]byte("other content"))
			req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		}), 400, "BadDigest", "md5-mismatch"},
		{"wrong Content-MD5 unsigned payload", func() *http.Request {
			req := r.rawRequest("PUT", "/"+bucket+"/md5-mismatch-unsigned", body)
			sum := md5.Sum([]byte("other content"))
			req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
			sign(t, req, testAccessKey, testSecretKey, "UNSIGNED-PAYLOAD", time.Now())
			return req
		}, 400, "BadDigest", "md5-mismatch-unsigned"},
		{"range beyond size", signed("GET", "/"+bucket+"/small", nil, func(req *http.Request) {
			req.Header.Set("Range", "bytes=100-200")
		}), 416, "InvalidRange", ""},
		{"missing bucket", signed("GET", "/no-such-bucket-e2e/key", nil, nil), 404, "NoSuchBucket", ""},
		{"missing key", signed("GET", "/"+bucket+"/no-such-key", nil, nil), 404, "NoSuchKey", ""},
		{"delete non-empty bucket", signed("DELETE", "/"+bucket, nil, nil), 409, "BucketNotEmpty", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, b := do(t, tc.req())
			e, err := parseS3Error(b)
			if status != tc.status || err != nil || e.Code != tc.code {
				t.Errorf("got %d %s (xml err %v), want %d %s", status, b, err, tc.status, tc.code)
			}
			if e.RequestID == "" {
				t.Errorf("no <RequestId> in %s", b)
			}
			if tc.absent != "" {
				assertAbsent(t, r, bucket, tc.absent)
			}
		})
	}

	// A body shorter than its Content-Length, then the client goes away:
	// either an IncompleteBody answer or a dropped connection, and nothing
	// stored. Once with the payload hash signed, once UNSIGNED-PAYLOAD.
	for _, hashMode := range []string{"signed", "unsigned"} {
		t.Run("short body "+hashMode, func(t *testing.T) {
			key := "short-" + hashMode
			full := payload{Seed: 9, Size: 1000}.Bytes()
			req := r.rawRequest("PUT", "/"+bucket+"/"+key, full)
			ph := sha256Hex(full)
			if hashMode == "unsigned" {
				ph = "UNSIGNED-PAYLOAD"
			}
			sign(t, req, testAccessKey, testSecretKey, ph, time.Now())
			status, b, err := rawShortPut(r.Gateway.Addr, req, full[:500])
			switch {
			case err != nil:
				t.Logf("connection ended without an answer: %v", err)
			case status == 400:
				e, perr := parseS3Error(b)
				if perr != nil || e.Code != "IncompleteBody" || e.RequestID == "" {
					t.Errorf("got 400 %s, want IncompleteBody with a RequestId", b)
				}
			default:
				t.Errorf("got %d %s, want 400 IncompleteBody or a dropped connection", status, b)
			}
			assertAbsent(t, r, bucket, key)
		})
	}

	// The gateway survived all of it and the good object is intact.
	if err := checkObject(ctx, c, bucket, "small", sha256Hex([]byte("0123456789")), 10); err != nil {
		t.Errorf("after bad input: %v", err)
	}
}

// assertAbsent checks that bucket/key does not exist: GET 404 NoSuchKey and
// not listed.
func assertAbsent(t *testing.T, r *Region, bucket, key string) {
	t.Helper()
	status, _, b := r.signedDo(r.rawRequest("GET", "/"+bucket+"/"+key, nil), nil)
	if status != 404 || !strings.Contains(string(b), "<Code>NoSuchKey</Code>") {
		t.Errorf("GET %s after the bad request: %d %.200s, want 404 NoSuchKey", key, status, b)
	}
	l, err := r.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Errorf("ListObjectsV2: %v", err)
		return
	}
	for _, o := range l.Contents {
		if aws.ToString(o.Key) == key {
			t.Errorf("LIST shows %s after the bad request", key)
		}
	}
}

// rawShortPut writes req's head (with its full Content-Length) and only
// part of the body over a raw TCP connection, half-closes it and reads what
// the server answers.
func rawShortPut(addr string, req *http.Request, partial []byte) (int, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.Method, req.URL.RequestURI(), req.Host, req.ContentLength)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&sb, "%s: %s\r\n", k, v)
		}
	}
	sb.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, sb.String()); err != nil {
		return 0, nil, err
	}
	if _, err := conn.Write(partial); err != nil {
		return 0, nil, err
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

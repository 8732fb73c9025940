package edge_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/edge"
	"github.com/meridian-s3/meridian/regional"
)

// syncBuffer is a log sink shared by the edge and the gateways.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A client that gives up in the middle of a PUT through the edge is logged
// as a cancellation at INFO — not as "home region unreachable", not at
// WARN or ERROR, not as a 5xx — by the edge and by the region.
func TestClientCancelLoggedAsCancellation(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := newWorldWith(t, 1, nil, func(c *regional.Config) { c.Logger = log })
	e := w.newEdge("us-east-1", func(c *edge.Config) { c.Logger = log })
	ctx := context.Background()
	if _, err := w.s3Client(e, accessKey, secretKey, "us-east-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cancelme")}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(rctx, http.MethodPut, "https://"+e.Addr()+"/cancelme/big", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 8 << 20
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
		req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = pw.Write(make([]byte, 1<<20)) // 1 MiB of 8, then the client gives up
		time.Sleep(200 * time.Millisecond)
		cancel()
		pw.CloseWithError(context.Canceled)
	}()
	if resp, err := w.httpClient().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("cancelled PUT answered %s", resp.Status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `msg="request cancelled by the client" part=edge`) {
		if time.Now().After(deadline) {
			t.Fatalf("the edge logged no cancellation:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the region's side of it
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "cancelme") && !strings.Contains(line, "unreachable") {
			continue
		}
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") ||
			strings.Contains(line, "unreachable") || strings.Contains(line, "status=5") {
			t.Errorf("a client cancellation logged as a failure: %s", line)
		}
	}
}

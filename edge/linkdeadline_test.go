package edge_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridian-s3/meridian/regional"
	"github.com/meridian-s3/meridian/regional/regionalclient"
	"github.com/meridian-s3/meridian/testbed/devca"
)

// The regional gateway's edge link (HTTP/3 and HTTP/2) has its own body
// deadline (the stream's read deadline): a PUT from an edge whose body stops is answered
// 400 RequestTimeout after BodyIdleTimeout, not held until the QUIC
// connection idles out.
func TestEdgeLinkBodyDeadline(t *testing.T) {
	const idle = 500 * time.Millisecond
	w := newWorldWith(t, 1, nil, func(c *regional.Config) { c.BodyIdleTimeout = idle })
	ctx := context.Background()
	if _, err := w.s3Client(w.edge, accessKey, secretKey, "us-east-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("linkslow")}); err != nil {
		t.Fatal(err)
	}
	cert, err := w.ca.IssueClient("edge-test", devca.RoleEdge)
	if err != nil {
		t.Fatal(err)
	}
	gw := w.gateways["us-east-1"][0]
	for proto, tr := range w.linkTransports(&cert) {
		t.Run(proto, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			rctx, cancel := context.WithTimeout(ctx, idle+10*time.Second) // a failing server must not hang the test
			defer cancel()
			req, err := http.NewRequestWithContext(rctx, http.MethodPut, "https://"+gw.EdgeAddr()+"/linkslow/key-"+proto, pr)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = 1 << 20
			req.Header.Set(regionalclient.HeaderPrincipal, w.account)
			req.Header.Set(regionalclient.HeaderAccessKey, accessKey)
			req.Header.Set(regionalclient.HeaderRequestID, "LINKSLOW1")
			go func() { _, _ = pw.Write(make([]byte, 1000)) }() // a first kilobyte, then silence
			start := time.Now()
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			took := time.Since(start)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "<Code>RequestTimeout</Code>") {
				t.Fatalf("answer %d %s", resp.StatusCode, body)
			}
			if took > idle+3*time.Second {
				t.Fatalf("answered after %v (idle deadline %v)", took, idle)
			}
			t.Logf("edge link (%s): silent body answered 400 RequestTimeout after %v", proto, took.Round(time.Millisecond))
		})
	}
}

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestAuthzBench measures issue 11's access-control figures on real
// processes (make bench-authz; MERIDIAN_AUTHZ_BENCH=1):
//
//   - the edge's 4 KiB GET latency (p50, p99) for the bucket owner without
//     a bucket policy (the fast path) and with a 20-statement policy (every
//     request evaluated), requests alternating between two buckets;
//   - how long a PutBucketPolicy / DeleteBucketPolicy acknowledged through
//     one edge takes to apply to requests through the other region's edge.
//
// Lines "FIGURE" carry the numbers.
func TestAuthzBench(t *testing.T) {
	if os.Getenv("MERIDIAN_AUTHZ_BENCH") != "1" {
		t.Skip("set MERIDIAN_AUTHZ_BENCH=1 (make bench-authz)")
	}
	g := StartGlobal(t, GlobalOptions{})
	ctx := context.Background()
	near, far := g.Edges[g.Names[0]], g.Edges[g.Names[1]]
	owner := g.Client(near, testAccessKey, testSecretKey)
	const bucket = "authz-bench"
	if err := CreateBucketIn(ctx, owner, bucket, ""); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("m"), 4096)
	if _, err := owner.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k4"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	// Two buckets, alike but for the policy; requests alternate between
	// them, so load and drift hit both alike.
	const plain = bucket + "-plain"
	if err := CreateBucketIn(ctx, owner, plain, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(plain), Key: aws.String("k4"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	policy := benchPolicy20(bucket)
	if _, err := owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	get := func(c *s3.Client, b string) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k4")})
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, out.Body)
		out.Body.Close()
		return err
	}
	const n = 3000
	var without, with []time.Duration
	for i := 0; i < 200; i++ { // warm up connections and caches
		if err := get(owner, plain); err != nil {
			t.Fatal(err)
		}
		if err := get(owner, bucket); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2*n; i++ {
		b := plain
		if i%2 == 1 {
			b = bucket
		}
		start := time.Now()
		if err := get(owner, b); err != nil {
			t.Fatal(err)
		}
		if b == plain {
			without = append(without, time.Since(start))
		} else {
			with = append(with, time.Since(start))
		}
	}
	p50a, p99a := pct(without, 50), pct(without, 99)
	p50b, p99b := pct(with, 50), pct(with, 99)
	t.Logf("FIGURE edge 4 KiB GET, owner, no policy: p50 %v p99 %v (n=%d)", p50a, p99a, len(without))
	t.Logf("FIGURE edge 4 KiB GET, owner, 20-statement policy: p50 %v p99 %v (n=%d); p50 %+.1f%%", p50b, p99b, len(with),
		100*(float64(p50b)-float64(p50a))/float64(p50a))

	// Propagation: the owner toggles a public-read policy through the near
	// edge; an anonymous reader polls the far edge until it sees the change.
	public := fmt.Sprintf(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, bucket)
	hc := g.HTTPClient()
	anonGet := func() int {
		resp, err := hc.Get(far.URL + "/" + bucket + "/k4")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	var lags []time.Duration
	polls := 0
	for i := 0; i < 20; i++ {
		on := i%2 == 0
		var err error
		if on {
			_, err = owner.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(public)})
		} else {
			_, err = owner.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)})
		}
		if err != nil {
			t.Fatal(err)
		}
		acked := time.Now()
		want := 403
		if on {
			want = 200
		}
		for {
			polls++
			if anonGet() == want {
				lags = append(lags, time.Since(acked))
				break
			}
			if time.Since(acked) > time.Minute {
				t.Fatalf("change %d not visible at the far edge after a minute", i)
			}
		}
	}
	t.Logf("FIGURE policy change → effect at the other region's edge: %d changes, %d polls (1 poll each = visible on the first request), time to the first request that saw it: p50 %v max %v",
		len(lags), polls, pct(lags, 50), slices.Max(lags))
	if polls != len(lags) {
		t.Errorf("a change needed more than one request to be seen (%d polls for %d changes)", polls, len(lags))
	}
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100].Round(time.Microsecond)
}

// benchPolicy20 is a 20-statement policy that lets the owner read (no
// statement denies it) and makes every request evaluate all statements.
func benchPolicy20(bucket string) string {
	var st []string
	for i := 0; i < 17; i++ {
		st = append(st, fmt.Sprintf(`{"Sid":"team%d","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::acct-team%d:root"},"Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::%[3]s/team%[1]d/*","arn:aws:s3:::%[3]s"],"Condition":{"IpAddress":{"aws:SourceIp":["10.%[1]d.0.0/16"]}}}`, i, i, bucket))
	}
	st = append(st,
		fmt.Sprintf(`{"Sid":"tls","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`, bucket),
		fmt.Sprintf(`{"Sid":"nodelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObjectVersion","Resource":"arn:aws:s3:::%s/*"}`, bucket),
		fmt.Sprintf(`{"Sid":"old","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*","Condition":{"DateLessThan":{"aws:CurrentTime":"2001-01-01T00:00:00Z"}}}`, bucket))
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
}

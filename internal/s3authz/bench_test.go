package s3authz

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// policy20 is a 20-statement policy of the kinds deployments use: prefix
// grants to accounts, conditions on IP, TLS, tags and time, and denies.
func policy20() string {
	var st []string
	for i := 0; i < 16; i++ {
		st = append(st, fmt.Sprintf(`{"Sid":"s%d","Effect":"Allow","Principal":{"AWS":["acct-p%d","arn:aws:iam::acct-q%d:root"]},"Action":["s3:GetObject","s3:PutObject","s3:List*"],"Resource":["arn:aws:s3:::photos/team%d/*","arn:aws:s3:::photos"],"Condition":{"IpAddress":{"aws:SourceIp":["10.%d.0.0/16","2001:db8:%d::/48"]},"StringLike":{"s3:prefix":["team%d/*",""]}}}`, i, i, i, i, i, i, i))
	}
	st = append(st,
		`{"Sid":"tls","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`,
		`{"Sid":"nodelete","Effect":"Deny","Principal":"*","Action":["s3:DeleteObject","s3:DeleteObjectVersion"],"Resource":"arn:aws:s3:::photos/*"}`,
		`{"Sid":"tag","Effect":"Allow","Principal":{"AWS":"acct-other"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/environment":"production"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}`,
		`{"Sid":"public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/public/*"}`)
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
}

// BenchmarkEvaluate20 measures one decision against a 20-statement policy,
// including building the request's condition context as the gateway does.
// It reports the median of per-call times measured in batches of 64
// (p50-ns) besides ns/op. Issue 11's budget: p50 < 5 µs.
func BenchmarkEvaluate20(b *testing.B) {
	p, err := ParsePolicy([]byte(policy20()), "photos")
	if err != nil {
		b.Fatal(err)
	}
	if len(p.Statements) != 20 {
		b.Fatalf("%d statements", len(p.Statements))
	}
	run := func() Result {
		c := &Context{}
		// Keys in canonical (lower) case, as the gateway sets them.
		c.Set("aws:sourceip", "10.7.3.4")
		c.Set("aws:securetransport", "true")
		c.Set("aws:currenttime", "2026-12-01T03:00:00Z")
		c.Set("aws:epochtime", "1796094000")
		c.Set("aws:principalaccount", "acct-other")
		c.Set("aws:principaltype", "Account")
		c.Set("aws:useragent", "aws-sdk-go-v2/1.30")
		c.Set("s3:signatureversion", "AWS4-HMAC-SHA256")
		c.Set("s3:authtype", "REST-HEADER")
		c.Set("s3:x-amz-content-sha256", "UNSIGNED-PAYLOAD")
		c.Set("s3:existingobjecttag/environment", "production")
		req := Request{Action: "s3:GetObject", Bucket: "photos", Key: "team7/report.pdf", BucketOwner: owner,
			Requester: byOther, Policy: p, Context: c}
		return Evaluate(&req)
	}
	if r := run(); r.Decision != Allow || r.Sid != "tag" {
		b.Fatalf("decision %v by %q", r.Decision, r.Sid)
	}
	const batch = 64
	var samples []float64
	b.ResetTimer()
	for i := 0; i < b.N; {
		n := min(batch, b.N-i)
		start := time.Now()
		for j := 0; j < n; j++ {
			run()
		}
		samples = append(samples, float64(time.Since(start).Nanoseconds())/float64(n))
		i += n
	}
	b.StopTimer()
	slices.Sort(samples)
	b.ReportMetric(samples[len(samples)/2], "p50-ns")
}

package regional_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/bucketsvc"
)

// TestBucketPolicy: the policy operations and the decisions they drive at
// the gateway — anonymous read of a public prefix, a second account
// granted by policy, a deny on delete that binds the owner too, the
// existence rule (AccessDenied without s3:ListBucket, 404 with it), and
// GetBucketPolicyStatus.
func TestBucketPolicy(t *testing.T) {
	w := newWorld(t)
	other := w.secondAccount()
	ctx := context.Background()
	k, _ := w.catalog.LookupAccessKey(ctx, "AKIDSECONDACCOUNT")
	w.mustStatus(200, "PUT", "/pol", nil, nil)
	w.mustStatus(200, "PUT", "/pol/public/cat.txt", []byte("meow"), nil)
	w.mustStatus(200, "PUT", "/pol/private/dog.txt", []byte("woof"), nil)

	anon := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, w.url+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			return resp.StatusCode, s3code(b)
		}
		return resp.StatusCode, string(b)
	}
	// No policy: the owner only.
	if code, got := anon("GET", "/pol/public/cat.txt"); code != 403 || got != "AccessDenied" {
		t.Fatalf("anonymous GET without a policy: %d %s", code, got)
	}
	if code, out := w.doAs(other, "GET", "/pol/public/cat.txt", nil, nil); code != 403 {
		t.Fatalf("other account without a policy: %d %s", code, out)
	}
	if code, out := w.do("GET", "/pol?policy", nil, nil); code != 404 || s3code(out) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicy without one: %d %s", code, out)
	}

	// A malformed policy is refused with S3's message, and nothing is stored.
	code, out := w.do("PUT", "/pol?policy", []byte(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::elsewhere/*"}]}`), nil)
	if code != 400 || s3code(out) != "MalformedPolicy" || !strings.Contains(string(out), "Policy has invalid resource") {
		t.Fatalf("bad resource: %d %s", code, out)
	}
	if code, out := w.do("PUT", "/pol?policy", []byte(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/`+strings.Repeat("x", 21<<10)+`"}]}`), nil); code != 400 || s3code(out) != "MalformedPolicy" {
		t.Fatalf("oversize policy: %d %s", code, out)
	}

	policy := `{"Version":"2012-10-17","Statement":[
	 {"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/public/*"},
	 {"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + k.AccountID + `:root"},"Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::pol","arn:aws:s3:::pol/*"]},
	 {"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::pol/*"}]}`
	w.mustStatus(204, "PUT", "/pol?policy", []byte(policy), nil)
	if got := w.mustStatus(200, "GET", "/pol?policy", nil, nil); string(got) != policy {
		t.Fatalf("GetBucketPolicy: %s", got)
	}
	if got := w.mustStatus(200, "GET", "/pol?policyStatus", nil, nil); !strings.Contains(string(got), "<IsPublic>true</IsPublic>") {
		t.Fatalf("policy status: %s", got)
	}

	// Anonymous: the public prefix only; a missing key is AccessDenied
	// (no s3:ListBucket), never NoSuchKey.
	if code, got := anon("GET", "/pol/public/cat.txt"); code != 200 || got != "meow" {
		t.Fatalf("anonymous GET public: %d %s", code, got)
	}
	if code, got := anon("GET", "/pol/private/dog.txt"); code != 403 || got != "AccessDenied" {
		t.Fatalf("anonymous GET private: %d %s", code, got)
	}
	if code, got := anon("GET", "/pol/public/missing.txt"); code != 403 || got != "AccessDenied" {
		t.Fatalf("anonymous GET missing: %d %s", code, got)
	}
	if code, got := anon("PUT", "/pol/public/new.txt"); code != 403 || got != "AccessDenied" {
		t.Fatalf("anonymous PUT: %d %s", code, got)
	}
	if code, got := anon("GET", "/pol?list-type=2"); code != 403 || got != "AccessDenied" {
		t.Fatalf("anonymous list: %d %s", code, got)
	}

	// The partner account: read, write and list; a missing key is 404
	// (it may list); delete denied.
	if code, out := w.doAs(other, "GET", "/pol/private/dog.txt", nil, nil); code != 200 || string(out) != "woof" {
		t.Fatalf("partner GET: %d %s", code, out)
	}
	if code, out := w.doAs(other, "PUT", "/pol/partner.txt", []byte("hi"), nil); code != 200 {
		t.Fatalf("partner PUT: %d %s", code, out)
	}
	if code, out := w.doAs(other, "GET", "/pol/missing", nil, nil); code != 404 || s3code(out) != "NoSuchKey" {
		t.Fatalf("partner GET missing: %d %s", code, out)
	}
	if code, out := w.doAs(other, "GET", "/pol?list-type=2", nil, nil); code != 200 || !strings.Contains(string(out), "partner.txt") {
		t.Fatalf("partner list: %d %s", code, out)
	}
	if code, out := w.doAs(other, "DELETE", "/pol/partner.txt", nil, nil); code != 403 {
		t.Fatalf("partner DELETE: %d %s", code, out)
	}
	if code, out := w.doAs(other, "PUT", "/pol?policy", []byte(policy), nil); code != 403 {
		t.Fatalf("partner PutBucketPolicy: %d %s", code, out)
	}
	// The deny binds the owner too.
	if code, out := w.do("DELETE", "/pol/public/cat.txt", nil, nil); code != 403 || s3code(out) != "AccessDenied" {
		t.Fatalf("owner DELETE under deny: %d %s", code, out)
	}

	// Deleting the policy restores owner-only access at once.
	w.mustStatus(204, "DELETE", "/pol?policy", nil, nil)
	if code, got := anon("GET", "/pol/public/cat.txt"); code != 403 {
		t.Fatalf("anonymous GET after DeleteBucketPolicy: %d %s", code, got)
	}
	w.mustStatus(204, "DELETE", "/pol/public/cat.txt", nil, nil)
	if code, out := w.do("GET", "/pol?policyStatus", nil, nil); code != 404 || s3code(out) != "NoSuchBucketPolicy" {
		t.Fatalf("policy status without a policy: %d %s", code, out)
	}
}

// TestPolicyConditionsAtGateway: aws:SecureTransport and aws:SourceIp from
// a direct (plain HTTP, loopback) request.
func TestPolicyConditionsAtGateway(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/cond", nil, nil)
	w.mustStatus(200, "PUT", "/cond/k", []byte("v"), nil)
	tls := `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::cond","arn:aws:s3:::cond/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	w.mustStatus(204, "PUT", "/cond?policy", []byte(tls), nil)
	// This listener is plain HTTP: everything is denied, policy
	// operations included (as in S3, the owner then needs TLS to undo it).
	if code, out := w.do("GET", "/cond/k", nil, nil); code != 403 {
		t.Fatalf("GET over plain HTTP under deny-unless-TLS: %d %s", code, out)
	}
	clear := func() {
		if err := w.catalog.UpdateBucket(context.Background(), "cond", func(b *bucketsvc.Bucket) error { b.Policy = ""; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	clear()
	ip := `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24"]}}}]}`
	w.mustStatus(204, "PUT", "/cond?policy", []byte(ip), nil)
	if code, out := w.do("GET", "/cond/k", nil, nil); code != 403 {
		t.Fatalf("GET from 127.0.0.1 outside the allow-list: %d %s", code, out)
	}
	ip = strings.Replace(ip, "192.0.2.0/24", "127.0.0.0/8", 1)
	w.mustStatus(204, "PUT", "/cond?policy", []byte(ip), nil)
	w.mustStatus(200, "GET", "/cond/k", nil, nil)
}

// TestPolicyObjectTags: s3:ExistingObjectTag reads the object's record
// (only for such a policy) and s3:RequestObjectTag the request's
// x-amz-tagging.
func TestPolicyObjectTags(t *testing.T) {
	w := newWorld(t)
	other := w.secondAccount()
	k, _ := w.catalog.LookupAccessKey(context.Background(), "AKIDSECONDACCOUNT")
	w.mustStatus(200, "PUT", "/tags", nil, nil)
	w.mustStatus(200, "PUT", "/tags/prod", []byte("p"), map[string]string{"x-amz-tagging": "env=production"})
	w.mustStatus(200, "PUT", "/tags/dev", []byte("d"), map[string]string{"x-amz-tagging": "env=dev"})
	policy := `{"Statement":[
	 {"Effect":"Allow","Principal":{"AWS":"` + k.AccountID + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::tags/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/env":"production"}}},
	 {"Effect":"Allow","Principal":{"AWS":"` + k.AccountID + `"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::tags/*","Condition":{"StringEquals":{"s3:RequestObjectTag/team":"blue"}}}]}`
	w.mustStatus(204, "PUT", "/tags?policy", []byte(policy), nil)
	if code, out := w.doAs(other, "GET", "/tags/prod", nil, nil); code != 200 || string(out) != "p" {
		t.Fatalf("GET of a production-tagged object: %d %s", code, out)
	}
	if code, out := w.doAs(other, "GET", "/tags/dev", nil, nil); code != 403 {
		t.Fatalf("GET of a dev-tagged object: %d %s", code, out)
	}
	// Retagging changes the answer at once.
	tagging := []byte(`<Tagging><TagSet><Tag><Key>env</Key><Value>production</Value></Tag></TagSet></Tagging>`)
	sum := md5.Sum(tagging)
	w.mustStatus(200, "PUT", "/tags/dev?tagging", tagging, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])})
	if code, out := w.doAs(other, "GET", "/tags/dev", nil, nil); code != 200 {
		t.Fatalf("GET after retagging: %d %s", code, out)
	}
	if code, out := w.doAs(other, "PUT", "/tags/new", []byte("n"), map[string]string{"x-amz-tagging": "team=blue"}); code != 200 {
		t.Fatalf("PUT with the required tag: %d %s", code, out)
	}
	if code, out := w.doAs(other, "PUT", "/tags/new2", []byte("n"), map[string]string{"x-amz-tagging": "team=red"}); code != 403 {
		t.Fatalf("PUT with another tag: %d %s", code, out)
	}
	if code, out := w.doAs(other, "PUT", "/tags/new3", []byte("n"), nil); code != 403 {
		t.Fatalf("PUT without tags: %d %s", code, out)
	}
}

package regional_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3authz"
)

func pabBody(acls, ignore, policy, restrict bool) []byte {
	b := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	return []byte(`<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><BlockPublicAcls>` + b(acls) +
		`</BlockPublicAcls><IgnorePublicAcls>` + b(ignore) + `</IgnorePublicAcls><BlockPublicPolicy>` + b(policy) +
		`</BlockPublicPolicy><RestrictPublicBuckets>` + b(restrict) + `</RestrictPublicBuckets></PublicAccessBlockConfiguration>`)
}

// TestPublicAccessBlock: the bucket-level configuration's API and its four
// settings as S3 enforces them.
func TestPublicAccessBlock(t *testing.T) {
	w := newWorld(t)
	anonGet := func(path string) int {
		resp, err := http.Get(w.url + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// ACLs enabled, so that ACL grants count.
	w.mustStatus(200, "PUT", "/pab", nil, map[string]string{"x-amz-object-ownership": "ObjectWriter"})
	w.mustStatus(200, "PUT", "/pab/k", []byte("v"), nil)
	if code, out := w.do("GET", "/pab?publicAccessBlock", nil, nil); code != 404 || s3code(out) != "NoSuchPublicAccessBlockConfiguration" {
		t.Fatalf("GET without one: %d %s", code, out)
	}
	if code, out := w.do("PUT", "/pab?publicAccessBlock", []byte(`<PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls></PublicAccessBlockConfiguration>`), nil); code != 400 || s3code(out) != "MalformedXML" {
		t.Fatalf("bad value: %d %s", code, out)
	}
	public := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pab/*"}]}`

	// BlockPublicPolicy: a public policy is refused, a non-public one is not.
	w.mustStatus(200, "PUT", "/pab?publicAccessBlock", pabBody(false, false, true, false), nil)
	if got := w.mustStatus(200, "GET", "/pab?publicAccessBlock", nil, nil); !strings.Contains(string(got), "<BlockPublicPolicy>true</BlockPublicPolicy>") ||
		!strings.Contains(string(got), "<BlockPublicAcls>false</BlockPublicAcls>") {
		t.Fatalf("GET: %s", got)
	}
	if code, out := w.do("PUT", "/pab?policy", []byte(public), nil); code != 403 || s3code(out) != "AccessDenied" {
		t.Fatalf("public policy under BlockPublicPolicy: %d %s", code, out)
	}
	ipOnly := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pab/*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}`
	w.mustStatus(204, "PUT", "/pab?policy", []byte(ipOnly), nil)
	if code := anonGet("/pab/k"); code != 200 {
		t.Fatalf("anonymous GET under a non-public policy: %d", code)
	}

	// RestrictPublicBuckets: a public policy's Allows stop counting for
	// anyone outside the owner's account.
	w.mustStatus(200, "PUT", "/pab?publicAccessBlock", pabBody(false, false, false, false), nil)
	w.mustStatus(204, "PUT", "/pab?policy", []byte(public), nil)
	if code := anonGet("/pab/k"); code != 200 {
		t.Fatalf("anonymous GET under a public policy: %d", code)
	}
	w.mustStatus(200, "PUT", "/pab?publicAccessBlock", pabBody(false, false, false, true), nil)
	if code := anonGet("/pab/k"); code != 403 {
		t.Fatalf("anonymous GET under RestrictPublicBuckets: %d", code)
	}
	w.mustStatus(200, "GET", "/pab/k", nil, nil) // the owner still may
	w.mustStatus(204, "DELETE", "/pab?policy", nil, nil)

	// IgnorePublicAcls: a public-read ACL stops granting; BlockPublicAcls:
	// public ACLs are refused.
	w.mustStatus(200, "PUT", "/pab?publicAccessBlock", pabBody(false, false, false, false), nil)
	w.mustStatus(200, "PUT", "/pab/k?acl", nil, map[string]string{"x-amz-acl": "public-read"})
	if code := anonGet("/pab/k"); code != 200 {
		t.Fatalf("anonymous GET of a public-read object: %d", code)
	}
	w.mustStatus(200, "PUT", "/pab?publicAccessBlock", pabBody(false, true, false, false), nil)
	if code := anonGet("/pab/k"); code != 403 {
		t.Fatalf("anonymous GET under IgnorePublicAcls: %d", code)
	}
	w.mustStatus(200, "PUT", "/pab?publicAccessBlock", pabBody(true, false, false, false), nil)
	for _, tc := range []struct{ method, path string }{{"PUT", "/pab/k?acl"}, {"PUT", "/pab?acl"}, {"PUT", "/pab/new"}} {
		if code, out := w.do(tc.method, tc.path, nil, map[string]string{"x-amz-acl": "public-read"}); code != 403 || s3code(out) != "AccessDenied" {
			t.Errorf("%s %s public-read under BlockPublicAcls: %d %s", tc.method, tc.path, code, out)
		}
	}
	w.mustStatus(200, "PUT", "/pab/k?acl", nil, map[string]string{"x-amz-acl": "private"})

	// Delete: none again.
	w.mustStatus(204, "DELETE", "/pab?publicAccessBlock", nil, nil)
	if code, out := w.do("GET", "/pab?publicAccessBlock", nil, nil); code != 404 || s3code(out) != "NoSuchPublicAccessBlockConfiguration" {
		t.Fatalf("GET after delete: %d %s", code, out)
	}
	w.mustStatus(204, "PUT", "/pab?policy", []byte(public), nil)
	if code := anonGet("/pab/k"); code != 200 {
		t.Fatalf("anonymous GET, public policy, no block: %d", code)
	}

	// The owner's account-level configuration applies to its buckets too.
	ctx := context.Background()
	k, _ := w.catalog.LookupAccessKey(ctx, testKey)
	if err := w.catalog.PutAccountPublicAccessBlock(ctx, k.AccountID, &s3authz.PublicAccessBlock{RestrictPublicBuckets: true, BlockPublicPolicy: true}); err != nil {
		t.Fatal(err)
	}
	if code := anonGet("/pab/k"); code != 403 {
		t.Fatalf("anonymous GET under the account's RestrictPublicBuckets: %d", code)
	}
	if code, out := w.do("PUT", "/pab?policy", []byte(public), nil); code != 403 || s3code(out) != "AccessDenied" {
		t.Fatalf("public policy under the account's BlockPublicPolicy: %d %s", code, out)
	}
	if err := w.catalog.PutAccountPublicAccessBlock(ctx, k.AccountID, nil); err != nil {
		t.Fatal(err)
	}
	if code := anonGet("/pab/k"); code != 200 {
		t.Fatalf("anonymous GET after the account's block is deleted: %d", code)
	}
}

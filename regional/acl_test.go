package regional_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3authz"
)

// aclDoc is an AccessControlPolicy as the gateway writes it.
type aclDoc struct {
	Owner  string `xml:"Owner>ID"`
	Grants []struct {
		Grantee struct {
			Type        string `xml:"type,attr"`
			ID          string `xml:"ID"`
			DisplayName string `xml:"DisplayName"`
			URI         string `xml:"URI"`
		} `xml:"Grantee"`
		Permission string `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// grants renders a document's grants as "who:PERMISSION" ("who" is the id,
// or the group's last path element), in order.
func (d aclDoc) grants() string {
	var out []string
	for _, g := range d.Grants {
		who := g.Grantee.ID
		if g.Grantee.Type == "Group" {
			who = g.Grantee.URI[strings.LastIndex(g.Grantee.URI, "/")+1:]
		}
		out = append(out, who+":"+g.Permission)
	}
	return strings.Join(out, ",")
}

func policyBody(owner string, grants ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>%s</ID></Owner><AccessControlList>`, owner)
	for _, g := range grants {
		b.WriteString(g)
	}
	b.WriteString(`</AccessControlList></AccessControlPolicy>`)
	return []byte(b.String())
}

func userGrant(id, perm string) string {
	return `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + id + `</ID></Grantee><Permission>` + perm + `</Permission></Grant>`
}

func ownershipBody(o string) []byte {
	return []byte(`<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ObjectOwnership>` + o + `</ObjectOwnership></Rule></OwnershipControls>`)
}

// TestACLRoutes drives ownership controls, bucket ACLs and object ACLs
// through the gateway in one sequence: each step's request, its status and
// S3 code, and (for a GET ?acl) the grants answered.
func TestACLRoutes(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	k, err := w.catalog.LookupAccessKey(ctx, testKey)
	if err != nil {
		t.Fatal(err)
	}
	me := k.AccountID
	other, err := w.catalog.CreateAccount(ctx, bucketsvc.Account{DisplayName: "other"})
	if err != nil {
		t.Fatal(err)
	}
	p := other.ID
	w.mustStatus(200, "PUT", "/acl", nil, nil)
	w.mustStatus(200, "PUT", "/acl/k", []byte("v1"), nil)

	steps := []struct {
		name         string
		method, path string
		body         []byte
		hdr          map[string]string
		status       int
		code         string // S3 error code, or for a 200 GET ?ownershipControls the setting
		grants       string // for a 200 GET ?acl: the grants answered
	}{
		// A new bucket: BucketOwnerEnforced, ACLs disabled.
		{"default ownership", "GET", "/acl?ownershipControls", nil, nil, 200, "BucketOwnerEnforced", ""},
		{"default bucket acl", "GET", "/acl?acl", nil, nil, 200, "", me + ":FULL_CONTROL"},
		{"enforced refuses public bucket acl", "PUT", "/acl?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 400, "AccessControlListNotSupported", ""},
		{"enforced refuses grant", "PUT", "/acl?acl", nil, map[string]string{"x-amz-grant-read": `id="` + p + `"`}, 400, "AccessControlListNotSupported", ""},
		{"enforced accepts private", "PUT", "/acl?acl", nil, map[string]string{"x-amz-acl": "private"}, 200, "", ""},
		{"enforced accepts owner-only document", "PUT", "/acl?acl", policyBody(me, userGrant(me, "FULL_CONTROL")), nil, 200, "", ""},
		{"enforced refuses public object", "PUT", "/acl/k2", []byte("x"), map[string]string{"x-amz-acl": "public-read"}, 400, "AccessControlListNotSupported", ""},
		{"enforced accepts bucket-owner-full-control", "PUT", "/acl/k2", []byte("x"), map[string]string{"x-amz-acl": "bucket-owner-full-control"}, 200, "", ""},
		{"enforced object acl", "GET", "/acl/k2?acl", nil, nil, 200, "", me + ":FULL_CONTROL"},
		{"enforced refuses object acl", "PUT", "/acl/k?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 400, "AccessControlListNotSupported", ""},
		{"bad ownership", "PUT", "/acl?ownershipControls", ownershipBody("Everyone"), nil, 400, "MalformedXML", ""},
		{"two rules", "PUT", "/acl?ownershipControls", []byte(`<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>`), nil, 400, "MalformedXML", ""},
		// ObjectWriter: ACLs enabled.
		{"object writer", "PUT", "/acl?ownershipControls", ownershipBody("ObjectWriter"), nil, 200, "", ""},
		{"read back", "GET", "/acl?ownershipControls", nil, nil, 200, "ObjectWriter", ""},
		{"public-read bucket", "PUT", "/acl?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 200, "", ""},
		{"public-read answered", "GET", "/acl?acl", nil, nil, 200, "", me + ":FULL_CONTROL,AllUsers:READ"},
		{"enforcing refused while the bucket acl grants others", "PUT", "/acl?ownershipControls", ownershipBody("BucketOwnerEnforced"), nil, 400, "InvalidBucketAclWithObjectOwnership", ""},
		{"document grant", "PUT", "/acl?acl", policyBody(me, userGrant(me, "FULL_CONTROL"), userGrant(p, "READ")), nil, 200, "", ""},
		{"document answered", "GET", "/acl?acl", nil, nil, 200, "", me + ":FULL_CONTROL," + p + ":READ"},
		{"grant headers", "PUT", "/acl?acl", nil, map[string]string{"x-amz-grant-write-acp": `id="` + p + `"`, "x-amz-grant-full-control": `id="` + me + `"`}, 200, "", ""},
		{"grant headers answered", "GET", "/acl?acl", nil, nil, 200, "", p + ":WRITE_ACP," + me + ":FULL_CONTROL"},
		{"unknown id", "PUT", "/acl?acl", policyBody(me, userGrant("nobody", "READ")), nil, 400, "InvalidArgument", ""},
		{"email", "PUT", "/acl?acl", nil, map[string]string{"x-amz-grant-read": `emailAddress="a@example.com"`}, 400, "UnresolvableGrantByEmailAddress", ""},
		{"malformed", "PUT", "/acl?acl", []byte("<AccessControlPolicy>"), nil, 400, "MalformedACLError", ""},
		{"bad permission", "PUT", "/acl?acl", policyBody(me, userGrant(me, "ALL")), nil, 400, "MalformedACLError", ""},
		{"nothing", "PUT", "/acl?acl", nil, nil, 400, "MalformedACLError", ""},
		{"canned and grants", "PUT", "/acl?acl", nil, map[string]string{"x-amz-acl": "private", "x-amz-grant-read": `id="` + p + `"`}, 400, "InvalidRequest", ""},
		{"unknown canned", "PUT", "/acl?acl", nil, map[string]string{"x-amz-acl": "open"}, 400, "InvalidArgument", ""},
		{"other owner", "PUT", "/acl?acl", policyBody(p, userGrant(p, "FULL_CONTROL")), nil, 403, "AccessDenied", ""},
		{"unchanged after refusals", "GET", "/acl?acl", nil, nil, 200, "", p + ":WRITE_ACP," + me + ":FULL_CONTROL"},
		// Object ACLs.
		{"object default", "GET", "/acl/k?acl", nil, nil, 200, "", me + ":FULL_CONTROL"},
		{"put with grant", "PUT", "/acl/g", []byte("x"), map[string]string{"x-amz-grant-read": `id="` + p + `"`}, 200, "", ""},
		{"grant answered", "GET", "/acl/g?acl", nil, nil, 200, "", p + ":READ"},
		{"put object acl", "PUT", "/acl/g?acl", nil, map[string]string{"x-amz-acl": "public-read-write"}, 200, "", ""},
		{"put object acl answered", "GET", "/acl/g?acl", nil, nil, 200, "", me + ":FULL_CONTROL,AllUsers:READ,AllUsers:WRITE"},
		{"object acl document", "PUT", "/acl/k?acl", policyBody(me, userGrant(p, "FULL_CONTROL")), nil, 200, "", ""},
		{"object acl document answered", "GET", "/acl/k?acl", nil, nil, 200, "", p + ":FULL_CONTROL"},
		{"copy takes the request's acl, not the source's", "PUT", "/acl/c", nil, map[string]string{"x-amz-copy-source": "acl/g"}, 200, "", ""},
		{"copy answered", "GET", "/acl/c?acl", nil, nil, 200, "", me + ":FULL_CONTROL"},
		{"copy with acl", "PUT", "/acl/c2", nil, map[string]string{"x-amz-copy-source": "acl/g", "x-amz-acl": "authenticated-read"}, 200, "", ""},
		{"copy with acl answered", "GET", "/acl/c2?acl", nil, nil, 200, "", me + ":FULL_CONTROL,AuthenticatedUsers:READ"},
		{"no such key", "GET", "/acl/nope?acl", nil, nil, 404, "NoSuchKey", ""},
		{"no such key put", "PUT", "/acl/nope?acl", nil, map[string]string{"x-amz-acl": "private"}, 404, "NoSuchKey", ""},
		// Deleting ownership controls: ACLs stay enabled.
		{"delete ownership", "DELETE", "/acl?ownershipControls", nil, nil, 204, "", ""},
		{"ownership gone", "GET", "/acl?ownershipControls", nil, nil, 404, "OwnershipControlsNotFoundError", ""},
		{"acls still served", "GET", "/acl/g?acl", nil, nil, 200, "", me + ":FULL_CONTROL,AllUsers:READ,AllUsers:WRITE"},
		// CreateBucket.
		{"create public under default", "PUT", "/acl2", nil, map[string]string{"x-amz-acl": "public-read"}, 400, "InvalidBucketAclWithObjectOwnership", ""},
		{"create bad ownership", "PUT", "/acl2", nil, map[string]string{"x-amz-object-ownership": "Mine"}, 400, "InvalidArgument", ""},
		{"create object writer public", "PUT", "/acl3", nil, map[string]string{"x-amz-acl": "public-read", "x-amz-object-ownership": "ObjectWriter"}, 200, "", ""},
		{"created acl", "GET", "/acl3?acl", nil, nil, 200, "", me + ":FULL_CONTROL,AllUsers:READ"},
		{"created ownership", "GET", "/acl3?ownershipControls", nil, nil, 200, "ObjectWriter", ""},
		{"create preferred", "PUT", "/acl4", nil, map[string]string{"x-amz-object-ownership": "BucketOwnerPreferred"}, 200, "", ""},
		{"preferred ownership", "GET", "/acl4?ownershipControls", nil, nil, 200, "BucketOwnerPreferred", ""},
	}
	for _, s := range steps {
		code, out := w.do(s.method, s.path, s.body, s.hdr)
		if code != s.status {
			t.Fatalf("%s: %s %s: status %d, want %d: %s", s.name, s.method, s.path, code, s.status, out)
		}
		switch {
		case code >= 300:
			if s3code(out) != s.code {
				t.Fatalf("%s: code %q, want %q: %s", s.name, s3code(out), s.code, out)
			}
		case s.method == "GET" && strings.HasSuffix(s.path, "?acl"):
			var d aclDoc
			if err := xml.Unmarshal(out, &d); err != nil {
				t.Fatalf("%s: %v: %s", s.name, err, out)
			}
			if d.grants() != s.grants {
				t.Fatalf("%s: grants %s, want %s: %s", s.name, d.grants(), s.grants, out)
			}
			if !strings.Contains(string(out), `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="`) {
				t.Fatalf("%s: no xsi:type: %s", s.name, out)
			}
		case s.method == "GET" && strings.HasSuffix(s.path, "?ownershipControls"):
			if want := "<ObjectOwnership>" + s.code + "</ObjectOwnership>"; !strings.Contains(string(out), want) {
				t.Fatalf("%s: %s, want %s", s.name, out, want)
			}
		}
	}
	// The account's BlockPublicAcls refuses a public ACL at CreateBucket
	// (403 AccessDenied), not a private one.
	if err := w.catalog.PutAccountPublicAccessBlock(ctx, me, &s3authz.PublicAccessBlock{BlockPublicAcls: true}); err != nil {
		t.Fatal(err)
	}
	if code, out := w.do("PUT", "/acl5", nil, map[string]string{"x-amz-acl": "public-read", "x-amz-object-ownership": "ObjectWriter"}); code != 403 || s3code(out) != "AccessDenied" {
		t.Fatalf("public create under the account's BlockPublicAcls: %d %s", code, out)
	}
	w.mustStatus(200, "PUT", "/acl5", nil, map[string]string{"x-amz-acl": "private", "x-amz-object-ownership": "ObjectWriter"})
	if err := w.catalog.PutAccountPublicAccessBlock(ctx, me, nil); err != nil {
		t.Fatal(err)
	}

	// Display names are answered with ids.
	_, out := w.do("GET", "/acl/k?acl", nil, nil)
	if !strings.Contains(string(out), "<DisplayName>other</DisplayName>") {
		t.Errorf("display name missing: %s", out)
	}

	// A noncurrent version's ACL, by ?versionId.
	vc := []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)
	sum := md5.Sum(vc)
	w.mustStatus(200, "PUT", "/acl?versioning", vc, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])})
	_, h, _ := w.doResp("PUT", "/acl/v", []byte("1"), map[string]string{"x-amz-acl": "public-read"})
	v1 := h.Get("x-amz-version-id")
	w.mustStatus(200, "PUT", "/acl/v", []byte("2"), nil)
	code, h, out := w.doResp("GET", "/acl/v?acl&versionId="+v1, nil, nil)
	if code != http.StatusOK || h.Get("x-amz-version-id") != v1 || !strings.Contains(string(out), "AllUsers") {
		t.Fatalf("noncurrent acl: %d %v %s", code, h, out)
	}
	w.mustStatus(200, "PUT", "/acl/v?acl&versionId="+v1, nil, map[string]string{"x-amz-acl": "private"})
	if _, out := w.do("GET", "/acl/v?acl&versionId="+v1, nil, nil); strings.Contains(string(out), "AllUsers") {
		t.Fatalf("noncurrent acl not replaced: %s", out)
	}

	// Multipart: the ACL given at create is the object's.
	_, out = w.do("POST", "/acl/m?uploads", nil, map[string]string{"x-amz-acl": "authenticated-read"})
	var init struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(out, &init); err != nil || init.UploadID == "" {
		t.Fatalf("create upload: %v %s", err, out)
	}
	_, h, _ = w.doResp("PUT", "/acl/m?partNumber=1&uploadId="+init.UploadID, []byte("part"), nil)
	w.mustStatus(200, "POST", "/acl/m?uploadId="+init.UploadID,
		[]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>`+h.Get("ETag")+`</ETag></Part></CompleteMultipartUpload>`), nil)
	if _, out := w.do("GET", "/acl/m?acl", nil, nil); !strings.Contains(string(out), "AuthenticatedUsers") {
		t.Fatalf("multipart acl: %s", out)
	}
}

// TestACLObjectOwner: the owner of an object another account writes (its
// bucket ACL grants WRITE) follows the ownership controls — the writer under
// ObjectWriter, the bucket owner under BucketOwnerPreferred with
// bucket-owner-full-control (the writer without it), the bucket owner under
// BucketOwnerEnforced — and the writer's canned ACL is expanded for that owner.
func TestACLObjectOwner(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	k, err := w.catalog.LookupAccessKey(ctx, testKey)
	if err != nil {
		t.Fatal(err)
	}
	me := k.AccountID
	other, err := w.catalog.CreateAccount(ctx, bucketsvc.Account{DisplayName: "writer"})
	if err != nil {
		t.Fatal(err)
	}
	p := other.ID
	if err := w.catalog.PutAccessKey(ctx, bucketsvc.AccessKey{ID: "AKIDWRITER", Secret: "writer-secret", AccountID: p, Status: bucketsvc.KeyActive, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	writer := aws.Credentials{AccessKeyID: "AKIDWRITER", SecretAccessKey: "writer-secret"}
	cases := []struct {
		ownership, canned string
		owner, grants     string
	}{
		{"ObjectWriter", "", p, p + ":FULL_CONTROL"},
		{"ObjectWriter", "bucket-owner-full-control", p, p + ":FULL_CONTROL," + me + ":FULL_CONTROL"},
		{"BucketOwnerPreferred", "bucket-owner-full-control", me, me + ":FULL_CONTROL"},
		{"BucketOwnerPreferred", "bucket-owner-read", p, p + ":FULL_CONTROL," + me + ":READ"},
		{"BucketOwnerEnforced", "", me, me + ":FULL_CONTROL"},
		{"BucketOwnerEnforced", "bucket-owner-full-control", me, me + ":FULL_CONTROL"},
	}
	for i, c := range cases {
		bucket := fmt.Sprintf("owner%d", i)
		w.mustStatus(200, "PUT", "/"+bucket, nil, map[string]string{"x-amz-object-ownership": "ObjectWriter"})
		w.mustStatus(200, "PUT", "/"+bucket+"?acl", nil, map[string]string{"x-amz-grant-write": `id="` + p + `"`, "x-amz-grant-full-control": `id="` + me + `"`})
		if c.ownership != "ObjectWriter" {
			if c.ownership == "BucketOwnerEnforced" {
				w.mustStatus(200, "PUT", "/"+bucket+"?acl", nil, map[string]string{"x-amz-acl": "private"})
			}
			w.mustStatus(200, "PUT", "/"+bucket+"?ownershipControls", ownershipBody(c.ownership), nil)
		}
		hdr := map[string]string{}
		if c.canned != "" {
			hdr["x-amz-acl"] = c.canned
		}
		if c.ownership == "BucketOwnerEnforced" {
			// ACLs grant nothing now: a bucket policy lets the writer write.
			pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + p + `"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`
			w.mustStatus(204, "PUT", "/"+bucket+"?policy", []byte(pol), nil)
		}
		if code, out := w.doAs(writer, "PUT", "/"+bucket+"/obj", []byte("x"), hdr); code != 200 {
			t.Fatalf("%s %q: writer PUT: %d %s", c.ownership, c.canned, code, out)
		}
		_, out := w.do("GET", "/"+bucket+"/obj?acl", nil, nil)
		var d aclDoc
		if err := xml.Unmarshal(out, &d); err != nil || d.Owner != c.owner || d.grants() != c.grants {
			t.Errorf("%s %q: owner %s grants %s (%v), want owner %s grants %s: %s", c.ownership, c.canned, d.Owner, d.grants(), err, c.owner, c.grants, out)
		}
	}
}

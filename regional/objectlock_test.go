package regional_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const lockNS = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`

func lockConfig(rule string) []byte {
	return []byte(`<ObjectLockConfiguration ` + lockNS + `><ObjectLockEnabled>Enabled</ObjectLockEnabled>` + rule + `</ObjectLockConfiguration>`)
}

func retentionBody(mode string, until time.Time) []byte {
	return []byte(fmt.Sprintf(`<Retention %s><Mode>%s</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>`, lockNS, mode, until.UTC().Format(time.RFC3339)))
}

func holdBody(status string) []byte {
	return []byte(`<LegalHold ` + lockNS + `><Status>` + status + `</Status></LegalHold>`)
}

// with merges header maps.
func with(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// putVersion stores a small object with Content-MD5 and lock headers and
// answers its version id.
func (w *world) putVersion(path string, hdr map[string]string) string {
	w.t.Helper()
	body := []byte("locked data " + path)
	code, h, out := w.doResp("PUT", path, body, with(md5Header(body), hdr))
	if code != 200 {
		w.t.Fatalf("PUT %s: %d %s", path, code, out)
	}
	return h.Get("x-amz-version-id")
}

func (w *world) expect(status int, code, method, path string, body []byte, hdr map[string]string) http.Header {
	w.t.Helper()
	got, h, out := w.doResp(method, path, body, hdr)
	if got != status || (code != "" && s3code(out) != code) {
		w.t.Fatalf("%s %s: %d %s, want %d %s\n%s", method, path, got, s3code(out), status, code, out)
	}
	return h
}

// TestObjectLockConfiguration: a bucket created with
// x-amz-bucket-object-lock-enabled is versioned and lock-enabled, its
// versioning cannot be suspended; an existing bucket gets Object Lock only
// once versioned; bad documents answer as S3.
func TestObjectLockConfiguration(t *testing.T) {
	w := newWorld(t)
	w.expect(400, "InvalidArgument", "PUT", "/bad", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "maybe"})
	w.expect(200, "", "PUT", "/locked", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "true"})
	if out := w.mustStatus(200, "GET", "/locked?versioning", nil, nil); !strings.Contains(string(out), "<Status>Enabled</Status>") {
		t.Fatalf("versioning of a lock-enabled bucket: %s", out)
	}
	out := w.mustStatus(200, "GET", "/locked?object-lock", nil, nil)
	if !strings.Contains(string(out), "<ObjectLockEnabled>Enabled</ObjectLockEnabled>") || strings.Contains(string(out), "<Rule>") {
		t.Fatalf("configuration: %s", out)
	}
	suspend := []byte(`<VersioningConfiguration ` + lockNS + `><Status>Suspended</Status></VersioningConfiguration>`)
	w.expect(409, "InvalidBucketState", "PUT", "/locked?versioning", suspend, md5Header(suspend))

	// Default retention: set, read back, bad documents.
	rule := lockConfig(`<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>2</Days></DefaultRetention></Rule>`)
	w.expect(400, "InvalidRequest", "PUT", "/locked?object-lock", rule, nil) // no Content-MD5
	for body, code := range map[string]string{
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`: "MalformedXML",
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>`:                 "InvalidArgument",
		`<ObjectLockConfiguration/>`: "MalformedXML",
		`<ObjectLockConfiguration>`:  "MalformedXML",
	} {
		w.expect(400, code, "PUT", "/locked?object-lock", []byte(body), md5Header([]byte(body)))
	}
	w.expect(200, "", "PUT", "/locked?object-lock", rule, md5Header(rule))
	out = w.mustStatus(200, "GET", "/locked?object-lock", nil, nil)
	var doc struct {
		Enabled string `xml:"ObjectLockEnabled"`
		Mode    string `xml:"Rule>DefaultRetention>Mode"`
		Days    int    `xml:"Rule>DefaultRetention>Days"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil || doc.Enabled != "Enabled" || doc.Mode != "GOVERNANCE" || doc.Days != 2 {
		t.Fatalf("configuration with a rule: %s", out)
	}

	// An existing bucket: 404 before, 409 while unversioned, then enabled.
	w.mustStatus(200, "PUT", "/plain", nil, nil)
	w.expect(404, "ObjectLockConfigurationNotFoundError", "GET", "/plain?object-lock", nil, nil)
	enable := lockConfig("")
	w.expect(409, "InvalidBucketState", "PUT", "/plain?object-lock", enable, md5Header(enable))
	// Lock headers and lock operations on a bucket without Object Lock.
	w.expect(400, "InvalidRequest", "PUT", "/plain/o", []byte("x"), map[string]string{"x-amz-object-lock-legal-hold": "ON"})
	w.mustStatus(200, "PUT", "/plain/o", []byte("x"), nil)
	w.expect(400, "InvalidRequest", "GET", "/plain/o?retention", nil, nil)
	w.expect(400, "InvalidRequest", "PUT", "/plain/o?legal-hold", holdBody("ON"), md5Header(holdBody("ON")))
	versioning := []byte(`<VersioningConfiguration ` + lockNS + `><Status>Enabled</Status></VersioningConfiguration>`)
	w.mustStatus(200, "PUT", "/plain?versioning", versioning, md5Header(versioning))
	w.expect(200, "", "PUT", "/plain?object-lock", enable, md5Header(enable))
	w.expect(409, "InvalidBucketState", "PUT", "/plain?versioning", suspend, md5Header(suspend))
}

// TestObjectLockVersions: retention and legal hold from headers, the
// bucket default, Put/GetObjectRetention and Put/GetObjectLegalHold, and the
// deletes they refuse (403 AccessDenied) or allow (bypass by the owner).
func TestObjectLockVersions(t *testing.T) {
	w := newWorld(t)
	w.expect(200, "", "PUT", "/wormb", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "true"})
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	untilS := until.Format("2006-01-02T15:04:05.000Z")
	comp := map[string]string{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": until.Format(time.RFC3339)}
	gov := map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": until.Format(time.RFC3339)}
	bypass := map[string]string{"x-amz-bypass-governance-retention": "true"}

	// Header validation, and the integrity header S3 requires.
	w.expect(400, "InvalidArgument", "PUT", "/wormb/k", []byte("x"), with(md5Header([]byte("x")), map[string]string{"x-amz-object-lock-mode": "COMPLIANCE"}))
	w.expect(400, "InvalidArgument", "PUT", "/wormb/k", []byte("x"), with(md5Header([]byte("x")), map[string]string{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": "2001-01-01T00:00:00Z"}))
	w.expect(400, "InvalidArgument", "PUT", "/wormb/k", []byte("x"), with(md5Header([]byte("x")), map[string]string{"x-amz-object-lock-legal-hold": "yes"}))
	w.expect(400, "InvalidRequest", "PUT", "/wormb/k", []byte("x"), comp) // neither Content-MD5 nor a checksum

	c := w.putVersion("/wormb/k", comp)
	g := w.putVersion("/wormb/k", gov)
	f := w.putVersion("/wormb/k", nil)
	h := w.expect(200, "", "HEAD", "/wormb/k?versionId="+c, nil, nil)
	if h.Get("x-amz-object-lock-mode") != "COMPLIANCE" || h.Get("x-amz-object-lock-retain-until-date") != untilS || h.Get("x-amz-object-lock-legal-hold") != "" {
		t.Fatalf("HEAD lock headers: %v", h)
	}
	out := w.mustStatus(200, "GET", "/wormb/k?retention&versionId="+g, nil, nil)
	if !strings.Contains(string(out), "<Mode>GOVERNANCE</Mode>") || !strings.Contains(string(out), "<RetainUntilDate>"+untilS+"</RetainUntilDate>") {
		t.Fatalf("GetObjectRetention: %s", out)
	}
	w.expect(404, "NoSuchObjectLockConfiguration", "GET", "/wormb/k?retention&versionId="+f, nil, nil)
	w.expect(404, "NoSuchObjectLockConfiguration", "GET", "/wormb/k?legal-hold&versionId="+f, nil, nil)

	// Deletes of locked versions: 403; COMPLIANCE even with the bypass.
	w.expect(403, "AccessDenied", "DELETE", "/wormb/k?versionId="+c, nil, nil)
	w.expect(403, "AccessDenied", "DELETE", "/wormb/k?versionId="+c, nil, bypass)
	w.expect(403, "AccessDenied", "DELETE", "/wormb/k?versionId="+g, nil, nil)
	del := []byte(fmt.Sprintf(`<Delete><Object><Key>k</Key><VersionId>%s</VersionId></Object><Object><Key>k</Key><VersionId>%s</VersionId></Object></Delete>`, c, g))
	out = w.mustStatus(200, "POST", "/wormb?delete", del, md5Header(del))
	if strings.Count(string(out), "<Code>AccessDenied</Code>") != 2 || strings.Contains(string(out), "<Deleted>") {
		t.Fatalf("DeleteObjects of locked versions: %s", out)
	}
	// Still readable.
	if out := w.mustStatus(200, "GET", "/wormb/k?versionId="+c, nil, nil); !strings.HasPrefix(string(out), "locked data") {
		t.Fatalf("locked version read: %s", out)
	}
	// A plain DELETE adds a marker.
	if h := w.expect(204, "", "DELETE", "/wormb/k", nil, nil); h.Get("x-amz-delete-marker") != "true" {
		t.Fatalf("plain delete: %v", h)
	}
	// Retention changes: COMPLIANCE only extends; GOVERNANCE shortens with the bypass.
	r := retentionBody("COMPLIANCE", until.Add(-time.Minute))
	w.expect(403, "AccessDenied", "PUT", "/wormb/k?retention&versionId="+c, r, with(md5Header(r), bypass))
	r = retentionBody("COMPLIANCE", until.Add(time.Minute))
	w.expect(200, "", "PUT", "/wormb/k?retention&versionId="+c, r, md5Header(r))
	r = retentionBody("GOVERNANCE", time.Now().Add(time.Second))
	w.expect(403, "AccessDenied", "PUT", "/wormb/k?retention&versionId="+g, r, md5Header(r))
	empty := []byte(`<Retention ` + lockNS + `/>`)
	w.expect(403, "AccessDenied", "PUT", "/wormb/k?retention&versionId="+g, empty, md5Header(empty))
	w.expect(200, "", "PUT", "/wormb/k?retention&versionId="+g, empty, with(md5Header(empty), bypass))
	w.expect(204, "", "DELETE", "/wormb/k?versionId="+g, nil, nil)
	w.expect(404, "NoSuchVersion", "GET", "/wormb/k?versionId="+g, nil, nil)

	// Legal hold on/off.
	w.expect(200, "", "PUT", "/wormb/k?legal-hold&versionId="+f, holdBody("ON"), md5Header(holdBody("ON")))
	if out := w.mustStatus(200, "GET", "/wormb/k?legal-hold&versionId="+f, nil, nil); !strings.Contains(string(out), "<Status>ON</Status>") {
		t.Fatalf("legal hold: %s", out)
	}
	w.expect(403, "AccessDenied", "DELETE", "/wormb/k?versionId="+f, nil, bypass)
	w.expect(400, "MalformedXML", "PUT", "/wormb/k?legal-hold&versionId="+f, holdBody("on"), md5Header(holdBody("on")))
	w.expect(200, "", "PUT", "/wormb/k?legal-hold&versionId="+f, holdBody("OFF"), md5Header(holdBody("OFF")))
	w.expect(204, "", "DELETE", "/wormb/k?versionId="+f, nil, nil)

	// A GOVERNANCE version goes with the owner's bypass.
	g2 := w.putVersion("/wormb/g2", gov)
	w.expect(204, "", "DELETE", "/wormb/g2?versionId="+g2, nil, bypass)

	// The bucket default applies to a version written without headers (a
	// PUT and a multipart upload), counted from its Last-Modified.
	rule := lockConfig(`<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>`)
	w.mustStatus(200, "PUT", "/wormb?object-lock", rule, md5Header(rule))
	w.expect(400, "InvalidRequest", "PUT", "/wormb/d", []byte("x"), nil)
	d := w.putVersion("/wormb/d", nil)
	h = w.expect(200, "", "HEAD", "/wormb/d?versionId="+d, nil, nil)
	lm, _ := http.ParseTime(h.Get("Last-Modified"))
	du, err := time.Parse(time.RFC3339, h.Get("x-amz-object-lock-retain-until-date"))
	if h.Get("x-amz-object-lock-mode") != "GOVERNANCE" || err != nil || du.Sub(lm) < 24*time.Hour || du.Sub(lm) > 24*time.Hour+time.Second {
		t.Fatalf("default retention: %v (last-modified %v)", h, lm)
	}
	w.expect(403, "AccessDenied", "DELETE", "/wormb/d?versionId="+d, nil, nil)
	out = w.mustStatus(200, "POST", "/wormb/mp?uploads", nil, map[string]string{"x-amz-object-lock-legal-hold": "ON"})
	var init struct {
		UploadID string `xml:"UploadId"`
	}
	_ = xml.Unmarshal(out, &init)
	_, ph, _ := w.doResp("PUT", "/wormb/mp?partNumber=1&uploadId="+init.UploadID, []byte("part"), nil)
	complete := []byte(fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>`, ph.Get("ETag")))
	ch := w.expect(200, "", "POST", "/wormb/mp?uploadId="+init.UploadID, complete, nil)
	h = w.expect(200, "", "HEAD", "/wormb/mp?versionId="+ch.Get("x-amz-version-id"), nil, nil)
	if h.Get("x-amz-object-lock-mode") != "GOVERNANCE" || h.Get("x-amz-object-lock-legal-hold") != "ON" {
		t.Fatalf("multipart lock: %v", h)
	}
}

// TestObjectLockBypassPermission: the governance bypass needs
// s3:BypassGovernanceRetention as the authorization engine decides it — a
// second account granted DeleteObjectVersion by policy cannot bypass
// without it and can with it; a policy Deny binds the owner too. COMPLIANCE
// ignores the permission.
func TestObjectLockBypassPermission(t *testing.T) {
	w := newWorld(t)
	other := w.secondAccount()
	k, _ := w.catalog.LookupAccessKey(context.Background(), "AKIDSECONDACCOUNT")
	w.expect(200, "", "PUT", "/bypass", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "true"})
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	gov := map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": until}
	bypass := map[string]string{"x-amz-bypass-governance-retention": "true"}
	policy := func(stmts ...string) []byte {
		return []byte(`{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`)
	}
	partner := `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + k.AccountID + `:root"},"Action":["s3:DeleteObjectVersion","s3:GetObject"],"Resource":"arn:aws:s3:::bypass/*"}`
	partnerBypass := `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + k.AccountID + `:root"},"Action":"s3:BypassGovernanceRetention","Resource":"arn:aws:s3:::bypass/*"}`
	denyAll := `{"Effect":"Deny","Principal":"*","Action":"s3:BypassGovernanceRetention","Resource":"arn:aws:s3:::bypass/*"}`

	v1 := w.putVersion("/bypass/a", gov)
	w.mustStatus(204, "PUT", "/bypass?policy", policy(partner), nil)
	if code, out := w.doAs(other, "DELETE", "/bypass/a?versionId="+v1, nil, bypass); code != 403 || s3code(out) != "AccessDenied" {
		t.Fatalf("bypass without the permission: %d %s", code, out)
	}
	w.mustStatus(204, "PUT", "/bypass?policy", policy(partner, partnerBypass), nil)
	if code, out := w.doAs(other, "DELETE", "/bypass/a?versionId="+v1, nil, bypass); code != 204 {
		t.Fatalf("bypass with the permission: %d %s", code, out)
	}
	c := w.putVersion("/bypass/c", map[string]string{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": until})
	if code, out := w.doAs(other, "DELETE", "/bypass/c?versionId="+c, nil, bypass); code != 403 {
		t.Fatalf("compliance with the bypass permission: %d %s", code, out)
	}
	// Lock headers: written only with s3:PutObjectRetention /
	// s3:PutObjectLegalHold, shown only with s3:GetObjectRetention /
	// s3:GetObjectLegalHold.
	writer := `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + k.AccountID + `:root"},"Action":["s3:PutObject","s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::bypass/*"}`
	w.mustStatus(204, "PUT", "/bypass?policy", policy(writer), nil)
	body := []byte("by the partner")
	if code, out := w.doAs(other, "PUT", "/bypass/p", body, with(md5Header(body), gov)); code != 403 || s3code(out) != "AccessDenied" {
		t.Fatalf("lock headers without s3:PutObjectRetention: %d %s", code, out)
	}
	if code, out := w.doAs(other, "PUT", "/bypass/p", body, with(md5Header(body), map[string]string{"x-amz-object-lock-legal-hold": "ON"})); code != 403 {
		t.Fatalf("legal hold header without s3:PutObjectLegalHold: %d %s", code, out)
	}
	if code, h, out := w.doFull(other, "HEAD", "/bypass/c?versionId="+c, nil, nil); code != 200 || h.Get("x-amz-object-lock-mode") != "" {
		t.Fatalf("HEAD without s3:GetObjectRetention: %d %v %s", code, h, out)
	}
	lockRights := `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + k.AccountID + `:root"},"Action":["s3:PutObjectRetention","s3:GetObjectRetention"],"Resource":"arn:aws:s3:::bypass/*"}`
	w.mustStatus(204, "PUT", "/bypass?policy", policy(writer, lockRights), nil)
	if code, out := w.doAs(other, "PUT", "/bypass/p", body, with(md5Header(body), gov)); code != 200 {
		t.Fatalf("lock headers with s3:PutObjectRetention: %d %s", code, out)
	}
	if code, h, out := w.doFull(other, "HEAD", "/bypass/c?versionId="+c, nil, nil); code != 200 || h.Get("x-amz-object-lock-mode") != "COMPLIANCE" {
		t.Fatalf("HEAD with s3:GetObjectRetention: %d %v %s", code, h, out)
	}

	// A Deny binds the owner.
	v2 := w.putVersion("/bypass/b", gov)
	w.mustStatus(204, "PUT", "/bypass?policy", policy(denyAll), nil)
	w.expect(403, "AccessDenied", "DELETE", "/bypass/b?versionId="+v2, nil, bypass)
	w.mustStatus(204, "DELETE", "/bypass?policy", nil, nil)
	w.expect(204, "", "DELETE", "/bypass/b?versionId="+v2, nil, bypass)
}

// TestObjectLockKeepsShards: a locked version stored in shards keeps every
// shard through refused deletes, a delete marker and the background
// reclaimer's passes (it reclaims only garbage, which a protected record
// never becomes), and stays readable; once its retention is lifted
// (GOVERNANCE, with the bypass) a delete reclaims them.
func TestObjectLockKeepsShards(t *testing.T) {
	w := newWorld(t)
	w.expect(200, "", "PUT", "/shards", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "true"})
	body := random(300 << 10) // above the inline threshold: erasure-coded shards
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	_, h, out := w.doResp("PUT", "/shards/big", body, with(md5Header(body),
		map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": until}))
	v := h.Get("x-amz-version-id")
	if v == "" {
		t.Fatalf("PUT: %s", out)
	}
	stored := w.store.Count()
	if stored == 0 {
		t.Fatal("the version has no shards")
	}
	w.expect(403, "AccessDenied", "DELETE", "/shards/big?versionId="+v, nil, nil)
	w.expect(204, "", "DELETE", "/shards/big", nil, nil) // a marker
	time.Sleep(500 * time.Millisecond)                   // ten reclaimer intervals
	w.settle(stored)
	if got := w.mustStatus(200, "GET", "/shards/big?versionId="+v, nil, nil); string(got) != string(body) {
		t.Fatal("the locked version does not read back whole")
	}
	w.expect(204, "", "DELETE", "/shards/big?versionId="+v, nil, map[string]string{"x-amz-bypass-governance-retention": "true"})
	w.settle(0)
}

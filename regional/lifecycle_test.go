package regional_test

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/regional"
)

func md5Header(b []byte) map[string]string {
	sum := md5.Sum(b)
	return map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}
}

const lcDoc = `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
	`<Rule><ID>logs-7d</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>7</Days></Expiration></Rule>` +
	`<Rule><ID>uploads</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>` +
	`</LifecycleConfiguration>`

// TestLifecycleConfigurationAPI: Put/Get/Delete round trip through the
// catalog; a rejected document stores nothing and leaves the previous
// configuration; the integrity check S3 requires; x-amz-expiration on
// PUT, GET and HEAD of objects a rule will expire, and only those.
func TestLifecycleConfigurationAPI(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/lcbucket", nil, nil)
	if code, out := w.do("GET", "/lcbucket?lifecycle", nil, nil); code != 404 || s3code(out) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("GET before put: %d %s", code, out)
	}
	body := []byte(lcDoc)
	// The integrity check is required, and checked.
	if code, out := w.do("PUT", "/lcbucket?lifecycle", body, nil); code != 400 || s3code(out) != "InvalidRequest" || !strings.Contains(string(out), "Content-MD5") {
		t.Fatalf("PUT without Content-MD5: %d %s", code, out)
	}
	if code, out := w.do("PUT", "/lcbucket?lifecycle", body, md5Header([]byte("other"))); code != 400 || s3code(out) != "BadDigest" {
		t.Fatalf("PUT with a wrong Content-MD5: %d %s", code, out)
	}
	if code, _ := w.do("GET", "/lcbucket?lifecycle", nil, nil); code != 404 {
		t.Fatalf("a refused PUT stored a configuration (GET %d)", code)
	}
	w.mustStatus(200, "PUT", "/lcbucket?lifecycle", body, md5Header(body))
	got := string(w.mustStatus(200, "GET", "/lcbucket?lifecycle", nil, nil))
	for _, want := range []string{"<ID>logs-7d</ID>", "<Prefix>logs/</Prefix>", "<Days>7</Days>", "<DaysAfterInitiation>2</DaysAfterInitiation>", "<Filter></Filter>"} {
		if !strings.Contains(got, want) {
			t.Errorf("GET lacks %s:\n%s", want, got)
		}
	}

	// Bad documents answer AWS's errors and leave the stored one.
	bad := []struct{ body, code string }{
		{`<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule></LifecycleConfiguration>`, "InvalidArgument"},
		{`<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T05:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>`, "InvalidArgument"},
		{`<LifecycleConfiguration><Rule><Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`, "MalformedXML"},
		{`<LifecycleConfiguration/>`, "MalformedXML"},
		{`not xml`, "MalformedXML"},
	}
	for _, b := range bad {
		code, out := w.do("PUT", "/lcbucket?lifecycle", []byte(b.body), md5Header([]byte(b.body)))
		if code != 400 || s3code(out) != b.code {
			t.Errorf("PUT %s: %d %s, want 400 %s", b.body, code, out, b.code)
		}
	}
	if again := string(w.mustStatus(200, "GET", "/lcbucket?lifecycle", nil, nil)); again != got {
		t.Fatalf("a refused PUT changed the configuration:\n%s\nwas\n%s", again, got)
	}

	// x-amz-expiration on objects a rule will expire.
	code, h, out := w.doResp("PUT", "/lcbucket/logs/a", []byte("x"), nil)
	if code != 200 {
		t.Fatalf("PUT: %d %s", code, out)
	}
	exp := h.Get("x-amz-expiration")
	if !strings.HasPrefix(exp, `expiry-date="`) || !strings.HasSuffix(exp, `GMT", rule-id="logs-7d"`) {
		t.Fatalf("PUT x-amz-expiration = %q", exp)
	}
	date, _ := time.Parse(`expiry-date="Mon, 02 Jan 2006 15:04:05 GMT", rule-id="logs-7d"`, exp)
	if want := time.Now().UTC().Add(7 * 24 * time.Hour); date.Before(want) || date.After(want.Add(24*time.Hour)) || date.Hour() != 0 {
		t.Fatalf("expiry %v: want the midnight after %v", date, want)
	}
	for _, m := range []string{"GET", "HEAD"} {
		if _, h, _ := w.doResp(m, "/lcbucket/logs/a", nil, nil); h.Get("x-amz-expiration") != exp {
			t.Errorf("%s x-amz-expiration = %q, want %q", m, h.Get("x-amz-expiration"), exp)
		}
	}
	if _, h, _ := w.doResp("PUT", "/lcbucket/other", []byte("x"), nil); h.Get("x-amz-expiration") != "" {
		t.Errorf("an object no rule expires has x-amz-expiration %q", h.Get("x-amz-expiration"))
	}

	// Delete: 204, then 404 on GET; a second delete is 204 too.
	w.mustStatus(204, "DELETE", "/lcbucket?lifecycle", nil, nil)
	if code, out := w.do("GET", "/lcbucket?lifecycle", nil, nil); code != 404 || s3code(out) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("GET after delete: %d %s", code, out)
	}
	w.mustStatus(204, "DELETE", "/lcbucket?lifecycle", nil, nil)
	if _, h, _ := w.doResp("HEAD", "/lcbucket/logs/a", nil, nil); h.Get("x-amz-expiration") != "" {
		t.Errorf("x-amz-expiration after the configuration was deleted: %q", h.Get("x-amz-expiration"))
	}
	// The bucket checks come first.
	if code, out := w.do("PUT", "/no-such-lc-bucket?lifecycle", body, md5Header(body)); code != 404 || s3code(out) != "NoSuchBucket" {
		t.Fatalf("PUT on a missing bucket: %d %s", code, out)
	}
}

// TestLifecycleExecution: the background janitor (run beside the gateway
// by newWorld) executes enabled rules with a 1 s lifecycle day: expiration
// by days under a prefix, by a past date, by an object tag, a disabled rule
// and objects no rule selects left alone, an incomplete multipart upload aborted and its
// parts' shards reclaimed.
func TestLifecycleExecution(t *testing.T) {
	const day = time.Second
	w := newWorldWith(t, func(c *regional.Config) { c.LifecycleDay = day })
	w.mustStatus(200, "PUT", "/lcexec", nil, nil)
	put := func(key string, n int) { w.mustStatus(200, "PUT", "/lcexec/"+key, random(n), nil) }
	for _, k := range []string{"logs/a", "logs/b", "keep/c", "old/d", "off/e"} {
		put(k, 100)
	}
	put("logs/big", 300<<10) // sharded, so its shards must be reclaimed too
	// Tag filters match real object tags: t=v expires under the "tagged"
	// rule (from the PUT's x-amz-tagging, or set later by
	// PutObjectTagging); t=w and an untagged object do not.
	w.mustStatus(200, "PUT", "/lcexec/tg/match", random(100), map[string]string{"x-amz-tagging": "t=v&other=1"})
	w.mustStatus(200, "PUT", "/lcexec/tg/other-value", random(100), map[string]string{"x-amz-tagging": "t=w"})
	put("tg/later", 100)
	tv := []byte("<Tagging><TagSet><Tag><Key>t</Key><Value>v</Value></Tag></TagSet></Tagging>")
	w.mustStatus(200, "PUT", "/lcexec/tg/later?tagging", tv, md5Header(tv))
	// An incomplete multipart upload with one part.
	out := w.mustStatus(200, "POST", "/lcexec/up/mpu?uploads", nil, nil)
	var init struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(out, &init); err != nil || init.UploadID == "" {
		t.Fatalf("CreateMultipartUpload: %v %s", err, out)
	}
	w.mustStatus(200, "PUT", "/lcexec/up/mpu?partNumber=1&uploadId="+init.UploadID, random(200<<10), nil)
	before := w.store.Count()

	doc := `<LifecycleConfiguration>` +
		`<Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>` +
		`<Rule><ID>old</ID><Filter><Prefix>old/</Prefix></Filter><Status>Enabled</Status><Expiration><Date>2020-01-01T00:00:00Z</Date></Expiration></Rule>` +
		`<Rule><ID>off</ID><Filter><Prefix>off/</Prefix></Filter><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>` +
		`<Rule><ID>tagged</ID><Filter><Tag><Key>t</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>` +
		`<Rule><ID>mpu</ID><Filter><Prefix>up/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>` +
		`</LifecycleConfiguration>`
	w.mustStatus(200, "PUT", "/lcexec?lifecycle", []byte(doc), md5Header([]byte(doc)))
	start := time.Now()

	// x-amz-expiration names the rule and the scaled "midnight".
	_, h, _ := w.doResp("HEAD", "/lcexec/logs/a", nil, nil)
	if !strings.Contains(h.Get("x-amz-expiration"), `rule-id="logs"`) {
		t.Fatalf("x-amz-expiration = %q", h.Get("x-amz-expiration"))
	}
	if _, h, _ := w.doResp("HEAD", "/lcexec/old/d", nil, nil); !strings.Contains(h.Get("x-amz-expiration"), `expiry-date="Wed, 01 Jan 2020 00:00:00 GMT", rule-id="old"`) {
		t.Fatalf("date rule x-amz-expiration = %q", h.Get("x-amz-expiration"))
	}

	gone := func(key string) bool { code, _ := w.do("HEAD", "/lcexec/"+key, nil, nil); return code == 404 }
	deadline := time.Now().Add(20 * time.Second)
	if _, h, _ := w.doResp("HEAD", "/lcexec/tg/match", nil, nil); !strings.Contains(h.Get("x-amz-expiration"), `rule-id="tagged"`) {
		t.Fatalf("tagged object: x-amz-expiration = %q", h.Get("x-amz-expiration"))
	}
	for !(gone("logs/a") && gone("logs/b") && gone("logs/big") && gone("old/d") && gone("tg/match") && gone("tg/later")) {
		if time.Now().After(deadline) {
			t.Fatalf("not expired after 20 s: logs/a %v logs/b %v logs/big %v old/d %v tg/match %v tg/later %v",
				gone("logs/a"), gone("logs/b"), gone("logs/big"), gone("old/d"), gone("tg/match"), gone("tg/later"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Days=2 with a 1 s day: not before 2 s after the PUT, rounded up to a
	// whole "day"; old/d (a past date) may go at once.
	if el := time.Since(start); el < time.Second {
		t.Errorf("logs/ expired %v after the rule: sooner than 2 days (2 s) after its PUT", el)
	}
	for _, k := range []string{"keep/c", "off/e", "tg/other-value"} {
		if gone(k) {
			t.Errorf("%s expired: no enabled rule selects it", k)
		}
	}
	for time.Now().Before(deadline) {
		out := string(w.mustStatus(200, "GET", "/lcexec?uploads", nil, nil))
		if !strings.Contains(out, init.UploadID) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, out := w.do("GET", "/lcexec/up/mpu?uploadId="+init.UploadID, nil, nil); code != 404 || s3code(out) != "NoSuchUpload" {
		t.Fatalf("upload not aborted: ListParts %d %s", code, out)
	}
	// Everything expired or aborted is reclaimed: only keep/c and off/e
	// remain (inline, no shards).
	w.settle(0)
	t.Logf("shards before %d, after 0; expired and aborted in %v", before, time.Since(start).Round(time.Millisecond))
}

// TestLifecycleVersioned: with versioning enabled and a 1 s day, the
// janitor expires a current version by writing a delete marker (the data
// stays as a noncurrent version), deletes noncurrent versions past
// NoncurrentDays beyond the NewerNoncurrentVersions newest, and removes a
// delete marker once it is the key's only version (ExpiredObjectDeleteMarker).
func TestLifecycleVersioned(t *testing.T) {
	w := newWorldWith(t, func(c *regional.Config) { c.LifecycleDay = time.Second })
	w.mustStatus(200, "PUT", "/lcver", nil, nil)
	vc := []byte(`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>`)
	w.mustStatus(200, "PUT", "/lcver?versioning", vc, md5Header(vc))
	for i := 0; i < 3; i++ {
		w.mustStatus(200, "PUT", "/lcver/nc/a", random(100), nil)
	}
	w.mustStatus(200, "PUT", "/lcver/cur/a", random(100), nil)
	w.mustStatus(200, "PUT", "/lcver/mk/a", random(100), nil)
	w.mustStatus(204, "DELETE", "/lcver/mk/a", nil, nil) // a marker over one noncurrent version
	doc := `<LifecycleConfiguration>` +
		`<Rule><ID>nc</ID><Filter><Prefix>nc/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>` +
		`<Rule><ID>cur</ID><Filter><Prefix>cur/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>` +
		`<Rule><ID>mk-nc</ID><Filter><Prefix>mk/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>` +
		`<Rule><ID>mk-marker</ID><Filter><Prefix>mk/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>` +
		`</LifecycleConfiguration>`
	w.mustStatus(200, "PUT", "/lcver?lifecycle", []byte(doc), md5Header([]byte(doc)))

	type entry struct {
		Key      string `xml:"Key"`
		IsLatest bool   `xml:"IsLatest"`
	}
	var list struct {
		Versions []entry `xml:"Version"`
		Markers  []entry `xml:"DeleteMarker"`
	}
	state := func() string {
		list.Versions, list.Markers = nil, nil
		if err := xml.Unmarshal(w.mustStatus(200, "GET", "/lcver?versions", nil, nil), &list); err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, v := range list.Versions {
			count[v.Key+" version"]++
		}
		for _, m := range list.Markers {
			if m.IsLatest {
				count[m.Key+" latest-marker"]++
			} else {
				count[m.Key+" marker"]++
			}
		}
		return fmt.Sprint(count)
	}
	// nc/a keeps its current and one noncurrent version; cur/a gets a
	// latest delete marker over its data; mk/a loses its noncurrent version
	// and then its marker.
	want := fmt.Sprint(map[string]int{"nc/a version": 2, "cur/a version": 1, "cur/a latest-marker": 1})
	deadline := time.Now().Add(30 * time.Second)
	for got := state(); got != want; got = state() {
		if time.Now().After(deadline) {
			t.Fatalf("versions after 30 s: %s, want %s", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _ := w.do("GET", "/lcver/cur/a", nil, nil); code != 404 {
		t.Fatalf("GET of an expired current version: %d, want 404 (delete marker)", code)
	}
}

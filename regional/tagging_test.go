package regional_test

import (
	"encoding/xml"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3checksum"
)

func taggingBody(kv ...string) []byte {
	var b strings.Builder
	b.WriteString("<Tagging><TagSet>")
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", kv[i], kv[i+1])
	}
	b.WriteString("</TagSet></Tagging>")
	return []byte(b.String())
}

func nTags(n int) []string {
	var kv []string
	for i := range n {
		kv = append(kv, fmt.Sprintf("k%d", i), "v")
	}
	return kv
}

// tagsOf parses a Tagging document into a map.
func tagsOf(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var doc struct {
		Tags []struct{ Key, Value string } `xml:"TagSet>Tag"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("Tagging document: %v: %s", err, body)
	}
	out := map[string]string{}
	for _, tg := range doc.Tags {
		out[tg.Key] = tg.Value
	}
	return out
}

type tagCase struct {
	name         string
	method, path string
	body         []byte
	hdr          map[string]string
	md5          bool // add Content-MD5 of body
	status       int
	code         string            // S3 error code, when status ≥ 300
	tags         map[string]string // the object's (or bucket's) tags after the request, read back with GET ?tagging
	tagsPath     string            // where to read them ("" = path)
	header       map[string]string // response headers that must be present ("" = absent)
}

func runTagCases(t *testing.T, w *world, cases []tagCase) {
	t.Helper()
	for _, tc := range cases {
		hdr := map[string]string{}
		for k, v := range tc.hdr {
			hdr[k] = v
		}
		if tc.md5 {
			for k, v := range md5Header(tc.body) {
				hdr[k] = v
			}
		}
		code, h, out := w.doResp(tc.method, tc.path, tc.body, hdr)
		if code != tc.status || (tc.code != "" && s3code(out) != tc.code) {
			t.Fatalf("%s: %s %s: %d %s, want %d %s\n%s", tc.name, tc.method, tc.path, code, s3code(out), tc.status, tc.code, out)
		}
		for k, v := range tc.header {
			if got := h.Get(k); got != v {
				t.Errorf("%s: header %s = %q, want %q", tc.name, k, got, v)
			}
		}
		if tc.tags != nil {
			p := tc.tagsPath
			if p == "" {
				p = tc.path
			}
			if got := tagsOf(t, w.mustStatus(200, "GET", p, nil, nil)); !reflect.DeepEqual(got, tc.tags) {
				t.Errorf("%s: tags %v, want %v", tc.name, got, tc.tags)
			}
		}
	}
}

// TestObjectTagging: Put/Get/DeleteObjectTagging, x-amz-tagging on
// PutObject and CreateMultipartUpload, x-amz-tagging-count, the limits and
// S3's error codes; a refused request changes nothing.
func TestObjectTagging(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/tags", nil, nil)
	long := strings.Repeat("é", 128) // 128 characters, 256 bytes
	none := map[string]string{}
	ab := map[string]string{"a": "1", "b": "two words"}
	cases := []tagCase{
		{name: "put object with tags", method: "PUT", path: "/tags/k", body: []byte("data"), hdr: map[string]string{"x-amz-tagging": "a=1&b=two%20words"},
			status: 200, tags: ab, tagsPath: "/tags/k?tagging"},
		{name: "head counts tags", method: "HEAD", path: "/tags/k", status: 200, header: map[string]string{"x-amz-tagging-count": "2"}},
		{name: "get counts tags", method: "GET", path: "/tags/k", status: 200, header: map[string]string{"x-amz-tagging-count": "2"}},
		{name: "put tagging", method: "PUT", path: "/tags/k?tagging", body: taggingBody("x", "1", "y", "", "z", "a b+-=._:/@"), md5: true,
			status: 200, tags: map[string]string{"x": "1", "y": "", "z": "a b+-=._:/@"}, header: map[string]string{"x-amz-version-id": ""}},
		{name: "unicode lengths count characters", method: "PUT", path: "/tags/k?tagging", body: taggingBody(long, strings.Repeat("ü", 256)), md5: true,
			status: 200, tags: map[string]string{long: strings.Repeat("ü", 256)}},
		{name: "no integrity header", method: "PUT", path: "/tags/k?tagging", body: taggingBody("a", "1"), status: 400, code: "InvalidRequest"},
		{name: "wrong Content-MD5", method: "PUT", path: "/tags/k?tagging", body: taggingBody("a", "1"), hdr: md5Header([]byte("x")), status: 400, code: "BadDigest"},
		{name: "eleven tags", method: "PUT", path: "/tags/k?tagging", body: taggingBody(nTags(11)...), md5: true, status: 400, code: "InvalidTag"},
		{name: "ten tags", method: "PUT", path: "/tags/k?tagging", body: taggingBody(nTags(10)...), md5: true, status: 200},
		{name: "duplicate keys", method: "PUT", path: "/tags/k?tagging", body: taggingBody("a", "1", "a", "2"), md5: true, status: 400, code: "InvalidTag"},
		{name: "key too long", method: "PUT", path: "/tags/k?tagging", body: taggingBody(long+"x", "1"), md5: true, status: 400, code: "InvalidTag"},
		{name: "value too long", method: "PUT", path: "/tags/k?tagging", body: taggingBody("a", strings.Repeat("v", 257)), md5: true, status: 400, code: "InvalidTag"},
		{name: "bad key character", method: "PUT", path: "/tags/k?tagging", body: taggingBody("a*b", "1"), md5: true, status: 400, code: "InvalidTag"},
		{name: "bad value character", method: "PUT", path: "/tags/k?tagging", body: taggingBody("a", "1;"), md5: true, status: 400, code: "InvalidTag"},
		{name: "empty key", method: "PUT", path: "/tags/k?tagging", body: taggingBody("", "1"), md5: true, status: 400, code: "InvalidTag"},
		{name: "aws: prefix", method: "PUT", path: "/tags/k?tagging", body: taggingBody("aws:created", "1"), md5: true, status: 400, code: "InvalidTag"},
		{name: "not XML", method: "PUT", path: "/tags/k?tagging", body: []byte("<Tagging><TagSet>"), md5: true, status: 400, code: "MalformedXML"},
		{name: "no TagSet", method: "PUT", path: "/tags/k?tagging", body: []byte("<Tagging></Tagging>"), md5: true, status: 400, code: "MalformedXML"},
		{name: "tag without value", method: "PUT", path: "/tags/k?tagging", body: []byte("<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>"), md5: true, status: 400, code: "MalformedXML"},
		{name: "refusals changed nothing", method: "GET", path: "/tags/k?tagging", status: 200, tags: tagsOfN(10)},
		{name: "header: eleven tags", method: "PUT", path: "/tags/k2", body: []byte("x"), hdr: map[string]string{"x-amz-tagging": strings.Repeat("a", 0) + "k0=v&k1=v&k2=v&k3=v&k4=v&k5=v&k6=v&k7=v&k8=v&k9=v&k10=v"}, status: 400, code: "BadRequest"},
		{name: "header: duplicate key", method: "PUT", path: "/tags/k2", body: []byte("x"), hdr: map[string]string{"x-amz-tagging": "a=1&a=2"}, status: 400, code: "InvalidArgument"},
		{name: "header: bad escape", method: "PUT", path: "/tags/k2", body: []byte("x"), hdr: map[string]string{"x-amz-tagging": "a=%zz"}, status: 400, code: "InvalidArgument"},
		{name: "header: aws: prefix", method: "PUT", path: "/tags/k2", body: []byte("x"), hdr: map[string]string{"x-amz-tagging": "aws%3Ax=1"}, status: 400, code: "InvalidTag"},
		{name: "refused PUT stored nothing", method: "GET", path: "/tags/k2", status: 404, code: "NoSuchKey"},
		{name: "delete tagging", method: "DELETE", path: "/tags/k?tagging", status: 204, tags: none, tagsPath: "/tags/k?tagging"},
		{name: "no tags, no count", method: "HEAD", path: "/tags/k", status: 200, header: map[string]string{"x-amz-tagging-count": ""}},
		{name: "object still there", method: "GET", path: "/tags/k", status: 200},
		{name: "missing key", method: "PUT", path: "/tags/missing?tagging", body: taggingBody("a", "1"), md5: true, status: 404, code: "NoSuchKey"},
		{name: "missing key delete", method: "DELETE", path: "/tags/missing?tagging", status: 404, code: "NoSuchKey"},
	}
	runTagCases(t, w, cases)

	// Multipart: x-amz-tagging at create, given to the object at Complete.
	_, _, out := w.doResp("POST", "/tags/mp?uploads", nil, map[string]string{"x-amz-tagging": "mp=yes"})
	var init struct{ UploadId string }
	if err := xml.Unmarshal(out, &init); err != nil || init.UploadId == "" {
		t.Fatalf("create upload: %v %s", err, out)
	}
	_, h, _ := w.doResp("PUT", "/tags/mp?partNumber=1&uploadId="+init.UploadId, []byte("part"), nil)
	complete := fmt.Sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>", h.Get("ETag"))
	w.mustStatus(200, "POST", "/tags/mp?uploadId="+init.UploadId, []byte(complete), nil)
	if got := tagsOf(t, w.mustStatus(200, "GET", "/tags/mp?tagging", nil, nil)); !reflect.DeepEqual(got, map[string]string{"mp": "yes"}) {
		t.Errorf("multipart object tags: %v", got)
	}
}

func tagsOfN(n int) map[string]string {
	out := map[string]string{}
	for i := range n {
		out[fmt.Sprintf("k%d", i)] = "v"
	}
	return out
}

// TestObjectTaggingVersions: ?versionId names the version whose tags are
// read or changed (x-amz-version-id answers it); a delete marker is 404 as
// the newest record and 405 when named.
func TestObjectTaggingVersions(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/tagv", nil, nil)
	enable := []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)
	w.mustStatus(200, "PUT", "/tagv?versioning", enable, md5Header(enable))
	_, h1, _ := w.doResp("PUT", "/tagv/k", []byte("one"), map[string]string{"x-amz-tagging": "v=1"})
	_, h2, _ := w.doResp("PUT", "/tagv/k", []byte("two"), map[string]string{"x-amz-tagging": "v=2"})
	v1, v2 := h1.Get("x-amz-version-id"), h2.Get("x-amz-version-id")
	if v1 == "" || v2 == "" || v1 == v2 {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	runTagCases(t, w, []tagCase{
		{name: "current", method: "GET", path: "/tagv/k?tagging", status: 200, tags: map[string]string{"v": "2"}, header: map[string]string{"x-amz-version-id": v2}},
		{name: "named", method: "GET", path: "/tagv/k?tagging&versionId=" + v1, status: 200, tags: map[string]string{"v": "1"}, header: map[string]string{"x-amz-version-id": v1}},
		{name: "put named", method: "PUT", path: "/tagv/k?tagging&versionId=" + v1, body: taggingBody("old", "x"), md5: true, status: 200,
			header: map[string]string{"x-amz-version-id": v1}, tags: map[string]string{"old": "x"}, tagsPath: "/tagv/k?tagging&versionId=" + v1},
		{name: "current untouched", method: "GET", path: "/tagv/k?tagging", status: 200, tags: map[string]string{"v": "2"}},
		{name: "delete named", method: "DELETE", path: "/tagv/k?tagging&versionId=" + v2, status: 204, header: map[string]string{"x-amz-version-id": v2},
			tags: map[string]string{}, tagsPath: "/tagv/k?tagging"},
		{name: "absent version", method: "GET", path: "/tagv/k?tagging&versionId=AAAAAAAAAAAAAAAA", status: 404, code: "NoSuchVersion"},
	})
	_, hd, _ := w.doResp("DELETE", "/tagv/k", nil, nil)
	marker := hd.Get("x-amz-version-id")
	runTagCases(t, w, []tagCase{
		{name: "newest is a marker", method: "GET", path: "/tagv/k?tagging", status: 404, code: "NoSuchKey"},
		{name: "put on newest marker", method: "PUT", path: "/tagv/k?tagging", body: taggingBody("a", "1"), md5: true, status: 404, code: "NoSuchKey"},
		{name: "named marker", method: "GET", path: "/tagv/k?tagging&versionId=" + marker, status: 405, code: "MethodNotAllowed"},
		{name: "old version still tagged", method: "GET", path: "/tagv/k?tagging&versionId=" + v1, status: 200, tags: map[string]string{"old": "x"}},
	})
}

// TestBucketTagging: Put/Get/DeleteBucketTagging stored in the catalog;
// NoSuchTagSet without tags; the 50-tag limit and the reserved prefix.
func TestBucketTagging(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/btags", nil, nil)
	runTagCases(t, w, []tagCase{
		{name: "none yet", method: "GET", path: "/btags?tagging", status: 404, code: "NoSuchTagSet"},
		{name: "put", method: "PUT", path: "/btags?tagging", body: taggingBody("env", "prod", "team", "s3"), md5: true, status: 204,
			tags: map[string]string{"env": "prod", "team": "s3"}, tagsPath: "/btags?tagging"},
		{name: "fifty", method: "PUT", path: "/btags?tagging", body: taggingBody(nTags(50)...), md5: true, status: 204, tags: tagsOfN(50), tagsPath: "/btags?tagging"},
		{name: "fifty-one", method: "PUT", path: "/btags?tagging", body: taggingBody(nTags(51)...), md5: true, status: 400, code: "InvalidTag"},
		{name: "aws: prefix", method: "PUT", path: "/btags?tagging", body: taggingBody("aws:x", "1"), md5: true, status: 400, code: "InvalidTag"},
		{name: "duplicate", method: "PUT", path: "/btags?tagging", body: taggingBody("a", "1", "a", "1"), md5: true, status: 400, code: "InvalidTag"},
		{name: "no integrity header", method: "PUT", path: "/btags?tagging", body: taggingBody("a", "1"), status: 400, code: "InvalidRequest"},
		{name: "refusals changed nothing", method: "GET", path: "/btags?tagging", status: 200, tags: tagsOfN(50)},
		{name: "missing bucket", method: "GET", path: "/no-such-btags?tagging", status: 404, code: "NoSuchBucket"},
		{name: "delete", method: "DELETE", path: "/btags?tagging", status: 204},
		{name: "deleted", method: "GET", path: "/btags?tagging", status: 404, code: "NoSuchTagSet"},
		{name: "delete again", method: "DELETE", path: "/btags?tagging", status: 204},
	})
}

// TestChecksums: every algorithm round-trips on PutObject and GET/HEAD with
// x-amz-checksum-mode; a wrong checksum is BadDigest and stores nothing;
// multipart COMPOSITE and FULL_OBJECT checksums; GetObjectAttributes.
func TestChecksums(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/cks", nil, nil)
	mode := map[string]string{"x-amz-checksum-mode": "ENABLED"}
	for _, size := range []int{1000, 300 << 10} { // inline and sharded
		data := random(size)
		for _, a := range s3checksum.Algorithms() {
			name := s3checksum.HeaderName(a)
			key := fmt.Sprintf("/cks/%s-%d", a, size)
			want := s3checksum.Sum(a, data)
			code, h, out := w.doResp("PUT", key, data, map[string]string{name: want})
			if code != 200 || h.Get(name) != want || h.Get("x-amz-checksum-type") != "FULL_OBJECT" {
				t.Fatalf("PUT %s: %d %s=%q type %q %s", key, code, name, h.Get(name), h.Get("x-amz-checksum-type"), out)
			}
			for _, m := range []string{"GET", "HEAD"} {
				if _, h, _ := w.doResp(m, key, nil, mode); h.Get(name) != want || h.Get("x-amz-checksum-type") != "FULL_OBJECT" {
					t.Errorf("%s %s with checksum mode: %s=%q", m, key, name, h.Get(name))
				}
			}
			if _, h, _ := w.doResp("GET", key, nil, nil); h.Get(name) != "" {
				t.Errorf("GET %s without checksum mode answered %s", key, name)
			}
			if code, h, _ := w.doResp("GET", key, nil, map[string]string{"x-amz-checksum-mode": "ENABLED", "Range": "bytes=0-9"}); code != 206 || h.Get(name) != "" {
				t.Errorf("range GET %s: %d, checksum %q (S3 answers none for a range)", key, code, h.Get(name))
			}
			// A wrong value: BadDigest, nothing stored.
			bad := s3checksum.Sum(a, []byte("something else"))
			badKey := key + "-bad"
			if code, _, out := w.doResp("PUT", badKey, data, map[string]string{name: bad}); code != 400 || s3code(out) != "BadDigest" {
				t.Fatalf("PUT %s with a wrong %s: %d %s", badKey, a, code, out)
			}
			if code, _ := w.do("HEAD", badKey, nil, nil); code != 404 {
				t.Fatalf("a PUT refused with BadDigest stored %s: HEAD %d", badKey, code)
			}
		}
	}

	// Multipart: SHA256 COMPOSITE with one part's checksum from the
	// client and one computed by the gateway; CRC32C FULL_OBJECT.
	p1, p2 := random(5<<20), random(1234)
	whole := append(append([]byte{}, p1...), p2...)
	type result struct {
		ETag, ChecksumSHA256, ChecksumCRC32C, ChecksumType string
	}
	multipart := func(key, alg, typ string, partHdr []map[string]string, listChecksums bool, completeHdr ...map[string]string) (int, result, string) {
		hdr := map[string]string{"x-amz-checksum-algorithm": alg}
		if typ != "" {
			hdr["x-amz-checksum-type"] = typ
		}
		code, h, out := w.doResp("POST", key+"?uploads", nil, hdr)
		if code != 200 {
			t.Fatalf("create %s: %d %s", key, code, out)
		}
		wantType := typ
		if wantType == "" {
			wantType = "COMPOSITE"
		}
		if h.Get("x-amz-checksum-algorithm") != alg || h.Get("x-amz-checksum-type") != wantType {
			t.Errorf("create %s: algorithm %q type %q", key, h.Get("x-amz-checksum-algorithm"), h.Get("x-amz-checksum-type"))
		}
		var init struct{ UploadId string }
		_ = xml.Unmarshal(out, &init)
		var parts strings.Builder
		for i, data := range [][]byte{p1, p2} {
			code, h, out := w.doResp("PUT", fmt.Sprintf("%s?partNumber=%d&uploadId=%s", key, i+1, init.UploadId), data, partHdr[i])
			name := s3checksum.HeaderName(s3checksum.Algorithm(alg))
			if code != 200 || h.Get(name) != s3checksum.Sum(s3checksum.Algorithm(alg), data) {
				t.Fatalf("part %d of %s: %d %s=%q %s", i+1, key, code, name, h.Get(name), out)
			}
			el := ""
			if listChecksums {
				el = fmt.Sprintf("<Checksum%s>%s</Checksum%s>", alg, h.Get(name), alg)
			}
			fmt.Fprintf(&parts, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>%s</Part>", i+1, h.Get("ETag"), el)
		}
		body := "<CompleteMultipartUpload>" + parts.String() + "</CompleteMultipartUpload>"
		var ch map[string]string
		if len(completeHdr) > 0 {
			ch = completeHdr[0]
		}
		code, _, out = w.doResp("POST", key+"?uploadId="+init.UploadId, []byte(body), ch)
		var r result
		_ = xml.Unmarshal(out, &r)
		return code, r, string(out)
	}
	shaParts := []map[string]string{{"x-amz-checksum-sha256": s3checksum.Sum(s3checksum.SHA256, p1)}, nil}
	code, r, out := multipart("/cks/composite", "SHA256", "", shaParts, true)
	d1, _ := s3checksum.Decode(s3checksum.SHA256, s3checksum.Sum(s3checksum.SHA256, p1))
	d2, _ := s3checksum.Decode(s3checksum.SHA256, s3checksum.Sum(s3checksum.SHA256, p2))
	composite := s3checksum.Sum(s3checksum.SHA256, append(d1, d2...))
	if code != 200 || r.ChecksumSHA256 != composite+"-2" || r.ChecksumType != "COMPOSITE" {
		t.Fatalf("composite complete: %d %+v, want %s-2\n%s", code, r, composite, out)
	}
	if _, h, _ := w.doResp("HEAD", "/cks/composite", nil, mode); h.Get("x-amz-checksum-sha256") != composite+"-2" || h.Get("x-amz-checksum-type") != "COMPOSITE" {
		t.Errorf("HEAD composite: %q %q", h.Get("x-amz-checksum-sha256"), h.Get("x-amz-checksum-type"))
	}
	if _, h, _ := w.doResp("HEAD", "/cks/composite?partNumber=2", nil, mode); h.Get("x-amz-checksum-sha256") != s3checksum.Sum(s3checksum.SHA256, p2) {
		t.Errorf("HEAD ?partNumber=2: %q, want the part's checksum", h.Get("x-amz-checksum-sha256"))
	}
	code, r, out = multipart("/cks/full", "CRC32C", "FULL_OBJECT", []map[string]string{nil, nil}, false)
	if code != 200 || r.ChecksumCRC32C != s3checksum.Sum(s3checksum.CRC32C, whole) || r.ChecksumType != "FULL_OBJECT" {
		t.Fatalf("full-object complete: %d %+v, want %s\n%s", code, r, s3checksum.Sum(s3checksum.CRC32C, whole), out)
	}
	if _, h, _ := w.doResp("GET", "/cks/full", nil, mode); h.Get("x-amz-checksum-crc32c") != s3checksum.Sum(s3checksum.CRC32C, whole) {
		t.Errorf("GET full-object: %q", h.Get("x-amz-checksum-crc32c"))
	}
	// A full-object checksum claimed on Complete (x-amz-checksum-<alg>: the
	// object's, not the XML body's) is checked against the parts'.
	claim := map[string]string{"x-amz-checksum-crc32c": s3checksum.Sum(s3checksum.CRC32C, whole)}
	if code, r, out := multipart("/cks/claimed", "CRC32C", "FULL_OBJECT", []map[string]string{nil, nil}, true, claim); code != 200 || r.ChecksumCRC32C != claim["x-amz-checksum-crc32c"] {
		t.Fatalf("complete with the right full-object checksum: %d %+v\n%s", code, r, out)
	}
	claim = map[string]string{"x-amz-checksum-crc32c": s3checksum.Sum(s3checksum.CRC32C, p1)}
	if code, _, out := multipart("/cks/claimed-bad", "CRC32C", "FULL_OBJECT", []map[string]string{nil, nil}, false, claim); code != 400 || s3code([]byte(out)) != "BadDigest" {
		t.Fatalf("complete with a wrong full-object checksum: %d %s", code, out)
	}
	if code, _ := w.do("HEAD", "/cks/claimed-bad", nil, nil); code != 404 {
		t.Fatalf("a refused Complete stored the object: HEAD %d", code)
	}

	// Refusals at CreateMultipartUpload.
	for _, tc := range []struct{ alg, typ, code string }{
		{"SHA1", "FULL_OBJECT", "InvalidRequest"},
		{"CRC64NVME", "COMPOSITE", "InvalidRequest"},
		{"", "COMPOSITE", "InvalidRequest"},
		{"MD5", "", "InvalidRequest"},
		{"CRC32", "WHOLE", "InvalidRequest"},
	} {
		hdr := map[string]string{"x-amz-checksum-algorithm": tc.alg, "x-amz-checksum-type": tc.typ}
		if code, out := w.do("POST", "/cks/refused?uploads", nil, hdr); code != 400 || s3code(out) != tc.code {
			t.Errorf("create with %q/%q: %d %s, want 400 %s", tc.alg, tc.typ, code, s3code(out), tc.code)
		}
	}

	// Listings name each object's checksum algorithm and type.
	lst := string(w.mustStatus(200, "GET", "/cks?list-type=2&prefix=composite", nil, nil))
	if !strings.Contains(lst, "<ChecksumAlgorithm>SHA256</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType>") {
		t.Errorf("ListObjectsV2 of a composite object: %s", lst)
	}
	lst = string(w.mustStatus(200, "GET", "/cks?versions&prefix=composite", nil, nil))
	if !strings.Contains(lst, "<ChecksumAlgorithm>SHA256</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType>") {
		t.Errorf("ListObjectVersions of a composite object: %s", lst)
	}
	lst = string(w.mustStatus(200, "GET", "/cks?prefix=CRC32C-1000", nil, nil))
	if !strings.Contains(lst, "<ChecksumAlgorithm>CRC32C</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>") {
		t.Errorf("ListObjects of a CRC32C object: %s", lst)
	}

	// GetObjectAttributes.
	type attrs struct {
		ETag     string
		Checksum struct {
			ChecksumSHA256, ChecksumCRC32, ChecksumType string
		}
		ObjectParts struct {
			PartsCount, PartNumberMarker, NextPartNumberMarker, MaxParts int
			IsTruncated                                                  bool
			Part                                                         []struct {
				PartNumber     int
				Size           int64
				ChecksumSHA256 string
			}
		}
		StorageClass string
		ObjectSize   int64
	}
	get := func(path string, hdr map[string]string) (int, attrs, string) {
		code, _, out := w.doResp("GET", path, nil, hdr)
		var a attrs
		_ = xml.Unmarshal(out, &a)
		return code, a, string(out)
	}
	all := "ETag,Checksum,ObjectParts,StorageClass,ObjectSize"
	code, a, out := get("/cks/composite?attributes", map[string]string{"x-amz-object-attributes": all, "x-amz-max-parts": "1"})
	if code != 200 || a.ETag == "" || strings.Contains(a.ETag, `"`) || a.Checksum.ChecksumSHA256 != composite || a.Checksum.ChecksumType != "COMPOSITE" ||
		a.ObjectParts.PartsCount != 2 || !a.ObjectParts.IsTruncated || a.ObjectParts.NextPartNumberMarker != 1 || len(a.ObjectParts.Part) != 1 ||
		a.ObjectParts.Part[0].ChecksumSHA256 != s3checksum.Sum(s3checksum.SHA256, p1) || a.ObjectParts.Part[0].Size != int64(len(p1)) ||
		a.StorageClass != "STANDARD" || a.ObjectSize != int64(len(whole)) {
		t.Fatalf("attributes page 1: %d %+v\n%s", code, a, out)
	}
	code, a, out = get("/cks/composite?attributes", map[string]string{"x-amz-object-attributes": "ObjectParts", "x-amz-part-number-marker": "1"})
	if code != 200 || a.ETag != "" || a.ObjectSize != 0 || a.ObjectParts.IsTruncated || len(a.ObjectParts.Part) != 1 || a.ObjectParts.Part[0].PartNumber != 2 {
		t.Fatalf("attributes page 2: %d %+v\n%s", code, a, out)
	}
	code, a, out = get("/cks/CRC32-1000?attributes", map[string]string{"x-amz-object-attributes": "Checksum, ObjectParts,ObjectSize"})
	if code != 200 || a.Checksum.ChecksumCRC32 == "" || a.Checksum.ChecksumType != "FULL_OBJECT" || a.ObjectParts.PartsCount != 0 || strings.Contains(out, "ObjectParts") || a.ObjectSize != 1000 {
		t.Fatalf("attributes of a simple object: %d %+v\n%s", code, a, out)
	}
	for _, tc := range []struct {
		path, attrs string
		status      int
		code        string
	}{
		{"/cks/composite?attributes", "", 400, "InvalidRequest"},
		{"/cks/composite?attributes", "ETag,Colour", 400, "InvalidArgument"},
		{"/cks/missing?attributes", "ETag", 404, "NoSuchKey"},
	} {
		hdr := map[string]string{}
		if tc.attrs != "" {
			hdr["x-amz-object-attributes"] = tc.attrs
		}
		if code, out := w.do("GET", tc.path, nil, hdr); code != tc.status || s3code(out) != tc.code {
			t.Errorf("attributes %q of %s: %d %s, want %d %s", tc.attrs, tc.path, code, s3code(out), tc.status, tc.code)
		}
	}
}

// TestTaggedMultipartReplicationStatus: a replication rule with a tag
// filter selects a multipart object by the upload's tags (x-amz-tagging at
// CreateMultipartUpload): PENDING when they match, nothing otherwise.
func TestTaggedMultipartReplicationStatus(t *testing.T) {
	w := newWorld(t)
	for _, b := range []string{"/rsrc", "/rdst"} {
		w.mustStatus(200, "PUT", b, nil, nil)
		w.mustStatus(200, "PUT", b+"?versioning", []byte(versioningOn), md5Header([]byte(versioningOn)))
	}
	doc := `<ReplicationConfiguration><Role>arn:aws:iam::1:role/r</Role><Rule><ID>tagged</ID><Priority>1</Priority><Status>Enabled</Status>` +
		`<Filter><Tag><Key>repl</Key><Value>yes</Value></Tag></Filter><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>` +
		`<Destination><Bucket>arn:aws:s3:::rdst</Bucket></Destination></Rule></ReplicationConfiguration>`
	w.mustStatus(200, "PUT", "/rsrc?replication", []byte(doc), md5Header([]byte(doc)))
	for _, tc := range []struct{ key, tagging, want string }{
		{"mp-yes", "repl=yes", "PENDING"},
		{"mp-no", "repl=no", ""},
		{"mp-none", "", ""},
	} {
		hdr := map[string]string{}
		if tc.tagging != "" {
			hdr["x-amz-tagging"] = tc.tagging
		}
		_, _, out := w.doResp("POST", "/rsrc/"+tc.key+"?uploads", nil, hdr)
		var init struct{ UploadId string }
		if err := xml.Unmarshal(out, &init); err != nil || init.UploadId == "" {
			t.Fatalf("create %s: %v %s", tc.key, err, out)
		}
		_, h, _ := w.doResp("PUT", "/rsrc/"+tc.key+"?partNumber=1&uploadId="+init.UploadId, []byte("part"), nil)
		complete := fmt.Sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>", h.Get("ETag"))
		w.mustStatus(200, "POST", "/rsrc/"+tc.key+"?uploadId="+init.UploadId, []byte(complete), nil)
		if _, h, _ := w.doResp("HEAD", "/rsrc/"+tc.key, nil, nil); h.Get("x-amz-replication-status") != tc.want {
			t.Errorf("%s (tags %q): x-amz-replication-status %q, want %q", tc.key, tc.tagging, h.Get("x-amz-replication-status"), tc.want)
		}
	}
}

package regional_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/regional/objectio/objectiotest"
)

type copyResult struct {
	XMLName      xml.Name
	ETag         string `xml:"ETag"`
	LastModified string `xml:"LastModified"`
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// TestCopyObject copies within a bucket and across buckets (several
// segments, erasure-coded; and an inline object), with COPY and REPLACE
// metadata, and checks bytes, metadata, ETag and the result document.
func TestCopyObject(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/csrc", nil, nil)
	w.mustStatus(200, "PUT", "/cdst", nil, nil)
	big := random(9<<20 + 123) // three 4 MiB segments
	small := []byte("small object")
	w.mustStatus(200, "PUT", "/csrc/big", big, map[string]string{"Content-Type": "image/png", "x-amz-meta-color": "blue", "Cache-Control": "max-age=9"})
	w.mustStatus(200, "PUT", "/csrc/small", small, nil)

	for _, tc := range []struct {
		name, src, dst string
		data           []byte
	}{
		{"same bucket", "/csrc/big", "/csrc/big2", big},
		{"cross bucket", "/csrc/big", "/cdst/big", big},
		{"inline", "csrc/small", "/cdst/small", small},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, out := w.doResp("PUT", tc.dst, nil, map[string]string{"x-amz-copy-source": tc.src})
			if code != 200 {
				t.Fatalf("copy: %d %s", code, out)
			}
			var res copyResult
			if err := xml.Unmarshal(out, &res); err != nil || res.XMLName.Local != "CopyObjectResult" {
				t.Fatalf("result %q: %v", out, err)
			}
			if res.ETag != `"`+md5hex(tc.data)+`"` {
				t.Errorf("ETag %s, want md5 %s", res.ETag, md5hex(tc.data))
			}
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", res.LastModified); err != nil {
				t.Errorf("LastModified %q: %v", res.LastModified, err)
			}
			if h.Get("x-amz-version-id") != "" || h.Get("x-amz-copy-source-version-id") != "" {
				t.Errorf("version headers on unversioned buckets: %v", h)
			}
			code, gh, got := w.doResp("GET", tc.dst, nil, nil)
			if code != 200 || !bytes.Equal(got, tc.data) {
				t.Fatalf("GET copy: %d, %d bytes equal=%v", code, len(got), bytes.Equal(got, tc.data))
			}
			if len(tc.data) == len(big) {
				if gh.Get("Content-Type") != "image/png" || gh.Get("x-amz-meta-color") != "blue" || gh.Get("Cache-Control") != "max-age=9" {
					t.Errorf("metadata not copied: %v", gh)
				}
			}
		})
	}

	// REPLACE takes the request's metadata; a self-copy is allowed with it.
	code, _, out := w.doResp("PUT", "/csrc/big", nil, map[string]string{"x-amz-copy-source": "/csrc/big",
		"x-amz-metadata-directive": "REPLACE", "x-amz-meta-mtime": "1700000000", "Content-Type": "text/plain"})
	if code != 200 {
		t.Fatalf("REPLACE self-copy: %d %s", code, out)
	}
	code, gh, got := w.doResp("GET", "/csrc/big", nil, nil)
	if code != 200 || !bytes.Equal(got, big) || gh.Get("x-amz-meta-mtime") != "1700000000" || gh.Get("x-amz-meta-color") != "" || gh.Get("Content-Type") != "text/plain" || gh.Get("Cache-Control") != "" {
		t.Fatalf("after REPLACE: %d equal=%v %v", code, bytes.Equal(got, big), gh)
	}
	// COPY keeps the source's metadata and ignores the request's.
	w.mustStatus(200, "PUT", "/cdst/meta", nil, map[string]string{"x-amz-copy-source": "/csrc/big", "x-amz-meta-other": "x"})
	_, gh, _ = w.doResp("HEAD", "/cdst/meta", nil, nil)
	if gh.Get("x-amz-meta-mtime") != "1700000000" || gh.Get("x-amz-meta-other") != "" {
		t.Errorf("COPY directive metadata: %v", gh)
	}
}

// TestCopyObjectErrors: each bad request gets S3's status and code, and
// stores nothing.
func TestCopyObjectErrors(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/esrc", nil, nil)
	w.mustStatus(200, "PUT", "/edst", nil, nil)
	w.mustStatus(200, "PUT", "/esrc/k", []byte("hello"), nil)
	w.mustStatus(200, "PUT", "/vsrc", nil, nil)
	vc := []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)
	vsum := md5.Sum(vc)
	w.mustStatus(200, "PUT", "/vsrc?versioning", vc, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(vsum[:])})
	_, vh, _ := w.doResp("PUT", "/vsrc/k", []byte("v1"), nil)
	v1 := vh.Get("x-amz-version-id")
	_, dh, _ := w.doResp("DELETE", "/vsrc/k", nil, nil)
	marker := dh.Get("x-amz-version-id")
	if v1 == "" || marker == "" {
		t.Fatalf("versions: %q %q", v1, marker)
	}
	ctx := context.Background()
	acct, _ := w.catalog.LookupAccessKey(ctx, testKey)
	if err := w.catalog.CreateBucket(ctx, bucketsvc.Bucket{Name: "farsrc", Owner: acct.AccountID, Region: "eu-west-1", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	other := w.secondAccount()
	if code, out := w.doAs(other, "PUT", "/othersrc", nil, nil); code != 200 {
		t.Fatalf("other bucket: %d %s", code, out)
	}
	if code, out := w.doAs(other, "PUT", "/othersrc/k", []byte("theirs"), nil); code != 200 {
		t.Fatalf("other object: %d %s", code, out)
	}
	etag := `"` + md5hex([]byte("hello")) + `"`
	past, future := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)

	tests := []struct {
		name string
		dst  string
		hdr  map[string]string
		code int
		s3   string
	}{
		{"no key in source", "/edst/x", map[string]string{"x-amz-copy-source": "/esrc"}, 400, "InvalidArgument"},
		{"empty key in source", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/"}, 400, "InvalidArgument"},
		{"bad escape", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/%zz"}, 400, "InvalidArgument"},
		{"access point ARN", "/edst/x", map[string]string{"x-amz-copy-source": "arn:aws:s3:us-east-1:1:accesspoint/ap/object/k"}, 400, "InvalidArgument"},
		{"bad source bucket name", "/edst/x", map[string]string{"x-amz-copy-source": "E_SRC/k"}, 400, "InvalidBucketName"},
		{"missing source bucket", "/edst/x", map[string]string{"x-amz-copy-source": "nosuch/k"}, 404, "NoSuchBucket"},
		{"missing source key", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/nope"}, 404, "NoSuchKey"},
		{"source owned by another account", "/edst/x", map[string]string{"x-amz-copy-source": "othersrc/k"}, 403, "AccessDenied"},
		{"source in another region", "/edst/x", map[string]string{"x-amz-copy-source": "farsrc/k"}, 501, "NotImplemented"},
		{"missing destination bucket", "/nodst/x", map[string]string{"x-amz-copy-source": "esrc/k"}, 404, "NoSuchBucket"},
		{"self copy without change", "/esrc/k", map[string]string{"x-amz-copy-source": "esrc/k"}, 400, "InvalidRequest"},
		{"self copy with explicit COPY", "/esrc/k", map[string]string{"x-amz-copy-source": "/esrc/k", "x-amz-metadata-directive": "COPY"}, 400, "InvalidRequest"},
		{"unknown metadata directive", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-metadata-directive": "MERGE"}, 400, "InvalidArgument"},
		{"unknown tagging directive", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-tagging-directive": "copy"}, 400, "InvalidArgument"},
		{"if-match fails", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-copy-source-if-match": `"abc"`}, 412, "PreconditionFailed"},
		{"if-none-match fails", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-copy-source-if-none-match": etag}, 412, "PreconditionFailed"},
		{"if-unmodified-since fails", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-copy-source-if-unmodified-since": past}, 412, "PreconditionFailed"},
		{"if-match true wins over if-unmodified-since false", "/edst/x1", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-copy-source-if-match": etag, "x-amz-copy-source-if-unmodified-since": past}, 200, ""},
		{"if-none-match false with if-modified-since true", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-copy-source-if-none-match": etag, "x-amz-copy-source-if-modified-since": past}, 412, "PreconditionFailed"},
		{"if-modified-since in the future is ignored", "/edst/x2", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-copy-source-if-modified-since": future}, 200, ""},
		{"source version on an unversioned bucket", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/k?versionId=" + v1}, 400, "InvalidArgument"},
		{"null version of an unversioned bucket", "/edst/x3", map[string]string{"x-amz-copy-source": "esrc/k?versionId=null"}, 200, ""},
		{"empty version id", "/edst/x", map[string]string{"x-amz-copy-source": "vsrc/k?versionId="}, 400, "InvalidArgument"},
		{"malformed version id", "/edst/x", map[string]string{"x-amz-copy-source": "vsrc/k?versionId=zzz"}, 400, "InvalidArgument"},
		{"current version is a delete marker", "/edst/x", map[string]string{"x-amz-copy-source": "vsrc/k"}, 404, "NoSuchKey"},
		{"version id names a delete marker", "/edst/x", map[string]string{"x-amz-copy-source": "vsrc/k?versionId=" + marker}, 400, "InvalidRequest"},
		{"older version", "/edst/x4", map[string]string{"x-amz-copy-source": "vsrc/k?versionId=" + v1}, 200, ""},
		{"SSE-S3 without a key service refused", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-server-side-encryption": "AES256"}, 501, "NotImplemented"},
		{"SSE-KMS refused", "/edst/x", map[string]string{"x-amz-copy-source": "esrc/k", "x-amz-server-side-encryption": "aws:kms"}, 501, "NotImplemented"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, h, out := w.doResp("PUT", tc.dst, nil, tc.hdr)
			if code != tc.code || s3code(out) != tc.s3 {
				t.Fatalf("%d %s, want %d %s: %s", code, s3code(out), tc.code, tc.s3, out)
			}
			if strings.HasPrefix(tc.hdr["x-amz-copy-source"], "vsrc/k?versionId="+v1) && h.Get("x-amz-copy-source-version-id") != v1 {
				t.Errorf("x-amz-copy-source-version-id %q, want %q", h.Get("x-amz-copy-source-version-id"), v1)
			}
		})
	}
	if code, _ := w.do("GET", "/edst/x", nil, nil); code != 404 {
		t.Errorf("a refused copy stored an object: %d", code)
	}
	if code, got := w.do("GET", "/edst/x4", nil, nil); code != 200 || string(got) != "v1" {
		t.Errorf("copy of an older version: %d %q", code, got)
	}
	// Conditional copy on the destination (If-None-Match / If-Match, as PutObject).
	if code, out := w.do("PUT", "/edst/x1", nil, map[string]string{"x-amz-copy-source": "esrc/k", "If-None-Match": "*"}); code != 412 || s3code(out) != "PreconditionFailed" {
		t.Errorf("If-None-Match * onto an existing key: %d %s", code, out)
	}
	if code, out := w.do("PUT", "/edst/x5", nil, map[string]string{"x-amz-copy-source": "esrc/k", "If-None-Match": "*"}); code != 200 {
		t.Errorf("If-None-Match * onto a new key: %d %s", code, out)
	}
	if code, out := w.do("PUT", "/edst/absent", nil, map[string]string{"x-amz-copy-source": "esrc/k", "If-Match": etag}); code != 404 || s3code(out) != "NoSuchKey" {
		t.Errorf("If-Match onto an absent key: %d %s", code, out)
	}
	if code, out := w.do("PUT", "/edst/x5", nil, map[string]string{"x-amz-copy-source": "esrc/k", "If-Match": `"0000"`}); code != 412 {
		t.Errorf("If-Match mismatch on the destination: %d %s", code, out)
	}
	if code, out := w.do("PUT", "/edst/x5", nil, map[string]string{"x-amz-copy-source": "esrc/k", "If-Match": etag}); code != 200 {
		t.Errorf("If-Match on the destination: %d %s", code, out)
	}
	// Into a versioned bucket: the new version's id; an empty source.
	w.mustStatus(200, "PUT", "/esrc/empty", nil, nil)
	code, h, out := w.doResp("PUT", "/vsrc/from-empty", nil, map[string]string{"x-amz-copy-source": "esrc/empty"})
	if code != 200 || h.Get("x-amz-version-id") == "" || h.Get("x-amz-copy-source-version-id") != "" || !strings.Contains(string(out), md5hex(nil)) {
		t.Errorf("empty copy into a versioned bucket: %d %v %s", code, h, out)
	}
	if code, got := w.do("GET", "/vsrc/from-empty", nil, nil); code != 200 || len(got) != 0 {
		t.Errorf("empty copy: %d %d bytes", code, len(got))
	}
}

// TestUploadPartCopy builds a multipart object from ranges of a source
// (and a whole-source part) and completes it.
func TestUploadPartCopy(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/psrc", nil, nil)
	src := random(11 << 20)
	w.mustStatus(200, "PUT", "/psrc/obj", src, nil)
	w.mustStatus(200, "PUT", "/psrc/tail", []byte("tail"), nil)
	out := w.mustStatus(200, "POST", "/psrc/dst?uploads", nil, nil)
	var init struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(out, &init); err != nil || init.UploadID == "" {
		t.Fatalf("initiate: %s", out)
	}
	part := func(n int) string { return fmt.Sprintf("/psrc/dst?partNumber=%d&uploadId=%s", n, init.UploadID) }

	for _, tc := range []struct {
		name, rng string
		code      int
		s3        string
	}{
		{"no bytes= prefix", "0-9", 400, "InvalidArgument"},
		{"open end", "bytes=0-", 400, "InvalidArgument"},
		{"suffix", "bytes=-5", 400, "InvalidArgument"},
		{"last before first", "bytes=9-3", 400, "InvalidArgument"},
		{"two ranges", "bytes=0-1,3-4", 400, "InvalidArgument"},
		{"past the end", fmt.Sprintf("bytes=0-%d", len(src)), 416, "InvalidRange"},
		{"first past the end", fmt.Sprintf("bytes=%d-%d", len(src)+5, len(src)+9), 416, "InvalidRange"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := w.do("PUT", part(1), nil, map[string]string{"x-amz-copy-source": "psrc/obj", "x-amz-copy-source-range": tc.rng})
			if code != tc.code || s3code(out) != tc.s3 {
				t.Fatalf("%d %s, want %d %s: %s", code, s3code(out), tc.code, tc.s3, out)
			}
		})
	}
	if code, out := w.do("PUT", fmt.Sprintf("/psrc/dst?partNumber=1&uploadId=%s", "nosuchupload"), nil, map[string]string{"x-amz-copy-source": "psrc/obj"}); code != 404 || s3code(out) != "NoSuchUpload" {
		t.Errorf("unknown upload: %d %s", code, out)
	}
	if code, out := w.do("PUT", part(1), nil, map[string]string{"x-amz-copy-source": "psrc/obj", "x-amz-copy-source-if-match": `"nope"`}); code != 412 || s3code(out) != "PreconditionFailed" {
		t.Errorf("part copy condition: %d %s", code, out)
	}

	split := int64(6 << 20)
	ranges := []struct {
		rng  string
		data []byte
	}{
		{fmt.Sprintf("bytes=0-%d", split-1), src[:split]},
		{fmt.Sprintf("bytes=%d-%d", split, len(src)-1), src[split:]},
		{"", []byte("tail")},
	}
	var complete strings.Builder
	complete.WriteString("<CompleteMultipartUpload>")
	for i, r := range ranges {
		hdr := map[string]string{"x-amz-copy-source": "/psrc/obj", "x-amz-copy-source-range": r.rng}
		if r.rng == "" {
			hdr = map[string]string{"x-amz-copy-source": "/psrc/tail"}
		}
		out := w.mustStatus(200, "PUT", part(i+1), nil, hdr)
		var res copyResult
		if err := xml.Unmarshal(out, &res); err != nil || res.XMLName.Local != "CopyPartResult" || res.ETag != `"`+md5hex(r.data)+`"` || res.LastModified == "" {
			t.Fatalf("part %d result %s (want ETag %s)", i+1, out, md5hex(r.data))
		}
		fmt.Fprintf(&complete, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, res.ETag)
	}
	complete.WriteString("</CompleteMultipartUpload>")
	w.mustStatus(200, "POST", "/psrc/dst?uploadId="+init.UploadID, []byte(complete.String()), nil)
	got := w.mustStatus(200, "GET", "/psrc/dst", nil, nil)
	want := append(append([]byte{}, src...), "tail"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("completed object: %d bytes, want %d, equal=%v", len(got), len(want), bytes.Equal(got, want))
	}
}

// TestCopySourceReclaimedMidCopy: the source is overwritten while a slow
// copy reads it and the old version's shards are reclaimed under it (the
// test's background server has no garbage grace). The copy either finished
// with exactly the old bytes or answers 503 with nothing stored; no shard
// of the failed copy is left behind.
func TestCopySourceReclaimedMidCopy(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/rsrc", nil, nil)
	old, newer := random(9<<20), random(9<<20)
	w.mustStatus(200, "PUT", "/rsrc/k", old, nil)
	one := w.store.Count() // the shards of one 9 MiB object
	for _, n := range w.nodes {
		w.store.SetFault(n.Addr, objectiotest.Fault{GetDelay: 700 * time.Millisecond})
	}
	type answer struct {
		code int
		body []byte
	}
	done := make(chan answer, 1)
	go func() {
		code, body := w.do("PUT", "/rsrc/copy", nil, map[string]string{"x-amz-copy-source": "rsrc/k"})
		done <- answer{code, body}
	}()
	time.Sleep(150 * time.Millisecond)
	w.mustStatus(200, "PUT", "/rsrc/k", newer, nil) // PUTs are not delayed
	a := <-done
	for _, n := range w.nodes {
		w.store.SetFault(n.Addr, objectiotest.Fault{})
	}
	switch a.code {
	case 503:
		if s3code(a.body) != "ServiceUnavailable" {
			t.Fatalf("failed copy answered %s", a.body)
		}
		if code, _ := w.do("GET", "/rsrc/copy", nil, nil); code != 404 {
			t.Fatalf("a failed copy stored an object: %d", code)
		}
		w.settle(one) // only the new source's shards remain
		t.Log("the copy failed cleanly with 503 (its source was reclaimed under it)")
	case 200:
		got := w.mustStatus(200, "GET", "/rsrc/copy", nil, nil)
		if !bytes.Equal(got, old) {
			t.Fatalf("the copy holds %d bytes that are not the version it read", len(got))
		}
		w.settle(2 * one)
		t.Log("the copy finished from the old version before it was reclaimed")
	default:
		t.Fatalf("copy: %d %s", a.code, a.body)
	}
}

// TestCopyChecksums: x-amz-checksum-algorithm on CopyObject gives the copy
// that checksum; UploadPartCopy into an upload with an algorithm computes
// each copied part's, and the upload completes.
func TestCopyChecksums(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/ksrc", nil, nil)
	data := random(6<<20 + 7)
	w.mustStatus(200, "PUT", "/ksrc/k", data, nil)
	crc := func(b []byte) string {
		var s [4]byte
		binary.BigEndian.PutUint32(s[:], crc32.ChecksumIEEE(b))
		return base64.StdEncoding.EncodeToString(s[:])
	}
	out := w.mustStatus(200, "PUT", "/ksrc/c", nil, map[string]string{"x-amz-copy-source": "ksrc/k", "x-amz-checksum-algorithm": "CRC32"})
	var res struct {
		ChecksumCRC32 string `xml:"ChecksumCRC32"`
	}
	if err := xml.Unmarshal(out, &res); err != nil || res.ChecksumCRC32 != crc(data) {
		t.Fatalf("CopyObjectResult %s, want ChecksumCRC32 %s", out, crc(data))
	}
	_, h, _ := w.doResp("HEAD", "/ksrc/c", nil, map[string]string{"x-amz-checksum-mode": "ENABLED"})
	if h.Get("x-amz-checksum-crc32") != crc(data) {
		t.Errorf("HEAD checksum %q, want %q", h.Get("x-amz-checksum-crc32"), crc(data))
	}
	if code, out := w.do("PUT", "/ksrc/c2", nil, map[string]string{"x-amz-copy-source": "ksrc/k", "x-amz-checksum-algorithm": "MD5"}); code != 400 || s3code(out) != "InvalidRequest" {
		t.Errorf("unknown algorithm: %d %s", code, out)
	}

	out = w.mustStatus(200, "POST", "/ksrc/mp?uploads", nil, map[string]string{"x-amz-checksum-algorithm": "CRC32"})
	var init struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(out, &init); err != nil {
		t.Fatal(err)
	}
	split := 5 << 20
	var complete strings.Builder
	complete.WriteString("<CompleteMultipartUpload>")
	for i, r := range []struct {
		rng  string
		data []byte
	}{{fmt.Sprintf("bytes=0-%d", split-1), data[:split]}, {fmt.Sprintf("bytes=%d-%d", split, len(data)-1), data[split:]}} {
		out := w.mustStatus(200, "PUT", fmt.Sprintf("/ksrc/mp?partNumber=%d&uploadId=%s", i+1, init.UploadID), nil,
			map[string]string{"x-amz-copy-source": "ksrc/k", "x-amz-copy-source-range": r.rng})
		var pr struct {
			ETag          string `xml:"ETag"`
			ChecksumCRC32 string `xml:"ChecksumCRC32"`
		}
		if err := xml.Unmarshal(out, &pr); err != nil || pr.ChecksumCRC32 != crc(r.data) {
			t.Fatalf("part %d: %s, want ChecksumCRC32 %s", i+1, out, crc(r.data))
		}
		fmt.Fprintf(&complete, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag><ChecksumCRC32>%s</ChecksumCRC32></Part>", i+1, pr.ETag, pr.ChecksumCRC32)
	}
	complete.WriteString("</CompleteMultipartUpload>")
	w.mustStatus(200, "POST", "/ksrc/mp?uploadId="+init.UploadID, []byte(complete.String()), nil)
	if got := w.mustStatus(200, "GET", "/ksrc/mp", nil, nil); !bytes.Equal(got, data) {
		t.Fatal("completed object differs")
	}
}

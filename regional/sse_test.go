package regional_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/sse"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional"
	"github.com/meridian-s3/meridian/regional/ssekms"
)

// fakeKeys is an SSE-S3 key service with one fixed master key.
type fakeKeys struct{ kek []byte }

func (k fakeKeys) NewDataKey(context.Context) ([]byte, []byte, string, error) {
	key := sse.NewKey()
	sealed, err := sse.WrapKey(k.kek, key, []byte("v1"))
	return key, sealed, "v1", err
}

func (k fakeKeys) OpenDataKey(_ context.Context, id string, sealed []byte) ([]byte, error) {
	return sse.UnwrapKey(k.kek, sealed, []byte(id))
}

func newSSEWorld(t testing.TB) *world {
	return newWorldWith(t, func(c *regional.Config) {
		c.SSECOverHTTP = true // the test client speaks plain HTTP
		c.SSEKeys = fakeKeys{kek: sse.NewKey()}
		c.KMS = ssekms.New(c.Catalog.(bucketsvc.ServerKeyStore), c.Region)
	})
}

// ssec is the SSE-C header triple of key (prefix "" or "copy-source-").
func ssec(key []byte, prefix string) map[string]string {
	sum := md5.Sum(key)
	p := "x-amz-" + prefix + "server-side-encryption-customer-"
	return map[string]string{p + "algorithm": "AES256", p + "key": base64.StdEncoding.EncodeToString(key), p + "key-MD5": base64.StdEncoding.EncodeToString(sum[:])}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// textPattern is recognisable plaintext: a line that repeats.
func textPattern(n int) []byte {
	line := []byte("MERIDIAN-PLAINTEXT-PATTERN-0123456789\n")
	return bytes.Repeat(line, n/len(line)+1)[:n]
}

// storedBytes concatenates every shard (and inline byte) of the key's
// current version as the storage layer holds them.
func (w *world) storedBytes(bucket, key string) []byte {
	w.t.Helper()
	b, err := w.catalog.GetBucket(context.Background(), bucket)
	if err != nil {
		w.t.Fatal(err)
	}
	v, err := w.meta.Latest(context.Background(), b.MetaKey(), key)
	if err != nil {
		w.t.Fatal(err)
	}
	addr := map[string]string{}
	for _, n := range w.nodes {
		addr[n.ID] = n.Addr
	}
	out := append([]byte{}, v.Inline...)
	for _, seg := range v.Segments {
		out = append(out, seg.Inline...)
		for _, sh := range seg.Shards {
			rc, err := w.store.Get(context.Background(), addr[sh.Node], sh.ID, 0, sh.Size)
			if err != nil {
				w.t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			out = append(out, data...)
		}
	}
	return out
}

func TestSSECRoundTrip(t *testing.T) {
	w := newSSEWorld(t)
	w.mustStatus(200, "PUT", "/enc", nil, nil)
	key, other := sse.NewKey(), sse.NewKey()
	for _, size := range []int{0, 100, 9<<20 + 12345} {
		body := textPattern(size)
		name := fmt.Sprintf("/enc/c%d", size)
		code, h, out := w.doResp("PUT", name, body, ssec(key, ""))
		if code != 200 {
			t.Fatalf("PUT %d: %d %s", size, code, out)
		}
		sum := md5.Sum(body)
		if h.Get("x-amz-server-side-encryption-customer-algorithm") != "AES256" || h.Get("x-amz-server-side-encryption-customer-key-MD5") != ssec(key, "")["x-amz-server-side-encryption-customer-key-MD5"] {
			t.Fatalf("PUT headers %v", h)
		}
		if etag := strings.Trim(h.Get("ETag"), `"`); etag == hex.EncodeToString(sum[:]) || len(etag) != 32 {
			t.Fatalf("SSE-C ETag %q must not be the plaintext MD5", etag)
		}
		code, h, got := w.doResp("GET", name, nil, ssec(key, ""))
		if code != 200 || !bytes.Equal(got, body) || h.Get("Content-Length") != fmt.Sprint(size) {
			t.Fatalf("GET %d: %d, %d bytes, equal %v", size, code, len(got), bytes.Equal(got, body))
		}
		if size > 1000 {
			if stored := w.storedBytes("enc", name[5:]); bytes.Contains(stored, body[:64]) {
				t.Fatal("the stored shards contain the plaintext")
			}
			// Ranges across packages and segments.
			for _, r := range [][2]int{{0, 0}, {65530, 65545}, {4<<20 - 7, 4<<20 + 70000}, {size - 10, size - 1}, {123, 124}} {
				code, h, got := w.doResp("GET", name, nil, merge(ssec(key, ""), map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", r[0], r[1])}))
				if code != 206 || !bytes.Equal(got, body[r[0]:r[1]+1]) || h.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", r[0], r[1], size) {
					t.Fatalf("range %v: %d %q", r, code, h.Get("Content-Range"))
				}
			}
		}
	}
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		code, msg          string
	}{
		{"GET without a key", "GET", "/enc/c100", nil, 400, "InvalidRequest", "The object was stored using a form of Server Side Encryption"},
		{"GET with another key", "GET", "/enc/c100", ssec(other, ""), 403, "AccessDenied", ""},
		{"HEAD with another key", "HEAD", "/enc/c100", ssec(other, ""), 403, "", ""},
		{"HEAD without a key", "HEAD", "/enc/c100", nil, 400, "", ""},
		{"bad key MD5", "GET", "/enc/c100", merge(ssec(key, ""), map[string]string{"x-amz-server-side-encryption-customer-key-MD5": ssec(other, "")["x-amz-server-side-encryption-customer-key-MD5"]}), 400, "InvalidArgument", "The calculated MD5 hash of the key did not match"},
		{"short key", "PUT", "/enc/x", merge(ssec(key, ""), map[string]string{"x-amz-server-side-encryption-customer-key": base64.StdEncoding.EncodeToString(key[:16])}), 400, "InvalidArgument", "The secret key was invalid"},
		{"no key", "PUT", "/enc/x", map[string]string{"x-amz-server-side-encryption-customer-algorithm": "AES256"}, 400, "InvalidArgument", "must provide an appropriate secret key"},
		{"no key MD5", "PUT", "/enc/x", merge(ssec(key, ""), map[string]string{"x-amz-server-side-encryption-customer-key-MD5": ""}), 400, "InvalidArgument", ""},
		{"bad algorithm", "PUT", "/enc/x", merge(ssec(key, ""), map[string]string{"x-amz-server-side-encryption-customer-algorithm": "AES128"}), 400, "InvalidArgument", ""},
		{"SSE-C and SSE-S3", "PUT", "/enc/x", merge(ssec(key, ""), map[string]string{"x-amz-server-side-encryption": "AES256"}), 400, "InvalidArgument", "incompatible"},
		{"unknown method", "PUT", "/enc/x", map[string]string{"x-amz-server-side-encryption": "AES512"}, 400, "InvalidArgument", "The encryption method specified is not supported"},
		{"SSE header on GET", "GET", "/enc/c100", merge(ssec(key, ""), map[string]string{"x-amz-server-side-encryption": "AES256"}), 400, "InvalidArgument", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, out := w.doResp(c.method, c.path, nil, c.hdr)
			if code != c.status || (c.code != "" && s3code(out) != c.code) || !strings.Contains(string(out), c.msg) {
				t.Fatalf("%d %s, want %d %s %q", code, out, c.status, c.code, c.msg)
			}
		})
	}
	// GetObjectAttributes of an SSE-C object needs the key too.
	attrs := map[string]string{"x-amz-object-attributes": "ObjectSize"}
	if code, _ := w.do("GET", "/enc/c100?attributes", nil, attrs); code != 400 {
		t.Fatalf("attributes without the key: %d", code)
	}
	if code, out := w.do("GET", "/enc/c100?attributes", nil, merge(attrs, ssec(key, ""))); code != 200 || !strings.Contains(string(out), "<ObjectSize>100</ObjectSize>") {
		t.Fatalf("attributes with the key: %d %s", code, out)
	}
	// SSE-C headers on a plain object: not applicable.
	w.mustStatus(200, "PUT", "/enc/plain", []byte("plain"), nil)
	if code, out := w.do("GET", "/enc/plain", nil, ssec(key, "")); code != 400 || !strings.Contains(string(out), "not applicable") {
		t.Fatalf("plain with key: %d %s", code, out)
	}
}

func TestSSECRefusedOverPlainHTTP(t *testing.T) {
	w := newWorld(t) // SSECOverHTTP unset: the test client is not TLS
	w.mustStatus(200, "PUT", "/enc", nil, nil)
	code, out := w.do("PUT", "/enc/x", []byte("secret"), ssec(sse.NewKey(), ""))
	if code != 400 || s3code(out) != "InvalidRequest" || !strings.Contains(string(out), "must be made over a secure connection") {
		t.Fatalf("%d %s", code, out)
	}
	if code, out := w.do("PUT", "/enc/y", []byte("x"), map[string]string{"x-amz-server-side-encryption": "AES256"}); code != 501 {
		t.Fatalf("SSE-S3 without a key service: %d %s", code, out)
	}
}

func TestSSES3(t *testing.T) {
	w := newSSEWorld(t)
	w.mustStatus(200, "PUT", "/s3e", nil, nil)
	body := textPattern(6<<20 + 3)
	code, h, out := w.doResp("PUT", "/s3e/o", body, map[string]string{"x-amz-server-side-encryption": "AES256"})
	sum := md5.Sum(body)
	if code != 200 || h.Get("x-amz-server-side-encryption") != "AES256" || strings.Trim(h.Get("ETag"), `"`) != hex.EncodeToString(sum[:]) {
		t.Fatalf("PUT: %d %v %s", code, h, out)
	}
	if bytes.Contains(w.storedBytes("s3e", "o"), body[:64]) {
		t.Fatal("stored shards hold plaintext")
	}
	code, h, got := w.doResp("GET", "/s3e/o", nil, map[string]string{"Range": "bytes=100-70000"})
	if code != 206 || !bytes.Equal(got, body[100:70001]) || h.Get("x-amz-server-side-encryption") != "AES256" {
		t.Fatalf("GET range: %d", code)
	}
	if code, _ := w.do("GET", "/s3e/o", nil, ssec(sse.NewKey(), "")); code != 400 {
		t.Fatalf("SSE-C key on an SSE-S3 object: %d", code)
	}
	// Copy SSE-S3 → SSE-C → plain, each hop decrypting and re-encrypting.
	key := sse.NewKey()
	code, h, out = w.doResp("PUT", "/s3e/c1", nil, merge(ssec(key, ""), map[string]string{"x-amz-copy-source": "/s3e/o"}))
	if code != 200 || h.Get("x-amz-server-side-encryption-customer-algorithm") != "AES256" {
		t.Fatalf("copy to SSE-C: %d %s", code, out)
	}
	if code, out := w.do("PUT", "/s3e/c2", nil, map[string]string{"x-amz-copy-source": "/s3e/c1"}); code != 400 || !strings.Contains(string(out), "Server Side Encryption") {
		t.Fatalf("copy of an SSE-C source without its key: %d %s", code, out)
	}
	if code, out := w.do("PUT", "/s3e/c2", nil, merge(ssec(sse.NewKey(), "copy-source-"), map[string]string{"x-amz-copy-source": "/s3e/c1"})); code != 403 {
		t.Fatalf("copy with the wrong source key: %d %s", code, out)
	}
	code, h, out = w.doResp("PUT", "/s3e/c2", nil, merge(ssec(key, "copy-source-"), map[string]string{"x-amz-copy-source": "/s3e/c1"}))
	if code != 200 || h.Get("x-amz-server-side-encryption") != "" || !strings.Contains(string(out), hex.EncodeToString(sum[:])) {
		t.Fatalf("copy to plain: %d %v %s", code, h, out)
	}
	if got := w.mustStatus(200, "GET", "/s3e/c2", nil, nil); !bytes.Equal(got, body) {
		t.Fatal("copy chain changed the bytes")
	}
	// Copy onto itself that changes the encryption is allowed.
	if code, out := w.do("PUT", "/s3e/c2", nil, map[string]string{"x-amz-copy-source": "/s3e/c2", "x-amz-server-side-encryption": "AES256"}); code != 200 {
		t.Fatalf("self copy changing encryption: %d %s", code, out)
	}
	if got := w.mustStatus(200, "GET", "/s3e/c2", nil, nil); !bytes.Equal(got, body) {
		t.Fatal("self copy changed the bytes")
	}
}

func TestSSECMultipart(t *testing.T) {
	w := newSSEWorld(t)
	w.mustStatus(200, "PUT", "/mpe", nil, nil)
	key := sse.NewKey()
	code, h, out := w.doResp("POST", "/mpe/o?uploads", nil, ssec(key, ""))
	if code != 200 || h.Get("x-amz-server-side-encryption-customer-algorithm") != "AES256" {
		t.Fatalf("create: %d %s", code, out)
	}
	var init struct {
		UploadID string `xml:"UploadId"`
	}
	_ = xml.Unmarshal(out, &init)
	part := func(n int) string { return fmt.Sprintf("/mpe/o?partNumber=%d&uploadId=%s", n, init.UploadID) }
	p1, p2 := textPattern(5<<20+1), random(70000)
	if code, out := w.do("PUT", part(1), []byte("x"), nil); code != 400 || !strings.Contains(string(out), "Subsequent part requests must include") {
		t.Fatalf("part without key: %d %s", code, out)
	}
	if code, out := w.do("PUT", part(1), []byte("x"), ssec(sse.NewKey(), "")); code != 400 || !strings.Contains(string(out), "did not match") {
		t.Fatalf("part with another key: %d %s", code, out)
	}
	var complete strings.Builder
	complete.WriteString("<CompleteMultipartUpload>")
	for i, p := range [][]byte{p1, p2} {
		code, h, out := w.doResp("PUT", part(i+1), p, ssec(key, ""))
		if code != 200 {
			t.Fatalf("part %d: %d %s", i+1, code, out)
		}
		fmt.Fprintf(&complete, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, h.Get("ETag"))
	}
	complete.WriteString("</CompleteMultipartUpload>")
	w.mustStatus(200, "POST", "/mpe/o?uploadId="+init.UploadID, []byte(complete.String()), nil)
	whole := append(append([]byte{}, p1...), p2...)
	if code, _, got := w.doResp("GET", "/mpe/o", nil, ssec(key, "")); code != 200 || !bytes.Equal(got, whole) {
		t.Fatalf("GET: %d equal %v", code, bytes.Equal(got, whole))
	}
	if bytes.Contains(w.storedBytes("mpe", "o"), p1[:64]) {
		t.Fatal("stored parts hold plaintext")
	}
	// A range across the part boundary, and ?partNumber=2.
	lo, hi := len(p1)-100, len(p1)+100
	if code, _, got := w.doResp("GET", "/mpe/o", nil, merge(ssec(key, ""), map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", lo, hi)})); code != 206 || !bytes.Equal(got, whole[lo:hi+1]) {
		t.Fatalf("range over the part boundary: %d", code)
	}
	if code, _, got := w.doResp("GET", "/mpe/o?partNumber=2", nil, ssec(key, "")); code != 206 || !bytes.Equal(got, p2) {
		t.Fatalf("partNumber=2: %d", code)
	}
	// UploadPartCopy from an SSE-C source into an SSE-S3 upload.
	code, _, out = w.doResp("POST", "/mpe/o2?uploads", nil, map[string]string{"x-amz-server-side-encryption": "AES256"})
	if code != 200 {
		t.Fatalf("create SSE-S3 upload: %d %s", code, out)
	}
	_ = xml.Unmarshal(out, &init)
	code, h, out = w.doResp("PUT", fmt.Sprintf("/mpe/o2?partNumber=1&uploadId=%s", init.UploadID), nil,
		merge(ssec(key, "copy-source-"), map[string]string{"x-amz-copy-source": "/mpe/o", "x-amz-copy-source-range": fmt.Sprintf("bytes=%d-%d", lo, hi)}))
	if code != 200 || h.Get("x-amz-server-side-encryption") != "AES256" {
		t.Fatalf("part copy: %d %s", code, out)
	}
	var cr struct {
		ETag string `xml:"ETag"`
	}
	_ = xml.Unmarshal(out, &cr)
	code, h, out = w.doResp("POST", "/mpe/o2?uploadId="+init.UploadID, []byte("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"+cr.ETag+"</ETag></Part></CompleteMultipartUpload>"), nil)
	if code != 200 || h.Get("x-amz-server-side-encryption") != "AES256" {
		t.Fatalf("complete SSE-S3: %d %s", code, out)
	}
	if got := w.mustStatus(200, "GET", "/mpe/o2", nil, nil); !bytes.Equal(got, whole[lo:hi+1]) {
		t.Fatal("part copy bytes")
	}
	_ = metapb.SSEAlgAES256
}

func TestBucketDefaultEncryption(t *testing.T) {
	w := newSSEWorld(t)
	w.mustStatus(200, "PUT", "/defenc", nil, nil)
	if code, out := w.do("GET", "/defenc?encryption", nil, nil); code != 404 || s3code(out) != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Fatalf("GET before PUT: %d %s", code, out)
	}
	cfg := `<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{"<ServerSideEncryptionConfiguration/>", 400, "MalformedXML"},
		{strings.Replace(cfg, "AES256", "AES128", 1), 400, "MalformedXML"},
		{strings.Replace(cfg, "</SSEAlgorithm>", "</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID>", 1), 400, "InvalidArgument"},
		{strings.Replace(cfg, "</SSEAlgorithm>", "</SSEAlgorithm><KMSMasterKeyID>alias/none</KMSMasterKeyID>", 1), 400, "InvalidArgument"},
		{strings.Replace(strings.Replace(cfg, "AES256", "aws:kms", 1), "</SSEAlgorithm>", "</SSEAlgorithm><KMSMasterKeyID>0f0e0d0c-0b0a-4908-8706-050403020100</KMSMasterKeyID>", 1), 400, "KMS.NotFoundException"},
	} {
		if code, out := w.do("PUT", "/defenc?encryption", []byte(c.body), contentMD5([]byte(c.body))); code != c.status || s3code(out) != c.code {
			t.Fatalf("PUT %s: %d %s, want %d %s", c.body, code, out, c.status, c.code)
		}
	}
	if code, out := w.do("PUT", "/defenc?encryption", []byte(cfg), nil); code != 400 || !strings.Contains(string(out), "Content-MD5") {
		t.Fatalf("PUT without an integrity header: %d %s", code, out)
	}
	w.mustStatus(200, "PUT", "/defenc?encryption", []byte(cfg), contentMD5([]byte(cfg)))
	got := w.mustStatus(200, "GET", "/defenc?encryption", nil, nil)
	if !strings.Contains(string(got), "<SSEAlgorithm>AES256</SSEAlgorithm>") || !strings.Contains(string(got), "<BucketKeyEnabled>false</BucketKeyEnabled>") {
		t.Fatalf("GET: %s", got)
	}
	// A PUT, a multipart upload and a copy without encryption headers get it.
	body := textPattern(1 << 20)
	code, h, _ := w.doResp("PUT", "/defenc/o", body, nil)
	if code != 200 || h.Get("x-amz-server-side-encryption") != "AES256" {
		t.Fatalf("PUT under default: %d %v", code, h)
	}
	if bytes.Contains(w.storedBytes("defenc", "o"), body[:64]) {
		t.Fatal("default-encrypted object stored in clear")
	}
	code, h, out := w.doResp("POST", "/defenc/mp?uploads", nil, nil)
	if code != 200 || h.Get("x-amz-server-side-encryption") != "AES256" {
		t.Fatalf("create upload under default: %d %s", code, out)
	}
	if code, h, _ := w.doResp("PUT", "/defenc/c", nil, map[string]string{"x-amz-copy-source": "/defenc/o"}); code != 200 || h.Get("x-amz-server-side-encryption") != "AES256" {
		t.Fatalf("copy under default: %d", code)
	}
	// A plain self-copy is still refused (the default changes nothing).
	if code, out := w.do("PUT", "/defenc/o", nil, map[string]string{"x-amz-copy-source": "/defenc/o"}); code != 400 {
		t.Fatalf("self copy: %d %s", code, out)
	}
	// SSE-C named by the request wins over the default.
	key := sse.NewKey()
	if code, h, _ := w.doResp("PUT", "/defenc/ssec", []byte("x"), ssec(key, "")); code != 200 || h.Get("x-amz-server-side-encryption") != "" || h.Get("x-amz-server-side-encryption-customer-algorithm") != "AES256" {
		t.Fatalf("SSE-C under default: %d %v", code, h)
	}
	w.mustStatus(204, "DELETE", "/defenc?encryption", nil, nil)
	w.mustStatus(404, "GET", "/defenc?encryption", nil, nil)
	if code, h, _ := w.doResp("PUT", "/defenc/p", []byte("plain"), nil); code != 200 || h.Get("x-amz-server-side-encryption") != "" {
		t.Fatalf("PUT after delete: %d %v", code, h)
	}
	// Old objects stay readable.
	if got := w.mustStatus(200, "GET", "/defenc/o", nil, nil); !bytes.Equal(got, body) {
		t.Fatal("default-encrypted object")
	}
}

func contentMD5(b []byte) map[string]string {
	sum := md5.Sum(b)
	return map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}
}

func TestSSEKMS(t *testing.T) {
	w := newSSEWorld(t)
	w.mustStatus(200, "PUT", "/kms", nil, nil)
	ctx := context.Background()
	b, _ := w.catalog.GetBucket(ctx, "kms")
	named, err := ssekms.CreateKey(ctx, w.catalog, "us-east-1", b.Owner, "alias/app")
	if err != nil {
		t.Fatal(err)
	}
	body := textPattern(300 << 10)
	sum := md5.Sum(body)
	encCtx := base64.StdEncoding.EncodeToString([]byte(`{"app":"billing"}`))
	for _, c := range []struct {
		name    string
		hdr     map[string]string
		wantARN string
	}{
		{"default key", map[string]string{"x-amz-server-side-encryption": "aws:kms"}, ""},
		{"alias", map[string]string{"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "alias/app"}, ssekms.ARN("us-east-1", b.Owner, named.ID)},
		{"key id with context and bucket key", map[string]string{"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": named.ID,
			"x-amz-server-side-encryption-context": encCtx, "x-amz-server-side-encryption-bucket-key-enabled": "true"}, ssekms.ARN("us-east-1", b.Owner, named.ID)},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, h, out := w.doResp("PUT", "/kms/o", body, c.hdr)
			if code != 200 || h.Get("x-amz-server-side-encryption") != "aws:kms" || !strings.HasPrefix(h.Get("x-amz-server-side-encryption-aws-kms-key-id"), "arn:aws:kms:us-east-1:"+b.Owner+":key/") {
				t.Fatalf("PUT: %d %v %s", code, h, out)
			}
			if c.wantARN != "" && h.Get("x-amz-server-side-encryption-aws-kms-key-id") != c.wantARN {
				t.Fatalf("key %q, want %q", h.Get("x-amz-server-side-encryption-aws-kms-key-id"), c.wantARN)
			}
			if strings.Trim(h.Get("ETag"), `"`) == hex.EncodeToString(sum[:]) {
				t.Fatal("an SSE-KMS ETag must not be the plaintext MD5")
			}
			if bytes.Contains(w.storedBytes("kms", "o"), body[:64]) {
				t.Fatal("stored in clear")
			}
			code, gh, got := w.doResp("GET", "/kms/o", nil, map[string]string{"Range": "bytes=70000-200000"})
			if code != 206 || !bytes.Equal(got, body[70000:200001]) || gh.Get("x-amz-server-side-encryption-aws-kms-key-id") != h.Get("x-amz-server-side-encryption-aws-kms-key-id") {
				t.Fatalf("GET: %d %v", code, gh)
			}
			if c.hdr["x-amz-server-side-encryption-bucket-key-enabled"] != "" && gh.Get("x-amz-server-side-encryption-bucket-key-enabled") != "true" {
				t.Fatal("bucket key flag not echoed")
			}
		})
	}
	for _, c := range []struct {
		name   string
		hdr    map[string]string
		status int
		code   string
		msg    string
	}{
		{"unknown key id", map[string]string{"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "0f0e0d0c-0b0a-4908-8706-050403020100"}, 400, "KMS.NotFoundException", "does not exist"},
		{"unknown alias", map[string]string{"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "alias/none"}, 400, "KMS.NotFoundException", "is not found"},
		{"another account's key", map[string]string{"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": ssekms.ARN("us-east-1", "999", named.ID)}, 400, "KMS.NotFoundException", ""},
		{"bad context", map[string]string{"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-context": "not-json"}, 400, "InvalidArgument", "x-amz-server-side-encryption-context"},
		{"key id without aws:kms", map[string]string{"x-amz-server-side-encryption-aws-kms-key-id": named.ID}, 400, "InvalidArgument", ""},
		{"dual layer", map[string]string{"x-amz-server-side-encryption": "aws:kms:dsse"}, 501, "NotImplemented", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out := w.do("PUT", "/kms/x", []byte("x"), c.hdr)
			if code != c.status || s3code(out) != c.code || !strings.Contains(string(out), c.msg) {
				t.Fatalf("%d %s, want %d %s %q", code, out, c.status, c.code, c.msg)
			}
		})
	}
	// Bucket default aws:kms with a named key; multipart under it.
	cfg := `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>alias/app</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`
	w.mustStatus(200, "PUT", "/kms?encryption", []byte(cfg), contentMD5([]byte(cfg)))
	code, h, out := w.doResp("POST", "/kms/mp?uploads", nil, nil)
	if code != 200 || h.Get("x-amz-server-side-encryption") != "aws:kms" {
		t.Fatalf("create upload: %d %s", code, out)
	}
	var init struct {
		UploadID string `xml:"UploadId"`
	}
	_ = xml.Unmarshal(out, &init)
	code, ph, out := w.doResp("PUT", "/kms/mp?partNumber=1&uploadId="+init.UploadID, body, nil)
	if code != 200 {
		t.Fatalf("part: %d %s", code, out)
	}
	w.mustStatus(200, "POST", "/kms/mp?uploadId="+init.UploadID, []byte("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"+ph.Get("ETag")+"</ETag></Part></CompleteMultipartUpload>"), nil)
	code, gh, got := w.doResp("GET", "/kms/mp", nil, nil)
	if code != 200 || !bytes.Equal(got, body) || gh.Get("x-amz-server-side-encryption-aws-kms-key-id") != ssekms.ARN("us-east-1", b.Owner, named.ID) {
		t.Fatalf("GET multipart: %d %v", code, gh)
	}
}

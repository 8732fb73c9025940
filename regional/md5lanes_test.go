package regional_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/meridian-s3/meridian/internal/md5lanes"
	"github.com/meridian-s3/meridian/regional"
)

// TestETagsMatchCryptoMD5: with bodies on multi-buffer lanes, on
// crypto/md5 alone, and with the default choice between them, every ETag
// (PUT, multipart parts and the completed upload, CopyObject) is the one
// crypto/md5 gives, and Content-MD5 is checked the same way. The requests
// of each step run at once, so that lanes are shared.
func TestETagsMatchCryptoMD5(t *testing.T) {
	for _, mode := range []struct {
		name string
		cfg  md5lanes.Config
	}{
		{"lanes", md5lanes.Config{MinStreams: 1, MinSize: 1}},
		{"crypto", md5lanes.Config{MinStreams: -1}},
		{"default", md5lanes.Config{}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			w := newWorldWith(t, func(c *regional.Config) { c.MD5 = mode.cfg })
			w.mustStatus(200, "PUT", "/etags", nil, nil)
			quoted := func(b []byte) string { return `"` + md5hex(b) + `"` }
			b64 := func(b []byte) string { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }

			// PUT: sizes around MD5's block, the inline threshold (64 KiB),
			// the lanes' minimum (256 KiB) and several 4 MiB segments;
			// every other one with a correct Content-MD5, and a wrong one
			// for each size > 0.
			sizes := []int{0, 1, 63, 64, 65, 64 << 10, 64<<10 + 1, 256<<10 - 1, 256 << 10, 1<<20 + 7, 5<<20 + 3, 9<<20 + 123}
			bodies := make([][]byte, len(sizes))
			var wg sync.WaitGroup
			for i, n := range sizes {
				bodies[i] = random(n)
				wg.Add(1)
				go func(i int, body []byte) {
					defer wg.Done()
					hdr := map[string]string{}
					if i%2 == 1 {
						hdr["Content-MD5"] = b64(body)
					}
					code, h, out := w.doResp("PUT", fmt.Sprintf("/etags/o%d", i), body, hdr)
					if code != 200 || h.Get("ETag") != quoted(body) {
						t.Errorf("PUT %d bytes: %d ETag %s, want %s: %s", len(body), code, h.Get("ETag"), quoted(body), out)
					}
					if len(body) == 0 {
						return
					}
					code, _, out = w.doResp("PUT", fmt.Sprintf("/etags/bad%d", i), body, map[string]string{"Content-MD5": b64(body[1:])})
					if code != 400 || s3code(out) != "BadDigest" {
						t.Errorf("PUT %d bytes with a wrong Content-MD5: %d %s", len(body), code, out)
					}
				}(i, bodies[i])
			}
			wg.Wait()
			for i, body := range bodies {
				code, h, got := w.doResp("GET", fmt.Sprintf("/etags/o%d", i), nil, nil)
				if code != 200 || !bytes.Equal(got, body) || h.Get("ETag") != quoted(body) {
					t.Errorf("GET %d bytes: %d equal=%v ETag %s", len(body), code, bytes.Equal(got, body), h.Get("ETag"))
				}
				if len(body) > 0 {
					w.mustStatus(404, "HEAD", fmt.Sprintf("/etags/bad%d", i), nil, nil)
				}
			}

			// Multipart: parts uploaded at once; each part's ETag is its MD5,
			// the upload's is MD5(part MD5s)-N.
			out := w.mustStatus(200, "POST", "/etags/mp?uploads", nil, nil)
			var init struct {
				UploadID string `xml:"UploadId"`
			}
			if err := xml.Unmarshal(out, &init); err != nil || init.UploadID == "" {
				t.Fatalf("create upload: %s", out)
			}
			parts := [][]byte{random(5 << 20), random(5<<20 + 1), random(5<<20 + 4095), random(77)}
			for i, p := range parts {
				wg.Add(1)
				go func(i int, p []byte) {
					defer wg.Done()
					code, h, out := w.doResp("PUT", fmt.Sprintf("/etags/mp?partNumber=%d&uploadId=%s", i+1, init.UploadID), p, nil)
					if code != 200 || h.Get("ETag") != quoted(p) {
						t.Errorf("part %d: %d ETag %s, want %s: %s", i+1, code, h.Get("ETag"), quoted(p), out)
					}
				}(i, p)
			}
			wg.Wait()
			var complete strings.Builder
			var sums []byte
			complete.WriteString("<CompleteMultipartUpload>")
			for i, p := range parts {
				fmt.Fprintf(&complete, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, quoted(p))
				s := md5.Sum(p)
				sums = append(sums, s[:]...)
			}
			complete.WriteString("</CompleteMultipartUpload>")
			all := md5.Sum(sums)
			wantMP := fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(all[:]), len(parts))
			out = w.mustStatus(200, "POST", "/etags/mp?uploadId="+init.UploadID, []byte(complete.String()), nil)
			if !strings.Contains(string(out), "<ETag>"+strings.ReplaceAll(wantMP, `"`, "&#34;")+"</ETag>") && !strings.Contains(string(out), "<ETag>"+wantMP+"</ETag>") {
				t.Errorf("complete: %s, want ETag %s", out, wantMP)
			}
			if _, h, _ := w.doResp("HEAD", "/etags/mp", nil, nil); h.Get("ETag") != wantMP {
				t.Errorf("multipart ETag %s, want %s", h.Get("ETag"), wantMP)
			}

			// CopyObject of the PUT objects, at once.
			for i, body := range bodies {
				wg.Add(1)
				go func(i int, body []byte) {
					defer wg.Done()
					code, _, out := w.doResp("PUT", fmt.Sprintf("/etags/copy%d", i), nil, map[string]string{"x-amz-copy-source": fmt.Sprintf("/etags/o%d", i)})
					var res copyResult
					if err := xml.Unmarshal(out, &res); code != 200 || err != nil || res.ETag != quoted(body) {
						t.Errorf("copy %d bytes: %d ETag %s, want %s: %s", len(body), code, res.ETag, quoted(body), out)
					}
				}(i, body)
			}
			wg.Wait()
		})
	}
}

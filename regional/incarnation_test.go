package regional_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/regional"
)

// commitGate pauses every PUT (and part upload) whose key starts with
// "slow/" between its shard writes and its COMMIT, until released.
type commitGate struct {
	reached chan string
	release chan struct{}
	once    sync.Once
}

func newCommitGate() *commitGate {
	return &commitGate{reached: make(chan string, 16), release: make(chan struct{})}
}

func (g *commitGate) hook(c *regional.Config) {
	c.BeforeCommit = func(ctx context.Context, bucket, key string) {
		if !strings.HasPrefix(key, "slow/") {
			return
		}
		g.reached <- bucket + " " + key
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
}

func (g *commitGate) open() { g.once.Do(func() { close(g.release) }) }

func (g *commitGate) wait(t *testing.T) string {
	t.Helper()
	select {
	case s := <-g.reached:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("the PUT never reached its COMMIT")
	}
	return ""
}

// secondAccount adds another account with an access key to the catalog.
func (w *world) secondAccount() aws.Credentials {
	w.t.Helper()
	ctx := context.Background()
	acct, err := w.catalog.CreateAccount(ctx, bucketsvc.Account{DisplayName: "mallory"})
	if err != nil {
		w.t.Fatal(err)
	}
	k := bucketsvc.AccessKey{ID: "AKIDSECONDACCOUNT", Secret: "second-secret", AccountID: acct.ID, Status: bucketsvc.KeyActive, Created: time.Now()}
	if err := w.catalog.PutAccessKey(ctx, k); err != nil {
		w.t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
}

type result struct {
	code int
	body []byte
}

// TestBucketDeleteFencesInFlightPut is the cross-account leak of issue 6: a
// PUT paused between its shard writes and its COMMIT while its bucket is
// deleted and re-created by another account must fail, leave the new
// bucket empty, and leave no shard behind — for an erasure-coded PUT, an
// inline PUT and a multipart part.
func TestBucketDeleteFencesInFlightPut(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		upload bool // an UploadPart instead of a PutObject
	}{
		{"erasure-coded", 6 << 20, false},
		{"inline", 1 << 10, false},
		{"part", 5 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gate := newCommitGate()
			w := newWorldWith(t, gate.hook)
			defer gate.open()
			other := w.secondAccount()
			w.mustStatus(200, "PUT", "/fenced", nil, nil)
			path := "/fenced/slow/obj"
			if tc.upload {
				out := w.mustStatus(200, "POST", "/fenced/slow/obj?uploads", nil, nil)
				uid := between(string(out), "<UploadId>", "</UploadId>")
				path = "/fenced/slow/obj?partNumber=1&uploadId=" + uid
			}
			data := random(tc.size)
			done := make(chan result, 1)
			go func() {
				code, body := w.do("PUT", path, data, nil)
				done <- result{code, body}
			}()
			at := gate.wait(t)
			if !strings.HasPrefix(at, "fenced/") {
				t.Fatalf("commit keyed by %q, want the bucket's incarnation key fenced/<id>", at)
			}
			if tc.size > 64<<10 && w.store.Count() == 0 {
				t.Fatal("no shard written before the pause")
			}

			w.mustStatus(204, "DELETE", "/fenced", nil, nil)
			if code, body := w.doAs(other, "PUT", "/fenced", nil, nil); code != 200 {
				t.Fatalf("re-create by another account: %d %s", code, body)
			}
			gate.open()
			r := <-done
			if r.code == 200 {
				t.Fatalf("the fenced PUT succeeded: %s", r.body)
			}
			if got := s3code(r.body); got != "NoSuchBucket" {
				t.Fatalf("fenced PUT: %d %s, want 404 NoSuchBucket", r.code, r.body)
			}
			// No shard of the fenced write stays: deleted by the writer
			// right away (the reclaimer has them queued as well).
			if n := w.store.Count(); n != 0 {
				t.Fatalf("%d shards of the fenced PUT remain", n)
			}
			// The new bucket is empty and its owner cannot read the old data.
			if code, body := w.doAs(other, "GET", "/fenced?list-type=2", nil, nil); code != 200 || strings.Contains(string(body), "<Key>") {
				t.Fatalf("new bucket lists: %d %s", code, body)
			}
			if code, body := w.doAs(other, "GET", "/fenced/slow/obj", nil, nil); code != 404 || s3code(body) != "NoSuchKey" {
				t.Fatalf("GET in the new bucket: %d %s", code, body)
			}
			if code, body := w.doAs(other, "GET", "/fenced?uploads", nil, nil); code != 200 || strings.Contains(string(body), "<Upload>") {
				t.Fatalf("new bucket lists uploads: %d %s", code, body)
			}
			// The new incarnation works normally.
			if code, body := w.doAs(other, "PUT", "/fenced/slow2", []byte("new"), nil); code != 200 {
				t.Fatalf("PUT in the new bucket: %d %s", code, body)
			}
			w.settle(0)
		})
	}
}

// TestBucketDeleteRefusedResumesWrites: a delete refused (BucketNotEmpty)
// lifts its seals, so a PUT paused across it still commits.
func TestBucketDeleteRefusedResumesWrites(t *testing.T) {
	gate := newCommitGate()
	w := newWorldWith(t, gate.hook)
	defer gate.open()
	w.mustStatus(200, "PUT", "/busy", nil, nil)
	// Objects on several keys, so that some partitions are empty and get
	// sealed before another refuses.
	for i := 0; i < 8; i++ {
		w.mustStatus(200, "PUT", fmt.Sprintf("/busy/k%d", i), []byte("x"), nil)
	}
	done := make(chan result, 1)
	go func() {
		code, body := w.do("PUT", "/busy/slow/obj", random(6<<20), nil)
		done <- result{code, body}
	}()
	gate.wait(t)
	if code, body := w.do("DELETE", "/busy", nil, nil); code != 409 || s3code(body) != "BucketNotEmpty" {
		t.Fatalf("DELETE non-empty: %d %s", code, body)
	}
	gate.open()
	if r := <-done; r.code != 200 {
		t.Fatalf("PUT across a refused delete: %d %s", r.code, r.body)
	}
	w.mustStatus(200, "GET", "/busy/slow/obj", nil, nil)
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}

// TestConditionalDeleteAndComplete: If-Match on DeleteObject and the
// per-object <ETag> of DeleteObjects, If-Match/If-None-Match on
// CompleteMultipartUpload answer as S3 does and change nothing on failure.
func TestConditionalDeleteAndComplete(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/cond", nil, nil)
	w.mustStatus(200, "PUT", "/cond/k", []byte("hello"), nil)
	etag := fmt.Sprintf(`"%x"`, md5.Sum([]byte("hello")))

	if code, body := w.do("DELETE", "/cond/k", nil, map[string]string{"If-Match": `"0123"`}); code != 412 || s3code(body) != "PreconditionFailed" {
		t.Fatalf("DELETE If-Match mismatch: %d %s", code, body)
	}
	w.mustStatus(200, "GET", "/cond/k", nil, nil)
	if code, body := w.do("DELETE", "/cond/absent", nil, map[string]string{"If-Match": "*"}); code != 404 || s3code(body) != "NoSuchKey" {
		t.Fatalf("DELETE If-Match on absent key: %d %s", code, body)
	}
	for _, h := range []string{"x-amz-if-match-size", "x-amz-if-match-last-modified-time"} {
		if code, body := w.do("DELETE", "/cond/k", nil, map[string]string{h: "5"}); code != 501 || s3code(body) != "NotImplemented" {
			t.Fatalf("DELETE with %s: %d %s", h, code, body)
		}
	}
	w.mustStatus(204, "DELETE", "/cond/k", nil, map[string]string{"If-Match": etag})
	w.mustStatus(404, "GET", "/cond/k", nil, nil)

	// PUT If-Match on an absent key: 404 NoSuchKey (inline and sharded
	// bodies), nothing stored; on a present key a mismatch is 412.
	for _, size := range []int{5, 3 << 20} {
		if code, body := w.do("PUT", "/cond/k", bytes.Repeat([]byte("x"), size), map[string]string{"If-Match": etag}); code != 404 || s3code(body) != "NoSuchKey" {
			t.Fatalf("PUT If-Match (%d bytes) on absent key: %d %s", size, code, body)
		}
		w.mustStatus(404, "GET", "/cond/k", nil, nil)
	}
	w.mustStatus(200, "PUT", "/cond/k", []byte("hello"), nil)
	if code, body := w.do("PUT", "/cond/k", []byte("other"), map[string]string{"If-Match": `"0123"`}); code != 412 || s3code(body) != "PreconditionFailed" {
		t.Fatalf("PUT If-Match mismatch: %d %s", code, body)
	}
	w.mustStatus(200, "PUT", "/cond/k", []byte("hello"), map[string]string{"If-Match": etag})
	w.mustStatus(204, "DELETE", "/cond/k", nil, nil)

	// DeleteObjects: per-object ETag.
	w.mustStatus(200, "PUT", "/cond/a", []byte("hello"), nil)
	w.mustStatus(200, "PUT", "/cond/b", []byte("hello"), nil)
	body := []byte(`<Delete><Object><Key>a</Key><ETag>"nope"</ETag></Object><Object><Key>b</Key><ETag>` + etag + `</ETag></Object><Object><Key>c</Key><ETag>` + etag + `</ETag></Object></Delete>`)
	sum := md5.Sum(body)
	out := string(w.mustStatus(200, "POST", "/cond?delete", body, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}))
	if !strings.Contains(out, "<Deleted><Key>b</Key>") || !strings.Contains(out, "<Key>a</Key><Code>PreconditionFailed</Code>") || !strings.Contains(out, "<Key>c</Key><Code>NoSuchKey</Code>") {
		t.Fatalf("DeleteObjects with ETags: %s", out)
	}
	w.mustStatus(200, "GET", "/cond/a", nil, nil)
	w.mustStatus(404, "GET", "/cond/b", nil, nil)

	// CompleteMultipartUpload conditions.
	upload := func(key string) (string, []byte) {
		out := w.mustStatus(200, "POST", "/cond/"+key+"?uploads", nil, nil)
		uid := between(string(out), "<UploadId>", "</UploadId>")
		part := []byte("part-one")
		w.mustStatus(200, "PUT", "/cond/"+key+"?partNumber=1&uploadId="+uid, part, nil)
		return uid, []byte(fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"%x"</ETag></Part></CompleteMultipartUpload>`, md5.Sum(part)))
	}
	uid, cbody := upload("m")
	if code, body := w.do("POST", "/cond/m?uploadId="+uid, cbody, map[string]string{"If-Match": etag}); code != 404 || s3code(body) != "NoSuchKey" {
		t.Fatalf("complete If-Match on absent key: %d %s", code, body)
	}
	w.mustStatus(200, "POST", "/cond/m?uploadId="+uid, cbody, map[string]string{"If-None-Match": "*"})
	partSum := md5.Sum([]byte("part-one"))
	mEtag := fmt.Sprintf(`"%x-1"`, md5.Sum(partSum[:]))
	// Completing it again answers the same completion, as S3 does.
	if again := string(w.mustStatus(200, "POST", "/cond/m?uploadId="+uid, cbody, nil)); !strings.Contains(again, strings.Trim(mEtag, `"`)) {
		t.Fatalf("repeated complete: %s, want ETag %s", again, mEtag)
	}

	uid2, cbody2 := upload("m")
	if code, body := w.do("POST", "/cond/m?uploadId="+uid2, cbody2, map[string]string{"If-None-Match": "*"}); code != 412 || s3code(body) != "PreconditionFailed" {
		t.Fatalf("complete If-None-Match on existing key: %d %s", code, body)
	}
	if code, body := w.do("POST", "/cond/m?uploadId="+uid2, cbody2, map[string]string{"If-Match": `"deadbeef-1"`}); code != 412 {
		t.Fatalf("complete If-Match mismatch: %d %s", code, body)
	}
	// Nothing completed, nothing removed: the upload still lists its part.
	if out := w.mustStatus(200, "GET", "/cond/m?uploadId="+uid2, nil, nil); !strings.Contains(string(out), "<PartNumber>1</PartNumber>") {
		t.Fatalf("upload changed by a failed conditional complete: %s", out)
	}
	w.mustStatus(200, "POST", "/cond/m?uploadId="+uid2, cbody2, map[string]string{"If-Match": mEtag})
}

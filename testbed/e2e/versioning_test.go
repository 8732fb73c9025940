package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// testVersioning drives S3 versioning with aws-sdk-go-v2 (c: to a region
// with 8 metadata partitions, directly or through an edge) in a new bucket
// (docs/versioning.md).
func testVersioning(t *testing.T, c *s3.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	wantErr := func(what string, err error, status int, code string) *smithyhttp.ResponseError {
		t.Helper()
		var re *smithyhttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != status || (code != "" && apiCode(err) != code) {
			t.Fatalf("%s: %v (status %d, code %q), want %d %s", what, err, httpStatus(err), apiCode(err), status, code)
		}
		return re
	}
	put := func(key string, body []byte) *s3.PutObjectOutput {
		t.Helper()
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		must("put "+key, err)
		return out
	}
	get := func(key, version string) []byte {
		t.Helper()
		in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
		if version != "" {
			in.VersionId = aws.String(version)
		}
		out, err := c.GetObject(ctx, in)
		must("get "+key+"@"+version, err)
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		must("read", err)
		if version != "" && aws.ToString(out.VersionId) != version {
			t.Fatalf("get %s@%s answered version %q", key, version, aws.ToString(out.VersionId))
		}
		return b
	}
	setStatus := func(s types.BucketVersioningStatus) {
		t.Helper()
		_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
			VersioningConfiguration: &types.VersioningConfiguration{Status: s}})
		must("put-bucket-versioning "+string(s), err)
		gv, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
		must("get-bucket-versioning", err)
		if gv.Status != s {
			t.Fatalf("versioning status %q, want %q", gv.Status, s)
		}
	}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	must("create bucket", err)
	gv, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil || gv.Status != "" || gv.MFADelete != "" {
		t.Fatalf("unversioned bucket: %+v %v", gv, err)
	}
	null := []byte("written before versioning")
	if out := put("k", null); out.VersionId != nil {
		t.Fatalf("unversioned PUT answered version %q", *out.VersionId)
	}
	// Strict input on an unversioned bucket: only "null" names a version.
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String("AAAAAAAAAAAAAAAA")})
	wantErr("unversioned get of an id", err, 400, "InvalidArgument")

	// Bad configurations are refused and change nothing.
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled, MFADelete: types.MFADeleteEnabled}})
	wantErr("MFA delete", err, 501, "NotImplemented")
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: "On"}})
	wantErr("bad status", err, 400, "IllegalVersioningConfigurationException")
	if gv, _ := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)}); gv.Status != "" {
		t.Fatalf("a refused configuration was stored: %q", gv.Status)
	}

	setStatus(types.BucketVersioningStatusEnabled)
	v1Body := bytes.Repeat([]byte("1"), 3<<20) // erasure-coded: its shards must stay referenced
	v1 := aws.ToString(put("k", v1Body).VersionId)
	v2Body := []byte("second")
	v2 := aws.ToString(put("k", v2Body).VersionId)
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" || !(v1 < v2) {
		t.Fatalf("version ids %q, %q: want distinct, time-sorted ids", v1, v2)
	}
	if !bytes.Equal(get("k", ""), v2Body) || !bytes.Equal(get("k", v1), v1Body) || !bytes.Equal(get("k", "null"), null) {
		t.Fatal("a version reads back wrong")
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String(v1)})
	if err != nil || aws.ToInt64(h.ContentLength) != int64(len(v1Body)) || aws.ToString(h.VersionId) != v1 {
		t.Fatalf("head v1: %+v %v", h, err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String("AAAAAAAAAAAAAAAA")})
	wantErr("unknown version", err, 404, "NoSuchVersion")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String("not/a+version")})
	wantErr("malformed version", err, 400, "InvalidArgument")

	// A DELETE without a version id adds a delete marker.
	d, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	must("delete", err)
	marker := aws.ToString(d.VersionId)
	if !aws.ToBool(d.DeleteMarker) || marker == "" || !(marker > v2) {
		t.Fatalf("delete: marker %v id %q", aws.ToBool(d.DeleteMarker), marker)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	re := wantErr("get through a marker", err, 404, "NoSuchKey")
	if re.Response.Header.Get("x-amz-delete-marker") != "true" || re.Response.Header.Get("x-amz-version-id") != marker {
		t.Fatalf("404 headers: %v", re.Response.Header)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String(marker)})
	re = wantErr("get of the marker", err, 405, "MethodNotAllowed")
	if re.Response.Header.Get("x-amz-delete-marker") != "true" || re.Response.Header.Get("Last-Modified") == "" {
		t.Fatalf("405 headers: %v", re.Response.Header)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String(marker)})
	wantErr("head of the marker", err, 405, "")
	if l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}); err != nil || len(l.Contents) != 0 {
		t.Fatalf("ListObjectsV2 shows a deleted key: %+v %v", l, err)
	}
	lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	must("list versions", err)
	if len(lv.DeleteMarkers) != 1 || aws.ToString(lv.DeleteMarkers[0].VersionId) != marker || !aws.ToBool(lv.DeleteMarkers[0].IsLatest) ||
		lv.DeleteMarkers[0].Owner == nil || len(lv.Versions) != 3 {
		t.Fatalf("list versions: %d markers %d versions", len(lv.DeleteMarkers), len(lv.Versions))
	}
	for i, want := range []string{v2, v1, "null"} {
		v := lv.Versions[i]
		if aws.ToString(v.VersionId) != want || aws.ToBool(v.IsLatest) || v.ETag == nil || v.Size == nil || v.StorageClass == "" || v.LastModified == nil {
			t.Fatalf("version %d: %+v", i, v)
		}
	}
	if aws.ToInt64(lv.Versions[1].Size) != int64(len(v1Body)) {
		t.Fatalf("v1 listed with size %d", aws.ToInt64(lv.Versions[1].Size))
	}

	testVersionedMultipart(ctx, t, c, bucket)

	// Permanent deletes: the marker, then the current version; the
	// previous one becomes current and its shards are still there.
	d, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String(marker)})
	if err != nil || !aws.ToBool(d.DeleteMarker) || aws.ToString(d.VersionId) != marker {
		t.Fatalf("delete the marker: %+v %v", d, err)
	}
	if !bytes.Equal(get("k", ""), v2Body) {
		t.Fatal("removing the marker did not uncover v2")
	}
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String(v2)})
	must("delete v2", err)
	if !bytes.Equal(get("k", ""), v1Body) {
		t.Fatal("v1 is not current after v2 was deleted")
	}

	// Suspended: a PUT replaces the null version only.
	setStatus(types.BucketVersioningStatusSuspended)
	if out := put("k", []byte("null again")); aws.ToString(out.VersionId) != "null" {
		t.Fatalf("suspended PUT answered version %q", aws.ToString(out.VersionId))
	}
	lv, err = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String("k")})
	must("list versions", err)
	if len(lv.Versions) != 2 || aws.ToString(lv.Versions[0].VersionId) != "null" || aws.ToString(lv.Versions[1].VersionId) != v1 {
		t.Fatalf("suspended: versions %+v", lv.Versions)
	}
	if !bytes.Equal(get("k", "null"), []byte("null again")) || !bytes.Equal(get("k", v1), v1Body) {
		t.Fatal("suspended: versions read back wrong")
	}

	// DeleteObjects with and without version ids.
	setStatus(types.BucketVersioningStatusEnabled)
	dr, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("k"), VersionId: aws.String("null")},
		{Key: aws.String("k"), VersionId: aws.String(v1)},
		{Key: aws.String("gone")},
		{Key: aws.String("k"), VersionId: aws.String("bad!")},
	}}})
	must("delete objects", err)
	got := map[string]types.DeletedObject{}
	for _, o := range dr.Deleted {
		got[aws.ToString(o.Key)+"@"+aws.ToString(o.VersionId)] = o
	}
	if len(dr.Deleted) != 3 || len(dr.Errors) != 1 || aws.ToString(dr.Errors[0].Code) != "InvalidArgument" {
		t.Fatalf("delete objects: %d deleted, errors %+v", len(dr.Deleted), dr.Errors)
	}
	if o, ok := got["gone@"]; !ok || !aws.ToBool(o.DeleteMarker) || aws.ToString(o.DeleteMarkerVersionId) == "" {
		t.Fatalf("delete objects: no marker for gone: %+v", dr.Deleted)
	}
	if _, ok := got["k@"+v1]; !ok {
		t.Fatalf("delete objects: %+v", dr.Deleted)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")}); httpStatus(err) != 404 {
		t.Fatalf("k after deleting every version: %v", err)
	}

	// Pagination over 8 hash partitions: 24 keys × 1–3 versions, some
	// markers, pages of 5 with key and version-id markers, and a delimiter.
	var want []string
	for i := 0; i < 24; i++ {
		key := fmt.Sprintf("p/%02d", i)
		var ids []string
		for j := 0; j <= i%3; j++ {
			ids = append([]string{aws.ToString(put(key, []byte(key)).VersionId)}, ids...)
		}
		if i%4 == 0 {
			d, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			must("delete", err)
			ids = append([]string{aws.ToString(d.VersionId)}, ids...)
		}
		for _, id := range ids {
			want = append(want, key+"@"+id)
		}
	}
	var listed []string
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String("p/"), MaxKeys: aws.Int32(5)}
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatal("ListObjectVersions pagination does not end")
		}
		out, err := c.ListObjectVersions(ctx, in)
		must("list versions page", err)
		// Versions and markers of one page, back in listing order.
		type ent struct {
			key, id string
			at      time.Time
		}
		var page []ent
		for _, v := range out.Versions {
			page = append(page, ent{aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToTime(v.LastModified)})
		}
		for _, m := range out.DeleteMarkers {
			page = append(page, ent{aws.ToString(m.Key), aws.ToString(m.VersionId), aws.ToTime(m.LastModified)})
		}
		if len(page) > 5 {
			t.Fatalf("page of %d", len(page))
		}
		for i := range page {
			for j := i + 1; j < len(page); j++ {
				if page[j].key < page[i].key || (page[j].key == page[i].key && page[j].id > page[i].id) {
					page[i], page[j] = page[j], page[i]
				}
			}
		}
		for _, e := range page {
			listed = append(listed, e.key+"@"+e.id)
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	if !reflect.DeepEqual(listed, want) {
		t.Fatalf("paged versions:\n got %v\nwant %v", listed, want)
	}
	cp, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Delimiter: aws.String("/")})
	must("list versions with delimiter", err)
	if len(cp.CommonPrefixes) != 1 || aws.ToString(cp.CommonPrefixes[0].Prefix) != "p/" {
		t.Fatalf("common prefixes %+v", cp.CommonPrefixes)
	}
	_, err = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), VersionIdMarker: aws.String(v1)})
	wantErr("version-id-marker without key-marker", err, 400, "InvalidArgument")

	// A bucket holding only delete markers and versions is not empty.
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	wantErr("delete a bucket with versions", err, 409, "BucketNotEmpty")
	if !strings.HasPrefix(want[0], "p/00@") {
		t.Fatal(want[0])
	}
}

// testVersioningCLI runs the versioning commands of the aws CLI by name.
func testVersioningCLI(t *testing.T, r *Region) {
	run := awsCLI(t, r)
	dir := t.TempDir()
	const bucket = "cli-versioned"
	jsonOf := func(out string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("not JSON: %q", out)
		}
		return m
	}
	run("s3api", "create-bucket", "--bucket", bucket)
	run("s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
	if st := jsonOf(run("s3api", "get-bucket-versioning", "--bucket", bucket))["Status"]; st != "Enabled" {
		t.Fatalf("get-bucket-versioning: %v", st)
	}
	src := filepath.Join(dir, "one.txt")
	if err := os.WriteFile(src, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	v1, _ := jsonOf(run("s3api", "put-object", "--bucket", bucket, "--key", "doc", "--body", src))["VersionId"].(string)
	if err := os.WriteFile(src, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	v2, _ := jsonOf(run("s3api", "put-object", "--bucket", bucket, "--key", "doc", "--body", src))["VersionId"].(string)
	if v1 == "" || v2 == "" || v1 == v2 {
		t.Fatalf("put-object version ids %q %q", v1, v2)
	}
	lv := jsonOf(run("s3api", "list-object-versions", "--bucket", bucket))
	vs, _ := lv["Versions"].([]any)
	if len(vs) != 2 || vs[0].(map[string]any)["VersionId"] != v2 || vs[0].(map[string]any)["IsLatest"] != true {
		t.Fatalf("list-object-versions: %v", lv)
	}
	// botocore's paginator follows NextKeyMarker/NextVersionIdMarker.
	paged := jsonOf(run("s3api", "list-object-versions", "--bucket", bucket, "--page-size", "1"))
	if pv, _ := paged["Versions"].([]any); len(pv) != 2 || pv[1].(map[string]any)["VersionId"] != v1 {
		t.Fatalf("list-object-versions --page-size 1: %v", paged)
	}
	dst := filepath.Join(dir, "out.txt")
	got := jsonOf(run("s3api", "get-object", "--bucket", bucket, "--key", "doc", "--version-id", v1, dst))
	if b, err := os.ReadFile(dst); err != nil || string(b) != "one" || got["VersionId"] != v1 {
		t.Fatalf("get-object --version-id: %q %v %v", b, err, got)
	}
	del := jsonOf(run("s3api", "delete-object", "--bucket", bucket, "--key", "doc", "--version-id", v2))
	if del["VersionId"] != v2 {
		t.Fatalf("delete-object --version-id: %v", del)
	}
	run("s3api", "get-object", "--bucket", bucket, "--key", "doc", dst)
	if b, _ := os.ReadFile(dst); string(b) != "one" {
		t.Fatalf("after deleting v2 the current version reads %q", b)
	}
	if del := jsonOf(run("s3api", "delete-object", "--bucket", bucket, "--key", "doc")); del["DeleteMarker"] != true {
		t.Fatalf("delete-object: %v", del)
	}
}

// startNoncurrentKept (TestBackground, with real janitors): three erasure-
// coded versions of one key in a versioned bucket, the oldest deleted by
// id. It returns the check to run once the janitors' garbage grace has
// passed: the deleted version's shards are reclaimed, the two others' are
// all still stored and read back — an overwrite in a versioned bucket is
// never garbage.
func startNoncurrentKept(ctx context.Context, t *testing.T, r *Region, c *s3.Client) func(t *testing.T) {
	const bucket, key = "background-versions", "kept"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	type version struct {
		id     string
		body   []byte
		shards []string
	}
	var vs []version
	for i := 0; i < 3; i++ {
		before := shardIDs(t, r)
		body := bytes.Repeat([]byte{byte('a' + i)}, 1<<20)
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		sh := newShards(before, shardIDs(t, r))
		if len(sh) != 14 {
			t.Fatalf("version %d wrote %d shards, want 14", i, len(sh))
		}
		vs = append(vs, version{aws.ToString(out.VersionId), body, sh})
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(vs[0].id)}); err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T) {
		waitUntil(t, "the deleted version's shards to be reclaimed", 90*time.Second, func() bool {
			now := shardIDs(t, r)
			for _, s := range vs[0].shards {
				if now[s] {
					return false
				}
			}
			return true
		})
		now := shardIDs(t, r)
		for _, v := range vs[1:] {
			for _, s := range v.shards {
				if !now[s] {
					t.Fatalf("shard %s of kept version %s was deleted", s, v.id)
				}
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(v.id)})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || !bytes.Equal(b, v.body) {
				t.Fatalf("version %s reads back wrong (%v)", v.id, err)
			}
		}
	}
}

// testVersioningBadInput: bad PutBucketVersioning bodies and
// ListObjectVersions markers get S3's errors, and nothing is stored.
func testVersioningBadInput(t *testing.T, r *Region) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const bucket = "versioned-bad"
	if _, err := r.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	md5b64 := func(b []byte) string { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }
	cfg := func(status string) []byte {
		return []byte(`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>` + status + `</Status></VersioningConfiguration>`)
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		md5    bool
		status int
		code   string
	}{
		{"no Content-MD5", cfg("Enabled"), false, 400, "InvalidRequest"},
		{"bad status", cfg("Off"), true, 400, "IllegalVersioningConfigurationException"},
		{"not XML", []byte("<VersioningConfiguration><Status>Enabled"), true, 400, "MalformedXML"},
		{"wrong root", []byte("<Versioning><Status>Enabled</Status></Versioning>"), true, 400, "MalformedXML"},
	} {
		req := r.rawRequest("PUT", "/"+bucket+"?versioning", tc.body)
		if tc.md5 {
			req.Header.Set("Content-MD5", md5b64(tc.body))
		}
		status, _, body := r.signedDo(req, tc.body)
		if status != tc.status || !bytes.Contains(body, []byte("<Code>"+tc.code+"</Code>")) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, body, tc.status, tc.code)
		}
	}
	status, _, body := r.signedDo(r.rawRequest("GET", "/"+bucket+"?versioning", nil), nil)
	if status != 200 || bytes.Contains(body, []byte("<Status>")) {
		t.Errorf("after refused configurations: %d %s", status, body)
	}
	for _, q := range []string{"versions&version-id-marker=AAAAAAAAAAAAAAAA", "versions&key-marker=a&version-id-marker=bad", "versions&max-keys=-1", "versions&encoding-type=xml"} {
		status, _, body := r.signedDo(r.rawRequest("GET", "/"+bucket+"?"+q, nil), nil)
		if status != 400 || !bytes.Contains(body, []byte("<Code>InvalidArgument</Code>")) {
			t.Errorf("GET ?%s: %d %s, want 400 InvalidArgument", q, status, body)
		}
	}
}

// testVersionedMultipart: CompleteMultipartUpload in a versioned bucket
// answers a version id, and the previous version stays readable.
func testVersionedMultipart(ctx context.Context, t *testing.T, c *s3.Client, bucket string) {
	before, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("mp"), Body: strings.NewReader("before")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, size := range []int{5 << 20, 1} {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(bytes.Repeat([]byte{'m'}, size))})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	if id := aws.ToString(done.VersionId); id == "" || id == "null" || !(id > aws.ToString(before.VersionId)) {
		t.Fatalf("CompleteMultipartUpload answered version %q after %q", id, aws.ToString(before.VersionId))
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("mp")})
	if err != nil || aws.ToString(h.VersionId) != aws.ToString(done.VersionId) || aws.ToInt64(h.ContentLength) != 5<<20+1 {
		t.Fatalf("head after complete: %+v %v", h, err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("mp"), VersionId: before.VersionId})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "before" {
		t.Fatalf("the version before the multipart one reads %q", b)
	}
}

// versioningBoto3Script drives the versioning calls of boto3 by name.
const versioningBoto3Script = `
import sys
import boto3
from botocore.config import Config

endpoint, ak, sk, bucket = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket=bucket)
assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
ids = [s3.put_object(Bucket=bucket, Key="k", Body=b"v%d" % i)["VersionId"] for i in range(3)]
assert len(set(ids)) == 3 and ids == sorted(ids), ids
assert s3.get_object(Bucket=bucket, Key="k", VersionId=ids[0])["Body"].read() == b"v0"
marker = s3.delete_object(Bucket=bucket, Key="k")
assert marker["DeleteMarker"] and marker["VersionId"] > ids[2], marker
try:
    s3.head_object(Bucket=bucket, Key="k")
    raise SystemExit("head_object through a delete marker succeeded")
except s3.exceptions.ClientError as e:
    h = e.response["ResponseMetadata"]
    assert h["HTTPStatusCode"] == 404 and h["HTTPHeaders"].get("x-amz-delete-marker") == "true", h
seen = []
for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1}):
    seen += [("M", m["VersionId"], m["IsLatest"]) for m in page.get("DeleteMarkers", [])]
    seen += [("V", v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])]
assert seen == [("M", marker["VersionId"], True)] + [("V", i, False) for i in reversed(ids)], seen
s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
assert s3.get_object(Bucket=bucket, Key="k")["VersionId"] == ids[2]
r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": i} for i in ids]})
assert sorted(d["VersionId"] for d in r["Deleted"]) == sorted(ids), r
assert "Versions" not in s3.list_object_versions(Bucket=bucket)
s3.delete_bucket(Bucket=bucket)
print("boto3 versioning ok")
`

// testVersioningBoto3 runs versioningBoto3Script against the region.
func testVersioningBoto3(t *testing.T, r *Region) {
	needClient(t, "python3 with boto3", func() error {
		if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
			return fmt.Errorf("import boto3: %v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	})
	script := filepath.Join(t.TempDir(), "versioning_boto3.py")
	if err := os.WriteFile(script, []byte(versioningBoto3Script), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runTool(t, cleanEnv(), "python3", script, r.Endpoint, testAccessKey, testSecretKey, "versioned-boto3")
	if !strings.Contains(out, "boto3 versioning ok") {
		t.Errorf("boto3 script output: %q", out)
	}
}

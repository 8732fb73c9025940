package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/meridian-s3/meridian/internal/s3lifecycle"
)

// lcDay is the lifecycle day of TestLifecycle's processes (MERIDIAN_TEST_DAY).
const lcDay = 2 * time.Second

// TestLifecycle drives bucket lifecycle rules through real processes: one
// region on the SQL catalog, its edge (HTTPS), and a `meridian background`
// process reading the catalog, every role with a 2 s lifecycle day. The
// aws CLI puts, gets and deletes the configuration through the edge; bad
// configurations answer MalformedXML / InvalidArgument / InvalidStorageClass
// and store nothing; the janitor expires objects by days under a prefix and
// by a past date, leaves a disabled rule's and unmatched objects alone (a
// Tag-filter rule on every key selects none: objects carry no tags), and
// aborts an incomplete multipart upload. In a versioned bucket an expired
// current version becomes a delete marker and noncurrent versions beyond
// NewerNoncurrentVersions are deleted.
func TestLifecycle(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("MERIDIAN_ALLOW_NO_AWSCLI") == "1" {
			t.Skip("aws CLI not on PATH and MERIDIAN_ALLOW_NO_AWSCLI=1")
		}
		t.Fatal("the aws CLI is not on PATH: install it (pip install awscli) or set MERIDIAN_ALLOW_NO_AWSCLI=1 to skip this test")
	}
	// Every process started below inherits the scaled day.
	t.Setenv(s3lifecycle.EnvTestDay, lcDay.String())
	g := StartGlobal(t, GlobalOptions{Regions: []string{testRegion}})
	r, e := g.Regions[testRegion], g.Edges[testRegion]
	bg := startBackgroundSQL(t, g, r, "bg-lifecycle")
	ctx := context.Background()
	c := g.Client(e, testAccessKey, testSecretKey)

	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_DEFAULT_REGION="+testRegion, "AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"), "AWS_PAGER=")
	cli := func(args ...string) (string, string, error) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, awsPath, append([]string{"--endpoint-url", e.URL, "--ca-bundle", g.Certs.CA}, args...)...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return string(out), stderr.String(), err
	}
	const bucket = "lc-e2e"
	if out, serr, err := cli("s3api", "create-bucket", "--bucket", bucket); err != nil {
		t.Fatalf("create-bucket: %v\n%s%s", err, out, serr)
	}
	lcFile := func(name, doc string) string {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	putLC := func(name, doc string) (string, error) {
		_, serr, err := cli("s3api", "put-bucket-lifecycle-configuration", "--bucket", bucket, "--lifecycle-configuration", lcFile(name, doc))
		return serr, err
	}
	noConfig := func(after string) {
		t.Helper()
		if _, serr, err := cli("s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket); err == nil || !strings.Contains(serr, "NoSuchLifecycleConfiguration") {
			t.Fatalf("after %s: get-bucket-lifecycle-configuration answered %v %s, want NoSuchLifecycleConfiguration", after, err, serr)
		}
	}
	noConfig("create-bucket")

	// Bad configurations: AWS's error, nothing stored.
	for _, bad := range []struct{ name, doc, code string }{
		{"days0", `{"Rules":[{"ID":"r","Filter":{"Prefix":"a/"},"Status":"Enabled","Expiration":{"Days":0}}]}`, "InvalidArgument"},
		{"notmidnight", `{"Rules":[{"ID":"r","Filter":{},"Status":"Enabled","Expiration":{"Date":"2030-01-01T05:00:00Z"}}]}`, "InvalidArgument"},
		{"daysanddate", `{"Rules":[{"ID":"r","Filter":{},"Status":"Enabled","Expiration":{"Days":1,"Date":"2030-01-01T00:00:00Z"}}]}`, "MalformedXML"},
		{"badstatus", `{"Rules":[{"ID":"r","Filter":{},"Status":"On","Expiration":{"Days":1}}]}`, "MalformedXML"},
		{"noaction", `{"Rules":[{"ID":"r","Filter":{},"Status":"Enabled"}]}`, "InvalidRequest"},
		{"dupid", `{"Rules":[{"ID":"r","Filter":{"Prefix":"a"},"Status":"Enabled","Expiration":{"Days":1}},{"ID":"r","Filter":{"Prefix":"b"},"Status":"Enabled","Expiration":{"Days":1}}]}`, "InvalidArgument"},
		{"glacier", `{"Rules":[{"ID":"r","Filter":{},"Status":"Enabled","Transitions":[{"Days":30,"StorageClass":"GLACIER"}]}]}`, "InvalidStorageClass"},
	} {
		serr, err := putLC(bad.name, bad.doc)
		if err == nil || !strings.Contains(serr, "("+bad.code+")") {
			t.Errorf("%s: put answered %v %s, want %s", bad.name, err, serr, bad.code)
		}
	}
	// A refused document never replaces a stored one, so one GET after all
	// of them shows whether any was stored.
	noConfig("the refused configurations")

	// Objects, before the configuration exists.
	put := func(key string, n int) {
		t.Helper()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(make([]byte, n))}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	expired := []string{"logs/1", "logs/2", "logs/big", "old/1"}
	kept := []string{"keep/1", "off/1", "logsx", "long/1"}
	for _, k := range append(append([]string{}, expired...), kept...) {
		n := 1000
		if k == "logs/big" {
			n = 1 << 20 // erasure-coded across storage nodes
		}
		put(k, n)
	}
	mpu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("up/big")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("up/big"), UploadId: mpu.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(make([]byte, 5<<20))}); err != nil {
		t.Fatal(err)
	}

	good := `{"Rules":[
		{"ID":"logs-1d","Filter":{"Prefix":"logs/"},"Status":"Enabled","Expiration":{"Days":1}},
		{"ID":"old-date","Filter":{"Prefix":"old/"},"Status":"Enabled","Expiration":{"Date":"2020-01-01T00:00:00Z"}},
		{"ID":"off","Filter":{"Prefix":"off/"},"Status":"Disabled","Expiration":{"Days":1}},
		{"ID":"tagged","Filter":{"Tag":{"Key":"class","Value":"scratch"}},"Status":"Enabled","Expiration":{"Days":1}},
		{"ID":"mpu","Filter":{"Prefix":"up/"},"Status":"Enabled","AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}},
		{"ID":"long","Filter":{"Prefix":"long/"},"Status":"Enabled","Expiration":{"Days":1000}}]}`
	if serr, err := putLC("good", good); err != nil {
		t.Fatalf("put-bucket-lifecycle-configuration: %v %s", err, serr)
	}
	start := time.Now()
	out, serr, err := cli("s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket)
	if err != nil {
		t.Fatalf("get-bucket-lifecycle-configuration: %v %s", err, serr)
	}
	var got struct {
		Rules []struct {
			ID, Status string
			Filter     map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Rules) != 6 || got.Rules[0].ID != "logs-1d" ||
		got.Rules[2].Status != "Disabled" || got.Rules[0].Filter["Prefix"] != "logs/" {
		t.Fatalf("get-bucket-lifecycle-configuration: %v\n%s", err, out)
	}
	// x-amz-expiration (the SDK's Expiration field) on HEAD: 1000 days of
	// 2 s, rounded up to a multiple of 2 s.
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("long/1")})
	if err != nil {
		t.Fatalf("HEAD long/1: %v", err)
	}
	var expiry time.Time
	if h.Expiration != nil {
		expiry, _ = time.Parse(`expiry-date="Mon, 02 Jan 2006 15:04:05 GMT", rule-id="long"`, *h.Expiration)
	}
	if lo, hi := h.LastModified.Add(1000*lcDay), h.LastModified.Add(1000*lcDay+lcDay+time.Second); expiry.Before(lo) || expiry.After(hi) || expiry.Unix()%2 != 0 {
		t.Fatalf("HEAD long/1: Expiration %q, want an expiry-date in [%v, %v] on an even second", aws.ToString(h.Expiration), lo, hi)
	}

	exists := func(key string) bool {
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		var nf *types.NotFound
		if err != nil && !errors.As(err, &nf) {
			t.Fatalf("HEAD %s: %v", key, err)
		}
		return err == nil
	}
	uploadOpen := func() bool {
		_, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String("up/big"), UploadId: mpu.UploadId})
		var api smithy.APIError
		if err != nil && !(errors.As(err, &api) && api.ErrorCode() == "NoSuchUpload") {
			t.Fatalf("ListParts: %v", err)
		}
		return err == nil
	}
	waitUntilf(t, 60*time.Second, func() bool {
		for _, k := range expired {
			if exists(k) {
				return false
			}
		}
		return !uploadOpen()
	}, func() string {
		var left []string
		for _, k := range expired {
			if exists(k) {
				left = append(left, k)
			}
		}
		return fmt.Sprintf("lifecycle not executed after 60 s: still there %v, upload open %v", left, uploadOpen())
	})
	took := time.Since(start)
	for _, k := range kept {
		if !exists(k) {
			t.Errorf("%s was expired: no enabled rule selects it", k)
		}
	}
	t.Logf("expired %d objects (days, date) and aborted 1 upload %v after the configuration (lifecycle day %v); expired_total=%v aborted_total=%v",
		len(expired), took.Round(time.Millisecond), lcDay, bgMetric(t, bg, "meridian_background_lifecycle_expired_total"),
		bgMetric(t, bg, "meridian_background_lifecycle_uploads_aborted_total"))
	if v := bgMetric(t, bg, "meridian_background_lifecycle_expired_total"); v != float64(len(expired)) {
		t.Errorf("meridian_background_lifecycle_expired_total = %v, want %d", v, len(expired))
	}

	// A versioned bucket: an expired current version becomes a delete
	// marker over its data; noncurrent versions past NoncurrentDays beyond
	// the newest one are deleted.
	const vbucket = "lc-e2e-versioned"
	for _, args := range [][]string{
		{"s3api", "create-bucket", "--bucket", vbucket},
		{"s3api", "put-bucket-versioning", "--bucket", vbucket, "--versioning-configuration", "Status=Enabled"},
	} {
		if out, serr, err := cli(args...); err != nil {
			t.Fatalf("%v: %v\n%s%s", args, err, out, serr)
		}
	}
	for i := 0; i < 3; i++ {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(vbucket), Key: aws.String("nc/a"), Body: bytes.NewReader(make([]byte, 100))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(vbucket), Key: aws.String("cur/a"), Body: bytes.NewReader(make([]byte, 100))}); err != nil {
		t.Fatal(err)
	}
	vdoc := `{"Rules":[
		{"ID":"nc","Filter":{"Prefix":"nc/"},"Status":"Enabled","NoncurrentVersionExpiration":{"NoncurrentDays":1,"NewerNoncurrentVersions":1}},
		{"ID":"cur","Filter":{"Prefix":"cur/"},"Status":"Enabled","Expiration":{"Days":1}}]}`
	if _, serr, err := cli("s3api", "put-bucket-lifecycle-configuration", "--bucket", vbucket, "--lifecycle-configuration", lcFile("versioned", vdoc)); err != nil {
		t.Fatalf("put-bucket-lifecycle-configuration (versioned): %v %s", err, serr)
	}
	versions := func() string {
		lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(vbucket)})
		if err != nil {
			t.Fatalf("ListObjectVersions: %v", err)
		}
		count := map[string]int{}
		for _, v := range lv.Versions {
			count[aws.ToString(v.Key)+" version"]++
		}
		for _, m := range lv.DeleteMarkers {
			count[fmt.Sprintf("%s marker latest=%v", aws.ToString(m.Key), aws.ToBool(m.IsLatest))]++
		}
		return fmt.Sprint(count)
	}
	wantV := fmt.Sprint(map[string]int{"nc/a version": 2, "cur/a version": 1, "cur/a marker latest=true": 1})
	vstart := time.Now()
	waitUntilf(t, 60*time.Second, func() bool { return versions() == wantV }, func() string {
		return fmt.Sprintf("versioned bucket after 60 s: %s, want %s", versions(), wantV)
	})
	t.Logf("versioned bucket: 1 delete marker written, 1 noncurrent version deleted %v after the configuration", time.Since(vstart).Round(time.Millisecond))

	// Delete: gone, and GET answers NoSuchLifecycleConfiguration again.
	if _, serr, err := cli("s3api", "delete-bucket-lifecycle", "--bucket", bucket); err != nil {
		t.Fatalf("delete-bucket-lifecycle: %v %s", err, serr)
	}
	noConfig("delete-bucket-lifecycle")
	if h, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("long/1")}); err != nil || h.Expiration != nil {
		t.Fatalf("HEAD after delete-bucket-lifecycle: %v, Expiration %v", err, h)
	}
}

// startBackgroundSQL starts a `meridian background` process for region r of
// g that reads the SQL catalog (lifecycle rules).
func startBackgroundSQL(t *testing.T, g *Global, r *Region, id string) *Proc {
	t.Helper()
	ports := freePorts(t, 1)
	p := &Proc{Name: id, Role: "background", Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		log: filepath.Join(r.Dir, "logs", id+".log"),
		args: append([]string{"background", "--region", r.region, "--id", id, "--meta", strings.Join(r.MetaAddrs, ","),
			"--sql", g.DSN, "--catalog-key", g.CatalogKey, "--no-scrub",
			"--lease-ttl", bgLeaseTTL.String(), "--lease-renew", "500ms", "--clock-margin", "500ms", "--interval", "200ms",
			"--garbage-grace", "1s", "--metrics-listen", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--log-level", "info"},
			r.tlsArgs("background")...)}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL, 10*time.Second)
		if t.Failed() {
			t.Logf("---- tail of %s (%s) ----\n%s", p.Name, p.log, tailFile(p.log, 40))
		}
	})
	return p
}

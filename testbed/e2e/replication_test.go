package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestReplication drives the cross-region replicator end to end
// (docs/replication.md) on the shared two-region deployment
// (replsetup_test.go): two buckets replicating to each other across the
// 80 ms RTT link, at small scale; TestReplicationFaults is the full-scale
// fault suite.
func TestReplication(t *testing.T) {
	s := startReplication(t)
	g := s.g
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Phase 1: puts (inline and erasure-coded), overwrites, a multipart
	// object, user metadata, delete markers; writes to the same keys in
	// both regions at once.
	start := time.Now()
	big := payload{Seed: 7, Size: 9 * mib}
	_, err := putPayload(ctx, t, s.cu, s.src, "big", big)
	must("put big", err)
	for i := 0; i < 12; i++ {
		_, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: aws.String(fmt.Sprintf("small/%02d", i%8)),
			Body:        bytes.NewReader(payload{Seed: uint64(100 + i), Size: int64(1024 * (i + 1))}.Bytes()),
			ContentType: aws.String("text/x-test"), Metadata: map[string]string{"n": fmt.Sprint(i)}})
		must("put small", err)
	}
	mp := s.multipart(t, s.src, "multi", []int64{5 * mib, 5 * mib, mib})
	for _, k := range []string{"small/06", "small/07"} {
		_, err := s.cu.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.src), Key: aws.String(k)})
		must("delete marker", err)
	}
	var wg sync.WaitGroup
	for side, pair := range map[string]struct {
		c *s3.Client
		b string
	}{"us": {s.cu, s.src}, "eu": {s.ce, s.dst}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				for k := 0; k < 3; k++ {
					if _, err := pair.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(pair.b), Key: aws.String(fmt.Sprintf("both/%d", k)),
						Body: strings.NewReader(fmt.Sprintf("%s-%d-%d", side, i, k))}); err != nil {
						t.Errorf("two-way put %s: %v", side, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("phase 1 writes done in %v", time.Since(start).Round(time.Millisecond))
	rows, took := s.converge(t, 90*time.Second)
	t.Logf("phase 1: %d versions equal on both sides %v after the last write", len(rows), took.Round(time.Millisecond))
	st := statuses(t, s.cu, s.src, rows)
	sd := statuses(t, s.ce, s.dst, rows)
	if st["COMPLETED"] != sd["REPLICA"] || st["REPLICA"] != sd["COMPLETED"] || st["PENDING"]+st["FAILED"]+sd["PENDING"]+sd["FAILED"] != 0 ||
		st["COMPLETED"]+st["REPLICA"] != len(rows)-2 || sd["REPLICA"] == 0 || st["REPLICA"] != 15 {
		t.Fatalf("replication statuses: source %v, destination %v (versions %d)", st, sd, len(rows))
	}
	// The multipart ETag, parts count, metadata and bytes arrived.
	h, err := s.ce.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dst), Key: aws.String("multi"), PartNumber: aws.Int32(2)})
	must("head multi part 2", err)
	if aws.ToString(h.ETag) != mp || aws.ToInt32(h.PartsCount) != 3 || aws.ToInt64(h.ContentLength) != 5*mib {
		t.Fatalf("multipart replica: ETag %s (source %s), parts %d, part 2 length %d", aws.ToString(h.ETag), mp, aws.ToInt32(h.PartsCount), aws.ToInt64(h.ContentLength))
	}
	h, err = s.ce.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dst), Key: aws.String("small/03")})
	must("head small/03", err)
	if aws.ToString(h.ContentType) != "text/x-test" || h.Metadata["n"] != "11" || h.ReplicationStatus != types.ReplicationStatusReplica {
		t.Fatalf("replica headers: type %q meta %v status %q", aws.ToString(h.ContentType), h.Metadata, h.ReplicationStatus)
	}
	got, err := s.ce.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.dst), Key: aws.String("big")})
	must("get big replica", err)
	sum, n, err := hashReader(got.Body)
	got.Body.Close()
	if err != nil || n != big.Size || sum != big.SHA() {
		t.Fatalf("big replica: %d bytes, sha %s (want %s), err %v", n, sum, big.SHA(), err)
	}
	// A permanent delete is not replicated.
	var gone verRow
	for _, r := range rows {
		if r.Key == "small/00" && !r.Latest {
			gone = r
		}
	}
	_, err = s.cu.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.src), Key: aws.String(gone.Key), VersionId: aws.String(gone.VersionID)})
	must("permanent delete", err)
	time.Sleep(time.Second)
	if _, err := s.ce.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dst), Key: aws.String(gone.Key), VersionId: aws.String(gone.VersionID)}); err != nil {
		t.Fatalf("the permanent delete reached the destination: %v", err)
	}
	_, err = s.ce.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.dst), Key: aws.String(gone.Key), VersionId: aws.String(gone.VersionID)})
	must("permanent delete at the destination", err)

	// Phase 2: the destination region's gateway is killed and stays down;
	// writes at the source neither fail nor slow down, and show
	// PENDING/FAILED.
	// kill -9 while copies of 2 MiB objects are in flight to it.
	euGW := g.Regions[s.eu].Gateway
	for i := 0; i < 4; i++ {
		_, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: aws.String(fmt.Sprintf("inflight/%d", i)),
			Body: bytes.NewReader(payload{Seed: uint64(300 + i), Size: 2 * mib}.Bytes())})
		must("put before the kill", err)
	}
	g.Regions[s.eu].Kill(euGW)
	var slowest time.Duration
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		_, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: aws.String(fmt.Sprintf("outage/%d", i)), Body: strings.NewReader("during the outage")})
		must("put during outage", err)
		slowest = max(slowest, time.Since(t0))
	}
	_, err = s.cu.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.src), Key: aws.String("outage/0")})
	must("delete during outage", err)
	time.Sleep(3 * time.Second)
	h, err = s.cu.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.src), Key: aws.String("outage/5")})
	must("head during outage", err)
	if h.ReplicationStatus != types.ReplicationStatusPending && h.ReplicationStatus != types.ReplicationStatusFailed {
		t.Fatalf("status during the outage: %q", h.ReplicationStatus)
	}
	t.Logf("phase 2: destination down; slowest source PUT %v; status %s", slowest.Round(time.Millisecond), h.ReplicationStatus)
	if slowest > 2*time.Second {
		t.Errorf("a source PUT took %v while the destination was down", slowest)
	}
	if err := euGW.start(); err != nil {
		t.Fatal(err)
	}
	rows, took = s.converge(t, 90*time.Second)
	t.Logf("phase 2: converged %v after the destination came back (%d versions)", took.Round(time.Millisecond), len(rows))
	if st := statuses(t, s.cu, s.src, rows); st["PENDING"]+st["FAILED"] != 0 {
		t.Fatalf("statuses after the outage: %v", st)
	}

	// Phase 3: kill -9 the source's replicator in the middle of a backlog.
	usBG := s.bg[s.us]
	var wwg sync.WaitGroup
	const backlog = 60
	for w := 0; w < 4; w++ {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for i := w; i < backlog; i += 4 {
				if _, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: aws.String(fmt.Sprintf("crash/%02d", i)),
					Body: bytes.NewReader(payload{Seed: uint64(i), Size: 2048}.Bytes())}); err != nil {
					t.Errorf("backlog put: %v", err)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	g.Regions[s.us].Kill(usBG)
	wwg.Wait()
	if err := usBG.start(); err != nil {
		t.Fatal(err)
	}
	rows, took = s.converge(t, 90*time.Second)
	t.Logf("phase 3: converged %v after the replicator's restart (%d versions)", took.Round(time.Millisecond), len(rows))
	crash := 0
	for _, r := range rows {
		if strings.HasPrefix(r.Key, "crash/") {
			crash++
		}
	}
	if crash != backlog { // one version per key on both sides: nothing lost, nothing doubled
		t.Fatalf("%d crash/ versions, want %d", crash, backlog)
	}

	// Phase 4: objects written while the bucket had no rule are copied by
	// a resync (existing-object replication) — a null version too (written
	// while versioning was suspended, which S3 refuses while a replication
	// configuration exists).
	suspend := func() error {
		_, err := s.cu.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(s.src),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
		return err
	}
	if err := suspend(); err == nil || !strings.Contains(err.Error(), "InvalidBucketState") {
		t.Fatalf("suspending versioning with a replication configuration: %v, want InvalidBucketState", err)
	}
	_, err = s.cu.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String(s.src)})
	must("delete-bucket-replication", err)
	must("suspend versioning", suspend())
	_, err = s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: aws.String("null/0"), Body: strings.NewReader("a null version")})
	must("put a null version", err)
	_, err = s.cu.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(s.src),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	must("enable versioning again", err)
	for i := 0; i < 5; i++ {
		_, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: aws.String(fmt.Sprintf("pre/%d", i)), Body: strings.NewReader("before the rule")})
		must("put before the rule", err)
	}
	_, err = s.cu.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(s.src),
		ReplicationConfiguration: &types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/r"),
			Rules: []types.ReplicationRule{replicationRule("to-"+s.dst, s.dst, 1)}}})
	must("put-bucket-replication again", err)
	time.Sleep(time.Second)
	if h, err := s.ce.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dst), Key: aws.String("pre/0")}); err == nil {
		t.Fatalf("an object written before the rule was replicated without a resync: %+v", h)
	}
	us := g.Regions[s.us]
	out, err := exec.Command(meridianBin, append([]string{"admin", "replication", "resync", s.src, "--sql", g.DSN, "--catalog-key", g.CatalogKey,
		"--meta", strings.Join(us.MetaAddrs, ",")}, us.tlsArgs("background")...)...).CombinedOutput() // it writes statuses: a background certificate
	if err != nil || !bytes.Contains(out, []byte("marked PENDING 6 ")) {
		t.Fatalf("admin replication resync: %v\n%s", err, out)
	}
	t.Logf("meridian admin replication resync %s: %s", s.src, bytes.TrimSpace(out))
	rows, took = s.converge(t, 60*time.Second)
	t.Logf("phase 4: resync converged in %v (%d versions)", took.Round(time.Millisecond), len(rows))
	if h, err := s.ce.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dst), Key: aws.String("null/0"), VersionId: aws.String("null")}); err != nil ||
		h.ReplicationStatus != types.ReplicationStatusReplica || aws.ToString(h.VersionId) != "null" {
		t.Fatalf("the null version at the destination: %v %+v", err, h)
	}

	// Phase 4b: a rule with ExistingObjectReplication Enabled starts the
	// background resync worker by itself: objects written while there was
	// no rule arrive without any operator command.
	_, err = s.cu.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String(s.src)})
	must("delete-bucket-replication", err)
	for i := 0; i < 4; i++ {
		_, err := s.cu.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.src), Key: aws.String(fmt.Sprintf("pre2/%d", i)), Body: strings.NewReader("before the existing-object rule")})
		must("put before the rule", err)
	}
	existing := replicationRule("to-"+s.dst, s.dst, 1)
	existing.ExistingObjectReplication = &types.ExistingObjectReplication{Status: types.ExistingObjectReplicationStatusEnabled}
	_, err = s.cu.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(s.src),
		ReplicationConfiguration: &types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/r"), Rules: []types.ReplicationRule{existing}}})
	must("put-bucket-replication with ExistingObjectReplication", err)
	rows, took = s.converge(t, 60*time.Second)
	t.Logf("phase 4b: ExistingObjectReplication converged in %v (%d versions), no command run", took.Round(time.Millisecond), len(rows))
	if h, err := s.ce.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dst), Key: aws.String("pre2/3")}); err != nil || h.ReplicationStatus != types.ReplicationStatusReplica {
		t.Fatalf("pre2/3 at the destination: %v %+v", err, h)
	}
	// A tag change of a copied version reaches its copy (and deleting the
	// tags too); the copy stays one version.
	for _, tags := range []map[string]string{{"team": "blue", "tier": "2"}, {}} {
		var set []types.Tag
		for k, v := range tags {
			set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		if len(set) > 0 {
			_, err = s.cu.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(s.src), Key: aws.String("pre2/1"), Tagging: &types.Tagging{TagSet: set}})
		} else {
			_, err = s.cu.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String(s.src), Key: aws.String("pre2/1")})
		}
		must("change tags at the source", err)
		deadline := time.Now().Add(20 * time.Second)
		for {
			got, err := s.ce.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(s.dst), Key: aws.String("pre2/1")})
			if err == nil && len(got.TagSet) == len(tags) && (len(tags) == 0 || aws.ToString(got.TagSet[0].Value) == tags[aws.ToString(got.TagSet[0].Key)]) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the destination's tags did not follow %v: %v %+v", tags, err, got)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("tag changes replicated (put, then delete)")
	// The same request again (its token is done) marks nothing more; an
	// operator's resync walks again and finds everything copied.
	out, err = exec.Command(meridianBin, append([]string{"admin", "replication", "resync", s.src, "--sql", g.DSN, "--catalog-key", g.CatalogKey,
		"--meta", strings.Join(us.MetaAddrs, ",")}, us.tlsArgs("background")...)...).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("marked PENDING 0 ")) {
		t.Fatalf("a second resync: %v\n%s", err, out)
	}

	// The admin view of both directions, with the lag of every copy.
	for _, dir := range [][2]string{{s.src, s.eu}, {s.dst, s.us}} {
		home := g.Regions[s.us]
		dest := g.Regions[s.eu]
		if dir[0] == s.dst {
			home, dest = dest, home
		}
		args := append([]string{"admin", "replication", "status", dir[0], "--sql", g.DSN, "--catalog-key", g.CatalogKey,
			"--meta", strings.Join(home.MetaAddrs, ","), "--dest-meta", strings.Join(dest.MetaAddrs, ","),
			"--dest-tls-cert", filepath.Join(dest.certDir, dest.region, "admin.pem"), "--dest-tls-key", filepath.Join(dest.certDir, dest.region, "admin-key.pem")},
			home.tlsArgs("admin")...)
		out, err := exec.Command(meridianBin, args...).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("COMPLETED")) || !bytes.Contains(out, []byte("REPLICA")) || !bytes.Contains(out, []byte("lag")) {
			t.Fatalf("admin replication status %s: %v\n%s", dir[0], err, out)
		}
		t.Logf("meridian admin replication status %s:\n%s", dir[0], out)
	}

	// `meridian status` shows each region's replication per source bucket
	// from the replicator's checkpoints: caught up, with the recent lag.
	for _, dir := range [][3]string{{s.us, s.src, s.dst}, {s.eu, s.dst, s.src}} {
		want := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(dir[1]) + ` → ` + regexp.QuoteMeta(dir[2]) + `: caught up; (\d+) copied; lag of the last \d+ copies p50 \S+ max \S+`)
		var out []byte
		deadline := time.Now().Add(20 * time.Second)
		for {
			st, err := g.Regions[dir[0]].Status(g.Regions[dir[0]].MetaAddrs...)
			if err == nil {
				out = []byte(st.Raw)
				if m := want.FindSubmatch(out); m != nil && string(m[1]) != "0" {
					t.Logf("meridian status (%s): %s", dir[0], bytes.TrimSpace(m[0]))
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("meridian status of %s shows no caught-up line for %s → %s: %v\n%s", dir[0], dir[1], dir[2], err, out)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	s.testEncryptedReplication(t) // replication_sse_test.go
}

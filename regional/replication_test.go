package regional_test

import (
	"strings"
	"testing"
)

const versioningOn = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>`

func replDoc(dest string) string {
	return `<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Role>arn:aws:iam::1:role/r</Role>` +
		`<Rule><ID>all</ID><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>docs/</Prefix></Filter>` +
		`<DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication>` +
		`<Destination><Bucket>arn:aws:s3:::` + dest + `</Bucket></Destination></Rule></ReplicationConfiguration>`
}

// TestReplicationConfigurationAPI: Put/Get/Delete through the catalog, the
// checks S3 makes against the buckets (versioning at source and
// destination, the destination's existence), nothing stored on a refusal,
// and versioning that cannot be suspended while a configuration exists.
func TestReplicationConfigurationAPI(t *testing.T) {
	w := newWorld(t)
	for _, b := range []string{"/src", "/dst", "/plain"} {
		w.mustStatus(200, "PUT", b, nil, nil)
	}
	put := func(bucket, doc string) (int, string) {
		code, out := w.do("PUT", bucket+"?replication", []byte(doc), md5Header([]byte(doc)))
		return code, string(out)
	}
	refused := func(name, bucket, doc string, wantCode int, wantS3, wantMsg string) {
		t.Helper()
		code, out := put(bucket, doc)
		if code != wantCode || s3code([]byte(out)) != wantS3 || !strings.Contains(out, wantMsg) {
			t.Fatalf("%s: %d %s, want %d %s %q", name, code, out, wantCode, wantS3, wantMsg)
		}
		if code, out := w.do("GET", bucket+"?replication", nil, nil); code != 404 || s3code(out) != "ReplicationConfigurationNotFoundError" {
			t.Fatalf("%s: a refused PUT stored something: GET %d %s", name, code, out)
		}
	}
	refused("source unversioned", "/src", replDoc("dst"), 400, "InvalidRequest", "Versioning must be")
	w.mustStatus(200, "PUT", "/src?versioning", []byte(versioningOn), md5Header([]byte(versioningOn)))
	refused("destination unversioned", "/src", replDoc("plain"), 400, "InvalidRequest", "Destination bucket must have versioning enabled")
	refused("destination missing", "/src", replDoc("no-such-bucket"), 400, "InvalidRequest", "Destination bucket must exist")
	refused("destination is the source", "/src", replDoc("src"), 400, "InvalidRequest", "same as the source")
	refused("malformed", "/src", `<ReplicationConfiguration><Rule/></ReplicationConfiguration>`, 400, "MalformedXML", "")
	if code, out := w.do("PUT", "/src?replication", []byte(replDoc("dst")), nil); code != 400 || !strings.Contains(string(out), "Content-MD5") {
		t.Fatalf("PUT without Content-MD5: %d %s", code, out)
	}
	w.mustStatus(200, "PUT", "/dst?versioning", []byte(versioningOn), md5Header([]byte(versioningOn)))
	if code, out := put("/src", replDoc("dst")); code != 200 {
		t.Fatalf("valid configuration: %d %s", code, out)
	}
	got := string(w.mustStatus(200, "GET", "/src?replication", nil, nil))
	for _, want := range []string{"<Role>arn:aws:iam::1:role/r</Role>", "<ID>all</ID>", "<Priority>1</Priority>", "<Prefix>docs/</Prefix>", "<Bucket>arn:aws:s3:::dst</Bucket>", "<DeleteMarkerReplication><Status>Enabled</Status>"} {
		if !strings.Contains(got, want) {
			t.Errorf("GET lacks %s:\n%s", want, got)
		}
	}
	suspend := `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Suspended</Status></VersioningConfiguration>`
	if code, out := w.do("PUT", "/src?versioning", []byte(suspend), md5Header([]byte(suspend))); code != 409 || s3code(out) != "InvalidBucketState" {
		t.Fatalf("suspending a replicated bucket: %d %s", code, out)
	}
	if got := string(w.mustStatus(200, "GET", "/src?versioning", nil, nil)); !strings.Contains(got, "Enabled") {
		t.Fatalf("versioning changed: %s", got)
	}
	w.mustStatus(204, "DELETE", "/src?replication", nil, nil)
	w.mustStatus(204, "DELETE", "/src?replication", nil, nil) // again: still 204
	if code, _ := w.do("GET", "/src?replication", nil, nil); code != 404 {
		t.Fatalf("GET after delete: %d", code)
	}
	w.mustStatus(200, "PUT", "/src?versioning", []byte(suspend), md5Header([]byte(suspend)))
}

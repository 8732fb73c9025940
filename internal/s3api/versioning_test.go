package s3api

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func TestParseVersioningConfiguration(t *testing.T) {
	const ns = ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
	tests := []struct {
		body, status string
		code         s3err.Code
	}{
		{`<VersioningConfiguration` + ns + `><Status>Enabled</Status></VersioningConfiguration>`, "Enabled", ""},
		{`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`, "Suspended", ""},
		{`<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`, "Enabled", ""},
		{`<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>`, "", s3err.NotImplemented},
		{`<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Maybe</MfaDelete></VersioningConfiguration>`, "", s3err.MalformedXML},
		{`<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>`, "", s3err.IllegalVersioningConfiguration},
		{`<VersioningConfiguration></VersioningConfiguration>`, "", s3err.IllegalVersioningConfiguration},
		{`<VersioningConfiguration><Status>Enabled</Status>`, "", s3err.MalformedXML},
		{`<LifecycleConfiguration><Status>Enabled</Status></LifecycleConfiguration>`, "", s3err.MalformedXML},
		{``, "", s3err.MalformedXML},
		{`<!DOCTYPE x><VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`, "", s3err.MalformedXML},
	}
	for _, tc := range tests {
		st, err := ParseVersioningConfiguration([]byte(tc.body))
		if st != tc.status || s3code(err) != tc.code {
			t.Errorf("%q: %q %v, want %q %q", tc.body, st, err, tc.status, tc.code)
		}
	}
	if s3err.Status(s3err.IllegalVersioningConfiguration) != 400 || s3err.Status(s3err.NoSuchVersion) != 404 {
		t.Error("registry statuses")
	}
}

// TestListVersionsResultXML: Version and DeleteMarker elements come out in
// listing order, interleaved, with S3's element names.
func TestListVersionsResultXML(t *testing.T) {
	size := int64(3)
	res := ListVersionsResult{XMLNS: XMLNS, Name: "b", MaxKeys: 2, Entries: []VersionEntry{
		{XMLName: xml.Name{Local: "DeleteMarker"}, Key: "a", VersionID: "v2", IsLatest: true, LastModified: "t", Owner: &Owner{ID: "o"}},
		{XMLName: xml.Name{Local: "Version"}, Key: "a", VersionID: "v1", LastModified: "t", ETag: `"e"`, Size: &size, StorageClass: "STANDARD"},
	}}
	out, err := xml.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	dm, v := strings.Index(s, "<DeleteMarker><Key>a</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest>"), strings.Index(s, "<Version><Key>a</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>")
	if dm < 0 || v < 0 || dm > v || strings.Contains(s[dm:v], "<Size>") || !strings.Contains(s[v:], "<Size>3</Size>") {
		t.Fatalf("%s", s)
	}
}

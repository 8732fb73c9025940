package s3api

import (
	"errors"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func s3code(err error) s3err.Code {
	var e *s3err.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestDecodeXMLStrict(t *testing.T) {
	const del = `<Delete><Object><Key>a</Key></Object></Delete>`
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"plain", del, true},
		{"declaration", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + del, true},
		{"namespace", `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object></Delete>`, true},
		{"whitespace and comments around", "\n <!-- c -->\n" + del + "\n<!-- trailing comment -->\r\n\t ", true},
		{"byte order mark", "\uFEFF" + del, true},
		{"trailing garbage", del + "garbage", false},
		{"trailing element", del + "<Delete/>", false},
		{"trailing processing instruction", del + "<?pi x?>", false},
		{"trailing partial tag", del + "<", false},
		{"doctype", `<!DOCTYPE Delete [<!ENTITY x "a">]>` + del, false},
		{"doctype after declaration", `<?xml version="1.0"?><!DOCTYPE Delete>` + del, false},
		{"entity reference", `<Delete><Object><Key>&x;</Key></Object></Delete>`, false},
		{"directive inside", `<Delete><!DOCTYPE x><Object><Key>a</Key></Object></Delete>`, false},
		{"text before root", "x" + del, false},
		{"unclosed", `<Delete><Object><Key>a</Key></Object>`, false},
		{"mismatched", `<Delete><Object><Key>a</Object></Key></Delete>`, false},
		{"wrong root", `<Remove><Object><Key>a</Key></Object></Remove>`, false},
		{"empty", ``, false},
		{"only whitespace", " \n", false},
		{"foreign encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + del, false},
	}
	for _, tc := range tests {
		var d Delete
		err := DecodeXML([]byte(tc.body), &d)
		if tc.ok && err != nil {
			t.Errorf("%s: %v, want accepted", tc.name, err)
		}
		if !tc.ok && s3code(err) != s3err.MalformedXML {
			t.Errorf("%s: %v, want MalformedXML", tc.name, err)
		}
		if tc.ok && err == nil && (len(d.Objects) != 1 || d.Objects[0].Key != "a") {
			t.Errorf("%s: decoded %+v", tc.name, d)
		}
	}
}

func TestParseRequestBodies(t *testing.T) {
	if _, err := ParseDelete([]byte(`<Delete></Delete>`)); s3code(err) != s3err.MalformedXML {
		t.Errorf("Delete without objects: %v", err)
	}
	many := "<Delete>" + strings.Repeat("<Object><Key>k</Key></Object>", MaxDeleteObjects+1) + "</Delete>"
	if _, err := ParseDelete([]byte(many)); s3code(err) != s3err.MalformedXML {
		t.Errorf("Delete with 1001 objects: %v", err)
	}
	d, err := ParseDelete([]byte(`<Delete><Quiet>true</Quiet><Object><Key>k</Key><VersionId>null</VersionId></Object></Delete>`))
	if err != nil || !d.Quiet || d.Objects[0].VersionID != "null" {
		t.Errorf("Delete: %+v, %v", d, err)
	}
	if _, err := ParseCompleteMultipartUpload([]byte(`<CompleteMultipartUpload></CompleteMultipartUpload>`), 10000); s3code(err) != s3err.MalformedXML {
		t.Errorf("Complete without parts: %v", err)
	}
	c, err := ParseCompleteMultipartUpload([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part></CompleteMultipartUpload>`), 10000)
	if err != nil || len(c.Parts) != 1 || c.Parts[0].PartNumber != 1 {
		t.Errorf("Complete: %+v, %v", c, err)
	}
	if _, err := ParseCompleteMultipartUpload([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>x`), 10000); s3code(err) != s3err.MalformedXML {
		t.Errorf("Complete with trailing garbage: %v", err)
	}
	for body, want := range map[string]struct {
		constraint string
		code       s3err.Code
	}{
		"":   {"", ""},
		"  ": {"", ""},
		`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`:        {"eu-west-1", ""},
		`<CreateBucketConfiguration><LocationConstraint></LocationConstraint></CreateBucketConfiguration>`:                 {"", ""},
		`<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`:        {"", s3err.InvalidLocationConstraint},
		`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>garbage`: {"", s3err.MalformedXML},
		`<!DOCTYPE x><CreateBucketConfiguration/>`: {"", s3err.MalformedXML},
	} {
		got, err := ParseCreateBucketConfiguration([]byte(body))
		if got != want.constraint || s3code(err) != want.code {
			t.Errorf("CreateBucketConfiguration %q = %q, %v; want %q, %s", body, got, err, want.constraint, want.code)
		}
	}
}

package s3api

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// Fuzz targets for every parser of client input in this package. The
// invariant is invariant 8: no input panics, and every rejection is an S3
// error (*s3err.Error) — or, for ParseRange, the sentinel that the gateways
// answer as InvalidRange. Seeds: f.Add below and testdata/fuzz/<Target>/.

func isS3Error(err error) bool {
	var e *s3err.Error
	return errors.As(err, &e)
}

// FuzzParseRange: any Range header and object size give either no range
// (serve whole), an unsatisfiable range, or a range inside the object.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=5-", "bytes=99999999999999999999-",
		"bytes=0-99999999999999999999", "bytes=-99999999999999999999", "bytes=1-0", "bytes=0-1,2-3",
		"bytes= 1-2", "bytes=+1-2", "items=0-1", "bytes=-", "bytes=--1", "bytes=9223372036854775807-9223372036854775807"} {
		f.Add(s, int64(100))
	}
	f.Add("bytes=0-0", int64(0))
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		r, ok, err := ParseRange(header, size)
		switch {
		case err != nil:
			if !errors.Is(err, ErrRangeUnsatisfiable) || !ok {
				t.Fatalf("ParseRange(%q, %d): unexpected error %v (ok %v)", header, size, err, ok)
			}
		case ok:
			if r.Start < 0 || r.Length < 1 || r.Start > size-r.Length {
				t.Fatalf("ParseRange(%q, %d) = %+v: outside the object", header, size, r)
			}
		}
	})
}

// fuzzXML checks one request-body parser: no panic, rejections are S3
// errors, and an accepted document carries no directive and nothing but
// whitespace and comments after its root.
func fuzzXML(t *testing.T, body []byte, parse func([]byte) error) {
	err := parse(body)
	if err != nil {
		if !isS3Error(err) {
			t.Fatalf("non-S3 error %v for %q", err, body)
		}
		return
	}
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(body, utf8BOM)))
	depth, closed := 0, false
	for {
		tok, terr := d.Token()
		if terr != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.Directive:
			t.Fatalf("accepted a directive: %q", body)
		case xml.StartElement:
			if closed {
				t.Fatalf("accepted a second root: %q", body)
			}
			depth++
		case xml.EndElement:
			depth--
			closed = depth == 0
		case xml.CharData:
			if closed && strings.TrimSpace(string(tok)) != "" {
				t.Fatalf("accepted trailing text: %q", body)
			}
		case xml.ProcInst:
			if closed {
				t.Fatalf("accepted a trailing processing instruction: %q", body)
			}
		}
	}
}

var xmlSeeds = []string{
	"", "<", "<a/>", "<a></a>garbage", "<!DOCTYPE a>", `<?xml version="1.0"?>`, "<!-- c -->",
	`<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>`,
	"\uFEFF<a/>", "<a xmlns:x='u'><x:b/></a>", "<a><![CDATA[x]]></a>",
}

// FuzzDeleteBody: the DeleteObjects body.
func FuzzDeleteBody(f *testing.F) {
	for _, s := range append(xmlSeeds,
		`<Delete><Object><Key>a</Key></Object></Delete>`,
		`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>a</Key><VersionId>null</VersionId></Object></Delete>`,
		`<Delete><Object><Key>a</Key></Object></Delete>junk`,
		`<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzXML(t, body, func(b []byte) error {
			d, err := ParseDelete(b)
			if err == nil && (len(d.Objects) == 0 || len(d.Objects) > MaxDeleteObjects) {
				t.Fatalf("accepted %d objects", len(d.Objects))
			}
			return err
		})
	})
}

// FuzzCompleteMultipartUploadBody: the CompleteMultipartUpload body.
func FuzzCompleteMultipartUploadBody(f *testing.F) {
	for _, s := range append(xmlSeeds,
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload><Part><PartNumber>99999999999999999999</PartNumber></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload><x/>`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzXML(t, body, func(b []byte) error {
			c, err := ParseCompleteMultipartUpload(b, 10000)
			if err == nil && (len(c.Parts) == 0 || len(c.Parts) > 10000) {
				t.Fatalf("accepted %d parts", len(c.Parts))
			}
			return err
		})
	})
}

// FuzzCreateBucketConfigurationBody: the optional CreateBucket body.
func FuzzCreateBucketConfigurationBody(f *testing.F) {
	for _, s := range append(xmlSeeds,
		`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`,
		`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`,
		`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>x`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzXML(t, body, func(b []byte) error {
			c, err := ParseCreateBucketConfiguration(b)
			if err == nil && c == "us-east-1" {
				t.Fatal("accepted an explicit us-east-1 constraint")
			}
			return err
		})
	})
}

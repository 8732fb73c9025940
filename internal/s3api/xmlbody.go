package s3api

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// Request bodies are XML documents that S3 validates strictly: one root
// element, optionally preceded by the XML declaration, whitespace and
// comments, and followed by nothing but whitespace and comments. A DTD
// (<!DOCTYPE …>) or any other <!…> directive is refused wherever it appears:
// Meridian never expands entities, and a document that needs a DTD to be
// read is not one S3 accepts. Every decoder of a request body goes through
// DecodeXML, so the edge and the regional gateway answer the same document
// the same way.

// MaxDeleteObjects is S3's limit on keys in one DeleteObjects request.
const MaxDeleteObjects = 1000

// errMalformedXML is the one answer for a body that is not the document S3
// expects.
func errMalformedXML() *s3err.Error { return s3err.New(s3err.MalformedXML) }

// utf8BOM may open a document; encoding/xml would read it as character data.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// DecodeXML decodes body, one XML document, into v (a struct whose XMLName
// names the expected root element). Any deviation from the document rules
// above, a root element other than v's, or a syntax error answers
// MalformedXML (an *s3err.Error).
func DecodeXML(body []byte, v any) error {
	body = bytes.TrimPrefix(body, utf8BOM)
	if err := checkDocument(body); err != nil {
		return err
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return errMalformedXML()
	}
	return nil
}

// checkDocument scans the whole document once, checking well-formedness
// (encoding/xml's strict mode matches start and end tags) and the shape
// rules: prolog, exactly one root element, epilogue of whitespace and
// comments only, no directive anywhere.
func checkDocument(body []byte) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errMalformedXML()
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errMalformedXML() // <!DOCTYPE …>, <!ENTITY …>, …
		case xml.ProcInst:
			// Only the XML declaration, and only before the root.
			if roots > 0 || t.Target != "xml" {
				return errMalformedXML()
			}
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return errMalformedXML()
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimLeft(string(t), " \t\r\n") != "" {
				return errMalformedXML() // text before or after the root
			}
		case xml.Comment:
		}
	}
	if roots != 1 || depth != 0 {
		return errMalformedXML()
	}
	return nil
}

// ParseDelete decodes and validates a DeleteObjects body: 1 to 1000
// <Object> elements, each with a <Key>.
func ParseDelete(body []byte) (Delete, error) {
	var d Delete
	if err := DecodeXML(body, &d); err != nil {
		return Delete{}, err
	}
	if len(d.Objects) == 0 || len(d.Objects) > MaxDeleteObjects {
		return Delete{}, errMalformedXML()
	}
	return d, nil
}

// ParseCompleteMultipartUpload decodes and validates the body of
// CompleteMultipartUpload: 1 to maxParts <Part> elements. Part numbers and
// order are checked against the upload by the caller (InvalidPart,
// InvalidPartOrder).
func ParseCompleteMultipartUpload(body []byte, maxParts int) (CompleteMultipartUpload, error) {
	var c CompleteMultipartUpload
	if err := DecodeXML(body, &c); err != nil {
		return CompleteMultipartUpload{}, err
	}
	if len(c.Parts) == 0 {
		return CompleteMultipartUpload{}, errMalformedXML()
	}
	if len(c.Parts) > maxParts {
		return CompleteMultipartUpload{}, s3err.WithMessage(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive").With("ArgumentName", "partNumber")
	}
	return c, nil
}

// ParseCreateBucketConfiguration returns the LocationConstraint of an
// optional CreateBucket body ("" when the body is empty or names none).
// An explicit "us-east-1" is refused as AWS refuses it: that region is
// selected by sending no constraint.
func ParseCreateBucketConfiguration(body []byte) (string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil
	}
	var c CreateBucketConfiguration
	if err := DecodeXML(body, &c); err != nil {
		return "", err
	}
	if c.LocationConstraint == "us-east-1" {
		return "", s3err.New(s3err.InvalidLocationConstraint).With("LocationConstraint", c.LocationConstraint)
	}
	return c.LocationConstraint, nil
}

// UnknownElements, as a struct field tagged `xml:",any"`, collects the
// elements a schema does not name: a configuration document with any is
// MalformedXML, as S3 validates bodies against its schema.
type UnknownElements []struct {
	XMLName xml.Name
}

// NewRuleID returns a rule ID not in taken and adds it (S3 generates one for
// a configuration rule sent without an ID).
func NewRuleID(taken map[string]bool) string {
	for {
		var b [20]byte
		_, _ = rand.Read(b[:])
		id := strings.TrimRight(base32.StdEncoding.EncodeToString(b[:]), "=")
		if !taken[id] {
			taken[id] = true
			return id
		}
	}
}

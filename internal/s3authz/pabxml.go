package s3authz

import (
	"bytes"
	"encoding/xml"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// MaxPublicAccessBlockBody bounds a PutPublicAccessBlock body.
const MaxPublicAccessBlockBody = 8 << 10

// PublicAccessBlockConfiguration is PutPublicAccessBlock's body and
// GetPublicAccessBlock's answer.
type PublicAccessBlockConfiguration struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	XMLNS                 string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

// ParsePublicAccessBlock reads a PutPublicAccessBlock body: an element
// left out is false, as in S3; anything but the document (another root,
// an unknown element, a value that is not a boolean) is MalformedXML.
func ParsePublicAccessBlock(body []byte) (PublicAccessBlock, error) {
	var doc struct {
		XMLName xml.Name
		Fields  []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil || doc.XMLName.Local != "PublicAccessBlockConfiguration" {
		return PublicAccessBlock{}, s3err.New(s3err.MalformedXML)
	}
	var out PublicAccessBlock
	seen := map[string]bool{}
	for _, f := range doc.Fields {
		var v bool
		switch string(bytes.TrimSpace([]byte(f.Value))) {
		case "true", "TRUE", "True":
			v = true
		case "false", "FALSE", "False":
		default:
			return out, s3err.New(s3err.MalformedXML)
		}
		if seen[f.XMLName.Local] {
			return out, s3err.New(s3err.MalformedXML)
		}
		seen[f.XMLName.Local] = true
		switch f.XMLName.Local {
		case "BlockPublicAcls":
			out.BlockPublicAcls = v
		case "IgnorePublicAcls":
			out.IgnorePublicAcls = v
		case "BlockPublicPolicy":
			out.BlockPublicPolicy = v
		case "RestrictPublicBuckets":
			out.RestrictPublicBuckets = v
		default:
			return out, s3err.New(s3err.MalformedXML)
		}
	}
	return out, nil
}

// PublicAccessBlockOf is the document of p.
func PublicAccessBlockOf(p PublicAccessBlock) PublicAccessBlockConfiguration {
	return PublicAccessBlockConfiguration{XMLNS: "http://s3.amazonaws.com/doc/2006-03-01/", BlockPublicAcls: p.BlockPublicAcls, IgnorePublicAcls: p.IgnorePublicAcls,
		BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets}
}

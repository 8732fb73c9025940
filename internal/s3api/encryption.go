package s3api

import (
	"encoding/xml"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// MaxEncryptionBody bounds a PutBucketEncryption body.
const MaxEncryptionBody = 64 << 10

// ServerSideEncryptionConfiguration is PutBucketEncryption's body and
// GetBucketEncryption's answer.
type ServerSideEncryptionConfiguration struct {
	XMLName xml.Name         `xml:"ServerSideEncryptionConfiguration"`
	XMLNS   string           `xml:"xmlns,attr,omitempty"`
	Rules   []EncryptionRule `xml:"Rule"`
	Unknown UnknownElements  `xml:",any"`
}

// EncryptionRule is one <Rule>.
type EncryptionRule struct {
	Default          *EncryptionByDefault `xml:"ApplyServerSideEncryptionByDefault"`
	BucketKeyEnabled *bool                `xml:"BucketKeyEnabled"`
	Unknown          UnknownElements      `xml:",any"`
}

// EncryptionByDefault is <ApplyServerSideEncryptionByDefault>.
type EncryptionByDefault struct {
	SSEAlgorithm   string          `xml:"SSEAlgorithm"`
	KMSMasterKeyID string          `xml:"KMSMasterKeyID,omitempty"`
	Unknown        UnknownElements `xml:",any"`
}

// BucketEncryption is a validated default-encryption rule.
type BucketEncryption struct {
	Algorithm string // "AES256" or "aws:kms"
	KMSKeyID  string
	BucketKey bool
}

// ParseBucketEncryption validates a PutBucketEncryption body as S3 does:
// one rule with ApplyServerSideEncryptionByDefault naming AES256 or
// aws:kms (anything else, or no rule: MalformedXML); a KMSMasterKeyID only
// with aws:kms (InvalidArgument).
func ParseBucketEncryption(body []byte) (BucketEncryption, error) {
	var c ServerSideEncryptionConfiguration
	if err := DecodeXML(body, &c); err != nil {
		return BucketEncryption{}, err
	}
	if len(c.Unknown) > 0 || len(c.Rules) != 1 {
		return BucketEncryption{}, errMalformedXML()
	}
	r := c.Rules[0]
	if len(r.Unknown) > 0 || r.Default == nil || len(r.Default.Unknown) > 0 {
		return BucketEncryption{}, errMalformedXML()
	}
	alg := strings.TrimSpace(r.Default.SSEAlgorithm)
	out := BucketEncryption{Algorithm: alg, KMSKeyID: strings.TrimSpace(r.Default.KMSMasterKeyID), BucketKey: r.BucketKeyEnabled != nil && *r.BucketKeyEnabled}
	switch alg {
	case "AES256":
		if out.KMSKeyID != "" {
			return BucketEncryption{}, s3err.WithMessage(s3err.InvalidArgument, "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse").
				With("ArgumentName", "ApplyServerSideEncryptionByDefault")
		}
	case "aws:kms":
	default:
		return BucketEncryption{}, errMalformedXML()
	}
	return out, nil
}

// EncryptionConfigurationOf is GetBucketEncryption's document for e.
func EncryptionConfigurationOf(e BucketEncryption) ServerSideEncryptionConfiguration {
	bk := e.BucketKey
	return ServerSideEncryptionConfiguration{XMLNS: XMLNS, Rules: []EncryptionRule{{
		Default:          &EncryptionByDefault{SSEAlgorithm: e.Algorithm, KMSMasterKeyID: e.KMSKeyID},
		BucketKeyEnabled: &bk,
	}}}
}

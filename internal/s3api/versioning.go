package s3api

import (
	"encoding/xml"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// Versioning status values of PutBucketVersioning.
const (
	VersioningEnabled   = "Enabled"
	VersioningSuspended = "Suspended"
)

// ParseVersioningConfiguration reads a PutBucketVersioning body and returns
// the status to set. As S3: a document that does not parse is MalformedXML;
// a Status other than Enabled or Suspended (or none) is 400
// IllegalVersioningConfigurationException; MfaDelete Enabled is refused
// with NotImplemented (Meridian has no MFA devices), Disabled is accepted.
func ParseVersioningConfiguration(body []byte) (string, error) {
	var c VersioningConfiguration
	if err := DecodeXML(body, &c); err != nil {
		return "", err
	}
	switch c.MfaDelete {
	case "", "Disabled":
	case "Enabled":
		return "", s3err.WithMessage(s3err.NotImplemented, "Meridian does not implement MFA Delete.").With("Header", "MfaDelete")
	default:
		return "", s3err.New(s3err.MalformedXML)
	}
	switch c.Status {
	case VersioningEnabled, VersioningSuspended:
		return c.Status, nil
	}
	return "", s3err.New(s3err.IllegalVersioningConfiguration)
}

// ListVersionsResult answers ListObjectVersions. Entries holds Version and
// DeleteMarker elements in listing order (key, then newest first), as S3
// interleaves them.
type ListVersionsResult struct {
	XMLName             xml.Name       `xml:"ListVersionsResult"`
	XMLNS               string         `xml:"xmlns,attr"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           string         `xml:"Delimiter,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	Entries             []VersionEntry `xml:",any"`
	CommonPrefixes      []CommonPrefix `xml:"CommonPrefixes"`
}

// VersionEntry is one <Version> or <DeleteMarker> (XMLName says which;
// markers have no ETag, Size or StorageClass).
type VersionEntry struct {
	XMLName      xml.Name
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag,omitempty"`
	ChecksumAlgo string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType string `xml:"ChecksumType,omitempty"`
	Size         *int64 `xml:"Size,omitempty"`
	StorageClass string `xml:"StorageClass,omitempty"`
	Owner        *Owner `xml:"Owner,omitempty"`
}

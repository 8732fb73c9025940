package s3lifecycle

import (
	"encoding/xml"

	"github.com/meridian-s3/meridian/internal/s3api"
)

// The response document (GetBucketLifecycleConfiguration).

// Document is the GetBucketLifecycleConfiguration answer.
type Document struct {
	XMLName xml.Name  `xml:"LifecycleConfiguration"`
	XMLNS   string    `xml:"xmlns,attr"`
	Rules   []docRule `xml:"Rule"`
}

type docRule struct {
	Expiration                     *docExpiration `xml:"Expiration,omitempty"`
	ID                             string         `xml:"ID"`
	Prefix                         *string        `xml:"Prefix,omitempty"`
	Filter                         *docFilter     `xml:"Filter,omitempty"`
	Status                         string         `xml:"Status"`
	NoncurrentVersionExpiration    *docNoncurrent `xml:"NoncurrentVersionExpiration,omitempty"`
	AbortIncompleteMultipartUpload *docAbort      `xml:"AbortIncompleteMultipartUpload,omitempty"`
}

type docExpiration struct {
	Date                      string `xml:"Date,omitempty"`
	Days                      int    `xml:"Days,omitempty"`
	ExpiredObjectDeleteMarker *bool  `xml:"ExpiredObjectDeleteMarker,omitempty"`
}

type docTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type docAnd struct {
	Prefix                *string  `xml:"Prefix,omitempty"`
	Tags                  []docTag `xml:"Tag"`
	ObjectSizeGreaterThan *int64   `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64   `xml:"ObjectSizeLessThan,omitempty"`
}

type docFilter struct {
	Prefix                *string `xml:"Prefix,omitempty"`
	Tag                   *docTag `xml:"Tag,omitempty"`
	ObjectSizeGreaterThan *int64  `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64  `xml:"ObjectSizeLessThan,omitempty"`
	And                   *docAnd `xml:"And,omitempty"`
}

type docNoncurrent struct {
	NoncurrentDays          int `xml:"NoncurrentDays"`
	NewerNoncurrentVersions int `xml:"NewerNoncurrentVersions,omitempty"`
}

type docAbort struct {
	DaysAfterInitiation int `xml:"DaysAfterInitiation"`
}

// DateFormat is how S3 writes a lifecycle Date.
const DateFormat = "2006-01-02T15:04:05.000Z"

// Render returns c as S3's GetBucketLifecycleConfiguration document, each
// rule's filter in the form it was sent.
func Render(c *Configuration) Document {
	d := Document{XMLNS: s3api.XMLNS}
	for _, r := range c.Rules {
		dr := docRule{ID: r.ID, Status: "Disabled"}
		if r.Enabled {
			dr.Status = "Enabled"
		}
		f := r.Filter
		tags := make([]docTag, 0, len(f.Tags))
		for _, t := range f.Tags {
			tags = append(tags, docTag{Key: t.Key, Value: t.Value})
		}
		prefix := f.Prefix
		switch f.Form {
		case FormLegacyPrefix:
			dr.Prefix = &prefix
		case FormEmpty:
			dr.Filter = &docFilter{}
		case FormPrefix:
			dr.Filter = &docFilter{Prefix: &prefix}
		case FormTag:
			dr.Filter = &docFilter{Tag: &tags[0]}
		case FormGreater:
			dr.Filter = &docFilter{ObjectSizeGreaterThan: f.SizeGreaterThan}
		case FormLess:
			dr.Filter = &docFilter{ObjectSizeLessThan: f.SizeLessThan}
		case FormAnd:
			a := &docAnd{Tags: tags, ObjectSizeGreaterThan: f.SizeGreaterThan, ObjectSizeLessThan: f.SizeLessThan}
			others := len(tags)
			if f.SizeGreaterThan != nil {
				others++
			}
			if f.SizeLessThan != nil {
				others++
			}
			if prefix != "" || others < 2 { // an empty <Prefix/> was sent as the second predicate
				a.Prefix = &prefix
			}
			dr.Filter = &docFilter{And: a}
		}
		if e := r.Expiration; e != nil {
			de := &docExpiration{Days: e.Days}
			switch {
			case e.Date != nil:
				de.Date = e.Date.UTC().Format(DateFormat)
			case e.Days == 0:
				m := e.ExpiredObjectDeleteMarker
				de.ExpiredObjectDeleteMarker = &m
			}
			dr.Expiration = de
		}
		if n := r.Noncurrent; n != nil {
			dr.NoncurrentVersionExpiration = &docNoncurrent{NoncurrentDays: n.NoncurrentDays, NewerNoncurrentVersions: n.NewerNoncurrentVersions}
		}
		if r.AbortIncompleteDays > 0 {
			dr.AbortIncompleteMultipartUpload = &docAbort{DaysAfterInitiation: r.AbortIncompleteDays}
		}
		d.Rules = append(d.Rules, dr)
	}
	return d
}

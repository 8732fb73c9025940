package s3api

import "encoding/xml"

// The documents below answer GETs of bucket and object configurations
// that Meridian does not store yet, with what S3 answers for a bucket or
// object that has none (see regional/defaults.go).

// Tagging answers GetObjectTagging (an empty TagSet is written as <TagSet/>).
type Tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	XMLNS   string   `xml:"xmlns,attr"`
	TagSet  TagSet   `xml:"TagSet"`
}

// TagSet holds tags.
type TagSet struct {
	Tags []Tag `xml:"Tag"`
}

// Tag is one key/value tag.
type Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// AccelerateConfiguration answers GetBucketAccelerateConfiguration; an
// empty Status means acceleration was never configured.
type AccelerateConfiguration struct {
	XMLName xml.Name `xml:"AccelerateConfiguration"`
	XMLNS   string   `xml:"xmlns,attr"`
	Status  string   `xml:"Status,omitempty"`
}

// BucketLoggingStatus answers GetBucketLogging; empty means logging is off.
type BucketLoggingStatus struct {
	XMLName xml.Name `xml:"BucketLoggingStatus"`
	XMLNS   string   `xml:"xmlns,attr"`
}

// NotificationConfiguration answers GetBucketNotificationConfiguration;
// empty means no notifications.
type NotificationConfiguration struct {
	XMLName xml.Name `xml:"NotificationConfiguration"`
	XMLNS   string   `xml:"xmlns,attr"`
}

// RequestPaymentConfiguration answers GetBucketRequestPayment.
type RequestPaymentConfiguration struct {
	XMLName xml.Name `xml:"RequestPaymentConfiguration"`
	XMLNS   string   `xml:"xmlns,attr"`
	Payer   string   `xml:"Payer"`
}

// EmptyConfigurationList answers the List…Configurations operations of a
// bucket with none (analytics, metrics, inventory, intelligent-tiering):
// Root is the operation's result element.
type EmptyConfigurationList struct {
	XMLName     xml.Name
	XMLNS       string `xml:"xmlns,attr"`
	IsTruncated bool   `xml:"IsTruncated"`
}

// EmptyList returns the empty answer with the result element root.
func EmptyList(root string) EmptyConfigurationList {
	return EmptyConfigurationList{XMLName: xml.Name{Local: root}, XMLNS: XMLNS}
}

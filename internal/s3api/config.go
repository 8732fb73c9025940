package s3api

import "encoding/xml"

// The documents below answer GETs of bucket and object configurations
// that Meridian does not store yet, with what S3 answers for a bucket or
// object that has none (see regional/defaults.go).

// AccessControlPolicy answers GetBucketAcl and GetObjectAcl.
type AccessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	XMLNS   string   `xml:"xmlns,attr"`
	Owner   Owner    `xml:"Owner"`
	Grants  []Grant  `xml:"AccessControlList>Grant"`
}

// Grant is one entry of an access control list.
type Grant struct {
	Grantee    Grantee `xml:"Grantee"`
	Permission string  `xml:"Permission"`
}

// Grantee of a grant; Type is the xsi:type (CanonicalUser, Group, …).
type Grantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

// XSI is the XML Schema instance namespace of Grantee's type attribute.
const XSI = "http://www.w3.org/2001/XMLSchema-instance"

// OwnerFullControl is the ACL of a bucket or object that has only its
// owner's implicit grant: what S3 answers when no ACL was ever set.
func OwnerFullControl(owner Owner) AccessControlPolicy {
	return AccessControlPolicy{XMLNS: XMLNS, Owner: owner, Grants: []Grant{{
		Grantee:    Grantee{XMLNSXSI: XSI, Type: "CanonicalUser", ID: owner.ID, DisplayName: owner.DisplayName},
		Permission: "FULL_CONTROL",
	}}}
}

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

package s3api

import "encoding/xml"

// PolicyStatus is GetBucketPolicyStatus's answer.
type PolicyStatus struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	XMLNS    string   `xml:"xmlns,attr,omitempty"`
	IsPublic bool     `xml:"IsPublic"`
}

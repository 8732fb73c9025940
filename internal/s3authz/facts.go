package s3authz

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Facts are what a gateway knows about a request beyond its headers and
// query: who sent it, from where, and how it was authenticated.
type Facts struct {
	Requester        Requester
	SourceIP         string // aws:SourceIp ("" when unknown)
	SecureTransport  bool   // TLS between the client and Meridian
	AuthType         string // s3:authType: REST-HEADER, REST-QUERY-STRING, POST ("" anonymous)
	SignatureVersion string // s3:signatureversion: AWS4-HMAC-SHA256 or AWS ("" anonymous)
	ContentSHA256    string // the client's x-amz-content-sha256
	Now              time.Time
}

// Auth types and signature versions as S3's condition keys spell them.
const (
	AuthTypeHeader = "REST-HEADER"
	AuthTypeQuery  = "REST-QUERY-STRING"
	AuthTypePOST   = "POST"
	SigV4          = "AWS4-HMAC-SHA256"
	SigV2          = "AWS"
)

// requestHeaderKeys: S3 condition keys read from the request header of
// the same name.
var requestHeaderKeys = []string{
	"x-amz-acl", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
	"x-amz-server-side-encryption-customer-algorithm", "x-amz-storage-class", "x-amz-copy-source",
	"x-amz-metadata-directive", "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
	"x-amz-grant-write-acp", "x-amz-grant-full-control", "x-amz-object-ownership", "x-amz-checksum-algorithm",
}

// NewContext builds the condition context of a request: the global keys
// from f, the S3 keys from its headers and query. list is whether the
// request lists a bucket (s3:prefix, s3:delimiter, s3:max-keys apply);
// requestTags are the tags the request gives an object (x-amz-tagging),
// nil when none. The object's existing tags are added by AddObjectTags.
func NewContext(f Facts, h http.Header, q url.Values, list bool, requestTags map[string]string) *Context {
	c := &Context{kv: make([]contextValue, 0, 16)}
	now := f.Now.UTC()
	c.Set("aws:currenttime", now.Format(time.RFC3339))
	c.Set("aws:epochtime", strconv.FormatInt(now.Unix(), 10))
	c.Set("aws:securetransport", strconv.FormatBool(f.SecureTransport))
	if f.SourceIP != "" {
		c.Set("aws:sourceip", f.SourceIP)
	}
	if f.Requester.Anonymous {
		c.Set("aws:principaltype", "Anonymous")
		c.Set("aws:userid", "anonymous")
	} else {
		c.Set("aws:principaltype", "Account")
		c.Set("aws:principalaccount", f.Requester.Account)
		c.Set("aws:principalarn", "arn:aws:iam::"+f.Requester.Account+":root")
		c.Set("aws:userid", f.Requester.Account)
	}
	if v := h.Get("User-Agent"); v != "" {
		c.Set("aws:useragent", v)
	}
	if v := h.Get("Referer"); v != "" {
		c.Set("aws:referer", v)
	}
	if f.AuthType != "" {
		c.Set("s3:authtype", f.AuthType)
	}
	if f.SignatureVersion != "" {
		c.Set("s3:signatureversion", f.SignatureVersion)
	}
	if f.ContentSHA256 != "" {
		c.Set("s3:x-amz-content-sha256", f.ContentSHA256)
	}
	for _, k := range requestHeaderKeys {
		if v := h.Get(k); v != "" {
			c.Set("s3:"+k, v)
		}
	}
	if v := h.Get("x-amz-object-lock-mode"); v != "" {
		c.Set("s3:object-lock-mode", v)
	}
	if v := h.Get("x-amz-object-lock-retain-until-date"); v != "" {
		c.Set("s3:object-lock-retain-until-date", v)
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			days := int(t.Sub(now).Hours() / 24)
			c.Set("s3:object-lock-remaining-retention-days", strconv.Itoa(max(days, 0)))
		}
	}
	if v := h.Get("x-amz-object-lock-legal-hold"); v != "" {
		c.Set("s3:object-lock-legal-hold", v)
	}
	if v, ok := q["versionId"]; ok && len(v) > 0 {
		c.Set("s3:versionid", v[0])
	}
	if list {
		c.Set("s3:prefix", q.Get("prefix"))
		if v, ok := q["delimiter"]; ok && len(v) > 0 {
			c.Set("s3:delimiter", v[0])
		}
		if v, ok := q["max-keys"]; ok && len(v) > 0 {
			c.Set("s3:max-keys", v[0])
		}
	}
	if len(requestTags) > 0 {
		keys := make([]string, 0, len(requestTags))
		for k, v := range requestTags {
			keys = append(keys, k)
			c.Set("s3:requestobjecttag/"+k, v)
		}
		c.Set("s3:requestobjecttagkeys", keys...)
	}
	return c
}

// AddObjectTags sets s3:ExistingObjectTag/<key> for each of the object's
// tags, replacing those of another object.
func (c *Context) AddObjectTags(tags map[string]string) {
	kept := c.kv[:0]
	for _, kv := range c.kv {
		if !strings.HasPrefix(kv.key, "s3:existingobjecttag/") {
			kept = append(kept, kv)
		}
	}
	c.kv = kept
	for k, v := range tags {
		c.kv = append(c.kv, contextValue{"s3:existingobjecttag/" + k, []string{v}})
	}
}

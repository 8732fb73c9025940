package regionalclient

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// HeaderCopySource marks a CopyObject or UploadPartCopy whose source bucket
// is homed in another region than the destination (docs/copy.md,
// "Regions"): the edge read the source from its home region — one GET, so
// one version — and streams those bytes as the request body; this header
// describes what was read (CopySource, JSON in base64). A regional gateway
// honours it only on its edge listener; the edge strips every X-Meridian-*
// header a client sends.
const HeaderCopySource = "X-Meridian-Copy-Source"

// CopySource is the source version an edge read for a cross-region copy.
type CopySource struct {
	Region      string            `json:"region"`        // the source bucket's home region
	Bucket      string            `json:"bucket"`        //
	Key         string            `json:"key"`           //
	VersionID   string            `json:"ver,omitempty"` // x-amz-version-id of the GET ("" when the source bucket never had versioning)
	Size        int64             `json:"size"`          // the whole source's size
	Offset      int64             `json:"off"`           // the body is [Offset, Offset+Length) of the source
	Length      int64             `json:"len"`           //
	ETag        string            `json:"etag"`          // unquoted
	Modified    time.Time         `json:"mtime"`         // Last-Modified
	ContentType string            `json:"ctype,omitempty"`
	Headers     map[string]string `json:"hdrs,omitempty"` // Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires
	UserMeta    map[string]string `json:"meta,omitempty"` // x-amz-meta-* (lower-case names)
}

// Encode is the header value of c.
func (c CopySource) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCopySource parses a HeaderCopySource value.
func DecodeCopySource(v string) (CopySource, error) {
	var c CopySource
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	if c.Bucket == "" || c.Key == "" || c.Size < 0 || c.Offset < 0 || c.Length < 0 || c.Offset+c.Length > c.Size {
		return c, errors.New("regionalclient: malformed copy source")
	}
	return c, nil
}

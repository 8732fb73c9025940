package s3api

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// The request pieces of CopyObject and UploadPartCopy (docs/copy.md), as the
// AWS S3 API reference documents them.

// MaxCopySource is the largest source a CopyObject (or one UploadPartCopy
// range) may copy: 5 GiB, as S3. Larger objects are copied in parts.
const MaxCopySource = 5 << 30

// CopySource is a parsed x-amz-copy-source header.
type CopySource struct {
	Bucket, Key string
	// VersionID is the ?versionId of the header; Versioned says it was
	// present (an empty value is an error, "null" names the null version).
	VersionID string
	Versioned bool
}

// errCopySource is S3's answer to an x-amz-copy-source it cannot split.
func errCopySource(v string) error {
	return s3err.WithMessage(s3err.InvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey").
		With("ArgumentName", "x-amz-copy-source").With("ArgumentValue", truncateArg(v))
}

// ParseCopySource parses x-amz-copy-source: "[/]bucket/key[?versionId=id]",
// the bucket and key URL-encoded (the SDKs and CLIs encode the key; a
// literal '?' in a key arrives as %3F). Access-point and Outposts ARNs are
// refused as a source Meridian cannot name. The bucket name and key are
// validated by the caller (bucket naming rules live with the catalog).
func ParseCopySource(v string) (CopySource, error) {
	raw, query, hasQuery := strings.Cut(v, "?")
	raw = strings.TrimPrefix(raw, "/")
	path, err := url.PathUnescape(raw)
	if err != nil {
		return CopySource{}, errCopySource(v)
	}
	if strings.HasPrefix(path, "arn:") {
		return CopySource{}, errCopySource(v)
	}
	bucket, key, ok := strings.Cut(path, "/")
	if !ok || bucket == "" || key == "" {
		return CopySource{}, errCopySource(v)
	}
	cs := CopySource{Bucket: bucket, Key: key}
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return CopySource{}, errCopySource(v)
		}
		if ids, ok := q["versionId"]; ok {
			cs.Versioned = true
			if len(ids) > 0 {
				cs.VersionID = ids[0]
			}
			if cs.VersionID == "" {
				return CopySource{}, s3err.WithMessage(s3err.InvalidArgument, "Version id cannot be the empty string").
					With("ArgumentName", "versionId").With("ArgumentValue", "")
			}
		}
	}
	return cs, nil
}

// Directive is x-amz-metadata-directive or x-amz-tagging-directive.
type Directive uint8

// The two directives S3 defines; COPY is the default.
const (
	DirectiveCopy Directive = iota
	DirectiveReplace
)

// ParseDirective reads a directive header (name is the header's lower-case
// name, used in the error): absent or COPY is DirectiveCopy, REPLACE is
// DirectiveReplace, anything else is InvalidArgument, as S3 answers.
func ParseDirective(h http.Header, name string) (Directive, error) {
	switch v := h.Get(name); v {
	case "", "COPY":
		return DirectiveCopy, nil
	case "REPLACE":
		return DirectiveReplace, nil
	default:
		what := "metadata"
		if strings.Contains(name, "tagging") {
			what = "tagging"
		}
		return 0, s3err.WithMessage(s3err.InvalidArgument, "Unknown "+what+" directive.").
			With("ArgumentName", name).With("ArgumentValue", truncateArg(v))
	}
}

// ParseCopySourceRange reads x-amz-copy-source-range ("bytes=first-last",
// both zero-based and inclusive) of an UploadPartCopy against a source of
// size bytes. ok is false when the header is absent (the whole source). A
// value not of that form, or last < first, is 400 InvalidArgument; a range
// reaching past the source is 416 InvalidRange.
func ParseCopySourceRange(v string, size int64) (r Range, ok bool, err error) {
	if v == "" {
		return Range{}, false, nil
	}
	bad := s3err.WithMessage(s3err.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy").
		With("ArgumentName", "x-amz-copy-source-range").With("ArgumentValue", truncateArg(v))
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found {
		return Range{}, false, bad
	}
	a, b, found := strings.Cut(spec, "-")
	if !found || !digits(a) || !digits(b) {
		return Range{}, false, bad
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || last < first {
		return Range{}, false, bad
	}
	if last >= size {
		return Range{}, false, s3err.New(s3err.InvalidRange).With("RangeRequested", truncateArg(v)).With("ActualObjectSize", strconv.FormatInt(size, 10))
	}
	return Range{Start: first, Length: last - first + 1}, true, nil
}

func digits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CheckCopySourceConditions evaluates the x-amz-copy-source-if-* headers
// against the source version (etag unquoted, modified its Last-Modified) at
// now. As S3 documents: if-match true with if-unmodified-since false copies;
// if-none-match false with if-modified-since true is 412; any other
// condition that does not hold is 412 PreconditionFailed (never 304). Dates
// that do not parse, and an if-modified-since later than now, are ignored
// (RFC 9110 §13.1.3).
func CheckCopySourceConditions(h http.Header, etag string, modified, now time.Time) error {
	modified = modified.UTC().Truncate(time.Second)
	fail := func(name string) error {
		return s3err.New(s3err.PreconditionFailed).With("Condition", name)
	}
	if v := h.Get("x-amz-copy-source-if-match"); v != "" {
		if !etagListMatches(v, etag) {
			return fail("x-amz-copy-source-If-Match")
		}
	} else if v := h.Get("x-amz-copy-source-if-unmodified-since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && modified.After(t) {
			return fail("x-amz-copy-source-If-Unmodified-Since")
		}
	}
	if v := h.Get("x-amz-copy-source-if-none-match"); v != "" {
		if etagListMatches(v, etag) {
			return fail("x-amz-copy-source-If-None-Match")
		}
	} else if v := h.Get("x-amz-copy-source-if-modified-since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !t.After(now) && !modified.After(t) {
			return fail("x-amz-copy-source-If-Modified-Since")
		}
	}
	return nil
}

// ErrCopySourceTooLarge answers a CopyObject (or a part-copy range) over
// MaxCopySource.
func ErrCopySourceTooLarge() error {
	return s3err.WithMessage(s3err.InvalidRequest, "The specified copy source is larger than the maximum allowable size for a copy source: "+strconv.Itoa(MaxCopySource))
}

// ErrCopyToItself answers a CopyObject onto its own source that changes
// nothing.
func ErrCopyToItself() error {
	return s3err.WithMessage(s3err.InvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
}

// ErrCopyFromDeleteMarker answers a copy source whose versionId names a
// delete marker.
func ErrCopyFromDeleteMarker() error {
	return s3err.WithMessage(s3err.InvalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
}

// CopyObjectResult answers CopyObject.
type CopyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	XMLNS        string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	CopyChecksums
}

// CopyPartResult answers UploadPartCopy.
type CopyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	XMLNS        string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	CopyChecksums
}

// CopyChecksums are the checksum elements of the copy results.
type CopyChecksums struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
}

// CopyChecksumsOf fills the elements from algorithm → base64 value.
func CopyChecksumsOf(m map[string]string) CopyChecksums {
	return CopyChecksums{ChecksumCRC32: m["CRC32"], ChecksumCRC32C: m["CRC32C"], ChecksumCRC64NVME: m["CRC64NVME"],
		ChecksumSHA1: m["SHA1"], ChecksumSHA256: m["SHA256"]}
}

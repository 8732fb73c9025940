package s3api

import (
	"encoding/xml"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// Tagging limits and rules (the S3 user guide's tag restrictions).
const (
	MaxObjectTags  = 10
	MaxBucketTags  = 50
	MaxTagKeyLen   = 128 // Unicode characters
	MaxTagValueLen = 256
	// MaxTaggingBody bounds a Put…Tagging body (50 tags of the longest
	// key and value, escaped, fit many times over).
	MaxTaggingBody = 256 << 10
	// TaggingHeader carries an object's tags on PutObject and
	// CreateMultipartUpload: URL query encoding ("k1=v1&k2=v2").
	TaggingHeader = "X-Amz-Tagging"
	// TaggingCountHeader answers GetObject and HeadObject: the number of tags.
	TaggingCountHeader = "X-Amz-Tagging-Count"
)

// TagKind says whose tags are validated: they differ in count limit and in
// the error for the reserved "aws:" prefix.
type TagKind int

const (
	ObjectTags TagKind = iota + 1
	BucketTags
)

// taggingBody is the request form of Tagging: TagSet must be present.
type taggingBody struct {
	XMLName xml.Name `xml:"Tagging"`
	TagSet  *struct {
		Tags []struct {
			Key   *string `xml:"Key"`
			Value *string `xml:"Value"`
		} `xml:"Tag"`
	} `xml:"TagSet"`
}

func invalidTag(msg string) *s3err.Error { return s3err.WithMessage(s3err.InvalidTag, msg) }

// ParseTagging decodes and validates a PutObjectTagging or PutBucketTagging
// body. A document that is not <Tagging><TagSet>…</TagSet></Tagging>, or a
// Tag without Key or Value, is MalformedXML; a tag breaking the rules is
// InvalidTag (ValidateTags).
func ParseTagging(body []byte, kind TagKind) (map[string]string, error) {
	var t taggingBody
	if err := DecodeXML(body, &t); err != nil {
		return nil, err
	}
	if t.TagSet == nil {
		return nil, errMalformedXML()
	}
	tags := make(map[string]string, len(t.TagSet.Tags))
	for _, tg := range t.TagSet.Tags {
		if tg.Key == nil || tg.Value == nil {
			return nil, errMalformedXML()
		}
		if _, dup := tags[*tg.Key]; dup {
			return nil, invalidTag("Cannot provide multiple Tags with the same key")
		}
		tags[*tg.Key] = *tg.Value
	}
	if err := ValidateTags(tags, kind); err != nil {
		return nil, err
	}
	return tags, nil
}

// ParseTaggingHeader decodes x-amz-tagging (URL query encoding; a key
// without "=" has an empty value). An undecodable value or a repeated key
// is InvalidArgument, as S3 answers; too many tags is BadRequest; a tag
// breaking the rules is InvalidTag. An absent or empty header gives nil.
func ParseTaggingHeader(v string) (map[string]string, error) {
	if v == "" {
		return nil, nil
	}
	bad := s3err.WithMessage(s3err.InvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.").
		With("ArgumentName", "x-amz-tagging").With("ArgumentValue", truncateArg(v))
	q, err := url.ParseQuery(v)
	if err != nil {
		return nil, bad
	}
	tags := make(map[string]string, len(q))
	for k, vals := range q {
		if len(vals) != 1 {
			return nil, bad
		}
		tags[k] = vals[0]
	}
	if len(tags) > MaxObjectTags {
		return nil, s3err.WithMessage(s3err.BadRequest, "Object tags cannot be greater than "+strconv.Itoa(MaxObjectTags))
	}
	if err := ValidateTags(tags, ObjectTags); err != nil {
		return nil, err
	}
	return tags, nil
}

// ValidateTags checks a tag set against S3's rules: at most 10 (object) or
// 50 (bucket) tags; keys of 1 to 128 and values of 0 to 256 Unicode
// characters, made of letters, digits, white space and + - = . _ : / @;
// no key beginning with the reserved "aws:" prefix.
func ValidateTags(tags map[string]string, kind TagKind) error {
	if kind == BucketTags && len(tags) > MaxBucketTags {
		return invalidTag("Bucket tag count cannot be greater than " + strconv.Itoa(MaxBucketTags))
	}
	if kind != BucketTags && len(tags) > MaxObjectTags {
		return invalidTag("Object tags cannot be greater than " + strconv.Itoa(MaxObjectTags))
	}
	for _, k := range SortedTagKeys(tags) {
		v := tags[k]
		switch {
		case utf8.RuneCountInString(k) > MaxTagKeyLen:
			return invalidTag("The TagKey you have provided is too long, max "+strconv.Itoa(MaxTagKeyLen)).With("TagKey", truncateArg(k))
		case k == "" || !validTagText(k):
			return invalidTag("The TagKey you have provided is invalid").With("TagKey", truncateArg(k))
		case utf8.RuneCountInString(v) > MaxTagValueLen:
			return invalidTag("The TagValue you have provided is too long, max "+strconv.Itoa(MaxTagValueLen)).With("TagKey", truncateArg(k))
		case !validTagText(v):
			return invalidTag("The TagValue you have provided is invalid").With("TagKey", truncateArg(k))
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			if kind == BucketTags {
				return invalidTag("System tags cannot be added/updated by requester")
			}
			return invalidTag("Your TagKey cannot be prefixed with aws:").With("TagKey", truncateArg(k))
		}
	}
	return nil
}

func validTagText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) || unicode.IsSpace(r) || strings.ContainsRune("+-=._:/@", r) {
			continue
		}
		return false
	}
	return true
}

// SortedTagKeys returns the keys of tags in byte order (answers list tags
// in this order).
func SortedTagKeys(tags map[string]string) []string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TaggingOf is the Tagging document of a tag set (GetObjectTagging,
// GetBucketTagging); no tags gives an empty TagSet.
func TaggingOf(tags map[string]string) Tagging {
	t := Tagging{XMLNS: XMLNS}
	for _, k := range SortedTagKeys(tags) {
		t.TagSet.Tags = append(t.TagSet.Tags, Tag{Key: k, Value: tags[k]})
	}
	return t
}

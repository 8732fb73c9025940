package s3lifecycle

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// The request document (PutBucketLifecycleConfiguration). Every element is
// a pointer or a slice so that absence and presence can be told apart;
// Unknown catches elements the schema does not have (AWS validates the
// body against its schema and answers MalformedXML).

type xmlConfig struct {
	XMLName xml.Name              `xml:"LifecycleConfiguration"`
	Rules   []xmlRule             `xml:"Rule"`
	Unknown s3api.UnknownElements `xml:",any"`
}

type xmlRule struct {
	ID                             *string               `xml:"ID"`
	Status                         *string               `xml:"Status"`
	Prefix                         *string               `xml:"Prefix"`
	Filter                         *xmlFilter            `xml:"Filter"`
	Expiration                     *xmlExpiration        `xml:"Expiration"`
	Transitions                    []xmlTransition       `xml:"Transition"`
	NoncurrentVersionTransitions   []xmlTransition       `xml:"NoncurrentVersionTransition"`
	NoncurrentVersionExpiration    *xmlNoncurrentExp     `xml:"NoncurrentVersionExpiration"`
	AbortIncompleteMultipartUpload *xmlAbort             `xml:"AbortIncompleteMultipartUpload"`
	Unknown                        s3api.UnknownElements `xml:",any"`
}

type xmlTag struct {
	Key     *string               `xml:"Key"`
	Value   *string               `xml:"Value"`
	Unknown s3api.UnknownElements `xml:",any"`
}

type xmlAnd struct {
	Prefix                *string               `xml:"Prefix"`
	Tags                  []xmlTag              `xml:"Tag"`
	ObjectSizeGreaterThan *int64                `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64                `xml:"ObjectSizeLessThan"`
	Unknown               s3api.UnknownElements `xml:",any"`
}

type xmlFilter struct {
	Prefix                *string               `xml:"Prefix"`
	Tags                  []xmlTag              `xml:"Tag"`
	And                   *xmlAnd               `xml:"And"`
	ObjectSizeGreaterThan *int64                `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64                `xml:"ObjectSizeLessThan"`
	Unknown               s3api.UnknownElements `xml:",any"`
}

type xmlExpiration struct {
	Days                      *int64                `xml:"Days"`
	Date                      *string               `xml:"Date"`
	ExpiredObjectDeleteMarker *bool                 `xml:"ExpiredObjectDeleteMarker"`
	Unknown                   s3api.UnknownElements `xml:",any"`
}

type xmlTransition struct {
	Days                    *int64                `xml:"Days"`
	Date                    *string               `xml:"Date"`
	NoncurrentDays          *int64                `xml:"NoncurrentDays"`
	NewerNoncurrentVersions *int64                `xml:"NewerNoncurrentVersions"`
	StorageClass            *string               `xml:"StorageClass"`
	Unknown                 s3api.UnknownElements `xml:",any"`
}

type xmlNoncurrentExp struct {
	NoncurrentDays          *int64                `xml:"NoncurrentDays"`
	NewerNoncurrentVersions *int64                `xml:"NewerNoncurrentVersions"`
	Unknown                 s3api.UnknownElements `xml:",any"`
}

type xmlAbort struct {
	DaysAfterInitiation *int64                `xml:"DaysAfterInitiation"`
	Unknown             s3api.UnknownElements `xml:",any"`
}

// transitionClasses are the storage classes S3 accepts as a transition
// target. Meridian stores every object in one class (STANDARD), so a
// transition is refused with InvalidStorageClass; any other name is not
// in S3's schema (MalformedXML).
var transitionClasses = map[string]bool{
	"GLACIER": true, "STANDARD_IA": true, "ONEZONE_IA": true, "INTELLIGENT_TIERING": true,
	"DEEP_ARCHIVE": true, "GLACIER_IR": true,
}

func malformed() error { return s3err.New(s3err.MalformedXML) }

func invalidArgument(msg, name, value string) error {
	e := s3err.WithMessage(s3err.InvalidArgument, msg)
	if name != "" {
		e = e.With("ArgumentName", name).With("ArgumentValue", value)
	}
	return e
}

func invalidRequest(msg string) error { return s3err.WithMessage(s3err.InvalidRequest, msg) }

// Parse decodes and validates a PutBucketLifecycleConfiguration body. Every
// rejection is an *s3err.Error with the code and message AWS answers
// (docs/lifecycle.md lists them). A rule without an ID gets a generated one,
// as S3 does.
func Parse(body []byte) (*Configuration, error) {
	var doc xmlConfig
	if err := s3api.DecodeXML(body, &doc); err != nil {
		return nil, err
	}
	if len(doc.Unknown) > 0 || len(doc.Rules) == 0 || len(doc.Rules) > MaxRules {
		return nil, malformed()
	}
	cfg := &Configuration{Rules: make([]Rule, 0, len(doc.Rules))}
	ids := map[string]bool{}
	legacy, v2 := false, false
	for i := range doc.Rules {
		r, err := parseRule(&doc.Rules[i])
		if err != nil {
			return nil, err
		}
		if r.ID != "" {
			if ids[r.ID] {
				return nil, invalidArgument("Rule ID must be unique. Found same ID for more than one rule", "ID", r.ID)
			}
			ids[r.ID] = true
		}
		if r.Filter.Form == FormLegacyPrefix {
			legacy = true
		} else {
			v2 = true
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	if legacy && v2 {
		return nil, invalidRequest("Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the Filter.")
	}
	for i := range cfg.Rules {
		if cfg.Rules[i].ID == "" {
			cfg.Rules[i].ID = s3api.NewRuleID(ids)
		}
	}
	return cfg, nil
}

func parseRule(x *xmlRule) (Rule, error) {
	var r Rule
	if len(x.Unknown) > 0 {
		return r, malformed()
	}
	if x.ID != nil {
		if utf8.RuneCountInString(*x.ID) > MaxIDLength {
			return r, invalidArgument("ID length should not exceed allowed limit of 255", "ID", *x.ID)
		}
		r.ID = *x.ID
	}
	if x.Status == nil {
		return r, malformed()
	}
	switch *x.Status {
	case "Enabled":
		r.Enabled = true
	case "Disabled":
	default:
		return r, malformed()
	}
	switch {
	case x.Prefix != nil && x.Filter != nil, x.Prefix == nil && x.Filter == nil:
		return r, malformed()
	case x.Prefix != nil:
		r.Filter = Filter{Form: FormLegacyPrefix, Prefix: *x.Prefix}
	default:
		f, err := parseFilter(x.Filter)
		if err != nil {
			return r, err
		}
		r.Filter = f
	}

	actions := 0
	if e := x.Expiration; e != nil {
		actions++
		exp, err := parseExpiration(e)
		if err != nil {
			return r, err
		}
		r.Expiration = exp
	}
	if a := x.AbortIncompleteMultipartUpload; a != nil {
		actions++
		if len(a.Unknown) > 0 || a.DaysAfterInitiation == nil {
			return r, malformed()
		}
		d := *a.DaysAfterInitiation
		if d <= 0 || d > maxDays {
			return r, invalidArgument("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer", "DaysAfterInitiation", fmt.Sprint(d))
		}
		r.AbortIncompleteDays = int(d)
	}
	if n := x.NoncurrentVersionExpiration; n != nil {
		actions++
		if len(n.Unknown) > 0 || n.NoncurrentDays == nil {
			return r, malformed()
		}
		d := *n.NoncurrentDays
		if d <= 0 || d > maxDays {
			return r, invalidArgument("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer", "NoncurrentDays", fmt.Sprint(d))
		}
		ne := &NoncurrentExpiration{NoncurrentDays: int(d)}
		if v := n.NewerNoncurrentVersions; v != nil {
			if *v <= 0 {
				return r, invalidArgument("'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer", "NewerNoncurrentVersions", fmt.Sprint(*v))
			}
			if *v > MaxNewerNoncur {
				return r, invalidArgument("'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be less than or equal to 100", "NewerNoncurrentVersions", fmt.Sprint(*v))
			}
			ne.NewerNoncurrentVersions = int(*v)
		}
		r.Noncurrent = ne
	}
	for _, t := range x.Transitions {
		actions++
		if err := refuseTransition(t, false); err != nil {
			return r, err
		}
	}
	for _, t := range x.NoncurrentVersionTransitions {
		actions++
		if err := refuseTransition(t, true); err != nil {
			return r, err
		}
	}
	if actions == 0 {
		return r, invalidRequest("At least one action needs to be specified in a rule")
	}
	if r.Expiration != nil && r.Expiration.ExpiredObjectDeleteMarker && r.Filter.HasTags() {
		return r, invalidRequest("ExpiredObjectDeleteMarker cannot be specified with Tags.")
	}
	if r.AbortIncompleteDays > 0 {
		if r.Filter.HasTags() {
			return r, invalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
		}
		if r.Filter.HasSize() {
			return r, invalidRequest("AbortIncompleteMultipartUpload cannot be specified with Object Size.")
		}
	}
	return r, nil
}

// maxDays bounds day counts (xsd:int, as S3's schema).
const maxDays = 1<<31 - 1

func parseExpiration(e *xmlExpiration) (*Expiration, error) {
	if len(e.Unknown) > 0 {
		return nil, malformed()
	}
	set := 0
	for _, p := range []bool{e.Days != nil, e.Date != nil, e.ExpiredObjectDeleteMarker != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return nil, malformed()
	}
	switch {
	case e.Days != nil:
		if *e.Days <= 0 || *e.Days > maxDays {
			return nil, invalidArgument("'Days' for Expiration action must be a positive integer", "Days", fmt.Sprint(*e.Days))
		}
		return &Expiration{Days: int(*e.Days)}, nil
	case e.Date != nil:
		d, err := parseDate(*e.Date)
		if err != nil {
			return nil, err
		}
		return &Expiration{Date: &d}, nil
	}
	// ExpiredObjectDeleteMarker false is accepted and stored as no action
	// on markers (S3 keeps the element; Meridian renders it back).
	return &Expiration{ExpiredObjectDeleteMarker: *e.ExpiredObjectDeleteMarker}, nil
}

// parseDate reads an ISO 8601 date-time (xsd:dateTime) that must fall on
// midnight UTC.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, malformed()
	}
	t = t.UTC()
	if !t.Equal(t.Truncate(24 * time.Hour)) {
		return time.Time{}, invalidArgument("'Date' must be at midnight GMT", "Date", s)
	}
	return t, nil
}

func refuseTransition(t xmlTransition, noncurrent bool) error {
	if len(t.Unknown) > 0 || t.StorageClass == nil || !transitionClasses[*t.StorageClass] {
		return malformed()
	}
	if noncurrent {
		if t.NoncurrentDays == nil {
			return malformed()
		}
	} else if (t.Days == nil) == (t.Date == nil) {
		return malformed()
	}
	// S3 would move the objects to a colder class; Meridian has one class.
	return s3err.WithMessage(s3err.InvalidStorageClass,
		"The storage class you specified is not valid: Meridian stores every object in STANDARD and has no "+*t.StorageClass+" to transition to")
}

func parseTags(xs []xmlTag) ([]Tag, error) {
	var out []Tag
	seen := map[string]bool{}
	for _, t := range xs {
		if len(t.Unknown) > 0 || t.Key == nil {
			return nil, malformed()
		}
		v := ""
		if t.Value != nil {
			v = *t.Value
		}
		if *t.Key == "" || utf8.RuneCountInString(*t.Key) > MaxTagKey || utf8.RuneCountInString(v) > MaxTagValue {
			return nil, s3err.WithMessage(s3err.Code("InvalidTag"), "The TagKey you have provided is invalid")
		}
		if seen[*t.Key] {
			return nil, invalidRequest("Duplicate Tag Keys are not allowed.")
		}
		seen[*t.Key] = true
		out = append(out, Tag{Key: *t.Key, Value: v})
	}
	return out, nil
}

func checkSizes(gt, lt *int64) error {
	if gt != nil && *gt < 0 {
		return invalidArgument("'ObjectSizeGreaterThan' should be a non-negative long value", "ObjectSizeGreaterThan", fmt.Sprint(*gt))
	}
	if lt != nil && *lt <= 0 {
		return invalidArgument("'ObjectSizeLessThan' should be a positive long value", "ObjectSizeLessThan", fmt.Sprint(*lt))
	}
	if gt != nil && lt != nil && *gt >= *lt {
		return invalidArgument("'ObjectSizeGreaterThan' must be less than 'ObjectSizeLessThan'", "ObjectSizeGreaterThan", fmt.Sprint(*gt))
	}
	return nil
}

// parseFilter: <Filter/> (every object) or exactly one of Prefix, Tag,
// ObjectSizeGreaterThan, ObjectSizeLessThan, And; And holds at least two
// predicates.
func parseFilter(x *xmlFilter) (Filter, error) {
	if len(x.Unknown) > 0 {
		return Filter{}, malformed()
	}
	n := len(x.Tags)
	for _, p := range []bool{x.Prefix != nil, x.And != nil, x.ObjectSizeGreaterThan != nil, x.ObjectSizeLessThan != nil} {
		if p {
			n++
		}
	}
	if n > 1 {
		return Filter{}, malformed()
	}
	var f Filter
	switch {
	case n == 0:
		f.Form = FormEmpty
	case x.Prefix != nil:
		f.Form, f.Prefix = FormPrefix, *x.Prefix
	case len(x.Tags) == 1:
		tags, err := parseTags(x.Tags)
		if err != nil {
			return Filter{}, err
		}
		f.Form, f.Tags = FormTag, tags
	case x.ObjectSizeGreaterThan != nil:
		f.Form, f.SizeGreaterThan = FormGreater, x.ObjectSizeGreaterThan
	case x.ObjectSizeLessThan != nil:
		f.Form, f.SizeLessThan = FormLess, x.ObjectSizeLessThan
	default:
		a := x.And
		if len(a.Unknown) > 0 {
			return Filter{}, malformed()
		}
		preds := len(a.Tags)
		for _, p := range []bool{a.Prefix != nil, a.ObjectSizeGreaterThan != nil, a.ObjectSizeLessThan != nil} {
			if p {
				preds++
			}
		}
		if preds < 2 {
			return Filter{}, malformed()
		}
		tags, err := parseTags(a.Tags)
		if err != nil {
			return Filter{}, err
		}
		f.Form, f.Tags = FormAnd, tags
		if a.Prefix != nil {
			f.Prefix = *a.Prefix
		}
		f.SizeGreaterThan, f.SizeLessThan = a.ObjectSizeGreaterThan, a.ObjectSizeLessThan
	}
	if err := checkSizes(f.SizeGreaterThan, f.SizeLessThan); err != nil {
		return Filter{}, err
	}
	return f, nil
}

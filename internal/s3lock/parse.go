package s3lock

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// Limits of a default retention period (S3 refuses larger ones).
const (
	MaxDays  = 36500
	MaxYears = 100
)

// Request headers of object writes and response headers of GET and HEAD.
const (
	HeaderMode        = "x-amz-object-lock-mode"
	HeaderRetainUntil = "x-amz-object-lock-retain-until-date"
	HeaderLegalHold   = "x-amz-object-lock-legal-hold"
	// HeaderBypass asks a delete or PutObjectRetention to bypass GOVERNANCE
	// retention (the requester also needs s3:BypassGovernanceRetention).
	HeaderBypass = "x-amz-bypass-governance-retention"
	// HeaderBucketEnabled on CreateBucket creates a lock-enabled bucket.
	HeaderBucketEnabled = "x-amz-bucket-object-lock-enabled"
)

// Legal hold statuses.
const (
	LegalHoldOn  = "ON"
	LegalHoldOff = "OFF"
)

func malformed() error { return s3err.New(s3err.MalformedXML) }

func invalidArg(msg string) *s3err.Error { return s3err.WithMessage(s3err.InvalidArgument, msg) }

// ---- bucket configuration ----

type xmlDefault struct {
	Mode  *string `xml:"Mode"`
	Days  *string `xml:"Days"`
	Years *string `xml:"Years"`
}

type xmlRule struct {
	DefaultRetention *xmlDefault `xml:"DefaultRetention"`
}

type xmlConfiguration struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	ObjectLockEnabled *string  `xml:"ObjectLockEnabled"`
	Rule              *xmlRule `xml:"Rule"`
}

// ParseConfiguration reads a PutObjectLockConfiguration body. As S3: the
// document must say ObjectLockEnabled Enabled; a Rule holds one
// DefaultRetention with a Mode (GOVERNANCE or COMPLIANCE) and exactly one
// of Days and Years (MalformedXML otherwise); a period that is not a
// positive integer is InvalidArgument.
func ParseConfiguration(body []byte) (Configuration, error) {
	var x xmlConfiguration
	if err := s3api.DecodeXML(body, &x); err != nil {
		return Configuration{}, err
	}
	if x.ObjectLockEnabled == nil || strings.TrimSpace(*x.ObjectLockEnabled) != "Enabled" {
		return Configuration{}, malformed()
	}
	c := Configuration{Enabled: true}
	if x.Rule == nil {
		return c, nil
	}
	d := x.Rule.DefaultRetention
	if d == nil || d.Mode == nil || (d.Days == nil) == (d.Years == nil) {
		return Configuration{}, malformed()
	}
	mode := Mode(strings.TrimSpace(*d.Mode))
	if !mode.Valid() {
		return Configuration{}, malformed()
	}
	dr := &DefaultRetention{Mode: mode}
	if d.Days != nil {
		n, err := period(*d.Days, MaxDays)
		if err != nil {
			return Configuration{}, err
		}
		dr.Days = n
	} else {
		n, err := period(*d.Years, MaxYears)
		if err != nil {
			return Configuration{}, err
		}
		dr.Years = n
	}
	c.Default = dr
	return c, nil
}

func period(s string, limit int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, malformed()
	}
	if n <= 0 {
		return 0, invalidArg("Default retention period must be a positive integer value.")
	}
	if n > limit {
		return 0, invalidArg("Default retention period is too large.")
	}
	return n, nil
}

// ConfigurationDocument is the GetObjectLockConfiguration answer.
type ConfigurationDocument struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	XMLNS             string   `xml:"xmlns,attr"`
	ObjectLockEnabled string   `xml:"ObjectLockEnabled"`
	Rule              *docRule `xml:"Rule,omitempty"`
}

type docRule struct {
	DefaultRetention docDefault `xml:"DefaultRetention"`
}

type docDefault struct {
	Mode  Mode `xml:"Mode"`
	Days  int  `xml:"Days,omitempty"`
	Years int  `xml:"Years,omitempty"`
}

// Document is c as GetObjectLockConfiguration writes it.
func (c Configuration) Document() ConfigurationDocument {
	d := ConfigurationDocument{XMLNS: s3api.XMLNS, ObjectLockEnabled: "Enabled"}
	if c.Default != nil {
		d.Rule = &docRule{DefaultRetention: docDefault{Mode: c.Default.Mode, Days: c.Default.Days, Years: c.Default.Years}}
	}
	return d
}

// ---- per-version retention ----

type xmlRetention struct {
	XMLName         xml.Name `xml:"Retention"`
	Mode            *string  `xml:"Mode"`
	RetainUntilDate *string  `xml:"RetainUntilDate"`
}

// ParseRetention reads a PutObjectRetention body. An empty <Retention/>
// removes the retention (allowed only where RetentionChange allows it);
// otherwise Mode and RetainUntilDate are both required (MalformedXML), the
// mode must be GOVERNANCE or COMPLIANCE (MalformedXML) and the date an ISO
// 8601 time after now (InvalidArgument).
func ParseRetention(body []byte, now time.Time) (Retention, error) {
	var x xmlRetention
	if err := s3api.DecodeXML(body, &x); err != nil {
		return Retention{}, err
	}
	if x.Mode == nil && x.RetainUntilDate == nil {
		return Retention{}, nil
	}
	if x.Mode == nil || x.RetainUntilDate == nil {
		return Retention{}, malformed()
	}
	mode := Mode(strings.TrimSpace(*x.Mode))
	if !mode.Valid() {
		return Retention{}, malformed()
	}
	until, err := parseDate(*x.RetainUntilDate, now)
	if err != nil {
		return Retention{}, err
	}
	return Retention{Mode: mode, Until: until}, nil
}

func parseDate(s string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, invalidArg("The retain until date must be provided in ISO 8601 format")
	}
	t = Truncate(t)
	if !t.After(now) {
		return time.Time{}, invalidArg("The retain until date must be in the future!")
	}
	return t, nil
}

// RetentionDocument is the GetObjectRetention answer.
type RetentionDocument struct {
	XMLName         xml.Name `xml:"Retention"`
	XMLNS           string   `xml:"xmlns,attr"`
	Mode            Mode     `xml:"Mode"`
	RetainUntilDate string   `xml:"RetainUntilDate"`
}

// Document is r as GetObjectRetention writes it.
func (r Retention) Document() RetentionDocument {
	return RetentionDocument{XMLNS: s3api.XMLNS, Mode: r.Mode, RetainUntilDate: r.Until.UTC().Format(TimeFormat)}
}

// ---- legal hold ----

type xmlLegalHold struct {
	XMLName xml.Name `xml:"LegalHold"`
	Status  *string  `xml:"Status"`
}

// ParseLegalHold reads a PutObjectLegalHold body: Status ON or OFF
// (MalformedXML otherwise).
func ParseLegalHold(body []byte) (bool, error) {
	var x xmlLegalHold
	if err := s3api.DecodeXML(body, &x); err != nil {
		return false, err
	}
	if x.Status == nil {
		return false, malformed()
	}
	switch strings.TrimSpace(*x.Status) {
	case LegalHoldOn:
		return true, nil
	case LegalHoldOff:
		return false, nil
	}
	return false, malformed()
}

// LegalHoldDocument is the GetObjectLegalHold answer.
type LegalHoldDocument struct {
	XMLName xml.Name `xml:"LegalHold"`
	XMLNS   string   `xml:"xmlns,attr"`
	Status  string   `xml:"Status"`
}

// LegalHoldOf is the GetObjectLegalHold document of a hold.
func LegalHoldOf(on bool) LegalHoldDocument {
	s := LegalHoldOff
	if on {
		s = LegalHoldOn
	}
	return LegalHoldDocument{XMLNS: s3api.XMLNS, Status: s}
}

// ---- headers ----

// Settings are the lock headers of an object write.
type Settings struct {
	Retention Retention
	LegalHold bool
	// Present: the request carried at least one x-amz-object-lock-* header.
	Present bool
}

// ParseHeaders reads x-amz-object-lock-mode, -retain-until-date and
// -legal-hold of PutObject, CreateMultipartUpload or CopyObject. Mode and
// date come together (InvalidArgument otherwise); the mode must be
// GOVERNANCE or COMPLIANCE, the date ISO 8601 and in the future, the legal
// hold ON or OFF (InvalidArgument).
func ParseHeaders(h http.Header, now time.Time) (Settings, error) {
	var s Settings
	mode, until, hold := h.Get(HeaderMode), h.Get(HeaderRetainUntil), h.Get(HeaderLegalHold)
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-object-lock-") {
			s.Present = true
		}
	}
	if (mode == "") != (until == "") {
		return s, invalidArg("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	}
	if mode != "" {
		m := Mode(mode)
		if !m.Valid() {
			return s, invalidArg("Unknown wormMode directive.")
		}
		t, err := parseDate(until, now)
		if err != nil {
			return s, err
		}
		s.Retention = Retention{Mode: m, Until: t}
	}
	switch hold {
	case "", LegalHoldOff:
	case LegalHoldOn:
		s.LegalHold = true
	default:
		return s, invalidArg("Legal Hold must be either of 'ON' or 'OFF'")
	}
	return s, nil
}

// SetHeaders writes a version's lock state on a GET or HEAD answer: the
// mode and date when it has a retention, the legal hold when it has one.
func SetHeaders(h http.Header, r Retention, hold bool) {
	if r.Mode.Valid() {
		h.Set(HeaderMode, string(r.Mode))
		h.Set(HeaderRetainUntil, r.Until.UTC().Format(TimeFormat))
	}
	if hold {
		h.Set(HeaderLegalHold, LegalHoldOn)
	}
}

// BypassRequested reports x-amz-bypass-governance-retention: true.
func BypassRequested(h http.Header) bool {
	return strings.EqualFold(strings.TrimSpace(h.Get(HeaderBypass)), "true")
}

// ParseBucketHeader reads x-amz-bucket-object-lock-enabled of CreateBucket:
// absent or "false" is false, "true" is true, anything else InvalidArgument.
func ParseBucketHeader(h http.Header) (bool, error) {
	v := strings.TrimSpace(h.Get(HeaderBucketEnabled))
	switch strings.ToLower(v) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, invalidArg("Invalid value for x-amz-bucket-object-lock-enabled: expected true or false").
		With("ArgumentName", HeaderBucketEnabled).With("ArgumentValue", v)
}

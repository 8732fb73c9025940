package s3lifecycle

import "time"

// Limits S3 sets on a configuration.
const (
	MaxRules       = 1000 // rules per configuration
	MaxIDLength    = 255  // characters of a rule ID
	MaxNewerNoncur = 100  // NewerNoncurrentVersions
	MaxTagKey      = 128  // characters of a tag key
	MaxTagValue    = 256  // characters of a tag value
	maxBodyBytes   = 1 << 20
)

// MaxBody bounds a PutBucketLifecycleConfiguration body (1000 rules of a
// few hundred bytes each fit many times over).
const MaxBody = maxBodyBytes

// Configuration is a bucket's lifecycle configuration as the catalog stores
// it. A bucket without one has a nil *Configuration.
type Configuration struct {
	Rules []Rule `json:"rules"`
}

// FilterForm records how a rule's filter was written, so that
// GetBucketLifecycleConfiguration answers the shape the client sent.
type FilterForm string

const (
	FormLegacyPrefix FilterForm = "legacy" // <Rule><Prefix>…</Prefix> (no <Filter>)
	FormEmpty        FilterForm = "empty"  // <Filter/>: every object
	FormPrefix       FilterForm = "prefix" // <Filter><Prefix>
	FormTag          FilterForm = "tag"    // <Filter><Tag>
	FormGreater      FilterForm = "gt"     // <Filter><ObjectSizeGreaterThan>
	FormLess         FilterForm = "lt"     // <Filter><ObjectSizeLessThan>
	FormAnd          FilterForm = "and"    // <Filter><And>…
)

// Rule is one lifecycle rule.
type Rule struct {
	ID      string `json:"id"`
	Enabled bool   `json:"enabled"` // Status Enabled (true) or Disabled
	Filter  Filter `json:"filter"`

	Expiration *Expiration `json:"expiration,omitempty"`
	// AbortIncompleteDays is AbortIncompleteMultipartUpload
	// DaysAfterInitiation (0: no such action).
	AbortIncompleteDays int                   `json:"abort_days,omitempty"`
	Noncurrent          *NoncurrentExpiration `json:"noncurrent,omitempty"`
}

// Filter selects the objects a rule applies to: all its predicates must
// hold.
type Filter struct {
	Form   FilterForm `json:"form"`
	Prefix string     `json:"prefix,omitempty"`
	Tags   []Tag      `json:"tags,omitempty"`
	// SizeGreaterThan / SizeLessThan (bytes; nil when absent).
	SizeGreaterThan *int64 `json:"size_gt,omitempty"`
	SizeLessThan    *int64 `json:"size_lt,omitempty"`
}

// Tag is an object tag predicate.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Expiration expires current versions (Days or Date) or removes expired
// delete markers (ExpiredObjectDeleteMarker); exactly one is set.
type Expiration struct {
	Days                      int        `json:"days,omitempty"`
	Date                      *time.Time `json:"date,omitempty"` // midnight UTC
	ExpiredObjectDeleteMarker bool       `json:"expired_delete_marker,omitempty"`
}

// NoncurrentExpiration expires noncurrent versions NoncurrentDays after
// they became noncurrent, keeping the NewerNoncurrentVersions newest ones
// (0: keep none beyond the age rule).
type NoncurrentExpiration struct {
	NoncurrentDays          int `json:"noncurrent_days"`
	NewerNoncurrentVersions int `json:"newer_noncurrent_versions,omitempty"`
}

// HasTags reports whether the filter names object tags.
func (f Filter) HasTags() bool { return len(f.Tags) > 0 }

// HasSize reports whether the filter names an object size bound.
func (f Filter) HasSize() bool { return f.SizeGreaterThan != nil || f.SizeLessThan != nil }

// Enabled returns the enabled rules of c (nil c: none).
func (c *Configuration) Enabled() []Rule {
	if c == nil {
		return nil
	}
	var out []Rule
	for _, r := range c.Rules {
		if r.Enabled {
			out = append(out, r)
		}
	}
	return out
}

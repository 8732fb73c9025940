// Package s3replication is the bucket replication configuration of the S3
// API (PutBucketReplication / GetBucketReplication): the rule model, a
// strict parser that answers bad documents with AWS's errors, the GET
// document, and the pure choice of the rule that applies to an object.
// Checks that need the catalog (source and destination versioning, the
// destination's existence) are the caller's: Validate takes them as input.
//
// Both schema versions are accepted, as S3 does: V1 rules name a Prefix at
// rule level (no Priority; delete markers are replicated), V2 rules have a
// Filter (Prefix, Tag or And), a Priority and DeleteMarkerReplication. One
// document may not mix them.
package s3replication

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// Limits of S3.
const (
	MaxRules    = 1000
	MaxIDLength = 255
	MaxBody     = 2 << 20
)

// Tag is one object tag condition.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Filter selects the objects a rule replicates: every condition must hold.
type Filter struct {
	Prefix string `json:"prefix,omitempty"`
	Tags   []Tag  `json:"tags,omitempty"`
	// Form remembers how the document wrote it, to answer it back the same
	// way: "legacy" (rule-level Prefix, V1), "prefix", "tag", "and", "empty".
	Form string `json:"form"`
}

// Destination of a rule.
type Destination struct {
	Bucket       string `json:"bucket"` // bucket name (from arn:aws:s3:::name)
	Account      string `json:"account,omitempty"`
	StorageClass string `json:"storage_class,omitempty"`
	// ReplicaKMSKeyID is EncryptionConfiguration/ReplicaKmsKeyID: the KMS
	// key (key or alias ARN, in the destination's region) replicas of
	// SSE-KMS objects are encrypted under.
	ReplicaKMSKeyID string `json:"replica_kms_key_id,omitempty"`
}

// Rule is one replication rule.
type Rule struct {
	ID          string      `json:"id"`
	Priority    int         `json:"priority"`
	Enabled     bool        `json:"enabled"`
	Filter      Filter      `json:"filter"`
	Destination Destination `json:"destination"`
	// DeleteMarkers: replicate delete markers (V2: DeleteMarkerReplication
	// Enabled; V1 rules always do).
	DeleteMarkers bool `json:"delete_markers"`
	// Existing: ExistingObjectReplication Enabled (objects written before
	// the rule are replicated too).
	Existing bool `json:"existing"`
	V2       bool `json:"v2"`
	// SSEKMS is SourceSelectionCriteria/SseKmsEncryptedObjects/Status as
	// sent ("Enabled", "Disabled", "" when absent): the rule selects
	// SSE-KMS objects only when Enabled (AWS's default leaves them out).
	SSEKMS string `json:"sse_kms,omitempty"`
	// ReplicaModifications is SourceSelectionCriteria/ReplicaModifications
	// /Status as sent ("Disabled" or ""; Enabled is refused: replica
	// changes are not synced back).
	ReplicaModifications string `json:"replica_modifications,omitempty"`
}

// SelectsSSEKMS reports whether the rule replicates SSE-KMS objects.
func (r Rule) SelectsSSEKMS() bool { return r.SSEKMS == "Enabled" }

// Configuration is a bucket's replication configuration.
type Configuration struct {
	Role  string `json:"role"`
	Rules []Rule `json:"rules"`
	// ResyncRequested is when an operator last asked for existing objects
	// to be replicated (`meridian admin replication resync`); not part of
	// S3's document. The background resync worker runs once per request,
	// and once per configuration whose rules enable
	// ExistingObjectReplication (ResyncToken).
	ResyncRequested time.Time `json:"resync_requested,omitzero"`
}

// ResyncToken names the existing-object resync this configuration calls
// for: "" when none (no rule enables ExistingObjectReplication and no
// operator asked), else a digest of the rules and the request time — a
// new configuration or a new request is a new resync, the same one is not
// run twice.
func (c *Configuration) ResyncToken() string {
	if c == nil {
		return ""
	}
	existing := false
	for _, r := range c.Rules {
		existing = existing || (r.Enabled && r.Existing)
	}
	if !existing && c.ResyncRequested.IsZero() {
		return ""
	}
	rules, _ := json.Marshal(c.Rules)
	h := sha256.New()
	h.Write(rules)
	if !c.ResyncRequested.IsZero() {
		h.Write([]byte(c.ResyncRequested.UTC().Format(time.RFC3339Nano)))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// ResyncSelects reports whether a resync copies a version that rule r
// selects: every rule when an operator asked, else only rules that
// enable ExistingObjectReplication.
func (c *Configuration) ResyncSelects(r Rule) bool {
	return !c.ResyncRequested.IsZero() || r.Existing
}

// Matches reports whether an object with key and tags is selected by f.
// (Objects carry no tags until object tagging exists: a tag condition then
// selects nothing.)
func (f Filter) Matches(key string, tags map[string]string) bool {
	if !strings.HasPrefix(key, f.Prefix) {
		return false
	}
	for _, t := range f.Tags {
		if v, ok := tags[t.Key]; !ok || v != t.Value {
			return false
		}
	}
	return true
}

// RuleFor returns the enabled rule that applies to an unencrypted, SSE-S3
// or SSE-C object (RuleForObject).
func (c *Configuration) RuleFor(key string, tags map[string]string) (r Rule, ok bool) {
	return c.RuleForObject(key, tags, false)
}

// RuleForObject returns the enabled rule that applies to an object: among
// the matching rules, the highest priority (S3's conflict resolution; the
// earlier rule on a tie, which a valid V2 document cannot have). An SSE-KMS
// object (sseKMS) is matched only by rules whose SourceSelectionCriteria
// enable SseKmsEncryptedObjects — a filter, like the prefix and the tags.
// ok is false when none applies.
func (c *Configuration) RuleForObject(key string, tags map[string]string, sseKMS bool) (r Rule, ok bool) {
	if c == nil {
		return Rule{}, false
	}
	for _, cand := range c.Rules {
		if !cand.Enabled || !cand.Filter.Matches(key, tags) || (sseKMS && !cand.SelectsSSEKMS()) {
			continue
		}
		if !ok || cand.Priority > r.Priority {
			r, ok = cand, true
		}
	}
	return r, ok
}

// Destinations lists the distinct destination buckets of the rules.
func (c *Configuration) Destinations() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range c.Rules {
		if !seen[r.Destination.Bucket] {
			seen[r.Destination.Bucket] = true
			out = append(out, r.Destination.Bucket)
		}
	}
	return out
}

// ---- the request document ----

type xmlStatus struct {
	Status  *string               `xml:"Status"`
	Unknown s3api.UnknownElements `xml:",any"`
}

type xmlTag struct {
	Key     *string               `xml:"Key"`
	Value   *string               `xml:"Value"`
	Unknown s3api.UnknownElements `xml:",any"`
}

type xmlAnd struct {
	Prefix  *string               `xml:"Prefix"`
	Tags    []xmlTag              `xml:"Tag"`
	Unknown s3api.UnknownElements `xml:",any"`
}

type xmlFilter struct {
	Prefix  *string               `xml:"Prefix"`
	Tags    []xmlTag              `xml:"Tag"`
	And     *xmlAnd               `xml:"And"`
	Unknown s3api.UnknownElements `xml:",any"`
}

type xmlDestination struct {
	Bucket                   *string               `xml:"Bucket"`
	Account                  *string               `xml:"Account"`
	StorageClass             *string               `xml:"StorageClass"`
	AccessControlTranslation *struct{}             `xml:"AccessControlTranslation"`
	EncryptionConfiguration  *xmlEncryptionConfig  `xml:"EncryptionConfiguration"`
	ReplicationTime          *struct{}             `xml:"ReplicationTime"`
	Metrics                  *struct{}             `xml:"Metrics"`
	Unknown                  s3api.UnknownElements `xml:",any"`
}

type xmlEncryptionConfig struct {
	ReplicaKmsKeyID *string               `xml:"ReplicaKmsKeyID"`
	Unknown         s3api.UnknownElements `xml:",any"`
}

type xmlSourceSelection struct {
	SseKmsEncryptedObjects *xmlStatus            `xml:"SseKmsEncryptedObjects"`
	ReplicaModifications   *xmlStatus            `xml:"ReplicaModifications"`
	Unknown                s3api.UnknownElements `xml:",any"`
}

type xmlRule struct {
	ID                        *string               `xml:"ID"`
	Priority                  *int                  `xml:"Priority"`
	Status                    *string               `xml:"Status"`
	Prefix                    *string               `xml:"Prefix"`
	Filter                    *xmlFilter            `xml:"Filter"`
	Destination               *xmlDestination       `xml:"Destination"`
	DeleteMarkerReplication   *xmlStatus            `xml:"DeleteMarkerReplication"`
	ExistingObjectReplication *xmlStatus            `xml:"ExistingObjectReplication"`
	SourceSelectionCriteria   *xmlSourceSelection   `xml:"SourceSelectionCriteria"`
	Unknown                   s3api.UnknownElements `xml:",any"`
}

type xmlConfig struct {
	XMLName xml.Name              `xml:"ReplicationConfiguration"`
	Role    *string               `xml:"Role"`
	Rules   []xmlRule             `xml:"Rule"`
	Unknown s3api.UnknownElements `xml:",any"`
}

func malformed() error { return s3err.New(s3err.MalformedXML) }

func invalidRequest(msg string) error { return s3err.WithMessage(s3err.InvalidRequest, msg) }

func invalidArgument(msg string) error { return s3err.WithMessage(s3err.InvalidArgument, msg) }

// storageClasses S3 accepts in a replication destination. Meridian keeps
// every object in STANDARD: another class is refused, not ignored.
var storageClasses = map[string]bool{
	"STANDARD": true, "REDUCED_REDUNDANCY": true, "STANDARD_IA": true, "ONEZONE_IA": true,
	"INTELLIGENT_TIERING": true, "GLACIER": true, "DEEP_ARCHIVE": true, "GLACIER_IR": true, "OUTPOSTS": true,
}

// Parse decodes and checks a PutBucketReplication body on its own (the
// catalog checks are Validate's). Every rejection is an *s3err.Error.
func Parse(body []byte) (*Configuration, error) {
	var doc xmlConfig
	if err := s3api.DecodeXML(body, &doc); err != nil {
		return nil, err
	}
	if len(doc.Unknown) > 0 || doc.Role == nil || len(doc.Rules) == 0 {
		return nil, malformed()
	}
	if len(doc.Rules) > MaxRules {
		return nil, invalidRequest(fmt.Sprintf("Number of rules in the replication configuration exceeds the maximum of %d", MaxRules))
	}
	cfg := &Configuration{Role: strings.TrimSpace(*doc.Role)}
	ids := map[string]bool{}
	prios := map[int]bool{}
	v1, v2 := false, false
	for i := range doc.Rules {
		r, err := parseRule(&doc.Rules[i])
		if err != nil {
			return nil, err
		}
		if r.V2 {
			v2 = true
		} else {
			v1 = true
		}
		if r.ID != "" {
			if ids[r.ID] {
				return nil, invalidArgument("Rule Id must be unique. Found same ID for more than one rule: " + r.ID)
			}
			ids[r.ID] = true
		}
		if r.V2 {
			if prios[r.Priority] {
				return nil, invalidRequest(fmt.Sprintf("Found duplicate priority %d. Priority must be unique among rules", r.Priority))
			}
			prios[r.Priority] = true
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	if v1 && v2 {
		return nil, invalidRequest("Rules in a replication configuration must all use the same schema version: a rule-level Prefix (V1) cannot be mixed with Filter (V2)")
	}
	for i := range cfg.Rules {
		if cfg.Rules[i].ID == "" {
			cfg.Rules[i].ID = s3api.NewRuleID(ids)
		}
	}
	return cfg, nil
}

func parseStatus(s *xmlStatus) (bool, error) {
	if s == nil || len(s.Unknown) > 0 || s.Status == nil {
		return false, malformed()
	}
	switch *s.Status {
	case "Enabled":
		return true, nil
	case "Disabled":
		return false, nil
	}
	return false, malformed()
}

func parseTag(t xmlTag) (Tag, error) {
	if len(t.Unknown) > 0 || t.Key == nil || t.Value == nil {
		return Tag{}, malformed()
	}
	if *t.Key == "" || utf8.RuneCountInString(*t.Key) > 128 || utf8.RuneCountInString(*t.Value) > 256 {
		return Tag{}, invalidArgument("The TagKey you have provided is invalid")
	}
	return Tag{Key: *t.Key, Value: *t.Value}, nil
}

func parseRule(x *xmlRule) (Rule, error) {
	var r Rule
	if len(x.Unknown) > 0 {
		return r, malformed()
	}
	if x.ID != nil {
		if utf8.RuneCountInString(*x.ID) > MaxIDLength {
			return r, invalidArgument("ID length should not exceed allowed limit of 255")
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
	case x.Prefix != nil && x.Filter != nil:
		return r, malformed()
	case x.Filter != nil:
		r.V2 = true
		f := x.Filter
		if len(f.Unknown) > 0 {
			return r, malformed()
		}
		n := len(f.Tags)
		if f.Prefix != nil {
			n++
		}
		if f.And != nil {
			n++
		}
		switch {
		case n > 1:
			return r, malformed()
		case f.Prefix != nil:
			r.Filter = Filter{Form: "prefix", Prefix: *f.Prefix}
		case len(f.Tags) == 1:
			t, err := parseTag(f.Tags[0])
			if err != nil {
				return r, err
			}
			r.Filter = Filter{Form: "tag", Tags: []Tag{t}}
		case f.And != nil:
			if len(f.And.Unknown) > 0 {
				return r, malformed()
			}
			r.Filter.Form = "and"
			if f.And.Prefix != nil {
				r.Filter.Prefix = *f.And.Prefix
			}
			keys := map[string]bool{}
			for _, xt := range f.And.Tags {
				t, err := parseTag(xt)
				if err != nil {
					return r, err
				}
				if keys[t.Key] {
					return r, invalidRequest("Duplicate Tag Keys are not allowed.")
				}
				keys[t.Key] = true
				r.Filter.Tags = append(r.Filter.Tags, t)
			}
		default:
			r.Filter.Form = "empty"
		}
		if x.Priority == nil {
			return r, invalidRequest("Priority must be specified for this version of Cross Region Replication configuration schema. Please refer to S3 Developer Guide for more information.")
		}
		if *x.Priority < 0 {
			return r, invalidArgument("Priority must be a non-negative integer")
		}
		r.Priority = *x.Priority
		if x.DeleteMarkerReplication == nil {
			return r, invalidRequest("DeleteMarkerReplication must be specified for this version of Cross Region Replication configuration schema. Please refer to S3 Developer Guide for more information.")
		}
		dm, err := parseStatus(x.DeleteMarkerReplication)
		if err != nil {
			return r, err
		}
		r.DeleteMarkers = dm
	case x.Prefix != nil:
		r.Filter = Filter{Form: "legacy", Prefix: *x.Prefix}
		if x.DeleteMarkerReplication != nil || x.Priority != nil {
			return r, invalidRequest("DeleteMarkerReplication and Priority are only valid with a Filter (the V2 replication configuration schema)")
		}
		r.DeleteMarkers = true // V1 replicates delete markers
	default:
		return r, malformed()
	}
	if len(r.Filter.Prefix) > 1024 {
		return r, invalidArgument("Prefix length must not exceed 1024 bytes")
	}
	if x.ExistingObjectReplication != nil {
		e, err := parseStatus(x.ExistingObjectReplication)
		if err != nil {
			return r, err
		}
		r.Existing = e
	}
	d := x.Destination
	if d == nil || len(d.Unknown) > 0 || d.Bucket == nil {
		return r, malformed()
	}
	if err := parseSourceSelection(&r, x.SourceSelectionCriteria, d.EncryptionConfiguration); err != nil {
		return r, err
	}
	if d.AccessControlTranslation != nil || d.ReplicationTime != nil || d.Metrics != nil {
		return r, s3err.WithMessage(s3err.NotImplemented, "Destination AccessControlTranslation, ReplicationTime and Metrics are not implemented")
	}
	name, ok := strings.CutPrefix(*d.Bucket, "arn:aws:s3:::")
	if !ok || name == "" || strings.ContainsAny(name, "/*") {
		return r, invalidArgument("Invalid bucket ARN: " + *d.Bucket)
	}
	r.Destination.Bucket = name
	if d.Account != nil {
		r.Destination.Account = *d.Account
	}
	if d.StorageClass != nil {
		if !storageClasses[*d.StorageClass] {
			return r, malformed()
		}
		if *d.StorageClass != "STANDARD" {
			return r, s3err.New(s3err.InvalidStorageClass)
		}
		r.Destination.StorageClass = *d.StorageClass
	}
	return r, nil
}

// parseSourceSelection reads a rule's SourceSelectionCriteria and its
// destination's EncryptionConfiguration, which go together: a rule that
// names SseKmsEncryptedObjects (either status) names the key replicas are
// encrypted under, and only such a rule may name one (AWS's checks).
func parseSourceSelection(r *Rule, sc *xmlSourceSelection, ec *xmlEncryptionConfig) error {
	if sc != nil {
		if len(sc.Unknown) > 0 {
			return malformed()
		}
		if sc.SseKmsEncryptedObjects == nil && sc.ReplicaModifications == nil {
			return invalidRequest("SourceSelectionCriteria cannot be empty.")
		}
		if s := sc.SseKmsEncryptedObjects; s != nil {
			on, err := parseStatus(s)
			if err != nil {
				return err
			}
			r.SSEKMS = status(on)
		}
		if s := sc.ReplicaModifications; s != nil {
			on, err := parseStatus(s)
			if err != nil {
				return err
			}
			if !r.V2 {
				return invalidRequest("ReplicaModifications cannot be used for this version of Cross Region Replication configuration schema. Please refer to S3 Developer Guide for more information.")
			}
			if on {
				return s3err.WithMessage(s3err.NotImplemented, "ReplicaModifications Enabled (syncing changes of replicas back to their source) is not implemented")
			}
			r.ReplicaModifications = status(on)
		}
	}
	if ec != nil {
		if len(ec.Unknown) > 0 {
			return malformed()
		}
		if r.SSEKMS == "" {
			return invalidRequest("SseKmsEncryptedObjects must be specified if EncryptionConfiguration is present.")
		}
		if ec.ReplicaKmsKeyID != nil {
			r.Destination.ReplicaKMSKeyID = strings.TrimSpace(*ec.ReplicaKmsKeyID)
		}
	}
	if r.SSEKMS != "" && r.Destination.ReplicaKMSKeyID == "" {
		return invalidRequest("ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present.")
	}
	if k := r.Destination.ReplicaKMSKeyID; k != "" && !validKMSKeyARN(k) {
		return s3err.WithMessage(s3err.InvalidArgument, "Invalid ReplicaKmsKeyID ARN.").With("ArgumentName", "ReplicaKmsKeyID").With("ArgumentValue", k)
	}
	return nil
}

// validKMSKeyARN: arn:<partition>:kms:<region>:<account>:key/<id> or
// …:alias/<name>. (AWS accounts are 12 digits; Meridian's are "acct-…",
// so any account id without blanks is taken.)
func validKMSKeyARN(s string) bool {
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[1] == "" || p[2] != "kms" || p[3] == "" || p[4] == "" || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	for _, kind := range []string{"key/", "alias/"} {
		if name, ok := strings.CutPrefix(p[5], kind); ok {
			return name != "" && !strings.HasSuffix(name, "/")
		}
	}
	return false
}

// Versioning states Validate is given (bucketsvc's values).
const versioningEnabled = "Enabled"

// BucketInfo is what Validate needs to know about a bucket.
type BucketInfo struct {
	Exists     bool
	Versioning string // "Enabled", "Suspended" or ""
}

// Validate checks c against the catalog, as S3 does when the configuration
// is put: the source must have versioning enabled; every destination must
// exist, be another bucket, and have versioning enabled.
func Validate(c *Configuration, source string, sourceVersioning string, lookup func(bucket string) (BucketInfo, error)) error {
	if sourceVersioning != versioningEnabled {
		return invalidRequest("Versioning must be 'Enabled' on the bucket to apply a replication configuration")
	}
	for _, dst := range c.Destinations() {
		if dst == source {
			return invalidRequest("Destination bucket cannot be the same as the source bucket.")
		}
		info, err := lookup(dst)
		if err != nil {
			return err
		}
		if !info.Exists {
			return invalidRequest("Destination bucket must exist.")
		}
		if info.Versioning != versioningEnabled {
			return invalidRequest("Destination bucket must have versioning enabled.")
		}
	}
	return nil
}

// ---- the GET document ----

type docStatus struct {
	Status string `xml:"Status"`
}

type docTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type docAnd struct {
	Prefix *string  `xml:"Prefix,omitempty"`
	Tags   []docTag `xml:"Tag"`
}

type docFilter struct {
	Prefix *string `xml:"Prefix,omitempty"`
	Tag    *docTag `xml:"Tag,omitempty"`
	And    *docAnd `xml:"And,omitempty"`
}

type docEncryption struct {
	ReplicaKmsKeyID string `xml:"ReplicaKmsKeyID"`
}

type docDestination struct {
	Bucket                  string         `xml:"Bucket"`
	Account                 string         `xml:"Account,omitempty"`
	StorageClass            string         `xml:"StorageClass,omitempty"`
	EncryptionConfiguration *docEncryption `xml:"EncryptionConfiguration,omitempty"`
}

type docSourceSelection struct {
	SseKmsEncryptedObjects *docStatus `xml:"SseKmsEncryptedObjects,omitempty"`
	ReplicaModifications   *docStatus `xml:"ReplicaModifications,omitempty"`
}

type docRule struct {
	ID                        string              `xml:"ID"`
	Priority                  *int                `xml:"Priority,omitempty"`
	Prefix                    *string             `xml:"Prefix,omitempty"`
	Filter                    *docFilter          `xml:"Filter,omitempty"`
	Status                    string              `xml:"Status"`
	SourceSelectionCriteria   *docSourceSelection `xml:"SourceSelectionCriteria,omitempty"`
	Destination               docDestination      `xml:"Destination"`
	DeleteMarkerReplication   *docStatus          `xml:"DeleteMarkerReplication,omitempty"`
	ExistingObjectReplication *docStatus          `xml:"ExistingObjectReplication,omitempty"`
}

// Document is the GetBucketReplication answer.
type Document struct {
	XMLName xml.Name  `xml:"ReplicationConfiguration"`
	XMLNS   string    `xml:"xmlns,attr"`
	Role    string    `xml:"Role"`
	Rules   []docRule `xml:"Rule"`
}

func status(b bool) string {
	if b {
		return "Enabled"
	}
	return "Disabled"
}

// Render is c as GetBucketReplication answers it.
func Render(c *Configuration) Document {
	d := Document{XMLNS: "http://s3.amazonaws.com/doc/2006-03-01/", Role: c.Role}
	for _, r := range c.Rules {
		dr := docRule{ID: r.ID, Status: status(r.Enabled),
			Destination: docDestination{Bucket: "arn:aws:s3:::" + r.Destination.Bucket, Account: r.Destination.Account, StorageClass: r.Destination.StorageClass}}
		prefix := r.Filter.Prefix
		switch r.Filter.Form {
		case "legacy":
			dr.Prefix = &prefix
		case "prefix":
			dr.Filter = &docFilter{Prefix: &prefix}
		case "tag":
			dr.Filter = &docFilter{Tag: &docTag{r.Filter.Tags[0].Key, r.Filter.Tags[0].Value}}
		case "and":
			and := &docAnd{}
			if prefix != "" {
				and.Prefix = &prefix
			}
			for _, t := range r.Filter.Tags {
				and.Tags = append(and.Tags, docTag{t.Key, t.Value})
			}
			dr.Filter = &docFilter{And: and}
		default:
			dr.Filter = &docFilter{}
		}
		if r.V2 {
			p := r.Priority
			dr.Priority = &p
			dr.DeleteMarkerReplication = &docStatus{status(r.DeleteMarkers)}
		}
		if r.Existing {
			dr.ExistingObjectReplication = &docStatus{"Enabled"}
		}
		if r.SSEKMS != "" || r.ReplicaModifications != "" {
			dr.SourceSelectionCriteria = &docSourceSelection{}
			if r.SSEKMS != "" {
				dr.SourceSelectionCriteria.SseKmsEncryptedObjects = &docStatus{r.SSEKMS}
			}
			if r.ReplicaModifications != "" {
				dr.SourceSelectionCriteria.ReplicaModifications = &docStatus{r.ReplicaModifications}
			}
		}
		if k := r.Destination.ReplicaKMSKeyID; k != "" {
			dr.Destination.EncryptionConfiguration = &docEncryption{k}
		}
		d.Rules = append(d.Rules, dr)
	}
	return d
}

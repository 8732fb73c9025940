package s3lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Day is the length of a lifecycle day.
const Day = 24 * time.Hour

// EnvTestDay names the environment variable that shortens a lifecycle day
// for tests (e.g. MERIDIAN_TEST_DAY=2s). Only cmd/meridian reads it; the
// parts take the length as configuration.
const EnvTestDay = "MERIDIAN_TEST_DAY"

// ParseTestDay parses a MERIDIAN_TEST_DAY value ("" = a real day).
func ParseTestDay(s string) (time.Duration, error) {
	if s == "" {
		return Day, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", EnvTestDay, err)
	}
	if d < 100*time.Millisecond || d > Day {
		return 0, errors.New(EnvTestDay + " must be within [100ms, 24h]")
	}
	return d, nil
}

// Match reports whether f selects an object with this key, size and tags.
// tags nil means the object has no tags: a filter naming tags never
// matches it.
func (f Filter) Match(key string, size int64, tags map[string]string) bool {
	if !strings.HasPrefix(key, f.Prefix) {
		return false
	}
	if f.SizeGreaterThan != nil && size <= *f.SizeGreaterThan {
		return false
	}
	if f.SizeLessThan != nil && size >= *f.SizeLessThan {
		return false
	}
	for _, t := range f.Tags {
		if v, ok := tags[t.Key]; !ok || v != t.Value {
			return false
		}
	}
	return true
}

// ceilDay rounds t up to the next "midnight": a multiple of day (the real
// day's multiples are midnights UTC). A time exactly at midnight stays.
func ceilDay(t time.Time, day time.Duration) time.Time {
	d := t.Truncate(day)
	if d.Before(t) {
		d = d.Add(day)
	}
	return d.UTC()
}

// afterDays is the midnight at or after t + n days (far in the future when
// the sum does not fit in a time.Duration).
func afterDays(t time.Time, n int, day time.Duration) time.Time {
	const maxDur = time.Duration(1<<63 - 1)
	if n <= 0 || time.Duration(n) > maxDur/day {
		return time.Unix(1<<40, 0).UTC() // year ~36800: never, for this purpose
	}
	return ceilDay(t.Add(time.Duration(n)*day), day)
}

// ExpiryOf returns when rule r expires a current version created at
// created: Expiration Days (counted from created, rounded up to the next
// midnight) or Date. ok is false when r has no such action.
func ExpiryOf(r Rule, created time.Time, day time.Duration) (at time.Time, ok bool) {
	e := r.Expiration
	switch {
	case e == nil:
		return time.Time{}, false
	case e.Days > 0:
		return afterDays(created, e.Days, day), true
	case e.Date != nil:
		return e.Date.UTC(), true
	}
	return time.Time{}, false
}

// Version is what evaluation needs to know about one object version.
type Version struct {
	Key     string
	Size    int64
	Created time.Time // Last-Modified
	// Tags are the object's tags (metapb.ObjectVersion.Tags); nil when it
	// has none: then a filter naming tags never matches.
	Tags         map[string]string
	IsLatest     bool // the current version (or current delete marker)
	DeleteMarker bool
	// NoncurrentSince is when a noncurrent version became noncurrent (its
	// successor's creation); zero for the current version.
	NoncurrentSince time.Time
	// NewerNoncurrent is the number of noncurrent versions of the key newer
	// than this one.
	NewerNoncurrent int
	// OnlyVersion: a current delete marker with no other version left
	// (an "expired object delete marker").
	OnlyVersion bool
}

// Action is what a rule does to a version.
type Action int

const (
	None Action = iota
	// ExpireCurrent expires the current version: a delete in an
	// unversioned bucket, a delete marker in a versioned one.
	ExpireCurrent
	// DeleteNoncurrent permanently deletes a noncurrent version.
	DeleteNoncurrent
	// RemoveDeleteMarker removes an expired object delete marker.
	RemoveDeleteMarker
)

func (a Action) String() string {
	switch a {
	case ExpireCurrent:
		return "expire-current"
	case DeleteNoncurrent:
		return "delete-noncurrent"
	case RemoveDeleteMarker:
		return "remove-delete-marker"
	}
	return "none"
}

// Decision is the outcome of Evaluate: the action due at At by RuleID.
type Decision struct {
	Action Action
	RuleID string
	At     time.Time
}

// Due reports whether the decision's action is due at now.
func (d Decision) Due(now time.Time) bool { return d.Action != None && !now.Before(d.At) }

// Evaluate returns the earliest action the enabled rules take on v (None
// when no rule applies to it). The caller executes it once Due(now). It is
// a pure function: the janitor and the tests call it with the same inputs.
func Evaluate(rules []Rule, v Version, day time.Duration) Decision {
	var best Decision
	consider := func(a Action, id string, at time.Time) {
		if best.Action == None || at.Before(best.At) {
			best = Decision{Action: a, RuleID: id, At: at}
		}
	}
	for _, r := range rules {
		if !r.Enabled || !r.Filter.Match(v.Key, v.Size, v.Tags) {
			continue
		}
		switch {
		case v.IsLatest && !v.DeleteMarker:
			if at, ok := ExpiryOf(r, v.Created, day); ok {
				consider(ExpireCurrent, r.ID, at)
			}
		case v.IsLatest && v.DeleteMarker:
			if v.OnlyVersion && r.Expiration != nil && r.Expiration.ExpiredObjectDeleteMarker {
				consider(RemoveDeleteMarker, r.ID, v.Created)
			}
		default: // noncurrent (versions and delete markers alike)
			n := r.Noncurrent
			if n == nil || v.NewerNoncurrent < n.NewerNoncurrentVersions {
				continue
			}
			since := v.NoncurrentSince
			if since.IsZero() {
				since = v.Created
			}
			consider(DeleteNoncurrent, r.ID, afterDays(since, n.NoncurrentDays, day))
		}
	}
	return best
}

// AbortOf returns when the enabled rules abort a multipart upload of key
// initiated at initiated (AbortIncompleteMultipartUpload; its filters have
// neither tags nor sizes), and by which rule. ok is false when none does.
func AbortOf(rules []Rule, key string, initiated time.Time, day time.Duration) (at time.Time, ruleID string, ok bool) {
	for _, r := range rules {
		if !r.Enabled || r.AbortIncompleteDays <= 0 || !strings.HasPrefix(key, r.Filter.Prefix) {
			continue
		}
		t := afterDays(initiated, r.AbortIncompleteDays, day)
		if !ok || t.Before(at) {
			at, ruleID, ok = t, r.ID, true
		}
	}
	return at, ruleID, ok
}

// ExpirationHeader returns the x-amz-expiration value for a current
// version v under the enabled rules, or "" when no rule will expire it:
// `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`.
func ExpirationHeader(rules []Rule, v Version, day time.Duration) string {
	v.IsLatest, v.DeleteMarker = true, false
	d := Evaluate(rules, v, day)
	if d.Action != ExpireCurrent {
		return ""
	}
	return fmt.Sprintf(`expiry-date="%s", rule-id="%s"`, d.At.UTC().Format(httpTime), escapeRuleID(d.RuleID))
}

const httpTime = "Mon, 02 Jan 2006 15:04:05 GMT"

// escapeRuleID keeps the header value parseable: a quote or backslash in
// an ID is escaped as in an HTTP quoted-string, control characters dropped.
func escapeRuleID(id string) string {
	var b strings.Builder
	for _, c := range id {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

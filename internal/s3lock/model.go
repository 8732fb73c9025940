package s3lock

import (
	"time"
)

// Mode is a retention mode.
type Mode string

// Retention modes.
const (
	Governance Mode = "GOVERNANCE"
	Compliance Mode = "COMPLIANCE"
)

// Valid reports whether m is GOVERNANCE or COMPLIANCE.
func (m Mode) Valid() bool { return m == Governance || m == Compliance }

// DefaultRetention is a bucket's default retention: Mode with a period of
// Days or Years (exactly one is positive).
type DefaultRetention struct {
	Mode  Mode `json:"mode"`
	Days  int  `json:"days,omitempty"`
	Years int  `json:"years,omitempty"`
}

// Until is the retain-until date of a version created at created.
func (d DefaultRetention) Until(created time.Time) time.Time {
	if d.Years > 0 {
		return created.UTC().AddDate(d.Years, 0, 0)
	}
	return created.UTC().AddDate(0, 0, d.Days)
}

// Configuration is a bucket's Object Lock configuration as the catalog
// stores it (bucketsvc.Bucket.ObjectLock; nil: Object Lock not enabled).
// Enabled is always true once set: S3 never turns Object Lock off.
type Configuration struct {
	Enabled bool              `json:"enabled"`
	Default *DefaultRetention `json:"default,omitempty"`
}

// Retention is one version's retention. The zero value is none.
type Retention struct {
	Mode  Mode      `json:"mode,omitempty"`
	Until time.Time `json:"until,omitempty"`
}

// IsZero reports no retention.
func (r Retention) IsZero() bool { return r.Mode == "" && r.Until.IsZero() }

// Active reports a retention that still protects at now: now is before
// its retain-until date.
func (r Retention) Active(now time.Time) bool {
	return r.Mode.Valid() && now.Before(r.Until)
}

// Protected reports whether a version with retention r and legal hold
// hold may not be deleted at now, given whether the request carries a
// governance bypass its requester may use (the gateway decides the
// permission; the state machine only sees the flag). A legal hold protects
// whatever the mode; COMPLIANCE has no bypass.
func Protected(r Retention, hold bool, now time.Time, bypassGovernance bool) bool {
	if hold {
		return true
	}
	if !r.Active(now) {
		return false
	}
	return r.Mode == Compliance || !bypassGovernance
}

// RetentionChange reports whether a version's retention may change from
// cur to next at now (PutObjectRetention). An expired or absent retention
// may be replaced by anything. An active COMPLIANCE retention may only be
// kept or extended, in COMPLIANCE mode. An active GOVERNANCE retention may
// be extended or made COMPLIANCE freely; shortening or removing it needs
// the governance bypass.
func RetentionChange(cur, next Retention, now time.Time, bypassGovernance bool) bool {
	if !cur.Active(now) {
		return true
	}
	weaker := next.IsZero() || next.Until.Before(cur.Until)
	switch cur.Mode {
	case Compliance:
		return !weaker && next.Mode == Compliance
	default: // GOVERNANCE
		return !weaker || bypassGovernance
	}
}

// Truncate is the precision S3 keeps a retain-until date at (milliseconds):
// dates are stored as shown, so a client that reads one and sends it back
// sends an equal date.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// TimeFormat is how dates are written in documents and headers (ISO 8601
// with milliseconds, UTC), as S3 writes them.
const TimeFormat = "2006-01-02T15:04:05.000Z"

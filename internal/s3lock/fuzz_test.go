package s3lock

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// FuzzParse: the Object Lock documents (PutObjectLockConfiguration,
// PutObjectRetention, PutObjectLegalHold) and the object lock headers. No
// input panics; every rejection is an S3 error; what is accepted obeys the
// rules (a default retention has a valid mode and exactly one positive
// period within the limits; a retention is empty or a valid mode with a date
// after now; header settings likewise).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>100</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>`,
		`<Retention/>`,
		`<LegalHold><Status>ON</Status></LegalHold>`,
		`<!DOCTYPE x><LegalHold/>`,
	} {
		f.Add([]byte(s), "GOVERNANCE", "2030-01-01T00:00:00Z", "ON")
	}
	f.Add([]byte(`<Retention><Mode>X</Mode></Retention>`), "", "yesterday", "maybe")
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	isS3 := func(t *testing.T, err error) {
		var e *s3err.Error
		if !errors.As(err, &e) {
			t.Fatalf("not an S3 error: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, mode, until, hold string) {
		if c, err := ParseConfiguration(body); err != nil {
			isS3(t, err)
		} else if !c.Enabled || (c.Default != nil && (!c.Default.Mode.Valid() || (c.Default.Days > 0) == (c.Default.Years > 0) ||
			c.Default.Days < 0 || c.Default.Years < 0 || c.Default.Days > MaxDays || c.Default.Years > MaxYears)) {
			t.Fatalf("accepted configuration %+v", c)
		}
		if r, err := ParseRetention(body, now); err != nil {
			isS3(t, err)
		} else if !r.IsZero() && (!r.Mode.Valid() || !r.Until.After(now)) {
			t.Fatalf("accepted retention %+v", r)
		}
		if _, err := ParseLegalHold(body); err != nil {
			isS3(t, err)
		}
		h := http.Header{}
		h.Set(HeaderMode, mode)
		h.Set(HeaderRetainUntil, until)
		h.Set(HeaderLegalHold, hold)
		if s, err := ParseHeaders(h, now); err != nil {
			isS3(t, err)
		} else if !s.Retention.IsZero() && (!s.Retention.Mode.Valid() || !s.Retention.Until.After(now)) {
			t.Fatalf("accepted headers %+v", s)
		}
	})
}

package s3lock

import (
	"net/http"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func code(err error) s3err.Code {
	if err == nil {
		return ""
	}
	return s3err.As(err).Code
}

func TestParseConfiguration(t *testing.T) {
	const open = `<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`
	cases := []struct {
		name, body string
		want       Configuration
		code       s3err.Code
	}{
		{"enabled only", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`, Configuration{Enabled: true}, ""},
		{"days", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
			Configuration{Enabled: true, Default: &DefaultRetention{Mode: Governance, Days: 3}}, ""},
		{"years", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
			Configuration{Enabled: true, Default: &DefaultRetention{Mode: Compliance, Years: 1}}, ""},
		{"no enabled", open + `</ObjectLockConfiguration>`, Configuration{}, s3err.MalformedXML},
		{"disabled", open + `<ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>`, Configuration{}, s3err.MalformedXML},
		{"both periods", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`, Configuration{}, s3err.MalformedXML},
		{"no period", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode></DefaultRetention></Rule></ObjectLockConfiguration>`, Configuration{}, s3err.MalformedXML},
		{"no mode", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`, Configuration{}, s3err.MalformedXML},
		{"bad mode", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>governance</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`, Configuration{}, s3err.MalformedXML},
		{"empty rule", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule></Rule></ObjectLockConfiguration>`, Configuration{}, s3err.MalformedXML},
		{"zero days", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>`, Configuration{}, s3err.InvalidArgument},
		{"negative years", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>-1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`, Configuration{}, s3err.InvalidArgument},
		{"huge", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>1000</Years></DefaultRetention></Rule></ObjectLockConfiguration>`, Configuration{}, s3err.InvalidArgument},
		{"text days", open + `<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>x</Days></DefaultRetention></Rule></ObjectLockConfiguration>`, Configuration{}, s3err.MalformedXML},
		{"wrong root", `<Foo/>`, Configuration{}, s3err.MalformedXML},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseConfiguration([]byte(c.body))
			if code(err) != c.code {
				t.Fatalf("err %v, want code %q", err, c.code)
			}
			if err != nil {
				return
			}
			if got.Enabled != c.want.Enabled || (got.Default == nil) != (c.want.Default == nil) || (got.Default != nil && *got.Default != *c.want.Default) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseRetentionAndHold(t *testing.T) {
	r, err := ParseRetention([]byte(`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2027-01-01T00:00:00.123456Z</RetainUntilDate></Retention>`), now)
	if err != nil || r.Mode != Compliance || !r.Until.Equal(time.Date(2027, 1, 1, 0, 0, 0, 123e6, time.UTC)) {
		t.Fatalf("got %+v %v", r, err)
	}
	if r, err := ParseRetention([]byte(`<Retention/>`), now); err != nil || !r.IsZero() {
		t.Fatalf("empty: %+v %v", r, err)
	}
	for body, want := range map[string]s3err.Code{
		`<Retention><Mode>GOVERNANCE</Mode></Retention>`:                                                        s3err.MalformedXML,
		`<Retention><Mode>X</Mode><RetainUntilDate>2027-01-01T00:00:00Z</RetainUntilDate></Retention>`:          s3err.MalformedXML,
		`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2020-01-01T00:00:00Z</RetainUntilDate></Retention>`: s3err.InvalidArgument,
		`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>tomorrow</RetainUntilDate></Retention>`:             s3err.InvalidArgument,
	} {
		if _, err := ParseRetention([]byte(body), now); code(err) != want {
			t.Errorf("%s: %v, want %s", body, err, want)
		}
	}
	for body, want := range map[string]bool{`<LegalHold><Status>ON</Status></LegalHold>`: true, `<LegalHold><Status>OFF</Status></LegalHold>`: false} {
		if got, err := ParseLegalHold([]byte(body)); err != nil || got != want {
			t.Errorf("%s: %v %v", body, got, err)
		}
	}
	for _, body := range []string{`<LegalHold/>`, `<LegalHold><Status>on</Status></LegalHold>`, `<Hold/>`} {
		if _, err := ParseLegalHold([]byte(body)); code(err) != s3err.MalformedXML {
			t.Errorf("%s: %v", body, err)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	s, err := ParseHeaders(h(HeaderMode, "GOVERNANCE", HeaderRetainUntil, "2027-01-01T00:00:00Z", HeaderLegalHold, "ON"), now)
	if err != nil || s.Retention.Mode != Governance || !s.LegalHold || !s.Present {
		t.Fatalf("%+v %v", s, err)
	}
	if s, err := ParseHeaders(h("Content-Type", "x"), now); err != nil || s.Present {
		t.Fatalf("none: %+v %v", s, err)
	}
	for name, hh := range map[string]http.Header{
		"mode only": h(HeaderMode, "GOVERNANCE"),
		"date only": h(HeaderRetainUntil, "2027-01-01T00:00:00Z"),
		"bad mode":  h(HeaderMode, "FOREVER", HeaderRetainUntil, "2027-01-01T00:00:00Z"),
		"past":      h(HeaderMode, "COMPLIANCE", HeaderRetainUntil, "2026-12-01T12:00:00Z"),
		"bad date":  h(HeaderMode, "COMPLIANCE", HeaderRetainUntil, "01/01/2027"),
		"bad hold":  h(HeaderLegalHold, "yes"),
	} {
		if _, err := ParseHeaders(hh, now); code(err) != s3err.InvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRules(t *testing.T) {
	later := now.Add(time.Hour)
	gov := Retention{Mode: Governance, Until: later}
	comp := Retention{Mode: Compliance, Until: later}
	cases := []struct {
		name      string
		r         Retention
		hold      bool
		at        time.Time
		bypass    bool
		protected bool
	}{
		{"none", Retention{}, false, now, false, false},
		{"governance", gov, false, now, false, true},
		{"governance bypass", gov, false, now, true, false},
		{"compliance", comp, false, now, false, true},
		{"compliance bypass", comp, false, now, true, true},
		{"compliance at until", comp, false, later, false, false},
		{"compliance 1ns before", comp, false, later.Add(-1), false, true},
		{"hold", Retention{}, true, now, true, true},
		{"hold expired retention", comp, true, later.Add(time.Hour), true, true},
	}
	for _, c := range cases {
		if got := Protected(c.r, c.hold, c.at, c.bypass); got != c.protected {
			t.Errorf("%s: Protected %v, want %v", c.name, got, c.protected)
		}
	}
	longer := later.Add(time.Hour)
	changes := []struct {
		name      string
		cur, next Retention
		bypass    bool
		ok        bool
	}{
		{"set on none", Retention{}, gov, false, true},
		{"extend compliance", comp, Retention{Mode: Compliance, Until: longer}, false, true},
		{"keep compliance", comp, comp, false, true},
		{"shorten compliance", comp, Retention{Mode: Compliance, Until: now.Add(time.Minute)}, true, false},
		{"compliance to governance", comp, Retention{Mode: Governance, Until: longer}, true, false},
		{"remove compliance", comp, Retention{}, true, false},
		{"extend governance", gov, Retention{Mode: Governance, Until: longer}, false, true},
		{"governance to compliance", gov, comp, false, true},
		{"shorten governance", gov, Retention{Mode: Governance, Until: now.Add(time.Minute)}, false, false},
		{"shorten governance bypass", gov, Retention{Mode: Governance, Until: now.Add(time.Minute)}, true, true},
		{"remove governance", gov, Retention{}, false, false},
		{"remove governance bypass", gov, Retention{}, true, true},
		{"expired compliance", Retention{Mode: Compliance, Until: now}, Retention{}, false, true},
	}
	for _, c := range changes {
		if got := RetentionChange(c.cur, c.next, now, c.bypass); got != c.ok {
			t.Errorf("%s: %v, want %v", c.name, got, c.ok)
		}
	}
	d := DefaultRetention{Mode: Governance, Years: 1}
	if got := d.Until(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("years: %v", got)
	}
	if got := (DefaultRetention{Days: 2}).Until(now); !got.Equal(now.Add(48 * time.Hour)) {
		t.Errorf("days: %v", got)
	}
}

package s3lifecycle

import (
	"strings"
	"testing"
	"time"
)

func i64(v int64) *int64 { return &v }

func TestExpiryRounding(t *testing.T) {
	day := Day
	tests := []struct {
		created time.Time
		days    int
		want    time.Time
	}{
		{time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC), 1, time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 1, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 1, 1, 23, 59, 59, 0, time.UTC), 30, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		// A creation time in another zone counts in UTC.
		{time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)), 1, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		at, ok := ExpiryOf(Rule{Expiration: &Expiration{Days: tt.days}}, tt.created, day)
		if !ok || !at.Equal(tt.want) {
			t.Errorf("created %v + %d days: %v, want %v", tt.created, tt.days, at, tt.want)
		}
	}
	// The test scale: a 2 s "day", midnights at even seconds.
	at, _ := ExpiryOf(Rule{Expiration: &Expiration{Days: 2}}, time.Unix(1001, 500), 2*time.Second)
	if want := time.Unix(1006, 0); !at.Equal(want) {
		t.Errorf("scaled: %v, want %v", at, want)
	}
	// Huge day counts do not overflow into the past.
	at, _ = ExpiryOf(Rule{Expiration: &Expiration{Days: maxDays}}, time.Unix(0, 0), Day)
	if at.Before(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("maxDays expires at %v", at)
	}
}

func TestEvaluate(t *testing.T) {
	created := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	date := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rules := []Rule{
		{ID: "logs7", Enabled: true, Filter: Filter{Form: FormPrefix, Prefix: "logs/"}, Expiration: &Expiration{Days: 7}},
		{ID: "logs2-off", Enabled: false, Filter: Filter{Form: FormPrefix, Prefix: "logs/"}, Expiration: &Expiration{Days: 2}},
		{ID: "tmp-date", Enabled: true, Filter: Filter{Form: FormPrefix, Prefix: "tmp/"}, Expiration: &Expiration{Date: &date}},
		{ID: "big", Enabled: true, Filter: Filter{Form: FormGreater, SizeGreaterThan: i64(1000)}, Expiration: &Expiration{Days: 30}},
		{ID: "tagged", Enabled: true, Filter: Filter{Form: FormTag, Tags: []Tag{{"class", "scratch"}}}, Expiration: &Expiration{Days: 1}},
		{ID: "nc", Enabled: true, Filter: Filter{Form: FormPrefix, Prefix: "v/"}, Noncurrent: &NoncurrentExpiration{NoncurrentDays: 3, NewerNoncurrentVersions: 2}},
		{ID: "markers", Enabled: true, Filter: Filter{Form: FormPrefix, Prefix: "v/"}, Expiration: &Expiration{ExpiredObjectDeleteMarker: true}},
	}
	tests := []struct {
		name string
		v    Version
		want Decision
	}{
		{"prefix days", Version{Key: "logs/a", Size: 1, Created: created, IsLatest: true}, Decision{ExpireCurrent, "logs7", time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC)}},
		{"disabled rule ignored", Version{Key: "logs/a", Size: 1, Created: created, IsLatest: true}, Decision{ExpireCurrent, "logs7", time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC)}},
		{"no rule", Version{Key: "other", Size: 1, Created: created, IsLatest: true}, Decision{}},
		{"date passed", Version{Key: "tmp/x", Size: 1, Created: created, IsLatest: true}, Decision{ExpireCurrent, "tmp-date", date}},
		{"size over", Version{Key: "other", Size: 1001, Created: created, IsLatest: true}, Decision{ExpireCurrent, "big", time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)}},
		{"size equal not over", Version{Key: "other", Size: 1000, Created: created, IsLatest: true}, Decision{}},
		{"earliest of two", Version{Key: "logs/big", Size: 5000, Created: created, IsLatest: true}, Decision{ExpireCurrent, "logs7", time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC)}},
		{"tag filter, untagged object", Version{Key: "a", Size: 1, Created: created, IsLatest: true}, Decision{}},
		{"tag filter, tagged object", Version{Key: "a", Size: 1, Created: created, IsLatest: true, Tags: map[string]string{"class": "scratch"}}, Decision{ExpireCurrent, "tagged", time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)}},
		{"tag filter, other value", Version{Key: "a", Size: 1, Created: created, IsLatest: true, Tags: map[string]string{"class": "keep"}}, Decision{}},
		{"noncurrent, enough newer", Version{Key: "v/a", Created: created, NoncurrentSince: created.Add(48 * time.Hour), NewerNoncurrent: 2}, Decision{DeleteNoncurrent, "nc", time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)}},
		{"noncurrent, kept as one of the newest", Version{Key: "v/a", Created: created, NoncurrentSince: created, NewerNoncurrent: 1}, Decision{}},
		{"noncurrent delete marker", Version{Key: "v/a", Created: created, DeleteMarker: true, NoncurrentSince: created, NewerNoncurrent: 5}, Decision{DeleteNoncurrent, "nc", time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)}},
		{"expired delete marker", Version{Key: "v/a", Created: created, DeleteMarker: true, IsLatest: true, OnlyVersion: true}, Decision{RemoveDeleteMarker, "markers", created}},
		{"delete marker with versions behind", Version{Key: "v/a", Created: created, DeleteMarker: true, IsLatest: true}, Decision{}},
		{"current version not touched by noncurrent rule", Version{Key: "v/a", Created: created, IsLatest: true}, Decision{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(rules, tt.v, Day)
			if got.Action != tt.want.Action || got.RuleID != tt.want.RuleID || !got.At.Equal(tt.want.At) {
				t.Fatalf("got %v %s %v, want %v %s %v", got.Action, got.RuleID, got.At, tt.want.Action, tt.want.RuleID, tt.want.At)
			}
		})
	}
	d := Evaluate(rules, Version{Key: "logs/a", Created: created, IsLatest: true}, Day)
	if d.Due(time.Date(2026, 3, 17, 23, 59, 59, 0, time.UTC)) || !d.Due(time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC)) {
		t.Error("Due is not at the expiry instant")
	}
}

func TestAbortOf(t *testing.T) {
	init := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	rules := []Rule{
		{ID: "a7", Enabled: true, Filter: Filter{Form: FormEmpty}, AbortIncompleteDays: 7},
		{ID: "up1", Enabled: true, Filter: Filter{Form: FormPrefix, Prefix: "up/"}, AbortIncompleteDays: 1},
		{ID: "off", Enabled: false, Filter: Filter{Form: FormEmpty}, AbortIncompleteDays: 1},
		{ID: "exp", Enabled: true, Filter: Filter{Form: FormEmpty}, Expiration: &Expiration{Days: 1}},
	}
	at, id, ok := AbortOf(rules, "up/x", init, Day)
	if !ok || id != "up1" || !at.Equal(time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("up/x: %v %s %v", at, id, ok)
	}
	at, id, ok = AbortOf(rules, "x", init, Day)
	if !ok || id != "a7" || !at.Equal(time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("x: %v %s %v", at, id, ok)
	}
	if _, _, ok := AbortOf(rules[2:], "x", init, Day); ok {
		t.Error("disabled or expiration-only rules abort uploads")
	}
}

func TestExpirationHeader(t *testing.T) {
	rules := []Rule{{ID: `we"ird`, Enabled: true, Filter: Filter{Form: FormEmpty}, Expiration: &Expiration{Days: 1}}}
	h := ExpirationHeader(rules, Version{Key: "k", Created: time.Date(2012, 12, 21, 8, 0, 0, 0, time.UTC)}, Day)
	if want := `expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", rule-id="we\"ird"`; h != want {
		t.Fatalf("%s, want %s", h, want)
	}
	if h := ExpirationHeader(nil, Version{Key: "k"}, Day); h != "" {
		t.Fatalf("no rules: %q", h)
	}
}

func TestParseTestDay(t *testing.T) {
	for in, want := range map[string]time.Duration{"": Day, "2s": 2 * time.Second} {
		if got, err := ParseTestDay(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"x", "1ms", "48h", "-2s"} {
		if _, err := ParseTestDay(bad); err == nil || !strings.Contains(err.Error(), EnvTestDay) {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
}

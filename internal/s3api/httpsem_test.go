package s3api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		header  string
		size    int64
		want    Range
		ok      bool
		unsatis bool
	}{
		{"", 100, Range{}, false, false},
		{"bytes=0-9", 100, Range{0, 10}, true, false},
		{"bytes=10-", 100, Range{10, 90}, true, false},
		{"bytes=-10", 100, Range{90, 10}, true, false},
		{"bytes=-200", 100, Range{0, 100}, true, false},
		{"bytes=90-200", 100, Range{90, 10}, true, false},
		{"bytes=99-99", 100, Range{99, 1}, true, false},
		{"bytes=100-", 100, Range{}, true, true},
		{"bytes=100-200", 100, Range{}, true, true},
		{"bytes=-0", 100, Range{}, true, true},
		{"bytes=0-0", 0, Range{}, true, true},
		{"bytes=-5", 0, Range{}, true, true},
		{"bytes=5-1", 100, Range{}, false, false},     // invalid → ignored
		{"bytes=0-1,5-6", 100, Range{}, false, false}, // multi-range → ignored
		{"items=0-1", 100, Range{}, false, false},
		{"bytes=a-b", 100, Range{}, false, false},
		{"bytes=-", 100, Range{}, false, false},
		// Numbers beyond int64 keep their meaning (see ParseRange).
		{"bytes=99999999999999999999-", 100, Range{}, true, true},
		{"bytes=99999999999999999999-99999999999999999999", 100, Range{}, true, true},
		{"bytes=0-99999999999999999999", 100, Range{0, 100}, true, false},
		{"bytes=10-184467440737095516160", 100, Range{10, 90}, true, false},
		{"bytes=-99999999999999999999", 100, Range{0, 100}, true, false},
		{"bytes=9223372036854775807-", 100, Range{}, true, true},
		{"bytes=9223372036854775808-", 100, Range{}, true, true},
		{"bytes=+5-10", 100, Range{}, false, false}, // not 1*DIGIT → ignored
		{"bytes=5-+10", 100, Range{}, false, false},
		{"bytes=-+5", 100, Range{}, false, false},
		{"bytes=0x10-", 100, Range{}, false, false},
		{"bytes=99999999999999999999-5", 100, Range{}, false, false}, // last < first → ignored
	}
	for _, tc := range tests {
		got, ok, err := ParseRange(tc.header, tc.size)
		if ok != tc.ok || (err != nil) != tc.unsatis || (err == nil && got != tc.want) {
			t.Errorf("ParseRange(%q,%d) = %+v,%v,%v; want %+v,%v,unsatisfiable=%v", tc.header, tc.size, got, ok, err, tc.want, tc.ok, tc.unsatis)
		}
	}
	if got := (Range{10, 5}).ContentRange(100); got != "bytes 10-14/100" {
		t.Errorf("ContentRange = %q", got)
	}
}

func TestEvalConditions(t *testing.T) {
	mod := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	before := mod.Add(-time.Hour).Format(http.TimeFormat)
	after := mod.Add(time.Hour).Format(http.TimeFormat)
	at := mod.Format(http.TimeFormat)
	tests := []struct {
		name string
		h    map[string]string
		want Condition
	}{
		{"none", nil, CondOK},
		{"if-match hit", map[string]string{"If-Match": `"abc"`}, CondOK},
		{"if-match star", map[string]string{"If-Match": `*`}, CondOK},
		{"if-match list", map[string]string{"If-Match": `"x", "abc"`}, CondOK},
		{"if-match miss", map[string]string{"If-Match": `"zzz"`}, CondPreconditionFailed},
		{"if-none-match hit", map[string]string{"If-None-Match": `"abc"`}, CondNotModified},
		{"if-none-match miss", map[string]string{"If-None-Match": `"zzz"`}, CondOK},
		{"ims not modified", map[string]string{"If-Modified-Since": after}, CondNotModified},
		{"ims equal", map[string]string{"If-Modified-Since": at}, CondNotModified},
		{"ims modified", map[string]string{"If-Modified-Since": before}, CondOK},
		{"ius ok", map[string]string{"If-Unmodified-Since": after}, CondOK},
		{"ius failed", map[string]string{"If-Unmodified-Since": before}, CondPreconditionFailed},
		{"if-match true beats ius false", map[string]string{"If-Match": `"abc"`, "If-Unmodified-Since": before}, CondOK},
		{"inm false + ims true → 304", map[string]string{"If-None-Match": `"abc"`, "If-Modified-Since": before}, CondNotModified},
		{"inm miss ignores ims", map[string]string{"If-None-Match": `"zzz"`, "If-Modified-Since": after}, CondOK},
		{"bad date ignored", map[string]string{"If-Modified-Since": "yesterday"}, CondOK},
	}
	for _, tc := range tests {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := EvalConditions(h, "abc", mod.Add(300*time.Millisecond)); got != tc.want {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key  string
		want error
	}{
		{"a", nil},
		{strings.Repeat("k", 1024), nil},
		{strings.Repeat("k", 1025), ErrKeyTooLong},
		{"", ErrKeyInvalid},
		{"bad\xff", ErrKeyInvalid},
		{"ünïcödé/ключ", nil},
	}
	for _, tc := range tests {
		if got := ValidateKey(tc.key); got != tc.want {
			t.Errorf("ValidateKey(%q) = %v want %v", tc.key, got, tc.want)
		}
	}
}

package sigv4

import (
	"testing"
	"time"
)

// TestParseHTTPDate: the Date header forms clients send (botocore signs
// with email.utils.formatdate's "-0000" zone when a Date header is set).
func TestParseHTTPDate(t *testing.T) {
	want := time.Date(2026, 11, 30, 22, 27, 43, 0, time.UTC)
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"Mon, 30 Nov 2026 22:27:43 GMT", true},
		{"Mon, 30 Nov 2026 22:27:43 -0000", true},
		{"Mon, 30 Nov 2026 22:27:43 +0000", true},
		{"Mon, 30 Nov 2026 23:27:43 +0100", true},
		{"Monday, 30-Nov-26 22:27:43 GMT", true},
		{"Mon Nov 30 22:27:43 2026", true},
		{"20261130T222743Z", false},
		{"yesterday", false},
		{"", false},
	} {
		got, err := ParseHTTPDate(c.in)
		if (err == nil) != c.ok || (c.ok && !got.Equal(want)) {
			t.Errorf("ParseHTTPDate(%q) = %v, %v; want ok=%v %v", c.in, got, err, c.ok, want)
		}
	}
}

package background

import "testing"

// TestLifecycleCursor: the lifecycle phase's checkpoint cursor round-trips
// (keys may hold the separator), and other phases' cursors are not read
// as one.
func TestLifecycleCursor(t *testing.T) {
	for _, c := range []lcCursor{
		{},
		{bucket: "photos"},
		{bucket: "photos", key: "a|b|c"},
		{bucket: "photos", uploads: true, uploadID: "0123abcd", key: "up/|x"},
	} {
		got, ok := parseLCCursor(c.String())
		if !ok || got != c {
			t.Errorf("%q parsed as %+v (%v), want %+v", c.String(), got, ok, c)
		}
	}
	if c, ok := parseLCCursor(phaseLifecycle); !ok || c != (lcCursor{}) {
		t.Errorf("bare phase name: %+v %v", c, ok)
	}
	for _, other := range []string{phasePrepares, phaseGarbage, "lifecycles|x", "orphans|lifecycle"} {
		if _, ok := parseLCCursor(other); ok {
			t.Errorf("%q read as a lifecycle cursor", other)
		}
	}
}

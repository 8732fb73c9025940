package background

import (
	"context"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
)

type noBuckets struct{}

func (noBuckets) ListBuckets(context.Context, string) ([]bucketsvc.Bucket, error) { return nil, nil }

// TestLifecycleInterval: a partition's lifecycle walk runs again only
// LifecycleInterval after its last complete walk; without a catalog never.
func TestLifecycleInterval(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	j := &janitor{cfg: &Config{Catalog: noBuckets{}, LifecycleInterval: time.Hour}, now: func() time.Time { return now }}
	if got := j.afterPrepares(3); got != phaseLifecycle {
		t.Fatalf("first pass: %q", got)
	}
	j.lifecycleDone(3)
	now = now.Add(59 * time.Minute)
	if got := j.afterPrepares(3); got != phaseGarbage {
		t.Fatalf("59 min later: %q", got)
	}
	if got := j.afterPrepares(4); got != phaseLifecycle {
		t.Fatalf("another partition: %q", got)
	}
	now = now.Add(time.Minute)
	if got := j.afterPrepares(3); got != phaseLifecycle {
		t.Fatalf("an hour later: %q", got)
	}
	j.cfg.Catalog = nil
	if got := j.afterPrepares(5); got != phaseGarbage {
		t.Fatalf("no catalog: %q", got)
	}
}

// TestLifecycleCursor: the lifecycle phase's checkpoint cursor round-trips
// (keys may hold the separator), and other phases' cursors are not read
// as one.
func TestLifecycleCursor(t *testing.T) {
	for _, c := range []lcCursor{
		{},
		{bucket: "photos"},
		{bucket: "photos", key: "a|b|c"},
		{bucket: "photos", uploads: true, uploadID: "0123abcd", key: "up/|x"},
		{bucket: "photos", key: "k;|", ver: "0123456789ABCDEF", seen: 3, lastCreated: time.Unix(1700000000, 123456789).UTC()},
		{bucket: "photos", key: "m", ver: "null", seen: 1, lastCreated: time.Unix(1, 0).UTC(), marker: true},
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

package bucketcache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
)

// fakeCatalog counts lookups; buckets can be added and removed.
type fakeCatalog struct {
	mu      sync.Mutex
	buckets map[string]bucketsvc.Bucket
	calls   int
}

func (f *fakeCatalog) lookup(_ context.Context, name string) (bucketsvc.Bucket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	b, ok := f.buckets[name]
	if !ok {
		return b, bucketsvc.ErrNoSuchBucket
	}
	return b, nil
}

func TestCache(t *testing.T) {
	type step struct {
		advance    time.Duration
		do         string // "get", "invalidate", "create", "delete"
		region     string // for create: the catalog's region
		wantRegion string // for get: "" means ErrNoSuchBucket
		wantCalls  int    // catalog lookups so far
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"positive entry lives TTL", []step{
			{do: "create", region: "us-east-1"},
			{do: "get", wantRegion: "us-east-1", wantCalls: 1},
			{advance: 9 * time.Second, do: "get", wantRegion: "us-east-1", wantCalls: 1},
			{do: "delete"},
			{advance: 999 * time.Millisecond, do: "get", wantRegion: "us-east-1", wantCalls: 1}, // stale until TTL
			{advance: time.Millisecond, do: "get", wantRegion: "", wantCalls: 2},
		}},
		{"negative entry lives NegativeTTL", []step{
			{do: "get", wantRegion: "", wantCalls: 1},
			{do: "create", region: "eu-west-1"},
			{advance: time.Second, do: "get", wantRegion: "", wantCalls: 1},
			{advance: time.Second, do: "get", wantRegion: "eu-west-1", wantCalls: 2},
		}},
		{"invalidate drops a positive entry", []step{
			{do: "create", region: "us-east-1"},
			{do: "get", wantRegion: "us-east-1", wantCalls: 1},
			{do: "delete"}, {do: "create", region: "eu-west-1"},
			{do: "get", wantRegion: "us-east-1", wantCalls: 1},
			{do: "invalidate"},
			{do: "get", wantRegion: "eu-west-1", wantCalls: 2},
		}},
		{"invalidate drops a negative entry", []step{
			{do: "get", wantRegion: "", wantCalls: 1},
			{do: "create", region: "us-east-1"},
			{do: "invalidate"},
			{do: "get", wantRegion: "us-east-1", wantCalls: 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			cat := &fakeCatalog{buckets: map[string]bucketsvc.Bucket{}}
			c, err := New(Config{Size: 10, TTL: 10 * time.Second, NegativeTTL: 2 * time.Second, Now: func() time.Time { return now }}, cat.lookup)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				now = now.Add(s.advance)
				switch s.do {
				case "create":
					cat.buckets["b"] = bucketsvc.Bucket{Name: "b", Region: s.region}
				case "delete":
					delete(cat.buckets, "b")
				case "invalidate":
					c.Invalidate("b")
				case "get":
					b, err := c.Get(context.Background(), "b")
					got := b.Region
					if err != nil {
						if !errors.Is(err, bucketsvc.ErrNoSuchBucket) {
							t.Fatalf("step %d: %v", i, err)
						}
						got = ""
					}
					if got != s.wantRegion || cat.calls != s.wantCalls {
						t.Fatalf("step %d: region %q after %d lookups, want %q after %d", i, got, cat.calls, s.wantRegion, s.wantCalls)
					}
				}
			}
		})
	}
}

func TestSizeBound(t *testing.T) {
	cat := &fakeCatalog{buckets: map[string]bucketsvc.Bucket{}}
	c, err := New(Config{Size: 2, TTL: time.Minute, NegativeTTL: time.Second}, cat.lookup)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		_, _ = c.Get(context.Background(), n)
	}
	if c.Len() != 2 {
		t.Fatalf("Len %d, want 2", c.Len())
	}
}

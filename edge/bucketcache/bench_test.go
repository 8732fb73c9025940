package bucketcache

import (
	"context"
	"fmt"
	"testing"

	"github.com/meridian-s3/meridian/bucketsvc"
)

// BenchmarkGetHit measures bucket → region lookups answered from the cache
// (the edge's per-request cost); it reports lookups/s.
func BenchmarkGetHit(b *testing.B) {
	const n = 10000
	c, err := New(DefaultConfig(), func(ctx context.Context, name string) (bucketsvc.Bucket, error) {
		return bucketsvc.Bucket{Name: name, Region: "eu-west-1"}, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bucket-%05d", i)
		if _, err := c.Get(context.Background(), names[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := c.Get(context.Background(), names[i%n]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

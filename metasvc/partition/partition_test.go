package partition

import (
	"fmt"
	"testing"
)

func TestOfStable(t *testing.T) {
	// Values are part of the on-disk contract: changing the hash moves keys.
	tests := []struct {
		bucket, key string
		n, want     int
	}{
		{"b", "k", 8, 4},
		{"photos", "2024/01/a.jpg", 8, 7},
		{"photos", "2024/01/a.jpg", 1024, 767},
		{"bucket", "", 1, 0},
	}
	for _, tc := range tests {
		if got := Of(tc.bucket, tc.key, tc.n); got != tc.want {
			t.Errorf("Of(%q,%q,%d)=%d want %d", tc.bucket, tc.key, tc.n, got, tc.want)
		}
	}
	// The separator matters: ("ab","c") and ("a","bc") must not collide by construction.
	if Of("ab", "c", 1<<30) == Of("a", "bc", 1<<30) {
		t.Errorf("bucket/key boundary not hashed")
	}
}

func TestOfSpread(t *testing.T) {
	const n, keys = 8, 80000
	counts := make([]int, n)
	for i := 0; i < keys; i++ {
		counts[Of("bucket", fmt.Sprintf("key-%d", i), n)]++
	}
	for p, c := range counts {
		if c < keys/n*9/10 || c > keys/n*11/10 {
			t.Errorf("partition %d has %d keys, want ≈%d", p, c, keys/n)
		}
	}
}

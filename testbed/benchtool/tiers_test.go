package benchtool

import (
	"strings"
	"testing"
	"time"
)

func TestCompareTiers(t *testing.T) {
	const mib = 1 << 20
	tier := func(name string, cpu time.Duration) Result {
		return Result{Name: name, Ops: 10, Bytes: 100 * mib, Elapsed: 10 * time.Second, ServerCPU: cpu, Metered: true}
	}
	cases := []struct {
		name          string
		direct, edge  time.Duration
		idle          float64 // CPU seconds per second
		want, wantNot string
	}{
		{"net of idle", 600 * time.Millisecond, 900 * time.Millisecond, 0.01,
			"| GET 16MiB | 1.00× | 5.000 ms | 8.000 ms | +3.000 ms | 0.60× |", "not measured"},
		{"idle above the direct tier's CPU", 50 * time.Millisecond, 900 * time.Millisecond, 0.01,
			"not measured: idle CPU ≥ the tier's CPU", "Inf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			compareTiers(&b, []Result{tier("GET 16MiB direct (alt)", tc.direct), tier("GET 16MiB via edge", tc.edge)}, tc.idle)
			if !strings.Contains(b.String(), tc.want) || strings.Contains(b.String(), tc.wantNot) {
				t.Fatalf("got\n%s\nwant a row with %q and no %q", b.String(), tc.want, tc.wantNot)
			}
		})
	}
}

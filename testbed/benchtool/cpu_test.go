package benchtool

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       time.Duration
		bad        bool
	}{
		{"plain", "4242 (meridian) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 75 0 0 20 0 9 0 1 1 1", 3250 * time.Millisecond, false},
		{"name with spaces and parens", "7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0", 30 * time.Millisecond, false},
		{"short", "7 (x) R 1 2", 0, true},
		{"no name", "garbage", 0, true},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 x 2 0 0", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.line))
			if (err != nil) != tc.bad || got != tc.want {
				t.Fatalf("got %v, %v; want %v (error %v)", got, err, tc.want, tc.bad)
			}
		})
	}
}

func TestProcCPUMatchesSelf(t *testing.T) {
	// Burn 150 ms of CPU (not of wall time: on a loaded machine a 200 ms
	// wall-clock loop got 60 ms of CPU in CI rehearsal), at most 20 s.
	x := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		for range 100000 {
			x++
		}
		if s, err := SelfCPU(); err != nil || s >= 150*time.Millisecond {
			break
		}
	}
	p, err := ProcCPU(os.Getpid())()
	if err != nil {
		t.Fatal(err)
	}
	s, err := SelfCPU()
	if err != nil {
		t.Fatal(err)
	}
	if d := s - p; d < -20*time.Millisecond || d > 50*time.Millisecond || p < 100*time.Millisecond {
		t.Fatalf("/proc says %v, getrusage %v (x=%d)", p, s, x)
	}
}

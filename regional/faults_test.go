package regional

import (
	"context"
	"testing"
	"time"
)

func TestParseTestFaults(t *testing.T) {
	for _, bad := range []string{"", "commit-delay=1s", "key-prefix=x/", "commit-delay=0s,key-prefix=x/",
		"commit-delay=2h,key-prefix=x/", "commit-delay=1s,key-prefix=", "commit-delay=1s,key-prefix=x/,drop=all", "nonsense"} {
		if _, err := ParseTestFaults(bad); err == nil {
			t.Errorf("ParseTestFaults(%q) accepted", bad)
		}
	}
	hook, err := ParseTestFaults("commit-delay=200ms, key-prefix=slow/")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	hook(context.Background(), "b/1", "fast/x")
	if time.Since(start) > 50*time.Millisecond {
		t.Fatal("a key outside the prefix was delayed")
	}
	hook(context.Background(), "b/1", "slow/x")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("delayed only %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	hook(ctx, "b/1", "slow/x")
	if time.Since(start) > 50*time.Millisecond {
		t.Fatal("a cancelled request was still delayed")
	}
}

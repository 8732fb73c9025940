package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/background"
)

// The `meridian status` replication line: caught up, behind with copies in
// the retry list (exact), and behind with the position held (a lower
// bound).
func TestPrintReplicationLag(t *testing.T) {
	for _, tc := range []struct {
		st   background.ReplBucketStatus
		want string
	}{
		{background.ReplBucketStatus{Bucket: "a", Destinations: []string{"b"}, Completed: 7}, "a → b: caught up; 7 copied"},
		{background.ReplBucketStatus{Bucket: "a", Destinations: []string{"b"}, Pending: 3, Retrying: 3, Behind: 2 * time.Second, LastError: "link down"},
			"a → b: BEHIND 2s: 3 versions not yet copied (3 in the retry list); 0 copied; last error: link down"},
		{background.ReplBucketStatus{Bucket: "a", Destinations: []string{"b"}, Pending: 5, Retrying: 3, Held: 2, Behind: time.Minute},
			"BEHIND 1m0s: 5 versions not yet copied (3 in the retry list, 2 holding the feed position: at least)"},
	} {
		var buf bytes.Buffer
		printReplicationLag(&buf, []background.ReplBucketStatus{tc.st})
		if !strings.Contains(buf.String(), tc.want) {
			t.Errorf("printed %q, want %q in it", buf.String(), tc.want)
		}
	}
}

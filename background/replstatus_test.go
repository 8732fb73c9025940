package background

import (
	"fmt"
	"testing"
	"time"
)

func TestReplicationStatusMergesPartitions(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	p0 := ReplPartitionReport{Buckets: map[string]*ReplBucketReport{}}
	p1 := ReplPartitionReport{Buckets: map[string]*ReplBucketReport{}}
	for i := range 20 { // more than replLagSamples: only the last 16 are kept
		p0.copied("a", "a-copy", now.Add(-time.Duration(i+1)*time.Second), now)
	}
	p1.copied("a", "a-copy2", now.Add(-100*time.Millisecond), now)
	p1.stepped([]replPendingEntry{
		{bucket: "a", committed: now.Add(-3 * time.Minute), err: "link to eu: refused"},
		{bucket: "a", committed: now.Add(-time.Minute)},
		{bucket: "b", committed: now.Add(-time.Second)},
	}, now)
	st := ReplicationStatus([]ReplPartitionReport{p0, p1}, now)
	if len(st) != 2 || st[0].Bucket != "a" || st[1].Bucket != "b" {
		t.Fatalf("status %+v", st)
	}
	a := st[0]
	if a.Completed != 21 || a.Pending != 2 || a.Behind != 3*time.Minute || a.LastError != "link to eu: refused" {
		t.Errorf("a: %+v", a)
	}
	if fmt.Sprint(a.Destinations) != "[a-copy a-copy2]" {
		t.Errorf("destinations %v", a.Destinations)
	}
	// p0 keeps lags 5 s … 20 s (the 16 most recent copies), p1 0.1 s.
	if a.LagSamples != 17 || a.LagMax != 20*time.Second || a.LagP50 != 12*time.Second {
		t.Errorf("lag samples %d p50 %v max %v", a.LagSamples, a.LagP50, a.LagMax)
	}
	// The next step finds the partition caught up: nothing pending any more.
	p1.stepped(nil, now)
	if st := ReplicationStatus([]ReplPartitionReport{p1}, now); st[0].Pending != 0 || st[0].Behind != 0 || st[1].Pending != 0 {
		t.Errorf("after catching up: %+v", st)
	}
	// A report never grows past replReportBuckets idle buckets.
	big := ReplPartitionReport{Buckets: map[string]*ReplBucketReport{}}
	for i := range replReportBuckets + 10 {
		big.copied(fmt.Sprintf("b%03d", i), "d", now, now.Add(time.Duration(i)*time.Second))
	}
	big.stepped(nil, now.Add(time.Hour))
	if len(big.Buckets) != replReportBuckets {
		t.Errorf("report keeps %d buckets, want %d", len(big.Buckets), replReportBuckets)
	}
	if _, err := DecodeReplReport("{not json"); err == nil {
		t.Error("a broken report decoded")
	}
}

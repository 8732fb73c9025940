package background

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3replication"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// paceLinks is a destination that takes the body chunk bytes at a time,
// pausing between reads, and stops reading for good after stopAfter bytes
// (0: never stops) until the request is cancelled.
type paceLinks struct {
	chunk     int
	pause     time.Duration
	stopAfter int
	got       int
}

func (l *paceLinks) Do(req *http.Request, _ string) (*http.Response, error) {
	buf := make([]byte, l.chunk)
	for {
		if l.stopAfter > 0 && l.got >= l.stopAfter {
			<-req.Context().Done()
			return nil, req.Context().Err()
		}
		n, err := req.Body.Read(buf)
		l.got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-time.After(l.pause):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	h := http.Header{}
	h.Set(regionalclient.HeaderReplicaResult, regionalclient.ReplicaCreated)
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// A copy is bounded by its stalls, not its length: one that keeps moving
// completes long after ReplicationTimeout (a long copy sharing the link
// with many others), one that stops moving fails after about
// ReplicationTimeout with the reason in its error.
func TestReplicationCopyStallTimeout(t *testing.T) {
	const idle = 150 * time.Millisecond
	body := strings.Repeat("x", 40<<10)
	for _, tc := range []struct {
		name    string
		links   *paceLinks
		wantErr bool
	}{
		{"slow but moving", &paceLinks{chunk: 1 << 10, pause: 15 * time.Millisecond}, false}, // 40 reads, ≈ 600 ms ≫ idle
		{"stalls half way", &paceLinks{chunk: 1 << 10, pause: time.Millisecond, stopAfter: 20 << 10}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Region, cfg.Links, cfg.Logger, cfg.ReplicationTimeout = "us", tc.links, slog.New(slog.DiscardHandler), idle
			cfg.Catalog = oneBucketCatalog{bs: []bucketsvc.Bucket{
				{Name: "src", Incarnation: "1", Region: "us", Replication: &s3replication.Configuration{Rules: []s3replication.Rule{
					{ID: "r", Enabled: true, Destination: s3replication.Destination{Bucket: "dst"}}}}},
				{Name: "dst", Incarnation: "2", Region: "eu"},
			}}
			r := &replicator{cfg: &cfg, m: newReplMetrics(nil), parts: map[int]*replPart{}, down: map[string]time.Time{}, reports: map[int]*ReplPartitionReport{}}
			v := metapb.ObjectVersion{Bucket: "src/1", Key: "k", Ver: strings.Repeat("A", 16), Inline: []byte(body), Size: int64(len(body)), ETag: "e", State: metapb.StateCommitted}
			start := time.Now()
			err := r.send(context.Background(), bucketsvc.Bucket{Name: "src"}, s3replication.Rule{ID: "r", Enabled: true, Destination: s3replication.Destination{Bucket: "dst"}}, v)
			took := time.Since(start)
			if !tc.wantErr {
				if err != nil || tc.links.got != len(body) {
					t.Fatalf("send: %v after %v (%d of %d bytes taken)", err, took, tc.links.got, len(body))
				}
				if took < 2*idle {
					t.Fatalf("the copy took %v, want ≫ %v for the test to mean anything", took, idle)
				}
				return
			}
			if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no progress") {
				t.Fatalf("send of a stalled copy: %v, want a cancellation naming the stall", err)
			}
			if took < idle || took > idle+time.Second {
				t.Fatalf("a stalled copy failed after %v, want about %v", took, idle)
			}
		})
	}
}

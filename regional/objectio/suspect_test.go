package objectio

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/regional/objectio/objectiotest"
)

// A node whose write failed is avoided by the next writes at once, while the
// control plane still reports it healthy; after SuspectFor it is used again.
func TestSuspectNodesAvoided(t *testing.T) {
	for _, tc := range []struct {
		name       string
		suspectFor time.Duration
		wantAvoid  bool
	}{
		{"suspects on", time.Minute, true},
		{"suspects off", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, false, func(c *Config) { c.SuspectFor = tc.suspectFor })
			ctx := context.Background()
			dead := v.nodes[5]
			v.store.SetFault(dead.Addr, objectiotest.Fault{Down: true})

			// Find a write planned on the dead node: it succeeds by replacement.
			var hit bool
			for i := 0; i < 50 && !hit; i++ {
				data := randData(uint64(i), tSeg)
				segs, err := v.e.Plan(context.Background(), newVID(), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range segs[0].Shards {
					hit = hit || r.Node == dead.ID
				}
				if !hit {
					continue
				}
				final, err := v.e.Write(ctx, segs, bytes.NewReader(data))
				if err != nil {
					t.Fatalf("write with one dead node: %v", err)
				}
				for _, r := range final[0].Shards {
					if r.Node == dead.ID {
						t.Fatal("final placement kept the dead node")
					}
				}
			}
			if !hit {
				t.Fatal("no plan used the dead node")
			}
			// The following plans avoid it (or not, without suspects).
			used := false
			for i := 0; i < 50; i++ {
				segs, err := v.e.Plan(context.Background(), newVID(), tSeg)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range segs[0].Shards {
					used = used || r.Node == dead.ID
				}
			}
			if used == tc.wantAvoid {
				t.Fatalf("later plans used the dead node: %v (suspects %v)", used, tc.suspectFor)
			}
		})
	}
}

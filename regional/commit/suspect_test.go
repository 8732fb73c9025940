package commit

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// suspectMeta is the fake metasvc with the Suspect capability.
type suspectMeta struct {
	*fakeMeta
	mu       sync.Mutex
	suspects []metapb.Suspect
}

func (m *suspectMeta) Suspect(_ context.Context, sp metapb.Suspect) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.suspects = append(m.suspects, sp)
	return nil
}

// shortData commits one shard fewer than written (a fault hook: the write
// quorum was reached without shard 3).
type shortData struct{ Data }

func (d shortData) Write(ctx context.Context, segs []metapb.Segment, body io.Reader) ([]metapb.Segment, error) {
	final, err := d.Data.Write(ctx, segs, body)
	if err == nil && len(final) > 0 {
		final[0].Shards[3].Node, final[0].Shards[3].AZ = "", ""
	}
	return final, err
}

// TestShortWriteReported: a version committed short of shards is handed to
// the healer at once; a complete one is not.
func TestShortWriteReported(t *testing.T) {
	for _, short := range []bool{false, true} {
		e := newEnv(t)
		m := &suspectMeta{fakeMeta: e.meta}
		e.c.Meta = m
		if short {
			e.c.Data = shortData{e.c.Data}
		}
		v := &metapb.ObjectVersion{Bucket: "b/inc1", Key: "k", VersionID: "v1", Size: 200 << 10}
		if _, err := e.c.Write(context.Background(), Target{Object: v}, testBody(randData(200<<10), bodyOK, nil)); err != nil {
			t.Fatal(err)
		}
		want := 0
		if short {
			want = 1
		}
		if len(m.suspects) != want || (short && (m.suspects[0].VersionID != "v1" || m.suspects[0].Key != "k")) {
			t.Fatalf("short=%v: suspects %+v", short, m.suspects)
		}
	}
}

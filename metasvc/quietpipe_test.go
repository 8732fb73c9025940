package metasvc

import (
	"testing"

	"github.com/hashicorp/raft"
)

// recordingPipeline is an AppendPipeline that records what reaches the wire.
type recordingPipeline struct {
	sent []*raft.AppendEntriesRequest
}

func (r *recordingPipeline) AppendEntries(req *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	r.sent = append(r.sent, req)
	return droppedAppend{req: req, resp: resp}, nil
}
func (r *recordingPipeline) Consumer() <-chan raft.AppendFuture { return nil }
func (r *recordingPipeline) Close() error                       { return nil }

func TestQuietPipelineDropsOnlyRepeats(t *testing.T) {
	logs := func(first, last, term uint64) []*raft.Log {
		var out []*raft.Log
		for i := first; i <= last; i++ {
			out = append(out, &raft.Log{Index: i, Term: term})
		}
		return out
	}
	empty := func(term, prev, prevTerm, commit uint64) *raft.AppendEntriesRequest {
		return &raft.AppendEntriesRequest{Term: term, PrevLogEntry: prev, PrevLogTerm: prevTerm, LeaderCommitIndex: commit}
	}
	withLogs := func(term, prev, prevTerm, commit uint64, l []*raft.Log) *raft.AppendEntriesRequest {
		r := empty(term, prev, prevTerm, commit)
		r.Entries = l
		return r
	}
	for _, tc := range []struct {
		name string
		reqs []*raft.AppendEntriesRequest
		sent []bool
	}{
		{"first empty request is sent", []*raft.AppendEntriesRequest{empty(2, 10, 2, 10)}, []bool{true}},
		{"repeats of an empty request are dropped",
			[]*raft.AppendEntriesRequest{empty(2, 10, 2, 10), empty(2, 10, 2, 10), empty(2, 10, 2, 10)}, []bool{true, false, false}},
		{"entries are always sent; the next commit index is sent once",
			[]*raft.AppendEntriesRequest{
				empty(2, 10, 2, 10),
				withLogs(2, 10, 2, 10, logs(11, 12, 2)), // entries
				empty(2, 12, 2, 10),                     // nothing new: commit 10 was in the last request
				empty(2, 12, 2, 12),                     // commit moved to 12: sent
				empty(2, 12, 2, 12),                     // repeat: dropped
				withLogs(2, 12, 2, 12, logs(13, 13, 2)), // entries again
				withLogs(2, 12, 2, 12, logs(13, 13, 2)), // entries are never dropped, even repeated
			},
			[]bool{true, true, false, true, false, true, true}},
		{"a new term or another previous entry is sent",
			[]*raft.AppendEntriesRequest{empty(2, 10, 2, 10), empty(3, 10, 2, 10), empty(3, 9, 2, 10), empty(3, 9, 1, 10)},
			[]bool{true, true, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &recordingPipeline{}
			skipped := 0
			p := &quietPipeline{AppendPipeline: inner, skipped: func() { skipped++ }}
			want := 0
			for i, req := range tc.reqs {
				before := len(inner.sent)
				f, err := p.AppendEntries(req, new(raft.AppendEntriesResponse))
				if err != nil || f == nil || f.Request() != req {
					t.Fatalf("request %d: future %v err %v", i, f, err)
				}
				if got := len(inner.sent) > before; got != tc.sent[i] {
					t.Fatalf("request %d (%+v): sent %v, want %v", i, req, got, tc.sent[i])
				}
				if !tc.sent[i] {
					want++
				}
			}
			if skipped != want {
				t.Fatalf("skipped counted %d, want %d", skipped, want)
			}
		})
	}
}

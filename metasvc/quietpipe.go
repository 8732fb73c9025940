package metasvc

import (
	"time"

	"github.com/hashicorp/raft"
)

// quietTransport is hashicorp/raft's NetworkTransport with one change: its
// replication pipelines do not send an AppendEntries that carries nothing
// the follower has not already been sent on the same pipeline.
//
// Why: while a pipeline is open, hashicorp/raft (v1.7) sends each follower
// an AppendEntries every CommitTimeout (randomised to 1–2×) whether or not
// anything changed, so that a follower learns the commit index when writes
// stop. Idle, that is 9 groups × 2 followers × ≈ 33/s ≈ 600 RPCs a second
// over mutual TLS, each reading the previous log entry from bbolt on both
// sides and passing through the follower's main loop: the largest share of
// an idle cluster's CPU (docs/performance.md "Idle CPU"). A request with no
// entries, the same term, the same previous entry and the same commit index
// as the last one sent tells the follower nothing; dropping it changes
// nothing the follower or the leader relies on:
//   - the follower learns every commit index the leader has: a request is
//     sent whenever the commit index (or the log) moved since the last one;
//   - liveness (the follower's election timer, the leader's lease, the
//     VerifyLeader rounds of linearizable reads) rests on the separate
//     heartbeat RPCs, which are untouched;
//   - TCP delivers the last request sent or breaks the connection; a broken
//     connection, a failed or stale-term response ends the pipeline, and
//     hashicorp/raft opens a new one (with a fresh quietPipeline) after a
//     plain AppendEntries round.
type quietTransport struct {
	*raft.NetworkTransport
	skipped func() // counts suppressed requests (a metric)
}

// AppendEntriesPipeline wraps the NetworkTransport's pipeline.
func (t quietTransport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	p, err := t.NetworkTransport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	return &quietPipeline{AppendPipeline: p, skipped: t.skipped}, nil
}

// quietPipeline remembers what the last request it sent told the follower.
// hashicorp/raft calls AppendEntries from one goroutine per pipeline (the
// follower's replication loop), so the fields need no lock.
type quietPipeline struct {
	raft.AppendPipeline
	skipped func()

	sent bool
	// Of the last request sent: its term, the index and term of the last
	// entry the follower holds after it (its last entry, or PrevLogEntry
	// when it had none), and the commit index it carried.
	term, lastIndex, lastTerm, commit uint64
}

// AppendEntries sends req unless it is redundant (see quietTransport). A
// dropped request returns a future that is already done and never reaches
// the pipeline's Consumer: hashicorp/raft's pipelineSend only checks the
// error, and pipelineDecode sees only the responses of requests sent.
func (p *quietPipeline) AppendEntries(req *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	if len(req.Entries) == 0 && p.sent && req.Term == p.term && req.PrevLogEntry == p.lastIndex &&
		req.PrevLogTerm == p.lastTerm && req.LeaderCommitIndex == p.commit {
		if p.skipped != nil {
			p.skipped()
		}
		return droppedAppend{start: time.Now(), req: req, resp: resp}, nil
	}
	f, err := p.AppendPipeline.AppendEntries(req, resp)
	if err != nil {
		p.sent = false
		return f, err
	}
	p.sent, p.term, p.commit = true, req.Term, req.LeaderCommitIndex
	p.lastIndex, p.lastTerm = req.PrevLogEntry, req.PrevLogTerm
	if n := len(req.Entries); n > 0 {
		p.lastIndex, p.lastTerm = req.Entries[n-1].Index, req.Entries[n-1].Term
	}
	return f, nil
}

// droppedAppend is the future of a request that was not sent.
type droppedAppend struct {
	start time.Time
	req   *raft.AppendEntriesRequest
	resp  *raft.AppendEntriesResponse
}

func (d droppedAppend) Error() error                          { return nil }
func (d droppedAppend) Start() time.Time                      { return d.start }
func (d droppedAppend) Request() *raft.AppendEntriesRequest   { return d.req }
func (d droppedAppend) Response() *raft.AppendEntriesResponse { return d.resp }

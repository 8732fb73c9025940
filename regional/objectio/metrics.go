package objectio

import "sync/atomic"

// metrics are the engine's counters at its seams (every shard RPC). They
// are plain atomics; Stats exports a snapshot for the gateway's metrics
// endpoint and for tests.
type metrics struct {
	shardPuts, shardPutFailures    atomic.Int64
	shardsRebuilt, rebuildFailures atomic.Int64
	shardGets, shardGetFailures    atomic.Int64
	readWindows, reconstructed     atomic.Int64
	hedged                         atomic.Int64
	bytesWritten, bytesRead        atomic.Int64
	freshViews, sharedPlans        atomic.Int64
}

// Stats is a snapshot of the engine's counters.
type Stats struct {
	ShardPuts        int64 // shard Put calls (first attempts and rebuilds)
	ShardPutFailures int64 // failed, stalled or mis-acknowledged Puts
	ShardsRebuilt    int64 // shards rebuilt onto a replacement node during a write
	RebuildFailures  int64
	ShardGets        int64 // shard Get calls
	ShardGetFailures int64 // failed, corrupt or cancelled (hedged-out) Gets
	ReadWindows      int64 // windows decoded by reads
	Reconstructed    int64 // windows that needed parity to rebuild data
	Hedged           int64 // extra shard requests started beyond k in a window
	BytesWritten     int64 // object bytes written
	BytesRead        int64 // object bytes returned by reads
	FreshViews       int64 // control-plane views read by Plan before a placement that would share nodes
	SharedPlacements int64 // segments planned with two shards on one node (fewer healthy nodes than shards)
}

// Stats returns the current counters.
func (e *Engine) Stats() Stats {
	m := &e.m
	return Stats{
		ShardPuts: m.shardPuts.Load(), ShardPutFailures: m.shardPutFailures.Load(),
		ShardsRebuilt: m.shardsRebuilt.Load(), RebuildFailures: m.rebuildFailures.Load(),
		ShardGets: m.shardGets.Load(), ShardGetFailures: m.shardGetFailures.Load(),
		ReadWindows: m.readWindows.Load(), Reconstructed: m.reconstructed.Load(),
		Hedged: m.hedged.Load(), BytesWritten: m.bytesWritten.Load(), BytesRead: m.bytesRead.Load(),
		FreshViews: m.freshViews.Load(), SharedPlacements: m.sharedPlans.Load(),
	}
}

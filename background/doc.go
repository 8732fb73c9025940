// Package background is the background server of a region: a process that
// works beside the S3 gateways and does the region's upkeep (docs/background.md).
//
// Work is split by metadata partition. A Server takes partitions by leasing
// them (metapb.Lease, applied through each partition's Raft group) and runs
// its workers only on partitions it holds; several Servers per region share
// the partitions and never work one partition together, and the partitions
// of a crashed Server are taken over once its leases expire.
//
// Each worker is an explicit state machine (idle, running, paused, failed)
// with progress counters, its last error and a rate; it can be paused and
// resumed. After each step on a partition a worker writes its checkpoint to
// that partition (metapb.Checkpoint, fenced by the lease epoch), so a
// restarted or replacing Server resumes where the last holder stopped.
//
// Workers today: the janitor (abandoned PREPAREs past their deadline are
// aborted through Raft — the abort is the fence that refuses a late COMMIT —
// and the garbage queue is drained by deleting the queued shards).
package background

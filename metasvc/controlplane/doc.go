// Package controlplane is the region control plane's replicated state
// machine and the leader-side logic around it.
//
// The control plane is the Raft group "ctl" that every meta node hosts. Its
// replicated state (State) is small: the region's name, the meta nodes, the
// fixed partition table (partition → replica meta node ids) and the
// registered storage nodes (id, AZ, address, capacity, registration time).
// It changes through two commands: Init (first one wins; written by the
// first ctl leader that finds the state empty) and Register (a new storage
// node, or one whose address, AZ or capacity changed materially).
//
// Heartbeats are not replicated. The ctl leader keeps the last heartbeat
// time and used bytes of each storage node in memory (Health); a node is
// healthy while its last heartbeat is younger than the health timeout. A new
// leader starts with no heartbeats, so every node reads unhealthy until it
// next heartbeats (one heartbeat interval) — the control plane prefers
// under-reporting health to pretending.
//
// Tolerance computes invariant 5: with scheme k+m, the region survives the
// loss of any one AZ only if there are at least ceil((k+m)/m) AZs with
// healthy storage nodes (4 for 10+4); otherwise Status says so in Note.
package controlplane

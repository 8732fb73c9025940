// Package placement chooses which storage nodes hold the shards of one
// erasure-coded segment. It is pure: no I/O, no clocks, no randomness beyond
// the caller's seed.
//
// Choose(nodes, n, perAZMax, seed) picks nodes for shard indexes 0..n-1:
//
//   - Only healthy nodes are candidates.
//   - Shards are spread over AZs as evenly as the nodes allow (water
//     filling: each next shard goes to the AZ holding the fewest so far that
//     still has an unused node). With at least ceil(n/perAZMax) usable AZs no
//     AZ gets more than perAZMax shards, so losing one AZ loses at most m
//     shards (DESIGN invariant 5) and Tolerant is true. With fewer AZs (or AZs
//     too small) the spread is still even but Tolerant is false, and callers
//     must say so.
//   - Inside an AZ, nodes are ranked by weighted rendezvous hashing of (seed,
//     node id) with weight = free fraction of the node's capacity: the seed
//     (a hash of the version id and segment) spreads load over all nodes, and
//     emptier nodes are picked proportionally more often. Full nodes (no free
//     space) are never picked. Ties between AZs are broken
//     by a seed-ranked AZ order, so which AZs get the extra shard rotates.
//   - With fewer healthy nodes than n, placement still succeeds if at least
//     n-perAZMax+1 (k+1) nodes are healthy: shards are dealt round-robin over
//     the AZ-interleaved node list, so several shards share a node (at most
//     ceil(n/nodes) each) and Tolerant is false. Fewer than k+1 nodes is
//     ErrNotEnoughNodes: such a write could never be acknowledged
//     (invariant 1 needs k+1 shards on distinct nodes).
//
// Replacement picks a node for one failed shard of an existing placement: a
// healthy node not already used by the segment and not excluded, in the same
// AZ as the failed shard if possible, else in the AZ with the fewest shards
// whose count stays under perAZMax, else any unused node; as a last resort a
// used node holding the fewest shards of the segment.
package placement

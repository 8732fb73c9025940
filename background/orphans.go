package background

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/storagesvc/storagepb"
)

// Orphan scan: the janitor's third phase (docs/gc-safety.md has the safety
// argument; this file follows its rules, numbered R1–R6 there).
//
// Shards that no record names — a crashed gateway's writes, a node that was
// down when its garbage was deleted — are found by listing each storage
// node and asking the metadata, and deleted only when unreferenced *and*
// older (by the node's own monotonic clock) than OrphanMinAge.
//
// Work split: the scan is per storage node, not per partition. Node N is
// scanned by whoever holds the background lease of partition
// nodePartition(N) = FNV-1a(N) mod partitions, inside that partition's
// janitor pass, so the lease that keeps two servers off one partition also
// keeps them off one node, with the same takeover and the same fencing of
// its progress (the cursor names the node and the last id listed).

// ShardNodes is what the orphan scan needs from the storage nodes
// (storageclient.Client implements it).
type ShardNodes interface {
	List(ctx context.Context, addr, prefix, after string, limit int) (storagepb.ListResponse, error)
	Delete(ctx context.Context, addr, id string) error
}

// OrphanMeta is the metadata the orphan scan reads (metaclient.Client
// implements it). Config.Meta must implement it when Config.Orphans is set.
type OrphanMeta interface {
	StorageNodes(ctx context.Context) ([]metapb.StorageNode, error)
	// Unreferenced returns those of refs no record of partition references,
	// judged on one consistent state through a linearizable read.
	Unreferenced(ctx context.Context, partition int, refs []metapb.ShardRef) ([]metapb.ShardRef, error)
}

// The phase's cursors: "orphans" (start), "orphans/<node>/<last id listed>",
// "orphans/<node>/~" (that node done). Node and shard ids never hold '/'
// or '~' (storagepb: [A-Za-z0-9._-]).
const (
	phaseOrphans = "orphans"
	nodeDone     = "~"
)

// orphanPage is the number of shards listed per step.
const orphanPage = 5000 // = metastate.MaxRefCheck: one reference check per partition per page

// orphanScan keeps, per node, when its last complete scan ended (local,
// not checkpointed: a restarted server scans again, which is only work).
type orphanScan struct {
	cfg   *Config
	m     *metrics
	meta  OrphanMeta
	nodes ShardNodes

	mu   sync.Mutex
	last map[string]time.Time
}

func newOrphanScan(cfg *Config, m *metrics) *orphanScan {
	om, ok := cfg.Meta.(OrphanMeta)
	if cfg.Orphans == nil || !ok {
		return nil
	}
	return &orphanScan{cfg: cfg, m: m, meta: om, nodes: cfg.Orphans, last: map[string]time.Time{}}
}

// nodePartition is the partition whose lease holder scans node.
func nodePartition(node string, partitions int) int {
	h := fnv.New64a()
	h.Write([]byte(node))
	return int(h.Sum64() % uint64(partitions))
}

// step does one page of the scan of partition p's nodes. It returns the
// next cursor, shards deleted, and whether p's nodes are all done for this
// pass (each node is scanned at most once per OrphanInterval).
func (o *orphanScan) step(ctx context.Context, p int, cursor string, valid func() bool) (string, int, bool, error) {
	node, after := "", ""
	if rest, ok := strings.CutPrefix(cursor, phaseOrphans+"/"); ok {
		node, after, _ = strings.Cut(rest, "/")
	}
	all, err := o.storageNodes(ctx)
	if err != nil {
		return cursor, 0, false, fmt.Errorf("orphan scan: storage nodes: %w", err)
	}
	parts := o.cfg.Meta.Partitions()
	var mine []metapb.StorageNode
	for _, n := range all {
		if nodePartition(n.ID, parts) == p {
			mine = append(mine, n)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].ID < mine[j].ID })
	var cur *metapb.StorageNode
	if node != "" && after != nodeDone {
		for i := range mine {
			if mine[i].ID == node {
				cur = &mine[i]
			}
		}
	}
	if cur == nil {
		// Start the next node due a scan (after the one named, if any).
		after = ""
		for i := range mine {
			if mine[i].ID > node && o.due(mine[i].ID) {
				cur = &mine[i]
				break
			}
		}
		if cur == nil {
			return phaseOrphans, 0, true, nil
		}
	}
	n, last, more, err := o.page(ctx, *cur, after, valid)
	if err != nil {
		// This node waits for its next interval; the pass goes on to the others.
		o.cfg.Logger.Warn("janitor: orphan scan of a node failed", "node", cur.ID, "partition", p, "err", err)
		o.done(cur.ID)
		return phaseOrphans + "/" + cur.ID + "/" + nodeDone, n, false, nil
	}
	if !more {
		o.done(cur.ID)
		return phaseOrphans + "/" + cur.ID + "/" + nodeDone, n, false, nil
	}
	return phaseOrphans + "/" + cur.ID + "/" + last, n, false, nil
}

// storageNodes is the control plane's node list: the server's cached view
// when it has one (Config.Nodes, refreshed every second), else one RPC.
func (o *orphanScan) storageNodes(ctx context.Context) ([]metapb.StorageNode, error) {
	if o.cfg.Nodes != nil {
		if ns := o.cfg.Nodes(); len(ns) > 0 {
			return ns, nil
		}
	}
	return o.meta.StorageNodes(ctx)
}

func (o *orphanScan) due(node string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.last[node]
	return !ok || time.Since(t) >= o.cfg.OrphanInterval
}

func (o *orphanScan) done(node string) {
	o.mu.Lock()
	o.last[node] = time.Now()
	o.mu.Unlock()
	o.m.orphanNodeScans.Inc()
}

// page lists one page of node after after, checks the old shards against
// every partition and deletes the orphans. It returns the shards deleted,
// the last id listed and whether the listing goes on.
func (o *orphanScan) page(ctx context.Context, node metapb.StorageNode, after string, valid func() bool) (int, string, bool, error) {
	// R2: list first, then read the metadata. Everything listed existed
	// before the reference check below.
	lr, err := o.nodes.List(ctx, node.Addr, "", after, orphanPage)
	if err != nil {
		return 0, after, false, fmt.Errorf("list %s: %w", node.ID, err)
	}
	o.m.orphanScanned.Add(float64(len(lr.Shards)))
	last := after
	if len(lr.Shards) > 0 {
		last = lr.Shards[len(lr.Shards)-1].ID
	}
	// R3: only shards older than OrphanMinAge by the node's clock.
	var cands []metapb.ShardRef
	size := map[string]int64{}
	for _, s := range lr.Shards {
		if time.Duration(s.AgeNanos) >= o.cfg.OrphanMinAge {
			cands = append(cands, metapb.ShardRef{Node: node.ID, ID: s.ID})
			size[s.ID] = s.Size
		}
	}
	// R1: a shard's records live in one partition (its object's), which
	// the id does not name: it is an orphan only if no partition
	// references it. Each partition answers on one consistent state.
	for p := 0; p < o.cfg.Meta.Partitions() && len(cands) > 0; p++ {
		un, err := o.meta.Unreferenced(ctx, p, cands)
		if err != nil {
			return 0, last, false, fmt.Errorf("reference check in partition %d: %w", p, err)
		}
		cands = un
	}
	deleted := 0
	for _, c := range cands {
		if !valid() { // R6: the lease is still ours before each delete
			return deleted, after, true, nil // the next holder lists this page again
		}
		if err := o.nodes.Delete(ctx, node.Addr, c.ID); err != nil {
			return deleted, last, false, fmt.Errorf("delete orphan %s on %s: %w", c.ID, node.ID, err)
		}
		deleted++
		o.m.orphansDeleted.Inc()
		o.m.orphanBytes.Add(float64(size[c.ID]))
		o.cfg.Logger.Info("janitor: deleted orphan shard", "node", node.ID, "shard", c.ID, "bytes", size[c.ID])
	}
	return deleted, last, lr.Truncated, nil
}

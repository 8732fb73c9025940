package metaclient

import (
	"context"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Lease applies a lease request (acquire, renew, release) to partition's
// Raft group. A lease held by another holder, or a renew that came too late,
// answers an error matching ErrConflict, with the current record in the
// Result when there is one.
func (c *Client) Lease(ctx context.Context, partition int, r metapb.LeaseRequest) (metapb.Result, error) {
	return c.applyTo(ctx, partition, metapb.Command{Type: metapb.CmdLease, Lease: &r})
}

// Checkpoint writes a worker checkpoint in partition, fenced by the lease
// named in r (ErrConflict when the writer no longer holds it).
func (c *Client) Checkpoint(ctx context.Context, partition int, r metapb.CheckpointRequest) (metapb.Result, error) {
	return c.applyTo(ctx, partition, metapb.Command{Type: metapb.CmdCheckpoint, Checkpoint: &r})
}

// Background returns partition's leases and worker checkpoints.
func (c *Client) Background(ctx context.Context, partition int) ([]metapb.Lease, []metapb.Checkpoint, error) {
	r, err := c.read(ctx, partition, "background", metapb.ReadRequest{})
	return r.Leases, r.Checkpoints, err
}

// Unreferenced returns those of refs (at most metastate.MaxRefCheck, 5000)
// that no record of partition references, judged on one consistent state
// through a linearizable read (docs/gc-safety.md). A shard's records all
// live in its object's partition, which callers that cannot tell which one
// that is find by asking every partition.
func (c *Client) Unreferenced(ctx context.Context, partition int, refs []metapb.ShardRef) ([]metapb.ShardRef, error) {
	r, err := c.read(ctx, partition, "unreferenced", metapb.ReadRequest{Shards: refs})
	return r.Shards, err
}

// NodeRefs counts the shards partition's records place on storage node
// node (committed and planned by PREPAREs), on one consistent state
// through a linearizable read.
func (c *Client) NodeRefs(ctx context.Context, partition int, node string) (metapb.NodeRefs, error) {
	r, err := c.read(ctx, partition, "noderefs", metapb.ReadRequest{Node: node})
	if err != nil {
		return metapb.NodeRefs{}, err
	}
	return deref(r.NodeRefs), nil
}

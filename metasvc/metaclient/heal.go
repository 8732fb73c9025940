package metaclient

import (
	"context"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// ScanShards returns up to max committed records holding shards in
// partition p after cursor c (the scrubber's walk; metastate.ScanShards).
func (c *Client) ScanShards(ctx context.Context, p int, cur metapb.ShardCursor, max int) (metapb.ShardScanResponse, error) {
	r, err := c.read(ctx, p, "shardscan", metapb.ReadRequest{Cursor: &cur, Max: max})
	if err != nil {
		return metapb.ShardScanResponse{}, err
	}
	return deref(r.ShardScan), nil
}

// ReplaceShards swaps rebuilt shards into a committed record by
// compare-and-swap (ErrConflict: the record changed; the new shards were
// queued as garbage).
func (c *Client) ReplaceShards(ctx context.Context, r metapb.ReplaceShardsRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdReplaceShards, ReplaceShards: &r})
}

// Suspect reports a committed version a read found damaged (the gateway,
// after a GET that had to reconstruct).
func (c *Client) Suspect(ctx context.Context, sp metapb.Suspect) error {
	_, err := c.apply(ctx, sp.Bucket, sp.Key, metapb.Command{Type: metapb.CmdSuspect, Suspect: &metapb.SuspectRequest{Add: []metapb.Suspect{sp}}})
	return err
}

// Suspects lists up to max suspects of partition p.
func (c *Client) Suspects(ctx context.Context, p int, max int) ([]metapb.Suspect, error) {
	r, err := c.read(ctx, p, "suspects", metapb.ReadRequest{Max: max})
	return r.Suspects, err
}

// AckSuspects removes handled suspects of partition p.
func (c *Client) AckSuspects(ctx context.Context, p int, sps []metapb.Suspect) error {
	_, err := c.applyTo(ctx, p, metapb.Command{Type: metapb.CmdSuspect, Suspect: &metapb.SuspectRequest{Ack: sps}})
	return err
}

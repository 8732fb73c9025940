package background

import (
	"context"
	"errors"

	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
)

// RegionShards is Shards over the real storage client (verify) and the
// data path's engine (rebuild).
type RegionShards struct {
	Client *storageclient.Client
	Engine *objectio.Engine
}

// Verify maps the node's answer: NotFound → missing; a corrupt verdict →
// corrupt; any other error → no answer.
func (s RegionShards) Verify(ctx context.Context, addr, id string) (ShardHealth, error) {
	r, err := s.Client.Verify(ctx, addr, id)
	switch {
	case errors.Is(err, storageclient.ErrNotFound):
		return ShardMissing, nil
	case errors.Is(err, storageclient.ErrCorrupt):
		return ShardCorrupt, nil
	case err != nil:
		return 0, err
	case !r.OK:
		return ShardCorrupt, nil
	}
	return ShardOK, nil
}

// RebuildShards is objectio.Engine.RebuildShards.
func (s RegionShards) RebuildShards(ctx context.Context, scheme metapb.Scheme, src metapb.Segment, targets []metapb.ShardRef) ([]metapb.ShardRef, error) {
	return s.Engine.RebuildShards(ctx, scheme, src, targets)
}

package devcluster

import (
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"time"

	"github.com/meridian-s3/meridian/background"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
)

// startBackground builds a region's background server (one per region in
// the dev deployment; several may run per region in production).
func startBackground(region string, meta *metaclient.Client, data *objectio.Engine, shards *storageclient.Client, nodes func() []metapb.StorageNode,
	catalog background.Catalog, links background.ReplicaLinks, lifecycleDay time.Duration, reg *prometheus.Registry, log *slog.Logger) (*background.Server, error) {
	bc := background.DefaultConfig()
	bc.Region = region
	bc.ID = region + "/background"
	bc.Meta, bc.Data, bc.Catalog, bc.Logger = meta, data, catalog, log
	bc.Shards, bc.Nodes = background.RegionShards{Client: shards, Engine: data}, nodes
	bc.LifecycleDay = lifecycleDay
	bc.Registry = reg
	bc.Orphans = shards // the janitor's orphan scan (docs/gc-safety.md)
	if links != nil && catalog != nil {
		bc.Links = links // the replicator (docs/replication.md)
	}
	return background.New(bc)
}

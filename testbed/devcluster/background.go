package devcluster

import (
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"time"

	"github.com/meridian-s3/meridian/background"
	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/regional/ssekeys"
	"github.com/meridian-s3/meridian/regional/ssekms"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
)

// DevScrubRate is the scrub rate per storage node of the single-machine
// deployment (bytes/s).
const DevScrubRate = 4 << 20

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
	// Every storage node of the dev deployment shares one machine: the
	// per-node scrub rate is the machine's budget split over its nodes.
	// 4 MiB/s × 16 nodes kept foreground PUT+GET at ≈ 90 % of its
	// throughput on the 2-core dev machine (make bench-heal,
	// docs/background.md "Performance"); the default 256 MiB/s per node
	// (meant for a node with its own disks and cores) left 42 %.
	bc.ScrubRate = DevScrubRate
	bc.Registry = reg
	bc.Orphans = shards // the janitor's orphan scan (docs/gc-safety.md)
	if links != nil && catalog != nil {
		bc.Links = links // the replicator (docs/replication.md)
		if ks, ok := catalog.(bucketsvc.ServerKeyStore); ok {
			bc.SSEKeys, bc.KMS = ssekeys.New(ks, region), ssekms.New(ks, region) // encrypted versions
		}
	}
	return background.New(bc)
}

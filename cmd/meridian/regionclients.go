package main

import (
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/regional/nodeview"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/storagesvc/storageclient"
)

// regionClients is how a gateway or a background server reaches its region:
// the metadata client (mutual TLS as node) and the shard engine over the
// storage nodes the control plane reports.
type regionClients struct {
	meta   *metaclient.Client
	view   *nodeview.View
	data   *objectio.Engine
	shards *storageclient.Client
}

// serverDiscoverTimeout is how long a long-running role (storage node,
// gateway, background server) waits at start for the metadata service to
// answer: a process started with, or before, its metadata nodes waits for
// them to elect leaders instead of exiting (tools keep metaclient's 10 s).
const serverDiscoverTimeout = 2 * time.Minute

// openRegionClients connects to the meta nodes at seeds ("host:port,…")
// with o's logger and tracer. Close releases what it opened.
func openRegionClients(seeds string, node *mtls.Node, o roleObs) (*regionClients, error) {
	mc := metaclient.DefaultConfig()
	mc.DiscoverTimeout = serverDiscoverTimeout
	mc.Seeds = splitList(seeds)
	mc.Logger = o.log
	mc.TracerProvider = o.tracer
	mc.TLS = node
	client, err := metaclient.New(mc)
	if err != nil {
		return nil, err
	}
	view := nodeview.New(client, time.Second, o.log)
	oc := objectio.DefaultConfig()
	sc := storageclient.NewTLS(node)
	oc.Client = sc
	oc.Nodes = view.Nodes // all nodes with health: placement uses healthy ones, reads fall back to the rest
	oc.FreshNodes = view.Fresh
	oc.Logger = o.log
	engine, err := objectio.New(oc)
	if err != nil {
		view.Close()
		client.Close()
		return nil, err
	}
	return &regionClients{meta: client, view: view, data: engine, shards: sc}, nil
}

// Close stops the node view, then closes the metadata client.
func (r *regionClients) Close() {
	r.view.Close()
	r.meta.Close()
}

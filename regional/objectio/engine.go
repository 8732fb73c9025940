package objectio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/internal/quorum"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/erasure"
	"github.com/meridian-s3/meridian/regional/placement"
	"github.com/meridian-s3/meridian/storagesvc/storagepb"
)

// Errors.
var (
	ErrConfig       = errors.New("objectio: invalid config")
	ErrVersionID    = errors.New("objectio: version id not usable in shard ids")
	ErrSegments     = errors.New("objectio: segments do not match the engine or the object")
	ErrRange        = errors.New("objectio: range outside the object")
	ErrUnavailable  = errors.New("objectio: not enough shards available")
	ErrWriteQuorum  = errors.New("objectio: write quorum not reached")
	ErrStalled      = errors.New("objectio: shard stream stalled")
	ErrShardAck     = errors.New("objectio: storage node acknowledged a different size or checksum")
	ErrUnknownNode  = errors.New("objectio: storage node not in the control plane's view")
	ErrCorruptShard = errors.New("objectio: shard bytes do not match their recorded CRC-32C")
)

// cleanupTimeout bounds best-effort deletes after a failed write.
const cleanupTimeout = 10 * time.Second

// Engine writes and reads objects' erasure-coded segments. It is safe for
// concurrent use and owns no background goroutines: every goroutine it
// starts ends before the call that started it returns.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	layout erasure.Layout

	mu     sync.Mutex
	codecs map[metapb.Scheme]*erasure.Codec

	chunks  sync.Pool // *[]byte chunk buffers of cfg.Scheme.ChunkSize for write streams
	windows sync.Pool // *[]byte read window buffers (any size; too small ones are dropped)
	m       metrics

	// suspects: nodes whose shard writes just failed, treated as unhealthy
	// for SuspectFor, so that the requests following a node's death do not
	// each rediscover it while the control plane's heartbeats time out.
	suspectMu sync.Mutex
	suspects  map[string]time.Time // node id → suspect until
}

// suspect marks a node as unhealthy for Config.SuspectFor.
func (e *Engine) suspect(id string) {
	if e.cfg.SuspectFor <= 0 || id == "" {
		return
	}
	e.suspectMu.Lock()
	if e.suspects == nil {
		e.suspects = map[string]time.Time{}
	}
	e.suspects[id] = time.Now().Add(e.cfg.SuspectFor)
	e.suspectMu.Unlock()
}

// nodes is the control plane's view with this engine's suspects marked
// unhealthy.
func (e *Engine) nodes() []metapb.StorageNode {
	return e.withSuspects(e.cfg.Nodes())
}

// withSuspects returns nodes with this engine's suspects marked unhealthy.
func (e *Engine) withSuspects(nodes []metapb.StorageNode) []metapb.StorageNode {
	e.suspectMu.Lock()
	defer e.suspectMu.Unlock()
	if len(e.suspects) == 0 {
		return nodes
	}
	now := time.Now()
	out := make([]metapb.StorageNode, len(nodes))
	copy(out, nodes)
	for i := range out {
		if until, ok := e.suspects[out[i].ID]; ok {
			if now.Before(until) {
				out[i].Healthy = false
			} else {
				delete(e.suspects, out[i].ID)
			}
		}
	}
	return out
}

// New returns an engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, _ := erasure.NewLayout(cfg.Scheme)
	e := &Engine{cfg: cfg, log: cfg.Logger, layout: l, codecs: map[metapb.Scheme]*erasure.Codec{}}
	if e.log == nil {
		e.log = slog.Default()
	}
	chunk := cfg.Scheme.ChunkSize
	e.chunks.New = func() any { b := make([]byte, chunk); return &b }
	return e, nil
}

// Scheme is the scheme of new writes.
func (e *Engine) Scheme() metapb.Scheme { return e.cfg.Scheme }

func (e *Engine) codec(s metapb.Scheme) (*erasure.Codec, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.codecs[s]; c != nil {
		return c, nil
	}
	c, err := erasure.New(s)
	if err != nil {
		return nil, err
	}
	e.codecs[s] = c
	return c, nil
}

// ShardID is the id of shard idx of segment seg of a version:
// "<versionID>.<seg>.<idx>". The janitor recognises a version's shards by
// the "<versionID>." prefix.
func ShardID(versionID string, seg, idx int) string {
	return versionID + "." + strconv.Itoa(seg) + "." + strconv.Itoa(idx)
}

func validVersionID(vid string) error {
	if vid == "" || len(vid) > storagepb.MaxShardIDLen-16 {
		return fmt.Errorf("%w: length %d", ErrVersionID, len(vid))
	}
	for i := 0; i < len(vid); i++ {
		c := vid[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q", ErrVersionID, vid)
		}
	}
	return nil
}

// Plan returns the segments of a new object of size bytes with a placement
// per segment and the shard ids, sizes and nodes it will write (CRCs are 0
// until written). A zero-size object has no segments. It fails with
// placement.ErrNotEnoughNodes when fewer than Data+1 nodes are healthy.
// Before it places two shards of a segment on one node (fewer usable nodes
// than shards in the cached view), it reads the view again through
// Config.FreshNodes (bounded by ctx), once per call.
func (e *Engine) Plan(ctx context.Context, versionID string, size int64) ([]metapb.Segment, error) {
	if err := validVersionID(versionID); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrRange)
	}
	registered := e.cfg.Nodes()
	fresh := e.cfg.FreshNodes == nil
	var segs []metapb.Segment
	for off, i := int64(0), 0; off < size; off, i = off+e.cfg.SegmentSize, i+1 {
		s := metapb.Segment{Offset: off, Size: min(e.cfg.SegmentSize, size-off)}
		seed := placement.HashString(versionID + "/" + strconv.Itoa(i))
		p, err := e.choose(registered, seed)
		if (err != nil || distinct(p.Nodes) < e.layout.N()) && !fresh {
			// A shared placement lowers the object's fault tolerance for
			// good, and the cached view may be stale (a gateway started
			// with its storage nodes, nodes back from a restart): decide
			// it on a current one.
			fresh = true
			registered = e.cfg.FreshNodes(ctx)
			e.m.freshViews.Add(1)
			p, err = e.choose(registered, seed)
		}
		if err != nil {
			return nil, fmt.Errorf("objectio: place segment %d: %w", i, err)
		}
		if distinct(p.Nodes) < len(p.Nodes) {
			e.m.sharedPlans.Add(1)
		}
		shardSize := e.layout.ShardSize(s.Size)
		for idx, n := range p.Nodes {
			s.Shards = append(s.Shards, metapb.ShardRef{
				Index: idx, Node: n.ID, AZ: n.AZ, ID: ShardID(versionID, i, idx), Size: shardSize,
			})
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// choose places one segment on registered (the control plane's view): on
// the healthy nodes that are not suspects, else on the healthy ones, else
// on all of them.
func (e *Engine) choose(registered []metapb.StorageNode, seed uint64) (placement.Placement, error) {
	p, err := placement.Choose(e.withSuspects(registered), e.layout.N(), e.layout.M, seed)
	if err != nil {
		// Too few nodes without the suspects: let the writes find out.
		p, err = placement.Choose(registered, e.layout.N(), e.layout.M, seed)
	}
	if err != nil {
		// Too few reported healthy: health is advisory (a new
		// control-plane leader knows no heartbeats yet), so try every
		// registered node; writes to dead ones fail and are replaced.
		p, err = placement.Choose(assumeHealthy(registered), e.layout.N(), e.layout.M, seed)
	}
	return p, err
}

// nodeView indexes the control plane's nodes by id.
type nodeView map[string]metapb.StorageNode

func (e *Engine) view() nodeView {
	v := nodeView{}
	for _, n := range e.nodes() {
		v[n.ID] = n
	}
	return v
}

// Delete deletes every shard of segs, in parallel per segment, best effort;
// it returns the first error (after trying everything).
func (e *Engine) Delete(ctx context.Context, segs []metapb.Segment) error {
	return e.deleteRefs(ctx, e.view(), allRefs(segs))
}

func allRefs(segs []metapb.Segment) []metapb.ShardRef {
	var out []metapb.ShardRef
	for _, s := range segs {
		out = append(out, s.Shards...)
	}
	return out
}

// deleteRefs deletes refs with up to 16 in flight and returns the first error.
func (e *Engine) deleteRefs(ctx context.Context, view nodeView, refs []metapb.ShardRef) error {
	var first error
	const batch = 16
	for lo := 0; lo < len(refs); lo += batch {
		part := refs[lo:min(lo+batch, len(refs))]
		// Need 1 with WaitAll runs every task to completion.
		res, _ := quorum.Run(ctx, len(part), quorum.Strategy{Need: 1, WaitAll: true},
			func(ctx context.Context, i, _ int) (struct{}, error) {
				r := part[i]
				if r.Node == "" {
					return struct{}{}, nil
				}
				n, ok := view[r.Node]
				if !ok {
					return struct{}{}, fmt.Errorf("delete %s: %w: %s", r.ID, ErrUnknownNode, r.Node)
				}
				return struct{}{}, e.cfg.Client.Delete(ctx, n.Addr, r.ID)
			})
		for _, err := range res.Errs {
			if err != nil && first == nil {
				first = err
			}
		}
		if first == nil && ctx.Err() != nil {
			first = ctx.Err()
		}
	}
	return first
}

// distinct counts the different node ids in nodes.
func distinct(nodes []metapb.StorageNode) int {
	seen := map[string]bool{}
	for _, n := range nodes {
		seen[n.ID] = true
	}
	return len(seen)
}

// assumeHealthy returns nodes with every one marked healthy.
func assumeHealthy(nodes []metapb.StorageNode) []metapb.StorageNode {
	out := make([]metapb.StorageNode, len(nodes))
	copy(out, nodes)
	for i := range out {
		out[i].Healthy = true
	}
	return out
}

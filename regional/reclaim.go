package regional

import (
	"context"
	"time"
)

// reclaimLoop drains the partitions' garbage queues: it deletes the shards of
// versions that no committed record references any more (overwritten,
// deleted, aborted, unused parts) and then acknowledges them. The queue is
// filled by the state machine in the same Raft command that dropped the
// reference, so nothing referenced is ever queued (docs/commit-protocol.md).
// Deletes are idempotent, so two gateways draining the same queue is harmless.
func (g *Gateway) reclaimLoop() {
	t := time.NewTicker(g.cfg.ReclaimInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		for p := 0; p < g.cfg.Meta.Partitions(); p++ {
			select {
			case <-g.stop:
				return
			default:
			}
			g.reclaimPartition(p)
		}
	}
}

func (g *Gateway) reclaimPartition(p int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	items, err := g.cfg.Meta.ListGarbage(ctx, p, 64)
	if err != nil || len(items) == 0 {
		if err != nil {
			g.log.Debug("reclaim: list garbage", "partition", p, "err", err)
		}
		return
	}
	var done []uint64
	for _, it := range items {
		if len(it.Segments) > 0 {
			if err := g.cfg.Data.Delete(ctx, it.Segments); err != nil {
				g.log.Debug("reclaim: delete shards", "partition", p, "garbage", it.ID, "err", err)
				continue // retried next round
			}
		}
		done = append(done, it.ID)
		g.metrics.reclaimed.Inc()
	}
	if len(done) > 0 {
		if _, err := g.cfg.Meta.AckGarbage(ctx, p, done); err != nil {
			g.log.Debug("reclaim: ack", "partition", p, "err", err)
		}
	}
}

package background

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// held is this process's view of one partition lease it holds.
type held struct {
	epoch uint64
	// validUntil is local (monotonic) time: the send time of the request
	// that granted or renewed the lease + TTL − ClockMargin. The leader
	// stamped the grant no earlier than the send, so the lease outlives
	// validUntil unless a meta node's clock runs ahead by more than the
	// margin.
	validUntil time.Time
}

// leaser takes, renews and releases the partition leases of one process.
type leaser struct {
	cfg *Config
	m   *metrics

	mu      sync.Mutex
	held    map[int]held
	leaving map[int]held // withdrawn for balance, released once no step runs
	active  map[int]int  // steps in progress per partition (begin/end)
	// givenBack holds partitions released for balance until when this
	// process may ask for them again: without it the next round re-acquired
	// a partition before the waiting process asked, and the two could
	// trade it back and forth for many rounds on a loaded machine.
	givenBack map[int]time.Time
	// onAcquire, if set, is told after a round that acquired a lease
	// (workers start a pass over the new partition without waiting out
	// their interval).
	onAcquire func()
}

func newLeaser(cfg *Config, m *metrics) *leaser {
	return &leaser{cfg: cfg, m: m, held: map[int]held{}, leaving: map[int]held{}, active: map[int]int{}, givenBack: map[int]time.Time{}}
}

// begin marks a step on p under epoch as in progress, if the lease is
// still valid; end must follow.
func (l *leaser) begin(p int, epoch uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.held[p]
	if !ok || h.epoch != epoch || !time.Now().Before(h.validUntil) {
		return false
	}
	l.active[p]++
	return true
}

func (l *leaser) end(p int) {
	l.mu.Lock()
	l.active[p]--
	l.mu.Unlock()
}

// Epoch returns the epoch of partition p's lease while it is valid locally.
func (l *leaser) Epoch(p int) (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.held[p]
	if !ok || !time.Now().Before(h.validUntil) {
		return 0, false
	}
	return h.epoch, true
}

// Held returns the partitions whose leases are valid now, ascending.
func (l *leaser) Held() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	var out []int
	for p, h := range l.held {
		if now.Before(h.validUntil) {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out
}

// run renews held leases and seeks free ones every RenewInterval until ctx ends.
func (l *leaser) run(ctx context.Context) {
	t := time.NewTicker(l.cfg.RenewInterval)
	defer t.Stop()
	for {
		l.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round renews every held lease and tries to acquire every other
// partition's, then gives back partitions beyond a fair share when other
// processes are waiting for them (balancing).
func (l *leaser) round(ctx context.Context) {
	parts := l.cfg.Meta.Partitions()
	peers := map[string]bool{l.cfg.ID: true} // processes seen holding or waiting
	var wanted []int                         // held partitions another process asked for
	for p := 0; p < parts; p++ {
		if ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		h, ok := l.held[p]
		_, leaving := l.leaving[p]
		l.mu.Unlock()
		if leaving {
			continue // being given back
		}
		if until, ok := l.givenBack[p]; ok {
			if time.Now().Before(until) {
				continue // left for the process that waited for it
			}
			delete(l.givenBack, p)
		}
		req := metapb.LeaseRequest{Op: metapb.LeaseAcquire, Name: LeaseName, Holder: l.cfg.ID, TTL: l.cfg.LeaseTTL}
		if ok {
			req.Op, req.Epoch = metapb.LeaseRenew, h.epoch
		}
		rctx, cancel := context.WithTimeout(ctx, l.cfg.RenewInterval)
		sent := time.Now()
		res, err := l.cfg.Meta.Lease(rctx, p, req)
		cancel()
		l.mu.Lock()
		switch {
		case err == nil && res.Lease != nil && res.Lease.Holder == l.cfg.ID:
			// A waiter refused since this tenure's previous renewal.
			if w := res.Lease.Waiter; w != "" && res.Lease.WaitUntil.After(res.Lease.Expires.Add(-l.cfg.LeaseTTL)) {
				peers[w] = true
				wanted = append(wanted, p)
			}
			if !ok || h.epoch != res.Lease.Epoch {
				l.cfg.Logger.Info("background: lease acquired", "partition", p, "epoch", res.Lease.Epoch)
				if l.onAcquire != nil {
					defer l.onAcquire() // after the lease is recorded and the lock released
				}
			}
			l.held[p] = held{epoch: res.Lease.Epoch, validUntil: sent.Add(l.cfg.LeaseTTL - l.cfg.ClockMargin)}
		case errors.Is(err, metaclient.ErrConflict):
			if res.Lease != nil && res.Lease.Holder != "" {
				peers[res.Lease.Holder] = true
			}
			if ok {
				l.cfg.Logger.Warn("background: lease lost", "partition", p, "epoch", h.epoch, "err", err)
			}
			delete(l.held, p)
		case err != nil:
			// Unknown outcome (meta unavailable): keep the local validity;
			// the lease lapses by itself when validUntil passes.
			l.cfg.Logger.Debug("background: lease request", "partition", p, "op", req.Op, "err", err)
		}
		l.mu.Unlock()
	}
	l.rebalance(ctx, parts, len(peers), wanted)
	l.m.leasesHeld.Set(float64(len(l.Held())))
}

// rebalance gives back, from the partitions others wait for, those beyond
// this process's fair share ceil(parts / peers). A partition is first
// withdrawn (no new step starts on it) and released only once its step in
// progress has ended — in this round or a later one, so a long step never
// holds up the renewal of the other leases — and the successor never
// overlaps it.
func (l *leaser) rebalance(ctx context.Context, parts, peers int, wanted []int) {
	share := (parts + peers - 1) / peers
	extra := len(l.Held()) - share
	l.mu.Lock()
	for i := len(wanted) - 1; i >= 0 && extra > 0; i-- {
		if h, ok := l.held[wanted[i]]; ok {
			delete(l.held, wanted[i])
			l.leaving[wanted[i]] = h
			extra--
		}
	}
	ready := map[int]held{}
	for p, h := range l.leaving {
		if l.active[p] == 0 {
			ready[p] = h
			delete(l.leaving, p)
		}
	}
	l.mu.Unlock()
	for p, h := range ready {
		l.givenBack[p] = time.Now().Add(l.cfg.LeaseTTL)
		_, err := l.cfg.Meta.Lease(ctx, p, metapb.LeaseRequest{Op: metapb.LeaseRelease, Name: LeaseName, Holder: l.cfg.ID, Epoch: h.epoch})
		l.cfg.Logger.Info("background: lease given back for balance", "partition", p, "epoch", h.epoch, "share", share, "peers", peers, "err", err)
	}
}

// releaseAll gives every held lease back so others take over at once.
func (l *leaser) releaseAll(ctx context.Context) {
	l.mu.Lock()
	all := l.held
	l.held = map[int]held{}
	l.mu.Unlock()
	for p, h := range all {
		_, err := l.cfg.Meta.Lease(ctx, p, metapb.LeaseRequest{Op: metapb.LeaseRelease, Name: LeaseName, Holder: l.cfg.ID, Epoch: h.epoch})
		if err != nil {
			l.cfg.Logger.Debug("background: lease release", "partition", p, "err", err)
		}
	}
	l.m.leasesHeld.Set(0)
}

// drop forgets partition p's lease of epoch (the state machine refused a
// write under it: it expired or was taken).
func (l *leaser) drop(p int, epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.held[p]; ok && h.epoch == epoch {
		delete(l.held, p)
		l.cfg.Logger.Warn("background: lease lost (fenced write refused)", "partition", p, "epoch", epoch)
	}
}

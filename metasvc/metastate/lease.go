package metastate

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// bgState holds the background processes' records of a partition: leases
// and worker checkpoints (metapb/background.go), and the state machine's
// clock. Records are values; maps are copied on clone.
type bgState struct {
	// clock is the largest Command.Time applied (unix ns): leases expire
	// against it, never against a replica's own clock.
	clock       int64
	leases      map[string]metapb.Lease
	checkpoints map[string]metapb.Checkpoint  // by worker name
	suspects    map[suspectKey]metapb.Suspect // heal.go
}

type suspectKey struct{ bucket, key, vid string }

func newBG() bgState {
	return bgState{leases: map[string]metapb.Lease{}, checkpoints: map[string]metapb.Checkpoint{}, suspects: map[suspectKey]metapb.Suspect{}}
}

func (b bgState) clone() bgState {
	c := bgState{clock: b.clock, leases: make(map[string]metapb.Lease, len(b.leases)),
		checkpoints: make(map[string]metapb.Checkpoint, len(b.checkpoints))}
	for k, v := range b.leases {
		c.leases[k] = v
	}
	for k, v := range b.checkpoints {
		c.checkpoints[k] = v
	}
	c.suspects = make(map[suspectKey]metapb.Suspect, len(b.suspects))
	for k, v := range b.suspects {
		c.suspects[k] = v
	}
	return c
}

// observe advances the clock to now; it never moves back (a new leader
// whose clock is behind does not revive expired leases).
func (b *bgState) observe(now time.Time) {
	if n := now.UnixNano(); n > b.clock {
		b.clock = n
	}
}

func (b *bgState) now() time.Time { return time.Unix(0, b.clock).UTC() }

// held reports whether l is held (has a holder and has not expired).
func (b *bgState) held(l metapb.Lease) bool {
	return l.Holder != "" && l.Expires.UnixNano() > b.clock
}

func (t *trees) lease(r *metapb.LeaseRequest) metapb.Result {
	b := &t.bg
	if r.Name == "" || r.Holder == "" {
		return errResult(metapb.ErrBadRequest, "lease: name and holder are required")
	}
	if (r.Op == metapb.LeaseAcquire || r.Op == metapb.LeaseRenew) && (r.TTL <= 0 || r.TTL > metapb.MaxLeaseTTL) {
		return errResult(metapb.ErrBadRequest, fmt.Sprintf("lease: ttl %v out of (0, %v]", r.TTL, metapb.MaxLeaseTTL))
	}
	cur, had := b.leases[r.Name]
	conflict := func(msg string) metapb.Result {
		res := errResult(metapb.ErrConflict, "lease "+r.Name+": "+msg)
		if had {
			c := cur
			res.Lease = &c
		}
		return res
	}
	now := b.now()
	switch r.Op {
	case metapb.LeaseAcquire:
		if had && b.held(cur) && cur.Holder != r.Holder {
			// Record the demand (the holder sees it when it renews).
			cur.Waiter, cur.WaitUntil = r.Holder, now.Add(r.TTL)
			b.leases[r.Name] = cur
			return conflict("held by " + cur.Holder)
		}
		l := cur
		if !had || !b.held(cur) {
			// A new tenure: fresh epoch. (The same holder re-acquiring an
			// expired lease also gets a new epoch: it may have been taken
			// and lost meanwhile, and its old checkpoint writes must fail.)
			l = metapb.Lease{Name: r.Name, Holder: r.Holder, Epoch: cur.Epoch + 1, Acquired: now, PrevEnded: cur.Expires}
		}
		if l.Waiter == r.Holder {
			l.Waiter, l.WaitUntil = "", time.Time{}
		}
		l.Expires = now.Add(r.TTL)
		b.leases[r.Name] = l
		return metapb.Result{Lease: &l}
	case metapb.LeaseRenew:
		if !had || cur.Holder != r.Holder || cur.Epoch != r.Epoch {
			return conflict("not held by " + r.Holder + " at this epoch")
		}
		if !b.held(cur) {
			return conflict("expired")
		}
		cur.Expires = now.Add(r.TTL)
		b.leases[r.Name] = cur
		return metapb.Result{Lease: &cur}
	case metapb.LeaseRelease:
		if !had || cur.Holder != r.Holder || cur.Epoch != r.Epoch {
			// Releasing what one does not hold changes nothing.
			res := metapb.Result{}
			if had {
				c := cur
				res.Lease = &c
			}
			return res
		}
		cur.Holder = ""
		if cur.Expires.After(now) {
			cur.Expires = now
		}
		b.leases[r.Name] = cur
		return metapb.Result{Lease: &cur}
	}
	return errResult(metapb.ErrBadRequest, fmt.Sprintf("lease: unknown op %d", r.Op))
}

func (t *trees) checkpoint(r *metapb.CheckpointRequest) metapb.Result {
	b := &t.bg
	c := r.Checkpoint
	if r.Lease == "" || c.Worker == "" || c.Holder == "" {
		return errResult(metapb.ErrBadRequest, "checkpoint: lease, worker and holder are required")
	}
	l, ok := b.leases[r.Lease]
	if !ok || !b.held(l) || l.Holder != c.Holder || l.Epoch != c.Epoch {
		res := errResult(metapb.ErrConflict, "checkpoint: lease "+r.Lease+" not held by "+c.Holder+" at this epoch")
		if ok {
			res.Lease = &l
		}
		return res
	}
	c.Format = metapb.FormatV1
	c.Updated = b.now()
	b.checkpoints[c.Worker] = c
	return metapb.Result{Lease: &l}
}

// Background returns the partition's leases and checkpoints (sorted by name)
// and the state machine's clock.
func (s *State) Background() (leases []metapb.Lease, checkpoints []metapb.Checkpoint, clock time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := &s.t.bg
	for _, l := range b.leases {
		leases = append(leases, l)
	}
	for _, c := range b.checkpoints {
		checkpoints = append(checkpoints, c)
	}
	sort.Slice(leases, func(i, j int) bool { return leases[i].Name < leases[j].Name })
	sort.Slice(checkpoints, func(i, j int) bool { return checkpoints[i].Worker < checkpoints[j].Worker })
	return leases, checkpoints, b.now()
}

// ---- snapshot frames ----

const (
	frameLease      = 11 // v3
	frameCheckpoint = 12 // v3
	frameSuspect    = 14 // v4 (heal.go)
)

// writeBG writes the background records in name order (deterministic bytes).
func (sw *snapWriter) writeBG(b *bgState) {
	names := make([]string, 0, len(b.leases))
	for k := range b.leases {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		sw.frame(frameLease, b.leases[k])
	}
	names = names[:0]
	for k := range b.checkpoints {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		sw.frame(frameCheckpoint, b.checkpoints[k])
	}
	for _, sp := range b.sortedSuspects() {
		sw.frame(frameSuspect, sp)
	}
}

func (b *bgState) decodeFrame(kind byte, p []byte) error {
	switch kind {
	case frameLease:
		var l metapb.Lease
		if err := json.Unmarshal(p, &l); err != nil {
			return corrupt("lease: %v", err)
		}
		if _, had := b.leases[l.Name]; had || l.Name == "" {
			return corrupt("duplicate or unnamed lease")
		}
		b.leases[l.Name] = l
	case frameCheckpoint:
		var c metapb.Checkpoint
		if err := json.Unmarshal(p, &c); err != nil {
			return corrupt("checkpoint: %v", err)
		}
		if _, had := b.checkpoints[c.Worker]; had || c.Worker == "" {
			return corrupt("duplicate or unnamed checkpoint")
		}
		b.checkpoints[c.Worker] = c
	case frameSuspect:
		var sp metapb.Suspect
		if err := json.Unmarshal(p, &sp); err != nil {
			return corrupt("suspect: %v", err)
		}
		k := suspectKey{sp.Bucket, sp.Key, sp.VersionID}
		if _, had := b.suspects[k]; had {
			return corrupt("duplicate suspect")
		}
		b.suspects[k] = sp
	}
	return nil
}

package shardstore

import (
	"fmt"
	"sync"
	"syscall"
)

// syncer is the group-commit goroutine: it batches every sync request that is
// waiting when it wakes into one fdatasync per volume. A request is answered
// only by a sync that began after the request was made, so the sync covers
// every write the requester finished before asking.
type syncer struct {
	reqs chan syncReq
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu  sync.Mutex
	err error // sticky: after a failed fdatasync nothing more is acknowledged

	batches, syncs uint64 // guarded by mu; for tests and metrics
}

type syncReq struct {
	v    *volume
	resp chan error
}

var respPool = sync.Pool{New: func() any { return make(chan error, 1) }}

func newSyncer() *syncer {
	s := &syncer{reqs: make(chan syncReq, 4096), stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *syncer) run() {
	defer close(s.done)
	batch := make([]syncReq, 0, 256)
	for {
		batch = batch[:0]
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.stop:
			s.failPending()
			return
		}
	drain:
		for {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.syncBatch(batch)
	}
}

func (s *syncer) syncBatch(batch []syncReq) {
	s.mu.Lock()
	sticky := s.err
	s.mu.Unlock()
	results := make(map[*volume]error, 2)
	for _, r := range batch {
		if _, ok := results[r.v]; ok {
			continue
		}
		err := sticky
		if err == nil {
			if e := syscall.Fdatasync(int(r.v.f.Fd())); e != nil {
				err = fmt.Errorf("shardstore: fdatasync volume %d: %w", r.v.num, e)
			}
		}
		results[r.v] = err
	}
	s.mu.Lock()
	s.batches++
	s.syncs += uint64(len(results))
	for _, err := range results {
		if err != nil && s.err == nil {
			s.err = err
		}
	}
	s.mu.Unlock()
	for _, r := range batch {
		r.resp <- results[r.v]
	}
}

func (s *syncer) failPending() {
	for {
		select {
		case r := <-s.reqs:
			r.resp <- ErrClosed
		default:
			return
		}
	}
}

// wait blocks until a sync that began after the call covers v.
func (s *syncer) wait(v *volume) error {
	resp := respPool.Get().(chan error)
	select {
	case s.reqs <- syncReq{v: v, resp: resp}:
	case <-s.done:
		return ErrClosed
	}
	err := <-resp
	respPool.Put(resp)
	return err
}

func (s *syncer) close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

func (s *syncer) counts() (batches, syncs uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batches, s.syncs
}

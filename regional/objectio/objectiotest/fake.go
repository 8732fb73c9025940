// Package objectiotest is an in-memory fake of the storage nodes that
// objectio writes shards to, with fault hooks (STYLE 14): nodes can be down,
// fail or hang puts and gets, answer slowly, report corruption, silently
// corrupt data or acknowledge a wrong checksum. It counts calls and bytes so
// tests can check what an engine fetched.
package objectiotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-s3/meridian/storagesvc/storagepb"
)

// Errors the fake returns (the real client has its own; objectio treats
// every error the same way: use another shard).
var (
	ErrNotFound = errors.New("objectiotest: shard not found")
	ErrCorrupt  = errors.New("objectiotest: shard corrupt")
	ErrDown     = errors.New("objectiotest: node down")
	ErrInjected = errors.New("objectiotest: injected failure")
	ErrSize     = errors.New("objectiotest: body size mismatch")
	ErrChecksum = errors.New("objectiotest: body checksum mismatch")
	ErrRange    = errors.New("objectiotest: bad range")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Fault is what one node does wrong. The zero value is a healthy node.
type Fault struct {
	Down            bool          // every call fails with ErrDown
	PutFail         bool          // Put fails with ErrInjected after reading PutFailAfter body bytes
	PutFailAfter    int64         //
	PutHang         bool          // Put reads nothing and waits for its context
	PutDelay        time.Duration // Put waits this long before answering (after the body)
	PutBadCRC       bool          // Put acknowledges a wrong CRC (corruption in transit)
	GetFail         bool          // Get fails with ErrInjected
	GetHang         bool          // Get waits for its context
	GetDelay        time.Duration // Get waits this long before answering (honours ctx)
	GetCorrupt      bool          // Get fails with ErrCorrupt (a node's block checksum caught it)
	GetFailMidway   bool          // Get returns half the bytes, then ErrCorrupt
	CorruptSilently bool          // Get serves flipped bytes (a node bug; only whole-shard CRCs catch it)
}

type shard struct {
	data   []byte // nil when the store discards data
	size   int64
	crc    uint32
	rotten bool // flipped at rest (Rot): the node's checksums catch it
}

type node struct {
	fault  Fault
	shards map[string]shard
}

// Store is the fake. It is safe for concurrent use.
type Store struct {
	discard bool

	mu    sync.Mutex
	nodes map[string]*node // by address

	PutCalls, GetCalls, DeleteCalls atomic.Int64
	PutBytes, GetBytes              atomic.Int64 // body bytes stored / served
}

// New returns an empty store. With discard set it keeps only each shard's
// size and CRC (for memory tests); gets then fail.
func New(discard bool) *Store {
	return &Store{discard: discard, nodes: map[string]*node{}}
}

func (s *Store) node(addr string) *node {
	n := s.nodes[addr]
	if n == nil {
		n = &node{shards: map[string]shard{}}
		s.nodes[addr] = n
	}
	return n
}

// SetFault sets the fault of the node at addr (zero Fault heals it).
func (s *Store) SetFault(addr string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.node(addr).fault = f
}

// Drop forgets every shard of the node at addr (a replaced disk).
func (s *Store) Drop(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.node(addr).shards = map[string]shard{}
}

// Remove deletes one shard behind the engine's back.
func (s *Store) Remove(addr, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.node(addr).shards, id)
}

// Has reports whether the node at addr holds shard id.
func (s *Store) Has(addr, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.node(addr).shards[id]
	return ok
}

// Count is the number of shards stored over all nodes.
func (s *Store) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := 0
	for _, n := range s.nodes {
		c += len(n.shards)
	}
	return c
}

// Info returns a stored shard's size and CRC.
func (s *Store) Info(addr, id string) (storagepb.ShardInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.node(addr).shards[id]
	return storagepb.ShardInfo{ID: id, Size: sh.size, CRC32C: sh.crc}, ok
}

func (s *Store) fault(addr string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.node(addr).fault
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Put stores exactly size bytes of body as shard id; crc32c, when non-zero,
// must match (like the real node's X-Meridian-Crc32c check).
func (s *Store) Put(ctx context.Context, addr, id string, body io.Reader, size int64, crc32c uint32) (storagepb.ShardInfo, error) {
	s.PutCalls.Add(1)
	f := s.fault(addr)
	switch {
	case f.Down:
		return storagepb.ShardInfo{}, fmt.Errorf("put %s on %s: %w", id, addr, ErrDown)
	case f.PutHang:
		<-ctx.Done()
		return storagepb.ShardInfo{}, ctx.Err()
	}
	h := crc32.New(castagnoli)
	var buf *bytes.Buffer
	var dst io.Writer = h
	if !s.discard {
		buf = bytes.NewBuffer(make([]byte, 0, size))
		dst = io.MultiWriter(h, buf)
	}
	limit := size + 1 // read one more byte to detect a long body
	if f.PutFail {
		limit = min(limit, f.PutFailAfter)
	}
	n, err := io.Copy(dst, io.LimitReader(body, limit))
	s.PutBytes.Add(n)
	if err != nil {
		return storagepb.ShardInfo{}, fmt.Errorf("put %s: read body: %w", id, err)
	}
	if err := ctx.Err(); err != nil {
		return storagepb.ShardInfo{}, err
	}
	if f.PutFail {
		return storagepb.ShardInfo{}, fmt.Errorf("put %s on %s after %d bytes: %w", id, addr, n, ErrInjected)
	}
	if n != size {
		return storagepb.ShardInfo{}, fmt.Errorf("put %s: %d bytes, want %d: %w", id, n, size, ErrSize)
	}
	sum := h.Sum32()
	if crc32c != 0 && crc32c != sum {
		return storagepb.ShardInfo{}, fmt.Errorf("put %s: %w", id, ErrChecksum)
	}
	if err := sleep(ctx, f.PutDelay); err != nil {
		return storagepb.ShardInfo{}, err
	}
	sh := shard{size: size, crc: sum}
	if buf != nil {
		sh.data = buf.Bytes()
	}
	s.mu.Lock()
	s.node(addr).shards[id] = sh
	s.mu.Unlock()
	if f.PutBadCRC {
		sum ^= 0xdeadbeef
	}
	return storagepb.ShardInfo{ID: id, Size: size, CRC32C: sum}, nil
}

// Get returns length bytes of shard id from off (length -1: to the end).
func (s *Store) Get(ctx context.Context, addr, id string, off, length int64) (io.ReadCloser, error) {
	s.GetCalls.Add(1)
	f := s.fault(addr)
	switch {
	case f.Down:
		return nil, fmt.Errorf("get %s on %s: %w", id, addr, ErrDown)
	case f.GetHang:
		<-ctx.Done()
		return nil, ctx.Err()
	case f.GetFail:
		return nil, fmt.Errorf("get %s on %s: %w", id, addr, ErrInjected)
	case f.GetCorrupt:
		return nil, fmt.Errorf("get %s on %s: %w", id, addr, ErrCorrupt)
	}
	if err := sleep(ctx, f.GetDelay); err != nil {
		return nil, err
	}
	s.mu.Lock()
	sh, ok := s.node(addr).shards[id]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("get %s on %s: %w", id, addr, ErrNotFound)
	}
	if sh.data == nil && sh.size > 0 {
		return nil, fmt.Errorf("get %s: data discarded: %w", id, ErrNotFound)
	}
	if length < 0 {
		length = sh.size - off
	}
	if off < 0 || length < 0 || off+length > sh.size {
		return nil, fmt.Errorf("get %s [%d,+%d) of %d: %w", id, off, length, sh.size, ErrRange)
	}
	if sh.rotten {
		return nil, fmt.Errorf("get %s on %s: %w", id, addr, ErrCorrupt)
	}
	data := bytes.Clone(sh.data[off : off+length])
	if f.CorruptSilently && len(data) > 0 {
		data[len(data)/2] ^= 0x5a
	}
	var r io.Reader = bytes.NewReader(data)
	if f.GetFailMidway {
		r = io.MultiReader(bytes.NewReader(data[:len(data)/2]), errReader{fmt.Errorf("get %s: %w", id, ErrCorrupt)})
	}
	return &countingReader{r: r, n: &s.GetBytes}, nil
}

// Delete removes shard id; absent shards are fine (idempotent).
func (s *Store) Delete(ctx context.Context, addr, id string) error {
	s.DeleteCalls.Add(1)
	if s.fault(addr).Down {
		return fmt.Errorf("delete %s on %s: %w", id, addr, ErrDown)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.node(addr).shards, id)
	return nil
}

// Rot flips a byte of a stored shard at rest: reads and Verify then
// report corruption, as a real node's block checksums would. It reports
// whether the shard exists.
func (s *Store) Rot(addr, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.node(addr)
	sh, ok := n.shards[id]
	if !ok {
		return false
	}
	if len(sh.data) > 0 {
		sh.data = bytes.Clone(sh.data)
		sh.data[len(sh.data)/3] ^= 0x01
	}
	sh.rotten = true
	n.shards[id] = sh
	return true
}

// Verify is a storage node's local check of shard id: OK, or not OK when
// it was rotted; ErrNotFound when absent, ErrDown when the node is down.
func (s *Store) Verify(ctx context.Context, addr, id string) (storagepb.VerifyResult, error) {
	if s.fault(addr).Down {
		return storagepb.VerifyResult{}, fmt.Errorf("verify %s on %s: %w", id, addr, ErrDown)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.node(addr).shards[id]
	if !ok {
		return storagepb.VerifyResult{}, fmt.Errorf("verify %s on %s: %w", id, addr, ErrNotFound)
	}
	if sh.rotten {
		return storagepb.VerifyResult{ID: id, Error: "block checksum mismatch"}, nil
	}
	return storagepb.VerifyResult{ID: id, OK: true}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return nil }

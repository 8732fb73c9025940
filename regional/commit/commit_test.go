package commit

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/objectio"
	"github.com/meridian-s3/meridian/regional/objectio/objectiotest"
)

// fakeMeta is an in-memory metadata service that records the call sequence
// and injects failures (STYLE 14). Like metasvc it refuses a COMMIT of a
// record that is not PREPARING and lets ABORT remove only PREPARING records.
// Every call fails with the context's error when its context is done, so a
// cleanup that is not detached from a cancelled request shows up.
type fakeMeta struct {
	mu       sync.Mutex
	calls    []string
	fail     map[string]error // op → error returned without applying
	hang     map[string]bool  // op → waits for its context, then ErrUnavailable
	existing *metapb.ObjectVersion
	objects  map[string]metapb.ObjectVersion // by version id
	parts    map[string]metapb.Part          // by attempt
}

func newFakeMeta() *fakeMeta {
	return &fakeMeta{fail: map[string]error{}, hang: map[string]bool{}, objects: map[string]metapb.ObjectVersion{}, parts: map[string]metapb.Part{}}
}

func (m *fakeMeta) enter(ctx context.Context, op string) error {
	m.mu.Lock()
	m.calls = append(m.calls, op)
	err, hang := m.fail[op], m.hang[op]
	m.mu.Unlock()
	if hang {
		<-ctx.Done()
		return fmt.Errorf("%w: %v", metaclient.ErrUnavailable, ctx.Err())
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w: %v", metaclient.ErrUnavailable, cerr)
	}
	return err
}

func (m *fakeMeta) Prepare(ctx context.Context, v metapb.ObjectVersion) (metapb.Result, error) {
	if err := m.enter(ctx, "Prepare"); err != nil {
		return metapb.Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.existing != nil {
		e := *m.existing
		return metapb.Result{Existed: true, Version: &e}, nil
	}
	v.State = metapb.StatePreparing
	m.objects[v.VersionID] = v
	return metapb.Result{Version: &v}, nil
}

func (m *fakeMeta) Commit(ctx context.Context, req metapb.CommitRequest) (metapb.Result, error) {
	if err := m.enter(ctx, "Commit"); err != nil {
		return metapb.Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.objects[req.VersionID]
	if req.Final.Inline == nil && (!ok || old.State != metapb.StatePreparing) {
		return metapb.Result{}, fmt.Errorf("%w: version %s is not PREPARING", metaclient.ErrConflict, req.VersionID)
	}
	v := req.Final
	v.State = metapb.StateCommitted
	m.objects[v.VersionID] = v
	return metapb.Result{Version: &v}, nil
}

func (m *fakeMeta) Abort(ctx context.Context, req metapb.AbortRequest) (metapb.Result, error) {
	if err := m.enter(ctx, "Abort"); err != nil {
		return metapb.Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.objects[req.VersionID]; ok && v.State == metapb.StatePreparing {
		delete(m.objects, req.VersionID)
	}
	return metapb.Result{}, nil
}

func (m *fakeMeta) PreparePart(ctx context.Context, p metapb.Part) (metapb.Result, error) {
	if err := m.enter(ctx, "PreparePart"); err != nil {
		return metapb.Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p.State = metapb.StatePreparing
	m.parts[p.Attempt] = p
	return metapb.Result{Part: &p}, nil
}

func (m *fakeMeta) CommitPart(ctx context.Context, req metapb.CommitPartRequest) (metapb.Result, error) {
	if err := m.enter(ctx, "CommitPart"); err != nil {
		return metapb.Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.parts[req.Attempt]; !ok || old.State != metapb.StatePreparing {
		return metapb.Result{}, fmt.Errorf("%w: part attempt %s is not PREPARING", metaclient.ErrConflict, req.Attempt)
	}
	p := req.Final
	p.State = metapb.StateCommitted
	m.parts[p.Attempt] = p
	return metapb.Result{Part: &p}, nil
}

func (m *fakeMeta) AbortPart(ctx context.Context, req metapb.AbortPartRequest) (metapb.Result, error) {
	if err := m.enter(ctx, "AbortPart"); err != nil {
		return metapb.Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.parts[req.Attempt]; ok && p.State == metapb.StatePreparing {
		delete(m.parts, req.Attempt)
	}
	return metapb.Result{}, nil
}

func (m *fakeMeta) CompleteUpload(ctx context.Context, req metapb.CompleteUploadRequest) (metapb.Result, error) {
	if err := m.enter(ctx, "CompleteUpload"); err != nil {
		return metapb.Result{}, err
	}
	v := metapb.ObjectVersion{Bucket: req.Bucket, Key: req.Key, VersionID: req.VersionID, ETag: "e-2", State: metapb.StateCommitted}
	return metapb.Result{Version: &v}, nil
}

// records returns every record's state and the shard ids it references.
func (m *fakeMeta) records() (states []metapb.State, refs map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	refs = map[string]bool{}
	add := func(segs []metapb.Segment) {
		for _, s := range segs {
			for _, r := range s.Shards {
				refs[r.ID] = true
			}
		}
	}
	for _, v := range m.objects {
		states = append(states, v.State)
		add(v.Segments)
	}
	for _, p := range m.parts {
		states = append(states, p.State)
		add(p.Segments)
	}
	return states, refs
}

const (
	tChunk = 4 << 10
	tSeg   = 4 * 10 * tChunk // 160 KiB: a large body spans two segments
)

type env struct {
	meta  *fakeMeta
	store *objectiotest.Store
	nodes []metapb.StorageNode
	c     *Coordinator
}

func newEnv(t *testing.T) *env {
	t.Helper()
	v := &env{meta: newFakeMeta(), store: objectiotest.New(false)}
	for a := 0; a < 4; a++ {
		for j := 0; j < 4; j++ {
			v.nodes = append(v.nodes, metapb.StorageNode{
				ID: fmt.Sprintf("node-%c%d", 'a'+a, j), AZ: fmt.Sprintf("az-%c", 'a'+a),
				Addr: fmt.Sprintf("10.0.%d.%d:7000", a, j), Healthy: true, CapacityBytes: 1 << 40,
			})
		}
	}
	cfg := objectio.DefaultConfig()
	cfg.Scheme = metapb.Scheme{Data: 10, Parity: 4, ChunkSize: tChunk}
	cfg.SegmentSize = tSeg
	cfg.Client = v.store
	cfg.Nodes = func() []metapb.StorageNode { return v.nodes }
	cfg.WriteStall = 2 * time.Second
	cfg.WriteFinish = 10 * time.Second
	cfg.Logger = slog.New(slog.DiscardHandler)
	e, err := objectio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v.c = &Coordinator{Meta: v.meta, Data: e, InlineThreshold: 64 << 10, Log: slog.New(slog.DiscardHandler)}
	return v
}

// unreferenced counts stored shards that no record references.
func (v *env) unreferenced(refs map[string]bool) int {
	referenced := 0
	for _, n := range v.nodes {
		for id := range refs {
			if v.store.Has(n.Addr, id) {
				referenced++
			}
		}
	}
	return v.store.Count() - referenced
}

// bodyFault is what goes wrong with a request body.
type bodyFault int

const (
	bodyOK       bodyFault = iota
	bodyBadMD5             // Finish fails as a Content-MD5 mismatch does
	bodyShort              // the client sends fewer bytes than declared
	bodyCancel             // the client goes away mid-body: the request context is cancelled
	bodyTrailing           // Finish finds bytes beyond the declared length
)

func testBody(data []byte, f bodyFault, cancel context.CancelFunc) Body {
	h := md5.New()
	src := io.Reader(bytes.NewReader(data))
	size := int64(len(data))
	switch f {
	case bodyShort:
		src = bytes.NewReader(data[:len(data)/2])
	case bodyCancel:
		src = io.MultiReader(bytes.NewReader(data[:len(data)/2]), readerFunc(func([]byte) (int, error) {
			cancel()
			return 0, context.Canceled
		}))
	}
	return Body{
		Size:   size,
		Reader: io.TeeReader(io.LimitReader(src, size), h),
		Finish: func() error {
			switch f {
			case bodyBadMD5:
				return s3err.New(s3err.BadDigest)
			case bodyTrailing:
				return s3err.New(s3err.IncompleteBody)
			}
			return nil
		},
		ETag:      func() string { return hex.EncodeToString(h.Sum(nil)) },
		Checksums: func() map[string]string { return map[string]string{"CRC32C": "AAAAAA=="} },
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func randData(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestWriteFaults injects a failure at every step of the protocol, for
// objects and parts, large and inline, and checks the call sequence, the
// answer, the records left and that no stored shard is unreferenced.
func TestWriteFaults(t *testing.T) {
	const large, small = 200 << 10, 1 << 10
	refused := fmt.Errorf("%w: sealed", metaclient.ErrBucketSealed)
	type tc struct {
		name    string
		part    bool
		size    int
		body    bodyFault
		fail    map[string]error
		hang    string
		nodes   func(e *env) // storage faults
		exist   bool         // Prepare finds the token committed (a retry)
		wantErr error        // nil: success
		calls   []string
		state   metapb.State // of the one record left; 0: none
		shards  bool         // shards stay stored (referenced)
	}
	downFrom := func(i int) func(e *env) {
		return func(e *env) {
			for _, n := range e.nodes[i:] {
				e.store.SetFault(n.Addr, objectiotest.Fault{Down: true})
			}
		}
	}
	partial := func(e *env) {
		for _, n := range e.nodes[:2] {
			e.store.SetFault(n.Addr, objectiotest.Fault{PutFail: true, PutFailAfter: 1000})
		}
	}
	var cases []tc
	for _, part := range []bool{false, true} {
		P, C, A := "Prepare", "Commit", "Abort"
		if part {
			P, C, A = "PreparePart", "CommitPart", "AbortPart"
		}
		n := "object/"
		if part {
			n = "part/"
		}
		inlineOK := []string{C}
		inlineRefused := []string{C}
		if part {
			inlineOK = []string{P, C}
			inlineRefused = []string{P, C, A} // the attempt is fenced
		}
		cases = append(cases,
			tc{name: n + "large ok", part: part, size: large, calls: []string{P, C}, state: metapb.StateCommitted, shards: true},
			tc{name: n + "inline ok", part: part, size: small, calls: inlineOK, state: metapb.StateCommitted},
			tc{name: n + "empty ok", part: part, size: 0, calls: inlineOK, state: metapb.StateCommitted},
			tc{name: n + "prepare fails", part: part, size: large, fail: map[string]error{P: metaclient.ErrUnavailable}, wantErr: metaclient.ErrUnavailable, calls: []string{P}},
			tc{name: n + "prepare refused (bucket gone)", part: part, size: large, fail: map[string]error{P: metaclient.ErrBucketGone}, wantErr: metaclient.ErrBucketGone, calls: []string{P}},
			tc{name: n + "shard writes fail partially", part: part, size: large, nodes: partial, calls: []string{P, C}, state: metapb.StateCommitted, shards: true},
			tc{name: n + "shard writes fail beyond parity", part: part, size: large, nodes: downFrom(4), wantErr: objectiotest.ErrDown, calls: []string{P, A}},
			tc{name: n + "body verification fails", part: part, size: large, body: bodyBadMD5, wantErr: s3err.New(s3err.BadDigest), calls: []string{P, A}},
			tc{name: n + "body longer than declared", part: part, size: large, body: bodyTrailing, wantErr: s3err.New(s3err.IncompleteBody), calls: []string{P, A}},
			tc{name: n + "body shorter than declared", part: part, size: large, body: bodyShort, wantErr: io.ErrUnexpectedEOF, calls: []string{P, A}},
			tc{name: n + "context cancelled mid-body", part: part, size: large, body: bodyCancel, wantErr: context.Canceled, calls: []string{P, A}},
			tc{name: n + "commit refused (bucket sealed)", part: part, size: large, fail: map[string]error{C: refused}, wantErr: metaclient.ErrBucketSealed, calls: []string{P, C, A}},
			tc{name: n + "commit refused (precondition)", part: part, size: large, fail: map[string]error{C: metaclient.ErrPrecondition}, wantErr: metaclient.ErrPrecondition, calls: []string{P, C, A}},
			// The janitor's abort came first (the fence): the client gets
			// ErrFenced (S3 RequestTimeout), never an acknowledgement.
			tc{name: n + "commit fenced by the janitor", part: part, size: large, fail: map[string]error{C: metaclient.ErrConflict}, wantErr: ErrFenced, calls: []string{P, C, A}},
			// Outcome unknown: the record stays PREPARING with its shards
			// for the janitor; aborting here could race a COMMIT in flight.
			tc{name: n + "commit fails (unavailable)", part: part, size: large, fail: map[string]error{C: metaclient.ErrUnavailable}, wantErr: metaclient.ErrUnavailable, calls: []string{P, C}, state: metapb.StatePreparing, shards: true},
			tc{name: n + "commit times out", part: part, size: large, hang: C, wantErr: metaclient.ErrUnavailable, calls: []string{P, C}, state: metapb.StatePreparing, shards: true},
			// The abort failed: the record stays PREPARING (janitor) and the
			// shards stay with it; none is deleted while still referenced.
			tc{name: n + "commit refused, abort fails", part: part, size: large, fail: map[string]error{C: refused, A: metaclient.ErrUnavailable}, wantErr: metaclient.ErrBucketSealed, calls: []string{P, C, A}, state: metapb.StatePreparing, shards: true},
			tc{name: n + "write fails, abort fails", part: part, size: large, nodes: downFrom(4), fail: map[string]error{A: metaclient.ErrUnavailable}, wantErr: objectiotest.ErrDown, calls: []string{P, A}, state: metapb.StatePreparing},
			tc{name: n + "inline body verification fails", part: part, size: small, body: bodyBadMD5, wantErr: s3err.New(s3err.BadDigest)},
			tc{name: n + "inline commit refused", part: part, size: small, fail: map[string]error{C: refused}, wantErr: metaclient.ErrBucketSealed, calls: inlineRefused},
		)
	}
	cases = append(cases,
		// The upload is gone (bucket dropped): AbortPart finds no upload,
		// which also means nothing references the part's shards.
		tc{name: "part/commit refused, upload gone", part: true, size: large, fail: map[string]error{"CommitPart": metaclient.ErrNoSuchUpload, "AbortPart": metaclient.ErrNoSuchUpload}, wantErr: metaclient.ErrNoSuchUpload, calls: []string{"PreparePart", "CommitPart", "AbortPart"}, state: metapb.StatePreparing},
		tc{name: "object/retry of a committed token", size: large, exist: true, calls: []string{"Prepare"}, state: metapb.StateCommitted},
		tc{name: "object/retry of a committed token, other body", size: large + 1, exist: true, wantErr: s3err.New(s3err.InvalidRequest), calls: []string{"Prepare"}, state: metapb.StateCommitted},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			for op, err := range c.fail {
				e.meta.fail[op] = err
			}
			if c.hang != "" {
				e.meta.hang[c.hang] = true
			}
			if c.nodes != nil {
				c.nodes(e)
			}
			data := randData(c.size)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if c.hang != "" {
				ctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
			}
			var target Target
			if c.part {
				target.Part = &metapb.Part{Bucket: "b/inc1", Key: "k", UploadID: "up1", Number: 3, Attempt: "a1", Size: int64(c.size)}
			} else {
				target.Object = &metapb.ObjectVersion{Bucket: "b/inc1", Key: "k", VersionID: "v1", Token: "tok", Size: int64(c.size)}
			}
			if c.exist {
				sum := md5.Sum(randData(large))
				e.meta.existing = &metapb.ObjectVersion{Bucket: "b/inc1", Key: "k", VersionID: "v0", Size: large, ETag: hex.EncodeToString(sum[:]), State: metapb.StateCommitted}
				e.meta.objects["v0"] = *e.meta.existing
			}
			res, err := e.c.Write(ctx, target, testBody(data, c.body, cancel))
			switch {
			case c.wantErr == nil && err != nil:
				t.Fatalf("Write: %v", err)
			case c.wantErr != nil && err == nil:
				t.Fatalf("Write succeeded, want %v", c.wantErr)
			case c.wantErr != nil:
				if se, ok := c.wantErr.(*s3err.Error); ok {
					if got := s3err.As(err); got == nil || got.Code != se.Code {
						t.Fatalf("Write: %v, want S3 error %s", err, se.Code)
					}
				} else if !errors.Is(err, c.wantErr) {
					t.Fatalf("Write: %v, want %v", err, c.wantErr)
				}
			}
			if c.wantErr == nil {
				sum := md5.Sum(data)
				if c.exist {
					sum = md5.Sum(randData(large))
				}
				if res.ETag != hex.EncodeToString(sum[:]) {
					t.Errorf("ETag %s, want MD5 of the body", res.ETag)
				}
				if (res.Part != nil) != c.part || (res.Version != nil) == c.part {
					t.Errorf("result %+v does not match the target", res)
				}
			}
			e.meta.mu.Lock()
			calls := slices.Clone(e.meta.calls)
			e.meta.mu.Unlock()
			if !slices.Equal(calls, c.calls) {
				t.Errorf("calls %v, want %v", calls, c.calls)
			}
			states, refs := e.meta.records()
			var want []metapb.State
			if c.state != 0 {
				want = []metapb.State{c.state}
			}
			if !slices.Equal(states, want) {
				t.Errorf("records left in states %v, want %v", states, want)
			}
			if u := e.unreferenced(refs); u != 0 {
				t.Errorf("%d stored shards are referenced by no record", u)
			}
			if got := e.store.Count() > 0; got != c.shards {
				t.Errorf("%d shards stored, want some: %v", e.store.Count(), c.shards)
			}
			if c.shards && c.state == metapb.StateCommitted {
				// Every shard of the committed record is stored where it says.
				for _, s := range firstSegs(e.meta, c.part) {
					for _, r := range s.Shards {
						if r.Node == "" || !e.store.Has(e.addr(r.Node), r.ID) {
							t.Errorf("committed shard %s not stored on %q", r.ID, r.Node)
						}
					}
				}
			}
		})
	}
}

func firstSegs(m *fakeMeta, part bool) []metapb.Segment {
	m.mu.Lock()
	defer m.mu.Unlock()
	if part {
		for _, p := range m.parts {
			return p.Segments
		}
	}
	for _, v := range m.objects {
		return v.Segments
	}
	return nil
}

func (v *env) addr(nodeID string) string {
	for _, n := range v.nodes {
		if n.ID == nodeID {
			return n.Addr
		}
	}
	return ""
}

// TestBeforeCommit: the fault hook runs once, after the body is stored and
// verified and before COMMIT, with the record's bucket and key.
func TestBeforeCommit(t *testing.T) {
	for _, size := range []int{1 << 10, 200 << 10} {
		e := newEnv(t)
		var seen []string
		e.c.BeforeCommit = func(_ context.Context, bucket, key string) {
			e.meta.mu.Lock()
			seen = append(seen, strings.Join(append(slices.Clone(e.meta.calls), bucket, key), " "))
			e.meta.mu.Unlock()
		}
		v := &metapb.ObjectVersion{Bucket: "b/inc1", Key: "k", VersionID: "v1", Size: int64(size)}
		if _, err := e.c.Write(context.Background(), Target{Object: v}, testBody(randData(size), bodyOK, nil)); err != nil {
			t.Fatal(err)
		}
		want := "b/inc1 k"
		if size > 1<<10 {
			want = "Prepare b/inc1 k"
		}
		if len(seen) != 1 || seen[0] != want {
			t.Errorf("size %d: hook saw %q, want [%q]", size, seen, want)
		}
	}
}

// TestTarget: a target names exactly one of Object and Part.
func TestTarget(t *testing.T) {
	e := newEnv(t)
	for _, tg := range []Target{{}, {Object: &metapb.ObjectVersion{}, Part: &metapb.Part{}}} {
		if _, err := e.c.Write(context.Background(), tg, testBody(nil, bodyOK, nil)); err == nil {
			t.Errorf("Write(%+v) succeeded", tg)
		}
	}
	if len(e.meta.calls) != 0 {
		t.Errorf("calls %v for invalid targets", e.meta.calls)
	}
}

// TestComplete commits through CompleteUpload and returns its version.
func TestComplete(t *testing.T) {
	e := newEnv(t)
	v, err := e.c.Complete(context.Background(), metapb.CompleteUploadRequest{Bucket: "b/inc1", Key: "k", UploadID: "up1", VersionID: "v9"})
	if err != nil || v.VersionID != "v9" || v.ETag != "e-2" {
		t.Fatalf("Complete: %+v, %v", v, err)
	}
	e.meta.fail["CompleteUpload"] = metaclient.ErrPrecondition
	if _, err := e.c.Complete(context.Background(), metapb.CompleteUploadRequest{}); !errors.Is(err, metaclient.ErrPrecondition) {
		t.Fatalf("Complete: %v, want precondition", err)
	}
}

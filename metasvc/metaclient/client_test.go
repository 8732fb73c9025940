package metaclient

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

func keys(names ...string) metapb.ListResponse {
	var r metapb.ListResponse
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			r.Entries = append(r.Entries, metapb.ListEntry{Prefix: n})
		} else {
			r.Entries = append(r.Entries, metapb.ListEntry{Version: &metapb.ObjectVersion{Key: n}})
		}
	}
	return r
}

func names(r metapb.ListResponse) string {
	var s []string
	for _, e := range r.Entries {
		s = append(s, e.Name())
	}
	return strings.Join(s, ",")
}

func TestMergeLists(t *testing.T) {
	trunc := func(r metapb.ListResponse) metapb.ListResponse { r.Truncated = true; return r }
	for _, tc := range []struct {
		name  string
		in    []metapb.ListResponse
		max   int
		want  string
		trunc bool
	}{
		{"interleave", []metapb.ListResponse{keys("a", "d"), keys("b", "c")}, 10, "a,b,c,d", false},
		{"cut", []metapb.ListResponse{keys("a", "d"), keys("b", "c")}, 3, "a,b,c", true},
		{"dedupe prefixes", []metapb.ListResponse{keys("x/", "z"), keys("x/", "y/"), keys("x/")}, 10, "x/,y/,z", false},
		{"dedupe then cut", []metapb.ListResponse{keys("x/", "y/"), keys("x/", "y/")}, 1, "x/", true},
		{"exact fit not truncated", []metapb.ListResponse{keys("a"), keys("b")}, 2, "a,b", false},
		{"partition truncated", []metapb.ListResponse{trunc(keys("a")), keys("b")}, 5, "a,b", true},
		{"empty", []metapb.ListResponse{{}, {}}, 5, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MergeLists(tc.in, tc.max)
			if names(got) != tc.want || got.Truncated != tc.trunc {
				t.Fatalf("got %s truncated=%v, want %s %v", names(got), got.Truncated, tc.want, tc.trunc)
			}
		})
	}
}

func TestMergeUploads(t *testing.T) {
	t0 := time.Unix(100, 0)
	a := metapb.ListUploadsResponse{Uploads: []metapb.Upload{{Key: "a", UploadID: "2", Initiated: t0.Add(time.Second)}}, CommonPrefixes: []string{"p/"}}
	b := metapb.ListUploadsResponse{Uploads: []metapb.Upload{{Key: "a", UploadID: "1", Initiated: t0}, {Key: "z", UploadID: "3"}}, CommonPrefixes: []string{"p/"}}
	got := MergeUploads([]metapb.ListUploadsResponse{a, b}, 3)
	if len(got.Uploads) != 2 || got.Uploads[0].UploadID != "1" || got.Uploads[1].UploadID != "2" ||
		len(got.CommonPrefixes) != 1 || !got.Truncated {
		t.Fatalf("%+v", got)
	}
}

func TestResultErrorIs(t *testing.T) {
	for code, want := range codeErrors {
		err := error(&ResultError{Code: code, Msg: "m"})
		if !errors.Is(err, want) {
			t.Errorf("%s does not match its sentinel", code)
		}
		if code != metapb.ErrNotFound && errors.Is(err, ErrNotFound) {
			t.Errorf("%s matches ErrNotFound", code)
		}
	}
}

// fakeNode is an in-process stand-in for a meta node with fault hooks.
type fakeNode struct {
	srv      *httptest.Server
	calls    atomic.Int32
	redirect string // answer 421 naming this leader
	fail503  atomic.Int32
}

func newFake(t *testing.T) *fakeNode {
	f := &fakeNode{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		switch {
		case f.redirect != "":
			w.WriteHeader(http.StatusMisdirectedRequest)
			_ = json.NewEncoder(w).Encode(metapb.RPCError{Err: metapb.ErrNotLeader, LeaderAddr: f.redirect})
		case f.fail503.Add(-1) >= 0:
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(metapb.RPCError{Err: metapb.ErrUnavailable})
		default:
			_ = json.NewEncoder(w).Encode(metapb.ReadResponse{Err: metapb.ErrNotFound})
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeNode) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func TestRetriesRedirectsAndGivesUp(t *testing.T) {
	leader := newFake(t)
	leader.fail503.Store(2)
	follower := newFake(t)
	follower.redirect = leader.addr()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()

	cfg := DefaultConfig()
	cfg.Seeds = []string{deadAddr, follower.addr()}
	cfg.Partitions = 1
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 5*time.Millisecond
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.seed = 0 // start at the dead seed
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, "b", "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
	// dead seed → follower (421) → leader (503, forgotten) → dead → follower → leader (503) → … → leader OK.
	if leader.calls.Load() != 3 || follower.calls.Load() != 3 {
		t.Fatalf("leader calls %d (want 2×503 + 1), follower calls %d (one redirect per try)", leader.calls.Load(), follower.calls.Load())
	}
	// The leader is remembered: the next call goes straight to it.
	if _, err := c.Get(ctx, "b", "k"); !errors.Is(err, ErrNotFound) || follower.calls.Load() != 3 || leader.calls.Load() != 4 {
		t.Fatalf("second get: %v, follower calls %d", err, follower.calls.Load())
	}

	cfg.Seeds = []string{deadAddr}
	cfg.MaxAttempts = 3
	c2, _ := New(cfg)
	defer c2.Close()
	if _, err := c2.Get(ctx, "b", "k"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("dead seed: %v", err)
	}
	cfg.MaxAttempts = 0
	c3, _ := New(cfg)
	defer c3.Close()
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	if _, err := c3.Get(short, "b", "k"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("until ctx done: %v", err)
	}
}

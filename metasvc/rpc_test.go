package metasvc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metasvctest"
)

func TestNotLeaderRedirect(t *testing.T) {
	c := metasvctest.Start(t, metasvctest.Options{Partitions: 1})
	leader := c.LeaderOf("p0", 5*time.Second)
	follower := (leader + 1) % 3
	addr := c.Peers[follower].Addr

	hc := c.HTTPClient(c.Identity(mtls.RoleGateway, "gw", "a"))
	body, _ := json.Marshal(metapb.ReadRequest{Bucket: "b", Key: "k"})
	resp, err := hc.Post("https://"+addr+"/v1/p/0/get", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var re metapb.RPCError
	_ = json.NewDecoder(resp.Body).Decode(&re)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest || re.LeaderAddr != c.Peers[leader].Addr || re.LeaderID != c.Peers[leader].ID {
		t.Fatalf("follower answered %d %+v", resp.StatusCode, re)
	}

	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{"/v1/p/9/get", `{}`, 400},
		{"/v1/p/x/get", `{}`, 400},
		{"/v1/p/0/nosuchop", `{}`, 404},
		{"/v1/p/0/apply", `{"t":99}`, 400},
		{"/v1/p/0/apply", `{`, 400},
		{"/v1/p/0/apply", `{"t":4,"delete":{"bucket":"b","key":"` + strings.Repeat("k", 9<<20) + `"}}`, 400},
	} {
		resp, err := hc.Post("https://"+c.Peers[leader].Addr+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %.30q: %d, want %d", tc.path, tc.body, resp.StatusCode, tc.code)
		}
	}

	// A client that only knows the follower still works.
	cfg := c.ClientConfig()
	cfg.Seeds = []string{addr}
	cl, err := metaclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cl.Commit(ctx, inline("b", "k", "v1", "x")); err != nil {
		t.Fatal(err)
	}
	if v, err := cl.Get(ctx, "b", "k"); err != nil || v.VersionID != "v1" {
		t.Fatalf("%+v %v", v, err)
	}
	// With every node stopped and MaxAttempts set, the client gives up with ErrUnavailable.
	cfg.MaxAttempts = 3
	cfg.Partitions = 1
	cl2, err := metaclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	c.Close()
	if _, err := cl2.Get(ctx, "b", "k"); !isUnavailable(err) {
		t.Fatalf("get with no nodes: %v", err)
	}
}

func isUnavailable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unavailable")
}

// TestListMergeAgainstReference writes keys over 8 partitions and compares
// paginated List results (with and without delimiter) with a sorted reference.
func TestListMergeAgainstReference(t *testing.T) {
	c := metasvctest.Start(t, metasvctest.Options{Partitions: 8})
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	var keys []string
	seen := map[string]bool{}
	for len(keys) < 150 {
		k := fmt.Sprintf("%s/%s/%d", []string{"a", "b", "c", "dd"}[rng.IntN(4)], []string{"x", "y", "z"}[rng.IntN(3)], rng.IntN(1000))
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sem := make(chan struct{}, 16)
	errs := make(chan error, len(keys))
	for i, k := range keys {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := cl.Commit(ctx, inline("lb", k, fmt.Sprintf("v%d", i), "x"))
			errs <- err
		}()
	}
	for range keys {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d commits done at %v", len(keys), time.Since(t0))
	sort.Strings(keys)
	reference := func(prefix, delim string) []string {
		var out []string
		for _, k := range keys {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if delim != "" {
				if i := strings.Index(k[len(prefix):], delim); i >= 0 {
					cp := k[:len(prefix)+i+len(delim)]
					if len(out) == 0 || out[len(out)-1] != cp {
						out = append(out, cp)
					}
					continue
				}
			}
			out = append(out, k)
		}
		return out
	}
	for _, tc := range []struct{ prefix, delim string }{{"", ""}, {"", "/"}, {"b/", "/"}, {"a/x/", ""}, {"dd/", "/"}, {"q", ""}} {
		for _, page := range []int{1, 7, 1000} {
			want := reference(tc.prefix, tc.delim)
			if page == 1 && len(want) > 30 {
				continue // keep the test fast; page 7 covers long listings
			}
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				r, err := cl.List(ctx, metapb.ListRequest{Bucket: "lb", Prefix: tc.prefix, Delimiter: tc.delim, StartAfter: after, MaxKeys: page})
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Entries) > page {
					t.Fatalf("page of %d entries, max %d", len(r.Entries), page)
				}
				for _, e := range r.Entries {
					got = append(got, e.Name())
				}
				if !r.Truncated {
					break
				}
				if len(r.Entries) == 0 || pages > 400 {
					t.Fatalf("truncated without progress")
				}
				after = r.Entries[len(r.Entries)-1].Name()
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("prefix %q delim %q page %d:\n got %v\nwant %v", tc.prefix, tc.delim, page, got, want)
			}
		}
	}
}

package metastate

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// refList is the brute-force reference: it scans every key.
func refList(keys []string, req metapb.ListRequest) ([]string, bool) {
	max := req.MaxKeys
	if max <= 0 || max > 1000 {
		max = 1000
	}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	// StartAfter that is itself a rolled-up prefix skips its whole subtree.
	skipTree := false
	if req.Delimiter != "" && strings.HasPrefix(req.StartAfter, req.Prefix) {
		rest := req.StartAfter[len(req.Prefix):]
		if i := strings.Index(rest, req.Delimiter); i >= 0 && i+len(req.Delimiter) == len(rest) {
			skipTree = true
		}
	}
	var names []string
	for _, k := range sorted {
		if !strings.HasPrefix(k, req.Prefix) || k <= req.StartAfter {
			continue
		}
		if skipTree && strings.HasPrefix(k, req.StartAfter) {
			continue
		}
		name := k
		if req.Delimiter != "" {
			if i := strings.Index(k[len(req.Prefix):], req.Delimiter); i >= 0 {
				name = k[:len(req.Prefix)+i+len(req.Delimiter)]
			}
		}
		if len(names) > 0 && names[len(names)-1] == name {
			continue
		}
		names = append(names, name)
	}
	if len(names) > max {
		return names[:max], true
	}
	return names, false
}

func names(l metapb.ListResponse) []string {
	out := []string{}
	for _, e := range l.Entries {
		out = append(out, e.Name())
	}
	return out
}

func TestListTable(t *testing.T) {
	h := newHarness(t)
	keys := []string{"a", "a/b", "a/c/d", "a/c/e", "b", "b/", "b//x", "c-1", "c-2/x", "photos/2024/jan.jpg", "photos/2024/feb.jpg", "photos/2025/a.jpg", "zé/ü", "日本/語"}
	for i, k := range keys {
		h.put("bkt", k, fmt.Sprintf("v%d", i), 0)
	}
	h.put("other", "a/zzz", "o1", 0) // another bucket never leaks in
	h.prepare("bkt", "a/prep", "p1", "tp", segs("p1", 1))
	cases := []struct {
		name      string
		req       metapb.ListRequest
		want      []string
		truncated bool
	}{
		{"all", metapb.ListRequest{}, []string{"a", "a/b", "a/c/d", "a/c/e", "b", "b/", "b//x", "c-1", "c-2/x", "photos/2024/feb.jpg", "photos/2024/jan.jpg", "photos/2025/a.jpg", "zé/ü", "日本/語"}, false},
		{"delimiter", metapb.ListRequest{Delimiter: "/"}, []string{"a", "a/", "b", "b/", "c-1", "c-2/", "photos/", "zé/", "日本/"}, false},
		{"prefix+delimiter", metapb.ListRequest{Prefix: "photos/", Delimiter: "/"}, []string{"photos/2024/", "photos/2025/"}, false},
		{"prefix no delimiter", metapb.ListRequest{Prefix: "photos/2024/"}, []string{"photos/2024/feb.jpg", "photos/2024/jan.jpg"}, false},
		{"start after common prefix", metapb.ListRequest{Delimiter: "/", StartAfter: "a/"}, []string{"b", "b/", "c-1", "c-2/", "photos/", "zé/", "日本/"}, false},
		{"start after key inside prefix", metapb.ListRequest{Delimiter: "/", StartAfter: "a/b"}, []string{"a/", "b", "b/", "c-1", "c-2/", "photos/", "zé/", "日本/"}, false},
		{"max keys counts prefixes", metapb.ListRequest{Delimiter: "/", MaxKeys: 3}, []string{"a", "a/", "b"}, true},
		{"exact max not truncated", metapb.ListRequest{Prefix: "photos/2024/", MaxKeys: 2}, []string{"photos/2024/feb.jpg", "photos/2024/jan.jpg"}, false},
		{"dash delimiter", metapb.ListRequest{Prefix: "c", Delimiter: "-"}, []string{"c-"}, false},
		{"multibyte delimiter", metapb.ListRequest{Delimiter: "é"}, []string{"a", "a/b", "a/c/d", "a/c/e", "b", "b/", "b//x", "c-1", "c-2/x", "photos/2024/feb.jpg", "photos/2024/jan.jpg", "photos/2025/a.jpg", "zé", "日本/語"}, false},
		{"double delimiter", metapb.ListRequest{Prefix: "b/", Delimiter: "/"}, []string{"b/", "b//"}, false},
		{"prefix matches nothing", metapb.ListRequest{Prefix: "q"}, []string{}, false},
		{"start after last", metapb.ListRequest{StartAfter: "日本/語"}, []string{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Bucket = "bkt"
			got := h.s.List(tc.req)
			if !reflect.DeepEqual(names(got), tc.want) || got.Truncated != tc.truncated {
				t.Fatalf("got %q truncated=%v, want %q truncated=%v", names(got), got.Truncated, tc.want, tc.truncated)
			}
			ref, refTrunc := refList(keys, tc.req)
			if ref == nil {
				ref = []string{}
			}
			if !reflect.DeepEqual(ref, tc.want) || refTrunc != tc.truncated {
				t.Fatalf("reference model disagrees with the table: %q %v", ref, refTrunc)
			}
		})
	}
}

// TestListRandomAgainstReference compares List with the brute-force model
// on random key sets, and checks that paging by the last returned name
// walks the same sequence as one unbounded listing.
func TestListRandomAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "b", "/", "-", "é", "日", "\x7f", "ab"}
	delims := []string{"", "/", "-", "é", "ab", "//"}
	randStr := func(n int) string {
		var sb strings.Builder
		for i := 0; i < n; i++ {
			sb.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		return sb.String()
	}
	for round := 0; round < 60; round++ {
		h := newHarness(t)
		set := map[string]bool{}
		for i, n := 0, 1+rng.Intn(150); i < n; i++ {
			set[randStr(1+rng.Intn(6))] = true
		}
		var keys []string
		for k := range set {
			keys = append(keys, k)
			h.put("b", k, fmt.Sprintf("v-%d-%d", round, len(keys)), 0)
		}
		for q := 0; q < 40; q++ {
			req := metapb.ListRequest{Bucket: "b", Delimiter: delims[rng.Intn(len(delims))], MaxKeys: 1 + rng.Intn(12)}
			if rng.Intn(2) == 0 {
				req.Prefix = randStr(rng.Intn(3))
			}
			switch rng.Intn(3) {
			case 0:
				req.StartAfter = randStr(rng.Intn(4))
			case 1:
				req.StartAfter = keys[rng.Intn(len(keys))]
			}
			got := h.s.List(req)
			want, wantTrunc := refList(keys, req)
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(names(got), want) || got.Truncated != wantTrunc {
				t.Fatalf("round %d %+v:\n got %q %v\nwant %q %v", round, req, names(got), got.Truncated, want, wantTrunc)
			}
			// Paging.
			all := req
			all.MaxKeys = 1000
			full, _ := refList(keys, all)
			var paged []string
			page := req
			page.StartAfter = req.StartAfter
			for i := 0; ; i++ {
				r := h.s.List(page)
				paged = append(paged, names(r)...)
				if !r.Truncated {
					break
				}
				if len(r.Entries) == 0 || i > 1000 {
					t.Fatalf("paging stuck at %+v", page)
				}
				page.StartAfter = r.Entries[len(r.Entries)-1].Name()
			}
			if !reflect.DeepEqual(paged, full) && !(len(paged) == 0 && len(full) == 0) {
				t.Fatalf("round %d %+v: paged %q, want %q", round, req, paged, full)
			}
		}
	}
}

func TestListUploads(t *testing.T) {
	h := newHarness(t)
	create := func(key, uid string) {
		r := h.apply(metapb.Command{Type: metapb.CmdCreateUpload, CreateUpload: &metapb.CreateUploadRequest{Upload: metapb.Upload{Bucket: "b", Key: key, UploadID: uid}}})
		if r.Err != "" {
			t.Fatal(r)
		}
	}
	// Initiated order differs from id order for key "k".
	create("k", "u9")
	create("k", "u1")
	create("a/x", "u2")
	create("a/y", "u3")
	create("z", "u4")
	flat := func(r metapb.ListUploadsResponse) []string {
		var out []string
		for _, u := range r.Uploads {
			out = append(out, u.Key+"#"+u.UploadID)
		}
		for _, p := range r.CommonPrefixes {
			out = append(out, "P:"+p)
		}
		return out
	}
	cases := []struct {
		name      string
		req       metapb.ListUploadsRequest
		want      []string
		truncated bool
	}{
		{"all", metapb.ListUploadsRequest{}, []string{"a/x#u2", "a/y#u3", "k#u9", "k#u1", "z#u4"}, false},
		{"delimiter", metapb.ListUploadsRequest{Delimiter: "/"}, []string{"k#u9", "k#u1", "z#u4", "P:a/"}, false},
		{"max", metapb.ListUploadsRequest{MaxUploads: 3}, []string{"a/x#u2", "a/y#u3", "k#u9"}, true},
		{"key marker", metapb.ListUploadsRequest{KeyMarker: "k"}, []string{"z#u4"}, false},
		{"key and id marker", metapb.ListUploadsRequest{KeyMarker: "k", UploadIDMarker: "u9"}, []string{"k#u1", "z#u4"}, false},
		{"prefix", metapb.ListUploadsRequest{Prefix: "a/"}, []string{"a/x#u2", "a/y#u3"}, false},
		{"marker is common prefix", metapb.ListUploadsRequest{Delimiter: "/", KeyMarker: "a/"}, []string{"k#u9", "k#u1", "z#u4"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Bucket = "b"
			got := h.s.ListUploads(tc.req)
			if !reflect.DeepEqual(flat(got), tc.want) || got.Truncated != tc.truncated {
				t.Fatalf("got %q %v, want %q %v", flat(got), got.Truncated, tc.want, tc.truncated)
			}
		})
	}
}

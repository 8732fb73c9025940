package metaclient

import (
	"context"
	"sort"
	"sync"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// fanout runs fn for every partition in parallel and returns the first error.
func (c *Client) fanout(ctx context.Context, fn func(ctx context.Context, p int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, c.parts)
	for p := 0; p < c.parts; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[p] = fn(ctx, p); errs[p] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// List lists a bucket over all partitions and merges the answers by name
// (equal common prefixes deduplicated), cut at MaxKeys; Truncated is set
// when entries remain in any partition.
//
// Keys hash evenly over partitions, so each partition is first asked for
// about its share of the page (plus slack), not for a whole page: a page of
// 1000 over 8 partitions fetches ≈1,300 entries instead of 8,000. A merged
// entry is final only when no partition that still has entries could hold a
// smaller name, i.e. when its name is ≤ the last name fetched from every
// partition that is not exhausted; partitions that limit the page are asked
// for more, from where they stopped, until the page is full.
func (c *Client) List(ctx context.Context, q metapb.ListRequest) (metapb.ListResponse, error) {
	if q.MaxKeys <= 0 || q.MaxKeys > 1000 {
		q.MaxKeys = 1000
	}
	n := c.parts
	per := min(q.MaxKeys, q.MaxKeys/n+q.MaxKeys/(4*n)+8)
	acc := make([]metapb.ListResponse, n) // entries fetched so far per partition; Truncated = more remain
	for p := range acc {
		acc[p].Truncated = true
	}
	next := make([]string, n) // StartAfter for the next fetch of each partition
	for p := range next {
		next[p] = q.StartAfter
	}
	want := make([]int, 0, n)
	for p := 0; p < n; p++ {
		want = append(want, p)
	}
	for {
		got := make([]metapb.ListResponse, n)
		err := c.fanoutSome(ctx, want, func(ctx context.Context, p int) error {
			pq := q
			pq.StartAfter, pq.MaxKeys = next[p], per
			r, err := c.read(ctx, p, "list", metapb.ReadRequest{List: &pq})
			if err == nil && r.List != nil {
				got[p] = *r.List
			}
			return err
		})
		if err != nil {
			return metapb.ListResponse{}, err
		}
		for _, p := range want {
			acc[p].Entries = append(acc[p].Entries, got[p].Entries...)
			acc[p].Truncated = got[p].Truncated && len(got[p].Entries) > 0
			if k := len(got[p].Entries); k > 0 {
				next[p] = got[p].Entries[k-1].Name()
			}
		}
		// bound: the smallest last-fetched name among partitions with more.
		bound, limited := "", false
		for p := 0; p < n; p++ {
			if acc[p].Truncated && (!limited || next[p] < bound) {
				bound, limited = next[p], true
			}
		}
		merged := MergeLists(acc, q.MaxKeys)
		final := len(merged.Entries)
		if limited {
			final = sort.Search(len(merged.Entries), func(i int) bool { return merged.Entries[i].Name() > bound })
		}
		if final >= q.MaxKeys || !limited {
			return merged, nil
		}
		// Not enough final entries: fetch more from the limiting partitions.
		want = want[:0]
		for p := 0; p < n; p++ {
			if acc[p].Truncated && next[p] == bound {
				want = append(want, p)
			}
		}
		per = min(1000, per*2)
	}
}

// fanoutSome runs fn for the given partitions in parallel; first error wins.
func (c *Client) fanoutSome(ctx context.Context, parts []int, fn func(ctx context.Context, p int) error) error {
	if len(parts) == c.parts {
		return c.fanout(ctx, fn)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = fn(ctx, p); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// MergeLists merges per-partition listings (each sorted by name) into one,
// cut at max entries.
func MergeLists(resps []metapb.ListResponse, max int) metapb.ListResponse {
	lists := make([][]metapb.ListEntry, len(resps))
	trunc := false
	for p, r := range resps {
		lists[p], trunc = r.Entries, trunc || r.Truncated
	}
	entries, t := mergeByName(lists, trunc, max, func(e metapb.ListEntry) (string, bool) { return e.Name(), e.Version == nil })
	return metapb.ListResponse{Entries: entries, Truncated: t}
}

// mergeByName merges per-partition entry lists, each ordered by name
// (entries of one name come from one partition, so their order is kept),
// into one cut at max entries. name returns an entry's sort name and
// whether it is a common prefix: the same prefix from several partitions
// appears once. truncated is whether any partition was cut.
func mergeByName[E any](lists [][]E, truncated bool, max int, name func(E) (string, bool)) ([]E, bool) {
	out := []E{}
	idx := make([]int, len(lists))
	lastName, lastPrefix := "", false
	for {
		best, bestName := -1, ""
		for p, l := range lists {
			if idx[p] >= len(l) {
				continue
			}
			if n, _ := name(l[idx[p]]); best < 0 || n < bestName {
				best, bestName = p, n
			}
		}
		if best < 0 {
			return out, truncated
		}
		e := lists[best][idx[best]]
		idx[best]++
		n, isPrefix := name(e)
		if len(out) > 0 && isPrefix && lastPrefix && n == lastName {
			continue // the same common prefix from another partition
		}
		if len(out) == max {
			return out, true
		}
		out = append(out, e)
		lastName, lastPrefix = n, isPrefix
	}
}

// ListUploads lists in-progress uploads over all partitions, merged like List:
// uploads ordered by (key, initiated, upload id) and common prefixes counted
// together against MaxUploads.
func (c *Client) ListUploads(ctx context.Context, q metapb.ListUploadsRequest) (metapb.ListUploadsResponse, error) {
	if q.MaxUploads <= 0 || q.MaxUploads > 1000 {
		q.MaxUploads = 1000
	}
	resps := make([]metapb.ListUploadsResponse, c.parts)
	err := c.fanout(ctx, func(ctx context.Context, p int) error {
		r, err := c.read(ctx, p, "uploads", metapb.ReadRequest{ListUploads: &q})
		if err == nil && r.Uploads != nil {
			resps[p] = *r.Uploads
		}
		return err
	})
	if err != nil {
		return metapb.ListUploadsResponse{}, err
	}
	return MergeUploads(resps, q.MaxUploads), nil
}

// MergeUploads merges per-partition upload listings, cut at max entries
// (uploads plus common prefixes).
func MergeUploads(resps []metapb.ListUploadsResponse, max int) metapb.ListUploadsResponse {
	type ent struct {
		name   string
		upload *metapb.Upload
	}
	var all []ent
	prefixes := map[string]bool{}
	truncated := false
	for _, r := range resps {
		for i := range r.Uploads {
			all = append(all, ent{name: r.Uploads[i].Key, upload: &r.Uploads[i]})
		}
		for _, p := range r.CommonPrefixes {
			if !prefixes[p] {
				prefixes[p] = true
				all = append(all, ent{name: p})
			}
		}
		truncated = truncated || r.Truncated
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if a.upload == nil || b.upload == nil {
			return a.upload == nil && b.upload != nil
		}
		if !a.upload.Initiated.Equal(b.upload.Initiated) {
			return a.upload.Initiated.Before(b.upload.Initiated)
		}
		return a.upload.UploadID < b.upload.UploadID
	})
	out := metapb.ListUploadsResponse{Uploads: []metapb.Upload{}}
	if len(all) > max {
		all = all[:max]
		truncated = true
	}
	for _, e := range all {
		if e.upload != nil {
			out.Uploads = append(out.Uploads, *e.upload)
		} else {
			out.CommonPrefixes = append(out.CommonPrefixes, e.name)
		}
	}
	out.Truncated = truncated
	return out
}

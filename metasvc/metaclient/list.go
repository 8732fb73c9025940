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

// List lists a bucket over all partitions: every partition is asked (in
// parallel) for up to MaxKeys entries after StartAfter; the answers are
// merged by name, equal common prefixes deduplicated, and the result cut at
// MaxKeys. Truncated is set when entries remain in any partition.
func (c *Client) List(ctx context.Context, q metapb.ListRequest) (metapb.ListResponse, error) {
	if q.MaxKeys <= 0 || q.MaxKeys > 1000 {
		q.MaxKeys = 1000
	}
	resps := make([]metapb.ListResponse, c.parts)
	err := c.fanout(ctx, func(ctx context.Context, p int) error {
		r, err := c.read(ctx, p, "list", metapb.ReadRequest{List: &q})
		if err == nil && r.List != nil {
			resps[p] = *r.List
		}
		return err
	})
	if err != nil {
		return metapb.ListResponse{}, err
	}
	return MergeLists(resps, q.MaxKeys), nil
}

// MergeLists merges per-partition listings (each sorted by name) into one,
// cut at max entries.
func MergeLists(resps []metapb.ListResponse, max int) metapb.ListResponse {
	out := metapb.ListResponse{Entries: []metapb.ListEntry{}}
	idx := make([]int, len(resps))
	for {
		best := -1
		for p, r := range resps {
			if idx[p] >= len(r.Entries) {
				continue
			}
			if best < 0 || r.Entries[idx[p]].Name() < resps[best].Entries[idx[best]].Name() {
				best = p
			}
		}
		if best < 0 {
			break
		}
		e := resps[best].Entries[idx[best]]
		idx[best]++
		if n := len(out.Entries); n > 0 {
			last := out.Entries[n-1]
			if last.Version == nil && e.Version == nil && last.Prefix == e.Prefix {
				continue // the same common prefix from another partition
			}
		}
		if len(out.Entries) == max {
			out.Truncated = true
			return out
		}
		out.Entries = append(out.Entries, e)
	}
	for _, r := range resps {
		if r.Truncated {
			out.Truncated = true
		}
	}
	return out
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

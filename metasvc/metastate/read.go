package metastate

import (
	"sort"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// MaxListKeys bounds one List / ListUploads / ListParts page.
const MaxListKeys = 1000

func clampMax(n int) int {
	if n <= 0 || n > MaxListKeys {
		return MaxListKeys
	}
	return n
}

// Get returns the key's current COMMITTED version (a deep copy); PREPARING
// versions are never returned.
func (s *State) Get(bucket, key string) (metapb.ObjectVersion, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.t.current(bucket, key)
	if v == nil {
		return metapb.ObjectVersion{}, false
	}
	return *cloneVersion(v), true
}

// GetVersion returns a record of the key by its writer-chosen VersionID, in
// any state (a deep copy): committed (current or not), delete marker, or
// PREPARING.
func (s *State) GetVersion(bucket, key, versionID string) (metapb.ObjectVersion, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if v := s.t.byRecordID(bucket, key, versionID); v != nil {
		return *cloneVersion(v), true
	}
	if v := s.t.preparing(bucket, key, versionID); v != nil {
		return *cloneVersion(v), true
	}
	return metapb.ObjectVersion{}, false
}

// prefixEnd returns the least string greater than every string having
// prefix p; ok is false when there is none (p is all 0xff bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// commonPrefix returns the rolled-up prefix of key (prefix + the rest up
// to and including the first delimiter after prefix), if any.
func commonPrefix(key, prefix, delim string) (string, bool) {
	if delim == "" || !strings.HasPrefix(key, prefix) {
		return "", false
	}
	rest := key[len(prefix):]
	i := strings.Index(rest, delim)
	if i < 0 {
		return "", false
	}
	return prefix + rest[:i+len(delim)], true
}

// startPivot is where a listing begins: at prefix, after the marker, and
// past every key under the marker when the marker is itself a common
// prefix. ok is false when nothing can follow.
func startPivot(prefix, delim, marker string) (string, bool) {
	pivot := prefix
	if marker > pivot {
		pivot = marker
	}
	if cp, ok := commonPrefix(marker, prefix, delim); ok && cp == marker {
		end, ok := prefixEnd(marker)
		if !ok {
			return "", false
		}
		if end > pivot {
			pivot = end
		}
	}
	return pivot, true
}

// List lists the committed keys of one bucket in this partition in byte
// order, rolling keys up into common prefixes at Delimiter, starting after
// StartAfter, at most MaxKeys entries (a common prefix counts as one).
// Listed versions omit inline bytes. It seeks past each common prefix, so
// its cost is O((entries+prefixes) · log n), never a scan of the bucket.
func (s *State) List(req metapb.ListRequest) metapb.ListResponse {
	max := clampMax(req.MaxKeys)
	resp := metapb.ListResponse{Entries: []metapb.ListEntry{}}
	if req.Bucket == "" {
		return resp
	}
	pivot, ok := startPivot(req.Prefix, req.Delimiter, req.StartAfter)
	if !ok {
		return resp
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for {
		restart := false
		s.t.cur.AscendGreaterOrEqual(&metapb.ObjectVersion{Bucket: req.Bucket, Key: pivot}, func(v *metapb.ObjectVersion) bool {
			if v.Bucket != req.Bucket || !strings.HasPrefix(v.Key, req.Prefix) {
				return false
			}
			if v.Key <= req.StartAfter {
				return true
			}
			if len(resp.Entries) == max {
				resp.Truncated = true
				return false
			}
			if cp, ok := commonPrefix(v.Key, req.Prefix, req.Delimiter); ok {
				resp.Entries = append(resp.Entries, metapb.ListEntry{Prefix: cp})
				if end, ok := prefixEnd(cp); ok {
					pivot, restart = end, true
				}
				return false
			}
			resp.Entries = append(resp.Entries, metapb.ListEntry{Version: cloneListed(v)})
			return true
		})
		if !restart {
			return resp
		}
	}
}

// GetUpload returns an in-progress upload.
func (s *State) GetUpload(bucket, key, uploadID string) (metapb.Upload, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.t.upload(bucket, key, uploadID)
	if u == nil {
		return metapb.Upload{}, false
	}
	return *cloneUpload(u), true
}

// ListUploads lists in-progress uploads of one bucket ordered by (key,
// initiated, upload id), with prefix/delimiter rollup. With UploadIDMarker
// empty, keys ≤ KeyMarker are skipped; otherwise uploads of KeyMarker after
// the marker upload (in that order) are included. A common prefix counts as
// one entry against MaxUploads.
func (s *State) ListUploads(req metapb.ListUploadsRequest) metapb.ListUploadsResponse {
	max := clampMax(req.MaxUploads)
	resp := metapb.ListUploadsResponse{Uploads: []metapb.Upload{}}
	if req.Bucket == "" {
		return resp
	}
	pivot, ok := startPivot(req.Prefix, req.Delimiter, req.KeyMarker)
	if !ok {
		return resp
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0 // entries so far
	var group []*metapb.Upload
	flush := func() {
		if len(group) == 0 {
			return
		}
		sort.Slice(group, func(i, j int) bool {
			if !group[i].Initiated.Equal(group[j].Initiated) {
				return group[i].Initiated.Before(group[j].Initiated)
			}
			return group[i].UploadID < group[j].UploadID
		})
		if group[0].Key == req.KeyMarker && req.UploadIDMarker != "" {
			skip := -1
			for i, u := range group {
				if u.UploadID == req.UploadIDMarker {
					skip = i
				}
			}
			if skip < 0 { // marker upload gone: fall back to id order
				for i, u := range group {
					if u.UploadID <= req.UploadIDMarker {
						skip = i
					}
				}
			}
			group = group[skip+1:]
		}
		for _, u := range group {
			if n == max {
				resp.Truncated = true
				break
			}
			resp.Uploads = append(resp.Uploads, *cloneUpload(u))
			n++
		}
		group = group[:0]
	}
	for !resp.Truncated {
		restart := false
		s.t.uploads.AscendGreaterOrEqual(&metapb.Upload{Bucket: req.Bucket, Key: pivot}, func(u *metapb.Upload) bool {
			if u.Bucket != req.Bucket || !strings.HasPrefix(u.Key, req.Prefix) {
				return false
			}
			if u.Key < req.KeyMarker || (u.Key == req.KeyMarker && req.UploadIDMarker == "") {
				return true
			}
			if len(group) > 0 && group[0].Key != u.Key {
				flush()
				if resp.Truncated {
					return false
				}
			}
			if cp, ok := commonPrefix(u.Key, req.Prefix, req.Delimiter); ok {
				if n == max {
					resp.Truncated = true
					return false
				}
				resp.CommonPrefixes = append(resp.CommonPrefixes, cp)
				n++
				if end, ok := prefixEnd(cp); ok {
					pivot, restart = end, true
				}
				return false
			}
			group = append(group, u)
			return true
		})
		flush()
		if !restart {
			break
		}
	}
	return resp
}

// ListParts lists the committed parts of an upload by number after
// PartNumberMarker (inline bytes omitted); false when there is no such
// upload.
func (s *State) ListParts(req metapb.ListPartsRequest) (metapb.ListPartsResponse, bool) {
	max := clampMax(req.MaxParts)
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.t.upload(req.Bucket, req.Key, req.UploadID)
	if u == nil {
		return metapb.ListPartsResponse{}, false
	}
	resp := metapb.ListPartsResponse{Upload: *cloneUpload(u), Parts: []metapb.Part{}}
	s.t.uploadParts(req.Bucket, req.Key, req.UploadID, req.PartNumberMarker+1, func(p *metapb.Part) bool {
		if p.State != metapb.StateCommitted {
			return true
		}
		if len(resp.Parts) == max {
			resp.Truncated = true
			return false
		}
		c := clonePart(p)
		c.Inline = nil
		resp.Parts = append(resp.Parts, *c)
		return true
	})
	return resp, true
}

// GetPart returns the committed attempt of a part, with its inline bytes.
func (s *State) GetPart(bucket, key, uploadID string, number int) (metapb.Part, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.t.committedPart(bucket, key, uploadID, number)
	if p == nil {
		return metapb.Part{}, false
	}
	return *clonePart(p), true
}

// GetPartAttempt returns one attempt of a part in any state.
func (s *State) GetPartAttempt(bucket, key, uploadID string, number int, attempt string) (metapb.Part, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.t.partAttempt(bucket, key, uploadID, number, attempt)
	if p == nil {
		return metapb.Part{}, false
	}
	return *clonePart(p), true
}

// ScanPreparing returns up to max (≤0: 1000) PREPARING versions whose
// PreparedAt is before olderThan, in (bucket, key, version) order — the
// janitor's candidates to abort.
func (s *State) ScanPreparing(olderThan time.Time, max int) []metapb.ObjectVersion {
	max = clampMax(max)
	var out []metapb.ObjectVersion
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.t.prep.Ascend(func(v *metapb.ObjectVersion) bool {
		if v.PreparedAt.Before(olderThan) {
			out = append(out, *cloneVersion(v))
		}
		return len(out) < max
	})
	return out
}

// ScanPreparingParts returns up to max (≤0: 1000) PREPARING part attempts
// created before olderThan — the janitor's candidates for AbortPart.
func (s *State) ScanPreparingParts(olderThan time.Time, max int) []metapb.Part {
	max = clampMax(max)
	var out []metapb.Part
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.t.preparingParts == 0 {
		return nil
	}
	s.t.parts.Ascend(func(p *metapb.Part) bool {
		if p.State == metapb.StatePreparing && p.Created.Before(olderThan) {
			c := clonePart(p)
			c.Inline = nil
			out = append(out, *c)
		}
		return len(out) < max
	})
	return out
}

// ScanUploads returns up to max (≤0: 1000) uploads initiated before
// olderThan — the janitor's candidates for expiry.
func (s *State) ScanUploads(olderThan time.Time, max int) []metapb.Upload {
	max = clampMax(max)
	var out []metapb.Upload
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.t.uploads.Ascend(func(u *metapb.Upload) bool {
		if u.Initiated.Before(olderThan) {
			out = append(out, *cloneUpload(u))
		}
		return len(out) < max
	})
	return out
}

// ReadFeed returns up to max (≤0: 1000) feed entries with Seq > after.
func (s *State) ReadFeed(after uint64, max int) []metapb.FeedEntry {
	max = clampMax(max)
	var out []metapb.FeedEntry
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.t.feed.AscendGreaterOrEqual(metapb.FeedEntry{Seq: after + 1}, func(e metapb.FeedEntry) bool {
		out = append(out, e)
		return len(out) < max
	})
	return out
}

// FeedConsumers returns each registered consumer's acknowledged seq.
func (s *State) FeedConsumers() map[string]uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := make(map[string]uint64, len(s.t.consumer))
	for k, v := range s.t.consumer {
		m[k] = v
	}
	return m
}

// ListGarbage returns up to max (≤0: 1000) garbage entries, oldest first.
func (s *State) ListGarbage(max int) []metapb.Garbage {
	max = clampMax(max)
	var out []metapb.Garbage
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.t.garbage.Ascend(func(g *metapb.Garbage) bool {
		c := *g
		c.Segments = cloneSegments(g.Segments)
		out = append(out, c)
		return len(out) < max
	})
	return out
}

// Stats counts the state's records.
func (s *State) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.t
	return Stats{
		Objects: t.cur.Len(), Versions: t.vers.Len(), Bytes: t.bytes, Preparing: t.prep.Len(), Uploads: t.uploads.Len(),
		Parts: t.parts.Len(), PreparingParts: t.preparingParts, Tokens: t.tokens.Len(),
		FeedLen: t.feed.Len(), FeedConsumers: len(t.consumer), Garbage: t.garbage.Len(),
		Seals:       t.seals.Len(),
		LastApplied: t.lastApplied,
	}
}

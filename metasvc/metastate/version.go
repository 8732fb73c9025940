package metastate

import (
	"encoding/binary"
	"hash/fnv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Versions (doc.go, "Versions"). Every committed record of a key — the
// current version, noncurrent versions and delete markers — lives in vers,
// ordered (bucket, key, Ver descending), so a key's newest record is its
// first. cur holds the newest record when it is not a delete marker (the
// same pointer), so GET and ListObjects never step over markers or old
// versions. nulls indexes each key's null version (at most one).

const verAlphabet = metapb.VerAlphabet

// verSeek sorts after every version id (and "null"): the first record of a
// key in vers is at or after {Key, Ver: verSeek}.
const verSeek = "~"

// EncodeVer returns the version id of (nanos, region): 8 bytes of Unix
// nanoseconds then 4 bytes of FNV-1a(region), big-endian, 6 bits per
// character. Ids of one region sort by time; ids of equal times from two
// regions differ by the region part.
func EncodeVer(nanos int64, region string) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(nanos))
	h := fnv.New32a()
	h.Write([]byte(region))
	binary.BigEndian.PutUint32(b[8:], h.Sum32())
	var out [metapb.VerLen]byte
	for i := 0; i < 4; i++ { // 4 groups of 3 bytes → 4 characters
		n := uint32(b[3*i])<<16 | uint32(b[3*i+1])<<8 | uint32(b[3*i+2])
		for j := 0; j < 4; j++ {
			out[4*i+j] = verAlphabet[(n>>(18-6*j))&63]
		}
	}
	return string(out[:])
}

// DecodeVer returns the commit time a version id encodes; ok is false for
// anything that is not a well-formed id ("null" included).
func DecodeVer(id string) (time.Time, bool) {
	if len(id) != metapb.VerLen {
		return time.Time{}, false
	}
	var b [12]byte
	for i := 0; i < 4; i++ {
		var n uint32
		for j := 0; j < 4; j++ {
			k := strings.IndexByte(verAlphabet, id[4*i+j])
			if k < 0 {
				return time.Time{}, false
			}
			n = n<<6 | uint32(k)
		}
		b[3*i], b[3*i+1], b[3*i+2] = byte(n>>16), byte(n>>8), byte(n)
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))).UTC(), true
}

// ValidVersionID reports whether id can name a version: "null" or a
// well-formed version id.
func ValidVersionID(id string) bool { return metapb.ValidVersionID(id) }

// nextVer assigns the next version id of this partition: the command's time,
// or one nanosecond after the last id when the clock did not move forward
// (a new leader's clock may be behind), so ids of a key grow in commit order.
func (t *trees) nextVer(now time.Time, region string) string {
	n := now.UnixNano()
	if n <= t.verClock {
		n = t.verClock + 1
	}
	t.verClock = n
	return EncodeVer(n, region)
}

func lessVers(a, b *metapb.ObjectVersion) bool {
	if a.Bucket != b.Bucket {
		return a.Bucket < b.Bucket
	}
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	return a.Ver > b.Ver // newest first
}

// latest returns the key's newest committed record (object or marker).
func (t *trees) latest(bucket, key string) *metapb.ObjectVersion {
	var out *metapb.ObjectVersion
	t.vers.AscendGreaterOrEqual(&metapb.ObjectVersion{Bucket: bucket, Key: key, Ver: verSeek}, func(v *metapb.ObjectVersion) bool {
		if v.Bucket == bucket && v.Key == key {
			out = v
		}
		return false
	})
	return out
}

// nullOf returns the key's null version or marker.
func (t *trees) nullOf(bucket, key string) *metapb.ObjectVersion {
	v, ok := t.nulls.Get(&metapb.ObjectVersion{Bucket: bucket, Key: key})
	if !ok {
		return nil
	}
	return v
}

// byVer returns the version named by an S3 version id ("null" or an id).
func (t *trees) byVer(bucket, key, id string) *metapb.ObjectVersion {
	if id == metapb.NullVersion {
		return t.nullOf(bucket, key)
	}
	v, ok := t.vers.Get(&metapb.ObjectVersion{Bucket: bucket, Key: key, Ver: id})
	if !ok {
		return nil
	}
	return v
}

// byRecordID returns the committed record whose writer-chosen VersionID is
// vid (idempotent retries, shard-map updates). It walks the key's versions:
// O(versions of the key).
func (t *trees) byRecordID(bucket, key, vid string) *metapb.ObjectVersion {
	if c := t.current(bucket, key); c != nil && c.VersionID == vid {
		return c
	}
	var out *metapb.ObjectVersion
	t.keyVersions(bucket, key, func(v *metapb.ObjectVersion) bool {
		if v.VersionID == vid {
			out = v
			return false
		}
		return true
	})
	return out
}

// keyVersions calls fn on the key's records, newest first, until it returns false.
func (t *trees) keyVersions(bucket, key string, fn func(*metapb.ObjectVersion) bool) {
	t.vers.AscendGreaterOrEqual(&metapb.ObjectVersion{Bucket: bucket, Key: key, Ver: verSeek}, func(v *metapb.ObjectVersion) bool {
		if v.Bucket != bucket || v.Key != key {
			return false
		}
		return fn(v)
	})
}

// addVersion inserts a committed record that is newer than every record of
// its key (its Ver was just assigned) and makes it the key's newest: cur
// points at it, or loses the key when it is a delete marker. The previous
// current version stays in vers (noncurrent).
func (t *trees) addVersion(v *metapb.ObjectVersion) {
	t.vers.ReplaceOrInsert(v)
	if v.Null {
		t.nulls.ReplaceOrInsert(v)
	}
	if v.IsDeleteMarker() {
		if old, had := t.cur.Delete(v); had {
			t.bytes -= old.Size
			t.retire(old)
		}
		return
	}
	if old, had := t.cur.ReplaceOrInsert(v); had {
		t.bytes -= old.Size
		t.retire(old)
	}
	t.bytes += v.Size
}

// removeVersion removes one committed record for good and queues its shards
// as garbage (reason); when it was the key's newest, the next record becomes
// current (or none, when that is a delete marker).
func (t *trees) removeVersion(v *metapb.ObjectVersion, reason string, now time.Time) {
	if _, had := t.vers.Delete(v); !had {
		return
	}
	if n := t.nullOf(v.Bucket, v.Key); n == v {
		t.nulls.Delete(v)
	}
	if c := t.current(v.Bucket, v.Key); c == v {
		t.cur.Delete(v)
		t.bytes -= v.Size
		t.retire(v)
	}
	if l := t.latest(v.Bucket, v.Key); l != nil && !l.IsDeleteMarker() {
		if c := t.current(v.Bucket, v.Key); c != l {
			if c != nil { // cannot happen: cur is the newest record
				t.bytes -= c.Size
			}
			t.cur.ReplaceOrInsert(l)
			t.bytes += l.Size
		}
	}
	t.queueGarbage(reason, v.Bucket, v.Key, v.Segments, now)
}

// install commits v as the key's newest version under mode: it gets the
// next version id; Off and Suspended replace the key's null version (its
// shards become garbage, "overwritten", or "deleted" when v is a delete
// marker); Enabled keeps every version. It
// returns the version that was current before, if any.
func (t *trees) install(v *metapb.ObjectVersion, mode metapb.Versioning, region string, now time.Time) *metapb.ObjectVersion {
	prev := t.current(v.Bucket, v.Key)
	v.Ver = t.nextVer(now, region)
	v.Null = mode != metapb.VersioningEnabled
	if v.Null {
		if n := t.nullOf(v.Bucket, v.Key); n != nil {
			reason := "overwritten"
			if v.IsDeleteMarker() {
				reason = "deleted"
			}
			t.removeVersion(n, reason, now)
		}
	}
	t.addVersion(v)
	return prev
}

// deleteVersioned serves a DeleteRequest on a versioned bucket or one
// naming a version (metapb.DeleteRequest).
func (t *trees) deleteVersioned(now time.Time, region string, r *metapb.DeleteRequest) metapb.Result {
	if r.Version != "" {
		if !ValidVersionID(r.Version) {
			return errResult(metapb.ErrBadRequest, "delete: malformed version id")
		}
		v := t.byVer(r.Bucket, r.Key, r.Version)
		if v == nil {
			return metapb.Result{}
		}
		if protected(v, now, r.BypassGovernance) {
			return lockedResult(v) // objectlock.go
		}
		t.removeVersion(v, "deleted", now)
		seq := t.appendFeedVer(metapb.FeedDelete, v, now)
		return metapb.Result{Version: cloneVersion(v), Seq: seq}
	}
	if res, ok := t.fenced(r.Bucket); ok {
		return res
	}
	if res, ok := t.nullReplaceLocked(r.Bucket, r.Key, r.Versioning, now); ok {
		return res // a suspended bucket's marker would replace a protected null version
	}
	m := &metapb.ObjectVersion{
		Format: metapb.FormatV1, Bucket: r.Bucket, Key: r.Key,
		State: metapb.StateDeleteMarker, Owner: r.Owner, Created: now, PreparedAt: now, CommittedAt: now,
		Replication: r.Replication,
	}
	t.install(m, r.Versioning, region, now)
	m.VersionID = "dm-" + m.Ver // a record id of its own (Ver is unique); not yet shared with any snapshot
	seq := t.appendFeedVer(metapb.FeedMarker, m, now)
	return metapb.Result{Version: cloneVersion(m), Seq: seq}
}

func (t *trees) appendFeedVer(op metapb.FeedOp, v *metapb.ObjectVersion, now time.Time) uint64 {
	seq := t.appendFeed(op, v.Bucket, v.Key, v.VersionID, now)
	e, _ := t.feed.Get(metapb.FeedEntry{Seq: seq})
	if e.Seq == seq {
		e.Ver, e.Null = v.Ver, v.Null
		t.feed.ReplaceOrInsert(e)
	}
	return seq
}

// ---- reads ----

// Latest returns the key's newest committed record — a version or a delete
// marker — (a deep copy); false when the key has none.
func (s *State) Latest(bucket, key string) (metapb.ObjectVersion, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.t.latest(bucket, key)
	if v == nil {
		return metapb.ObjectVersion{}, false
	}
	return *cloneVersion(v), true
}

// GetVer returns the version or delete marker named by an S3 version id
// ("null" or an id).
func (s *State) GetVer(bucket, key, id string) (metapb.ObjectVersion, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.t.byVer(bucket, key, id)
	if v == nil {
		return metapb.ObjectVersion{}, false
	}
	return *cloneVersion(v), true
}

// ListVersions lists the bucket's versions and delete markers in this
// partition (metapb.ListVersionsRequest), rolling keys up into common
// prefixes. Like List it seeks past each common prefix: a page costs
// O((entries + prefixes) · log n).
func (s *State) ListVersions(req metapb.ListVersionsRequest) metapb.ListVersionsResponse {
	max := clampMax(req.MaxKeys)
	resp := metapb.ListVersionsResponse{Entries: []metapb.VersionEntry{}}
	if req.Bucket == "" {
		return resp
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// Where to start: after (KeyMarker, marker version), or after KeyMarker.
	pivot := &metapb.ObjectVersion{Bucket: req.Bucket, Ver: verSeek}
	after := func(v *metapb.ObjectVersion) bool { return v.Key > req.KeyMarker } // v is past the marker
	prevKey, havePrev := "", false
	if req.VersionMarker != "" && req.KeyMarker != "" {
		mv := req.VersionMarker
		if mv == metapb.NullVersion {
			if n := s.t.nullOf(req.Bucket, req.KeyMarker); n != nil {
				mv = n.Ver
			} else {
				mv = ""
			}
		}
		if mv != "" && req.KeyMarker >= req.Prefix {
			pivot.Key, pivot.Ver = req.KeyMarker, mv
			after = func(v *metapb.ObjectVersion) bool {
				return v.Key > req.KeyMarker || (v.Key == req.KeyMarker && v.Ver < mv)
			}
			prevKey, havePrev = req.KeyMarker, true
		}
	}
	if !havePrev {
		p, ok := startPivot(req.Prefix, req.Delimiter, req.KeyMarker)
		if !ok {
			return resp
		}
		pivot.Key = p
	}
	for {
		restart := false
		s.t.vers.AscendGreaterOrEqual(pivot, func(v *metapb.ObjectVersion) bool {
			if v.Bucket != req.Bucket || !strings.HasPrefix(v.Key, req.Prefix) {
				if v.Bucket == req.Bucket && v.Key < req.Prefix {
					return true // before the prefix (a marker below it)
				}
				return false
			}
			if !after(v) {
				return true
			}
			if len(resp.Entries) == max {
				resp.Truncated = true
				return false
			}
			if cp, ok := commonPrefix(v.Key, req.Prefix, req.Delimiter); ok {
				resp.Entries = append(resp.Entries, metapb.VersionEntry{Prefix: cp})
				if end, ok := prefixEnd(cp); ok {
					pivot = &metapb.ObjectVersion{Bucket: req.Bucket, Key: end, Ver: verSeek}
					restart = true
				}
				return false
			}
			latest := !havePrev || v.Key != prevKey
			prevKey, havePrev = v.Key, true
			resp.Entries = append(resp.Entries, metapb.VersionEntry{Version: cloneListed(v), Latest: latest})
			return true
		})
		if !restart {
			return resp
		}
	}
}

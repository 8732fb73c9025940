package metastate

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sort"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Snapshot format (see doc.go):
//
//	header  = "MRDNMETA" uint32be(version)
//	frame   = kind:u8 uvarint(len) payload[len]     (payload: JSON)
//	trailer = 0xFF uint32be(CRC-32C of every byte before the CRC, 0xFF included)
const (
	snapMagic         = "MRDNMETA"
	SnapshotFormatV1  = 1 // frames 1–9
	SnapshotFormatV2  = 2 // adds frame 10 (bucket seals) and meta.seals
	SnapshotFormatV3  = 3 // adds frames 11, 12 (background leases, checkpoints) and meta.clock/leases/checkpoints
	SnapshotFormatV4  = 4 // versions: frame 13 (every committed version and delete marker) replaces frame 2; meta.versions/ver_clock
	maxFramePayload   = 256 << 20
	frameMeta         = 1
	frameCurrent      = 2
	framePreparing    = 3
	frameUpload       = 4
	framePart         = 5
	frameToken        = 6
	frameFeed         = 7
	frameConsumer     = 8
	frameGarbage      = 9
	frameSeal         = 10 // v2
	frameVersion      = 13 // v4
	frameTrailer      = 0xFF
	snapshotBufferLen = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapMeta is the first frame: scalars and record counts (checked on restore).
type snapMeta struct {
	LastApplied   uint64 `json:"last_applied"`
	NextSeq       uint64 `json:"next_seq"`
	NextGarbageID uint64 `json:"next_garbage_id"`
	Current       int    `json:"current"`
	Preparing     int    `json:"preparing"`
	Uploads       int    `json:"uploads"`
	Parts         int    `json:"parts"`
	Tokens        int    `json:"tokens"`
	Feed          int    `json:"feed"`
	Consumers     int    `json:"consumers"`
	Garbage       int    `json:"garbage"`
	Seals         int    `json:"seals,omitempty"`     // v2
	Versions      int    `json:"versions,omitempty"`  // v4
	VerClock      int64  `json:"ver_clock,omitempty"` // v4
	// Background records (lease.go); absent in snapshots taken before them.
	Clock       int64 `json:"clock,omitempty"`
	Leases      int   `json:"leases,omitempty"`
	Checkpoints int   `json:"checkpoints,omitempty"`
	Suspects    int   `json:"suspects,omitempty"`
}

type snapToken struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Kind    uint8  `json:"kind"`
	Token   string `json:"token"`
	ID      string `json:"id"`
	Expires int64  `json:"expires"`
	// DoneCurrent: the outcome is the key's current version (not repeated).
	DoneCurrent bool                  `json:"done_current,omitempty"`
	Done        *metapb.ObjectVersion `json:"done,omitempty"`
}

type snapConsumer struct {
	Name string `json:"name"`
	Seq  uint64 `json:"seq"`
}

// Snapshot is a point-in-time, immutable view of a State. Taking it is
// cheap (copy-on-write trees); WriteTo may run concurrently with further
// Applies on the State, and more than once.
type Snapshot struct {
	t *trees
}

// Snapshot captures the state. Call it between Applies (Raft's FSM
// goroutine does).
func (s *State) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Snapshot{t: s.t.clone()}
}

// Index is the log index the snapshot reflects.
func (sn *Snapshot) Index() uint64 { return sn.t.lastApplied }

type snapWriter struct {
	w   *bufio.Writer
	crc hash.Hash32
	n   int64
	err error
	buf [binary.MaxVarintLen64 + 1]byte
}

func (sw *snapWriter) raw(b []byte) {
	if sw.err != nil {
		return
	}
	sw.crc.Write(b)
	n, err := sw.w.Write(b)
	sw.n += int64(n)
	sw.err = err
}

func (sw *snapWriter) frame(kind byte, v any) {
	if sw.err != nil {
		return
	}
	p, err := json.Marshal(v)
	if err != nil {
		sw.err = fmt.Errorf("metastate: encode snapshot frame %d: %w", kind, err)
		return
	}
	sw.buf[0] = kind
	n := binary.PutUvarint(sw.buf[1:], uint64(len(p)))
	sw.raw(sw.buf[:1+n])
	sw.raw(p)
}

// WriteTo streams the snapshot in the versioned, checksummed format.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) {
	return sn.writeFormat(w, SnapshotFormatV4)
}

// writeFormat writes format v4, or (tests of the old decoders) v3, which
// can hold only null current versions: frame 2 instead of frame 13.
func (sn *Snapshot) writeFormat(w io.Writer, format uint32) (int64, error) {
	t := sn.t
	sw := &snapWriter{w: bufio.NewWriterSize(w, snapshotBufferLen), crc: crc32.New(castagnoli)}
	var hdr [12]byte
	copy(hdr[:], snapMagic)
	binary.BigEndian.PutUint32(hdr[8:], format)
	sw.raw(hdr[:])
	meta := snapMeta{
		LastApplied: t.lastApplied, NextSeq: t.nextSeq, NextGarbageID: t.nextGarbageID,
		Current: t.cur.Len(), Preparing: t.prep.Len(), Uploads: t.uploads.Len(), Parts: t.parts.Len(),
		Tokens: t.tokens.Len(), Feed: t.feed.Len(), Consumers: len(t.consumer), Garbage: t.garbage.Len(),
		Seals: t.seals.Len(), Versions: t.vers.Len(), VerClock: t.verClock,
		Clock: t.bg.clock, Leases: len(t.bg.leases), Checkpoints: len(t.bg.checkpoints), Suspects: len(t.bg.suspects),
	}
	if format < SnapshotFormatV4 {
		meta.Versions, meta.VerClock = 0, 0
	}
	sw.frame(frameMeta, meta)
	if format < SnapshotFormatV4 {
		t.cur.Ascend(func(v *metapb.ObjectVersion) bool { sw.frame(frameCurrent, v); return sw.err == nil })
	} else {
		// cur and nulls are indexes of vers: rebuilt on restore.
		t.vers.Ascend(func(v *metapb.ObjectVersion) bool { sw.frame(frameVersion, v); return sw.err == nil })
	}
	t.prep.Ascend(func(v *metapb.ObjectVersion) bool { sw.frame(framePreparing, v); return sw.err == nil })
	t.uploads.Ascend(func(u *metapb.Upload) bool { sw.frame(frameUpload, u); return sw.err == nil })
	t.parts.Ascend(func(p *metapb.Part) bool { sw.frame(framePart, p); return sw.err == nil })
	t.tokens.Ascend(func(e *token) bool {
		st := snapToken{Bucket: e.Bucket, Key: e.Key, Kind: uint8(e.Kind), Token: e.Token, ID: e.ID, Expires: e.Expires}
		if e.Done != nil {
			if c := t.current(e.Bucket, e.Key); c == e.Done {
				st.DoneCurrent = true
			} else {
				st.Done = e.Done
			}
		}
		sw.frame(frameToken, st)
		return sw.err == nil
	})
	t.feed.Ascend(func(e metapb.FeedEntry) bool { sw.frame(frameFeed, e); return sw.err == nil })
	names := make([]string, 0, len(t.consumer))
	for k := range t.consumer {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		sw.frame(frameConsumer, snapConsumer{Name: k, Seq: t.consumer[k]})
	}
	t.garbage.Ascend(func(g *metapb.Garbage) bool { sw.frame(frameGarbage, g); return sw.err == nil })
	t.seals.Ascend(func(b *metapb.BucketSeal) bool { sw.frame(frameSeal, b); return sw.err == nil })
	sw.writeBG(&t.bg)
	if sw.err != nil {
		return sw.n, sw.err
	}
	sw.raw([]byte{frameTrailer})
	var tr [4]byte
	binary.BigEndian.PutUint32(tr[:], sw.crc.Sum32())
	n, err := sw.w.Write(tr[:])
	sw.n += int64(n)
	if err != nil {
		return sw.n, err
	}
	if err := sw.w.Flush(); err != nil {
		return sw.n, err
	}
	return sw.n, nil
}

// crcReader feeds every byte read through the checksum.
type crcReader struct {
	r   *bufio.Reader
	crc hash.Hash32
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.crc.Write([]byte{b})
	}
	return b, err
}

func (c *crcReader) full(p []byte) error {
	if _, err := io.ReadFull(c.r, p); err != nil {
		return err
	}
	c.crc.Write(p)
	return nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorruptSnapshot, fmt.Sprintf(format, args...))
}

// Restore replaces the state with a snapshot written by WriteTo. The whole
// stream is decoded and verified (format, framing, checksum, counts) before
// the state is swapped; on any error the state is unchanged.
func (s *State) Restore(r io.Reader) error {
	t, err := readSnapshot(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.t = t
	s.mu.Unlock()
	return nil
}

func readSnapshot(r io.Reader) (*trees, error) {
	cr := &crcReader{r: bufio.NewReaderSize(r, snapshotBufferLen), crc: crc32.New(castagnoli)}
	var hdr [12]byte
	if err := cr.full(hdr[:]); err != nil {
		return nil, corrupt("short header: %v", err)
	}
	if string(hdr[:8]) != snapMagic {
		return nil, corrupt("bad magic %q", hdr[:8])
	}
	version := binary.BigEndian.Uint32(hdr[8:])
	if version < SnapshotFormatV1 || version > SnapshotFormatV4 {
		return nil, fmt.Errorf("%w: version %d", ErrSnapshotFormat, version)
	}
	t := newTrees()
	var meta *snapMeta
	var tokens []snapToken
	var payload []byte
	for {
		kind, err := cr.ReadByte()
		if err != nil {
			return nil, corrupt("missing trailer: %v", err)
		}
		if kind == frameTrailer {
			want := cr.crc.Sum32()
			var sum [4]byte
			if _, err := io.ReadFull(cr.r, sum[:]); err != nil {
				return nil, corrupt("short trailer: %v", err)
			}
			if got := binary.BigEndian.Uint32(sum[:]); got != want {
				return nil, corrupt("checksum mismatch: stored %08x, computed %08x", got, want)
			}
			if _, err := cr.r.ReadByte(); !errors.Is(err, io.EOF) {
				return nil, corrupt("data after trailer")
			}
			break
		}
		n, err := binary.ReadUvarint(cr)
		if err != nil {
			return nil, corrupt("frame length: %v", err)
		}
		if n > maxFramePayload {
			return nil, corrupt("frame of %d bytes", n)
		}
		if uint64(cap(payload)) < n {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if err := cr.full(payload); err != nil {
			return nil, corrupt("short frame: %v", err)
		}
		if meta == nil && kind != frameMeta {
			return nil, corrupt("first frame is %d, not meta", kind)
		}
		if kind == frameSeal && version < SnapshotFormatV2 {
			return nil, corrupt("seal frame in a v%d snapshot", version)
		}
		if kind == frameSuspect && version < SnapshotFormatV4 {
			return nil, corrupt("suspect frame in a v%d snapshot", version)
		}
		if (kind == frameLease || kind == frameCheckpoint) && version < SnapshotFormatV3 {
			return nil, corrupt("background frame in a v%d snapshot", version)
		}
		if kind == frameVersion && version < SnapshotFormatV4 {
			return nil, corrupt("version frame in a v%d snapshot", version)
		}
		if kind == frameCurrent && version >= SnapshotFormatV4 {
			return nil, corrupt("current-version frame in a v%d snapshot", version)
		}
		if err := t.decodeFrame(kind, payload, &meta, &tokens); err != nil {
			return nil, err
		}
	}
	if meta == nil {
		return nil, corrupt("no meta frame")
	}
	if version >= SnapshotFormatV4 {
		if err := t.indexVersions(meta.VerClock); err != nil {
			return nil, err
		}
	} else {
		t.verClock = max(t.verClock, meta.VerClock)
	}
	// Tokens last: a DoneCurrent outcome points at the current record.
	for _, st := range tokens {
		e := &token{Bucket: st.Bucket, Key: st.Key, Kind: tokenKind(st.Kind), Token: st.Token, ID: st.ID, Expires: st.Expires, Done: st.Done}
		if st.DoneCurrent {
			c := t.current(st.Bucket, st.Key)
			if c == nil {
				return nil, corrupt("token %q refers to a missing current version", st.Token)
			}
			e.Done = c
		}
		if _, dup := t.tokens.ReplaceOrInsert(e); dup {
			return nil, corrupt("duplicate token")
		}
		t.expiry.ReplaceOrInsert(e)
	}
	if (version >= SnapshotFormatV4 && meta.Versions != t.vers.Len()) || meta.Current != t.cur.Len() || meta.Preparing != t.prep.Len() || meta.Uploads != t.uploads.Len() ||
		meta.Parts != t.parts.Len() || meta.Tokens != t.tokens.Len() || meta.Feed != t.feed.Len() ||
		meta.Consumers != len(t.consumer) || meta.Garbage != t.garbage.Len() || meta.Seals != t.seals.Len() ||
		meta.Leases != len(t.bg.leases) || meta.Checkpoints != len(t.bg.checkpoints) || meta.Suspects != len(t.bg.suspects) {
		return nil, corrupt("record counts differ from the meta frame")
	}
	t.lastApplied, t.nextSeq, t.nextGarbageID = meta.LastApplied, meta.NextSeq, meta.NextGarbageID
	t.bg.clock = meta.Clock
	if t.nextSeq == 0 || t.nextGarbageID == 0 {
		return nil, corrupt("zero sequence counters")
	}
	if e, ok := t.feed.Max(); ok && e.Seq >= t.nextSeq {
		return nil, corrupt("feed seq %d beyond next seq %d", e.Seq, t.nextSeq)
	}
	if g, ok := t.garbage.Max(); ok && g.ID >= t.nextGarbageID {
		return nil, corrupt("garbage id %d beyond next id %d", g.ID, t.nextGarbageID)
	}
	return t, nil
}

func (t *trees) decodeFrame(kind byte, p []byte, meta **snapMeta, tokens *[]snapToken) error {
	dup := func(had bool, what string) error {
		if had {
			return corrupt("duplicate %s record", what)
		}
		return nil
	}
	switch kind {
	case frameMeta:
		if *meta != nil {
			return corrupt("second meta frame")
		}
		m := new(snapMeta)
		if err := json.Unmarshal(p, m); err != nil {
			return corrupt("meta: %v", err)
		}
		*meta = m
	case frameCurrent, framePreparing:
		v := new(metapb.ObjectVersion)
		if err := json.Unmarshal(p, v); err != nil {
			return corrupt("version: %v", err)
		}
		if kind == frameCurrent {
			// v1–v3: the only record of its key, from before versioning:
			// the null version, with a version id from its commit time.
			at := v.CommittedAt
			if at.IsZero() {
				at = v.Created
			}
			v.Ver, v.Null = EncodeVer(at.UnixNano(), ""), true
			t.verClock = max(t.verClock, at.UnixNano())
			_, had := t.cur.ReplaceOrInsert(v)
			t.bytes += v.Size
			t.vers.ReplaceOrInsert(v)
			t.nulls.ReplaceOrInsert(v)
			return dup(had, "current")
		}
		_, had := t.prep.ReplaceOrInsert(v)
		return dup(had, "preparing")
	case frameVersion:
		v := new(metapb.ObjectVersion)
		if err := json.Unmarshal(p, v); err != nil {
			return corrupt("version: %v", err)
		}
		if _, ok := DecodeVer(v.Ver); !ok || (v.State != metapb.StateCommitted && v.State != metapb.StateDeleteMarker) {
			return corrupt("version record with id %q in state %v", v.Ver, v.State)
		}
		_, had := t.vers.ReplaceOrInsert(v)
		return dup(had, "version")
	case frameUpload:
		u := new(metapb.Upload)
		if err := json.Unmarshal(p, u); err != nil {
			return corrupt("upload: %v", err)
		}
		_, had := t.uploads.ReplaceOrInsert(u)
		return dup(had, "upload")
	case framePart:
		pt := new(metapb.Part)
		if err := json.Unmarshal(p, pt); err != nil {
			return corrupt("part: %v", err)
		}
		if pt.State == metapb.StatePreparing {
			t.preparingParts++
		}
		_, had := t.parts.ReplaceOrInsert(pt)
		return dup(had, "part")
	case frameToken:
		var st snapToken
		if err := json.Unmarshal(p, &st); err != nil {
			return corrupt("token: %v", err)
		}
		*tokens = append(*tokens, st)
	case frameFeed:
		var e metapb.FeedEntry
		if err := json.Unmarshal(p, &e); err != nil {
			return corrupt("feed: %v", err)
		}
		_, had := t.feed.ReplaceOrInsert(e)
		return dup(had, "feed")
	case frameConsumer:
		var c snapConsumer
		if err := json.Unmarshal(p, &c); err != nil {
			return corrupt("consumer: %v", err)
		}
		if _, had := t.consumer[c.Name]; had {
			return corrupt("duplicate consumer")
		}
		t.consumer[c.Name] = c.Seq
	case frameGarbage:
		g := new(metapb.Garbage)
		if err := json.Unmarshal(p, g); err != nil {
			return corrupt("garbage: %v", err)
		}
		_, had := t.garbage.ReplaceOrInsert(g)
		return dup(had, "garbage")
	case frameSeal:
		b := new(metapb.BucketSeal)
		if err := json.Unmarshal(p, b); err != nil {
			return corrupt("seal: %v", err)
		}
		if b.Bucket == "" {
			return corrupt("seal without bucket")
		}
		_, had := t.seals.ReplaceOrInsert(b)
		return dup(had, "seal")
	case frameLease, frameCheckpoint, frameSuspect:
		return t.bg.decodeFrame(kind, p)
	default:
		return corrupt("unknown frame kind %d", kind)
	}
	return nil
}

// indexVersions rebuilds cur and nulls from vers (v4 restore) and checks
// what they rely on: one null version per key, ids not after the clock.
func (t *trees) indexVersions(clock int64) error {
	var err error
	prevBucket, prevKey, first := "", "", true
	t.vers.Ascend(func(v *metapb.ObjectVersion) bool {
		newest := first || v.Bucket != prevBucket || v.Key != prevKey
		first, prevBucket, prevKey = false, v.Bucket, v.Key
		if newest && !v.IsDeleteMarker() {
			t.cur.ReplaceOrInsert(v)
			t.bytes += v.Size
		}
		if v.Null {
			if _, had := t.nulls.ReplaceOrInsert(v); had {
				err = corrupt("two null versions of %q", v.Key)
				return false
			}
		}
		if at, _ := DecodeVer(v.Ver); at.UnixNano() > clock {
			err = corrupt("version id %q after the version clock", v.Ver)
			return false
		}
		return true
	})
	t.verClock = clock
	return err
}

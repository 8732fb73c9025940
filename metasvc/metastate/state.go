package metastate

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Sentinel errors (Restore and snapshot decoding).
var (
	ErrCorruptSnapshot = errors.New("metastate: corrupt snapshot")
	ErrSnapshotFormat  = errors.New("metastate: unknown snapshot format")
)

// TokenTTL is how long an idempotency token is remembered after the Time of
// the command that wrote it. Tokens are pruned by command time during Apply,
// never by the local clock.
const TokenTTL = 24 * time.Hour

// FeedRetainNoConsumer is how many feed entries are kept while no consumer
// has registered (the oldest are dropped beyond it).
const FeedRetainNoConsumer = 100000

// prunePerApply bounds the expired tokens removed by one Apply (amortised).
// Each Apply adds at most one token, so the backlog always drains.
const prunePerApply = 16

const btreeDegree = 32

// tokenKind separates the idempotency namespaces.
type tokenKind uint8

const (
	tokObject   tokenKind = 1 // Prepare and inline Commit (a PUT)
	tokUpload   tokenKind = 2 // CreateUpload
	tokComplete tokenKind = 3 // CompleteUpload
	tokAbort    tokenKind = 4 // AbortUpload (ID: the upload id; no outcome)
)

// token is one entry of the idempotency index (Bucket, Key, Kind, Token).
type token struct {
	Bucket  string
	Key     string
	Kind    tokenKind
	Token   string
	ID      string // version id (object, complete) or upload id
	Expires int64  // unix nanoseconds (command time + TokenTTL)
	// Done is the committed outcome (object and complete tokens), nil
	// while the version is PREPARING. While the version is the key's
	// current one Done points at that very record; once it is replaced or
	// deleted Done is swapped for a summary without bytes or segments.
	Done *metapb.ObjectVersion
}

// Stats counts a state's records.
type Stats struct {
	Objects        int   // committed current versions
	Versions       int   // committed versions and delete markers, current or not
	Bytes          int64 // sum of their sizes
	Preparing      int   // PREPARING object versions
	Uploads        int   // in-progress multipart uploads
	Parts          int   // part attempts (any state)
	PreparingParts int   // PREPARING part attempts
	Tokens         int   // remembered idempotency tokens
	FeedLen        int   // entries in the change feed
	FeedConsumers  int   // registered feed consumers
	Garbage        int   // garbage entries waiting for reclaim
	Seals          int   // sealed or dropped bucket incarnations
	LastApplied    uint64
}

// trees is the whole replicated state. Every record reachable from it is
// immutable once inserted: a change replaces the pointer, never the
// record's contents, so a Clone (snapshot) shares records safely.
type trees struct {
	cur      *btree.BTreeG[*metapb.ObjectVersion] // (bucket, key): current COMMITTED version (never a delete marker)
	vers     *btree.BTreeG[*metapb.ObjectVersion] // (bucket, key, ver desc): every committed version and delete marker
	nulls    *btree.BTreeG[*metapb.ObjectVersion] // (bucket, key): the key's null version or marker (index of vers)
	prep     *btree.BTreeG[*metapb.ObjectVersion] // (bucket, key, vid): PREPARING versions
	uploads  *btree.BTreeG[*metapb.Upload]        // (bucket, key, uid)
	parts    *btree.BTreeG[*metapb.Part]          // (bucket, key, uid, number, attempt)
	tokens   *btree.BTreeG[*token]                // (bucket, key, kind, token)
	expiry   *btree.BTreeG[*token]                // (expires, bucket, key, kind, token)
	feed     *btree.BTreeG[metapb.FeedEntry]      // seq
	garbage  *btree.BTreeG[*metapb.Garbage]       // id
	seals    *btree.BTreeG[*metapb.BucketSeal]    // bucket: sealed or dropped incarnations
	consumer map[string]uint64                    // feed consumer → acknowledged seq
	bg       bgState                              // leases, checkpoints, clock (lease.go)

	lastApplied   uint64
	nextSeq       uint64 // next feed seq (starts at 1)
	nextGarbageID uint64 // next garbage id (starts at 1)
	verClock      int64  // Unix nanoseconds of the last assigned version id (version.go)

	bytes          int64 // sum of cur sizes (derived)
	preparingParts int   // derived
}

func newTrees() *trees {
	return &trees{
		cur:           btree.NewG(btreeDegree, lessCur),
		vers:          btree.NewG(btreeDegree, lessVers),
		nulls:         btree.NewG(btreeDegree, lessCur),
		prep:          btree.NewG(btreeDegree, lessVersion),
		uploads:       btree.NewG(btreeDegree, lessUpload),
		parts:         btree.NewG(btreeDegree, lessPart),
		tokens:        btree.NewG(btreeDegree, lessToken),
		expiry:        btree.NewG(btreeDegree, lessExpiry),
		feed:          btree.NewG(btreeDegree, func(a, b metapb.FeedEntry) bool { return a.Seq < b.Seq }),
		garbage:       btree.NewG(btreeDegree, func(a, b *metapb.Garbage) bool { return a.ID < b.ID }),
		seals:         btree.NewG(btreeDegree, func(a, b *metapb.BucketSeal) bool { return a.Bucket < b.Bucket }),
		consumer:      map[string]uint64{},
		bg:            newBG(),
		nextSeq:       1,
		nextGarbageID: 1,
	}
}

// clone is a cheap copy-on-write copy (O(consumers)).
func (t *trees) clone() *trees {
	c := *t
	c.cur = t.cur.Clone()
	c.vers = t.vers.Clone()
	c.nulls = t.nulls.Clone()
	c.prep = t.prep.Clone()
	c.uploads = t.uploads.Clone()
	c.parts = t.parts.Clone()
	c.tokens = t.tokens.Clone()
	c.expiry = t.expiry.Clone()
	c.feed = t.feed.Clone()
	c.garbage = t.garbage.Clone()
	c.seals = t.seals.Clone()
	c.bg = t.bg.clone()
	c.consumer = make(map[string]uint64, len(t.consumer))
	for k, v := range t.consumer {
		c.consumer[k] = v
	}
	return &c
}

func lessCur(a, b *metapb.ObjectVersion) bool {
	if a.Bucket != b.Bucket {
		return a.Bucket < b.Bucket
	}
	return a.Key < b.Key
}

func lessVersion(a, b *metapb.ObjectVersion) bool {
	if a.Bucket != b.Bucket {
		return a.Bucket < b.Bucket
	}
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	return a.VersionID < b.VersionID
}

func lessUpload(a, b *metapb.Upload) bool {
	if a.Bucket != b.Bucket {
		return a.Bucket < b.Bucket
	}
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	return a.UploadID < b.UploadID
}

func lessPart(a, b *metapb.Part) bool {
	if a.Bucket != b.Bucket {
		return a.Bucket < b.Bucket
	}
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	if a.UploadID != b.UploadID {
		return a.UploadID < b.UploadID
	}
	if a.Number != b.Number {
		return a.Number < b.Number
	}
	return a.Attempt < b.Attempt
}

func lessToken(a, b *token) bool {
	if a.Bucket != b.Bucket {
		return a.Bucket < b.Bucket
	}
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Token < b.Token
}

func lessExpiry(a, b *token) bool {
	if a.Expires != b.Expires {
		return a.Expires < b.Expires
	}
	return lessToken(a, b)
}

// State is one partition's metadata state machine. Apply must be called by
// one goroutine at a time (Raft's FSM goroutine); every read method is safe
// concurrently with Apply and with each other.
type State struct {
	mu sync.RWMutex
	t  *trees
}

// New returns an empty state.
func New() *State {
	return &State{t: newTrees()}
}

// LastApplied is the log index of the last applied command (or of the
// restored snapshot).
func (s *State) LastApplied() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.t.lastApplied
}

// Apply applies one command at Raft log index index. It is deterministic —
// it reads only its arguments and the state, using cmd.Time as the clock —
// and never panics: bad input yields Result{Err: metapb.ErrBadRequest}.
func (s *State) Apply(index uint64, cmd *metapb.Command) (res metapb.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.t
	t.lastApplied = index
	if cmd == nil {
		return errResult(metapb.ErrBadRequest, "nil command")
	}
	defer func() {
		// Defence in depth: a bug must not take the replica down. The
		// outcome is still deterministic (every replica runs this code).
		if r := recover(); r != nil {
			res = errResult(metapb.ErrBadRequest, fmt.Sprintf("metastate: internal error applying %d: %v", cmd.Type, r))
		}
	}()
	now := cmd.Time
	t.bg.observe(now)
	t.pruneTokens(now)
	switch cmd.Type {
	case metapb.CmdPrepare:
		if cmd.Prepare != nil {
			return t.prepare(now, cmd.Prepare)
		}
	case metapb.CmdCommit:
		if cmd.Commit != nil {
			return t.commit(now, cmd.Region, cmd.Commit)
		}
	case metapb.CmdAbort:
		if cmd.Abort != nil {
			return t.abort(now, cmd.Abort)
		}
	case metapb.CmdDelete:
		if cmd.Delete != nil {
			return t.delete(now, cmd.Region, cmd.Delete)
		}
	case metapb.CmdCreateUpload:
		if cmd.CreateUpload != nil {
			return t.createUpload(now, cmd.CreateUpload)
		}
	case metapb.CmdPreparePart:
		if cmd.PreparePart != nil {
			return t.preparePart(now, cmd.PreparePart)
		}
	case metapb.CmdCommitPart:
		if cmd.CommitPart != nil {
			return t.commitPart(now, cmd.CommitPart)
		}
	case metapb.CmdAbortPart:
		if cmd.AbortPart != nil {
			return t.abortPart(now, cmd.AbortPart)
		}
	case metapb.CmdCompleteUpload:
		if cmd.CompleteUpload != nil {
			return t.completeUpload(now, cmd.Region, cmd.CompleteUpload)
		}
	case metapb.CmdAbortUpload:
		if cmd.AbortUpload != nil {
			return t.abortUpload(now, cmd.AbortUpload)
		}
	case metapb.CmdAckFeed:
		if cmd.AckFeed != nil {
			return t.ackFeed(cmd.AckFeed)
		}
	case metapb.CmdLease:
		if cmd.Lease != nil {
			return t.lease(cmd.Lease)
		}
	case metapb.CmdCheckpoint:
		if cmd.Checkpoint != nil {
			return t.checkpoint(cmd.Checkpoint)
		}
	case metapb.CmdAckGarbage:
		if cmd.AckGarbage != nil {
			return t.ackGarbage(cmd.AckGarbage)
		}
	case metapb.CmdSuspect:
		if cmd.Suspect != nil {
			return t.suspect(now, cmd.Suspect)
		}
	case metapb.CmdReplaceShards:
		if cmd.ReplaceShards != nil {
			return t.replaceShards(now, cmd.ReplaceShards)
		}
	case metapb.CmdPutACL:
		if cmd.PutACL != nil {
			return t.putACL(cmd.PutACL)
		}
	case metapb.CmdPutTags:
		if cmd.PutTags != nil {
			return t.putTags(now, cmd.PutTags)
		}
	case metapb.CmdSealBucket:
		if cmd.SealBucket != nil {
			return t.sealBucket(now, cmd.SealBucket)
		}
	case metapb.CmdUnsealBucket:
		if cmd.UnsealBucket != nil {
			return t.unsealBucket(cmd.UnsealBucket)
		}
	case metapb.CmdDropBucket:
		if cmd.DropBucket != nil {
			return t.dropBucket(now, cmd.DropBucket)
		}
	case metapb.CmdReplStatus:
		if cmd.ReplStatus != nil {
			return t.replStatus(now, cmd.ReplStatus)
		}
	case metapb.CmdPutLock:
		if cmd.PutLock != nil {
			return t.putLock(now, cmd.PutLock)
		}
	default:
		return errResult(metapb.ErrBadRequest, fmt.Sprintf("unknown command type %d", cmd.Type))
	}
	return errResult(metapb.ErrBadRequest, fmt.Sprintf("command type %d without payload", cmd.Type))
}

// namedVersion finds the version a command on one version's sub-resource
// (tags, ACL, lock) names: ver, or with ver "" the key's newest record. A
// malformed id, no such version and a delete marker are answered as the
// Result to return (op prefixes the message).
func (t *trees) namedVersion(op, bucket, key, ver string) (*metapb.ObjectVersion, *metapb.Result) {
	var v *metapb.ObjectVersion
	if ver == "" {
		v = t.latest(bucket, key)
	} else {
		if !ValidVersionID(ver) {
			r := errResult(metapb.ErrBadRequest, op+": malformed version id")
			return nil, &r
		}
		v = t.byVer(bucket, key, ver)
	}
	if v == nil {
		r := errResult(metapb.ErrNotFound, op+": no such version")
		return nil, &r
	}
	if v.IsDeleteMarker() {
		r := errResult(metapb.ErrMethodNotAllowed, op+": the version is a delete marker")
		return nil, &r
	}
	return v, nil
}

func errResult(code, msg string) metapb.Result {
	return metapb.Result{Err: code, ErrMsg: msg}
}

// ---- tokens ----

func (t *trees) getToken(bucket, key string, kind tokenKind, tok string) *token {
	if tok == "" {
		return nil
	}
	e, ok := t.tokens.Get(&token{Bucket: bucket, Key: key, Kind: kind, Token: tok})
	if !ok {
		return nil
	}
	return e
}

// putToken inserts or replaces a token entry (the entry is a fresh value:
// entries shared with a snapshot are never modified).
func (t *trees) putToken(e *token) {
	if old, ok := t.tokens.ReplaceOrInsert(e); ok {
		t.expiry.Delete(old)
	}
	t.expiry.ReplaceOrInsert(e)
}

func (t *trees) pruneTokens(now time.Time) {
	n := now.UnixNano()
	for i := 0; i < prunePerApply; i++ {
		e, ok := t.expiry.Min()
		if !ok || e.Expires >= n {
			return
		}
		t.expiry.DeleteMin()
		t.tokens.Delete(e)
	}
}

// markDone records the committed outcome on the version's token.
func (t *trees) markDone(kind tokenKind, v *metapb.ObjectVersion, now time.Time) {
	if v.Token == "" {
		return
	}
	e := t.getToken(v.Bucket, v.Key, kind, v.Token)
	ne := &token{Bucket: v.Bucket, Key: v.Key, Kind: kind, Token: v.Token, ID: v.VersionID,
		Expires: now.Add(TokenTTL).UnixNano(), Done: v}
	if e != nil && e.Expires > ne.Expires {
		ne.Expires = e.Expires
	}
	t.putToken(ne)
}

// retire is called when v stops being current: a token whose outcome is v
// keeps a byte-less summary so the record's memory is released.
func (t *trees) retire(v *metapb.ObjectVersion) {
	if v.Token == "" {
		return
	}
	for _, kind := range []tokenKind{tokObject, tokComplete} {
		e := t.getToken(v.Bucket, v.Key, kind, v.Token)
		if e != nil && e.Done == v {
			ne := *e
			ne.Done = summary(v)
			t.putToken(&ne)
		}
	}
}

// summary is the small copy of a committed version a token remembers.
func summary(v *metapb.ObjectVersion) *metapb.ObjectVersion {
	return &metapb.ObjectVersion{
		Format: v.Format, Bucket: v.Bucket, Key: v.Key, VersionID: v.VersionID, Ver: v.Ver, Null: v.Null, State: v.State,
		Token: v.Token, Size: v.Size, ETag: v.ETag, Created: v.Created, Owner: v.Owner,
		CommittedAt: v.CommittedAt, PreparedAt: v.PreparedAt,
	}
}

// ---- feed and garbage ----

func (t *trees) appendFeed(op metapb.FeedOp, bucket, key, vid string, now time.Time) uint64 {
	seq := t.nextSeq
	t.nextSeq++
	t.feed.ReplaceOrInsert(metapb.FeedEntry{Seq: seq, Op: op, Bucket: bucket, Key: key, VersionID: vid, Time: now})
	t.trimFeed()
	return seq
}

func (t *trees) trimFeed() {
	if len(t.consumer) == 0 {
		for t.feed.Len() > FeedRetainNoConsumer {
			t.feed.DeleteMin()
		}
		return
	}
	low := uint64(0)
	first := true
	for _, v := range t.consumer {
		if first || v < low {
			low, first = v, false
		}
	}
	for {
		e, ok := t.feed.Min()
		if !ok || e.Seq > low {
			return
		}
		t.feed.DeleteMin()
	}
}

func (t *trees) ackFeed(r *metapb.AckFeedRequest) metapb.Result {
	if r.Consumer == "" {
		return errResult(metapb.ErrBadRequest, "empty feed consumer")
	}
	seq := r.Seq
	if last := t.nextSeq - 1; seq > last {
		seq = last // cannot acknowledge the future
	}
	if old, ok := t.consumer[r.Consumer]; !ok || seq > old {
		t.consumer[r.Consumer] = seq
	}
	t.trimFeed()
	return metapb.Result{Seq: t.consumer[r.Consumer]}
}

// queueGarbage queues the shard-bearing segments of segs; nothing is queued
// when there are none.
func (t *trees) queueGarbage(reason, bucket, key string, segs []metapb.Segment, now time.Time) {
	var g []metapb.Segment
	for _, s := range segs {
		if len(s.Shards) > 0 {
			s.Inline = nil
			g = append(g, s)
		}
	}
	if len(g) == 0 {
		return
	}
	id := t.nextGarbageID
	t.nextGarbageID++
	t.garbage.ReplaceOrInsert(&metapb.Garbage{ID: id, Reason: reason, Bucket: bucket, Key: key, Segments: g, Time: now})
}

func (t *trees) ackGarbage(r *metapb.AckGarbageRequest) metapb.Result {
	for _, id := range r.IDs {
		t.garbage.Delete(&metapb.Garbage{ID: id})
	}
	return metapb.Result{}
}

// ---- shard bookkeeping ----

type shardID struct{ node, id string }

func shardSet(segs []metapb.Segment) map[shardID]struct{} {
	m := map[shardID]struct{}{}
	for _, s := range segs {
		for _, sh := range s.Shards {
			m[shardID{sh.Node, sh.ID}] = struct{}{}
		}
	}
	return m
}

// checkSubset reports whether every shard of final was planned in prepared.
func checkSubset(final, prepared []metapb.Segment) bool {
	if len(final) == 0 {
		return true
	}
	// Shard ids must have been planned; the node may differ, because the
	// writer replaces a failed node by another one (same id, new node). The
	// planned copies that final does not use become garbage (unusedSegments).
	ids := map[string]struct{}{}
	for _, s := range prepared {
		for _, sh := range s.Shards {
			ids[sh.ID] = struct{}{}
		}
	}
	for _, s := range final {
		for _, sh := range s.Shards {
			if _, ok := ids[sh.ID]; !ok {
				return false
			}
		}
	}
	return true
}

// unusedSegments returns the segments (restricted to their shards) of
// prepared whose shards final does not use, for garbage.
func unusedSegments(prepared, final []metapb.Segment) []metapb.Segment {
	used := shardSet(final)
	var out []metapb.Segment
	for _, s := range prepared {
		var sh []metapb.ShardRef
		for _, r := range s.Shards {
			if _, ok := used[shardID{r.Node, r.ID}]; !ok {
				sh = append(sh, r)
			}
		}
		if len(sh) > 0 {
			out = append(out, metapb.Segment{Offset: s.Offset, Size: s.Size, Shards: sh})
		}
	}
	return out
}

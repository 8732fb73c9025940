package metastate

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// randomHistory builds n random commands covering every command type,
// including invalid ones, with times that advance past the token TTL.
func randomHistory(seed int64, n int) []*metapb.Command {
	rng := rand.New(rand.NewSource(seed))
	keys := []string{"a", "a/b", "a/c", "日本", "z/é", "q"}
	now := t0
	var cmds []*metapb.Command
	var vids, uids, vers []string
	upKey := map[string]string{}
	type partRef struct {
		u, k, att, tag string
		n              int
	}
	var prepared []partRef
	pick := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return s[rng.Intn(len(s))]
	}
	for i := 0; i < n; i++ {
		now = now.Add(time.Duration(rng.Intn(int(time.Hour))))
		k := keys[rng.Intn(len(keys))]
		c := &metapb.Command{Time: now}
		id := fmt.Sprintf("%06d", i)
		// The bucket's versioning mode, and which commands name a version,
		// follow i (not rng), so the rest of the seeded history stays as
		// it was: unversioned, then enabled, suspended, enabled again.
		mode := [...]metapb.Versioning{metapb.VersioningOff, metapb.VersioningEnabled, metapb.VersioningSuspended, metapb.VersioningEnabled}[(i/100)%4]
		vers = append(vers, EncodeVer(now.UnixNano(), "")) // the id a commit at this time gets (mostly)
		switch rng.Intn(13) {
		case 0, 1:
			vids = append(vids, "v"+id)
			c.Type, c.Prepare = metapb.CmdPrepare, &metapb.PrepareRequest{Version: metapb.ObjectVersion{Bucket: "b", Key: k, VersionID: "v" + id,
				Token: fmt.Sprintf("t%d", rng.Intn(20)), Segments: segs("v"+id, 1+rng.Intn(2)), UserMeta: map[string]string{"x": id, "y": "z"}}}
		case 2, 3:
			v := pick(vids)
			c.Type, c.Commit = metapb.CmdCommit, &metapb.CommitRequest{Bucket: "b", Key: k, VersionID: v, Final: metapb.ObjectVersion{ETag: "e" + v, Size: 7, Segments: segs(v, 1)}}
			if rng.Intn(3) == 0 {
				c.Commit.IfNoneMatch = "*"
			}
			c.Commit.Versioning = mode
		case 4:
			c.Type, c.Commit = metapb.CmdCommit, &metapb.CommitRequest{Bucket: "b", Key: k, VersionID: "i" + id,
				Final: metapb.ObjectVersion{Inline: []byte(id), Token: fmt.Sprintf("t%d", rng.Intn(20))}, Versioning: mode}
			if i%2 == 0 {
				c.Commit.Final.Tags = map[string]string{"w": id}
			}
		case 5:
			c.Type, c.Abort = metapb.CmdAbort, &metapb.AbortRequest{Bucket: "b", Key: k, VersionID: pick(vids)}
		case 6:
			c.Type, c.Delete = metapb.CmdDelete, &metapb.DeleteRequest{Bucket: "b", Key: k, Versioning: mode}
			switch i % 3 { // permanent deletes: of the null version, or of an id that may exist
			case 1:
				c.Delete.Version = metapb.NullVersion
			case 2:
				c.Delete.Version = vers[(i*7919)%len(vers)]
			}
		case 7:
			uids = append(uids, "u"+id)
			upKey["u"+id] = k
			c.Type, c.CreateUpload = metapb.CmdCreateUpload, &metapb.CreateUploadRequest{Upload: metapb.Upload{Bucket: "b", Key: k, UploadID: "u" + id, Token: fmt.Sprintf("c%d", rng.Intn(5))}}
		case 8:
			n := 1 + rng.Intn(3)
			u := pick(uids)
			if uk, ok := upKey[u]; ok && rng.Intn(5) != 0 {
				k = uk
			}
			_ = rng.Intn(3) // keeps the seeded history as it was
			// Shard ids are unique per PreparePart, as a real gateway's are.
			// Attempt ids are never reused once prepared (metapb's
			// contract), but a PreparePart may be retried right away.
			tag := "p" + id
			att := fmt.Sprintf("a%s", id)
			reuse := len(prepared) > 0 && rng.Intn(2) == 0
			if reuse {
				p := prepared[rng.Intn(len(prepared))]
				u, k, att, n, tag = p.u, p.k, p.att, p.n, p.tag
			}
			if !reuse && rng.Intn(2) == 0 {
				prepared = append(prepared, partRef{u, k, att, tag, n})
				c.Type, c.PreparePart = metapb.CmdPreparePart, &metapb.PreparePartRequest{Part: metapb.Part{Bucket: "b", Key: k, UploadID: u, Number: n, Attempt: att, Segments: segs(tag, 1)}}
			} else {
				c.Type, c.CommitPart = metapb.CmdCommitPart, &metapb.CommitPartRequest{Bucket: "b", Key: k, UploadID: u, Number: n, Attempt: att,
					Final: metapb.Part{Size: metapb.MinPartSize, ETag: "pe", Segments: segs(tag, 1)}}
			}
		case 9:
			u := pick(uids)
			if uk, ok := upKey[u]; ok && rng.Intn(5) != 0 {
				k = uk
			}
			c.Type, c.CompleteUpload = metapb.CmdCompleteUpload, &metapb.CompleteUploadRequest{Bucket: "b", Key: k, UploadID: u, VersionID: "m" + id,
				Token: fmt.Sprintf("m%d", rng.Intn(5)), Parts: []metapb.CompletePart{{Number: 1, ETag: "pe"}, {Number: 2, ETag: "pe"}}, Versioning: mode}
			if rng.Intn(2) == 0 {
				c.CompleteUpload.Parts = []metapb.CompletePart{{Number: 1 + rng.Intn(3), ETag: "pe"}}
			}
		case 10:
			if rng.Intn(2) == 0 {
				c.Type, c.AbortUpload = metapb.CmdAbortUpload, &metapb.AbortUploadRequest{Bucket: "b", Key: k, UploadID: pick(uids)}
			} else {
				ar := &metapb.AbortPartRequest{Bucket: "b", Key: k, UploadID: pick(uids), Number: 1, Attempt: "a0"}
				if len(prepared) > 0 {
					p := prepared[rng.Intn(len(prepared))]
					ar = &metapb.AbortPartRequest{Bucket: "b", Key: p.k, UploadID: p.u, Number: p.n, Attempt: p.att}
				}
				c.Type, c.AbortPart = metapb.CmdAbortPart, ar
			}
		case 11:
			c.Type, c.AckFeed = metapb.CmdAckFeed, &metapb.AckFeedRequest{Consumer: fmt.Sprintf("c%d", rng.Intn(3)), Seq: uint64(rng.Intn(i + 1))}
			if i%7 == 0 { // not from rng: the rest of the seeded history stays as it was
				// Bucket fencing of another incarnation ("b" itself is
				// fenced in seal_test.go: sealing it here would starve
				// the rest of the history).
				c.AckFeed = nil
				switch (i / 7) % 4 {
				case 0:
					c.Type, c.SealBucket = metapb.CmdSealBucket, &metapb.SealBucketRequest{Bucket: "b-old"}
				case 1:
					c.Type, c.SealBucket = metapb.CmdSealBucket, &metapb.SealBucketRequest{Bucket: fmt.Sprintf("b-%d", i%3)}
				case 2:
					c.Type, c.UnsealBucket = metapb.CmdUnsealBucket, &metapb.SealBucketRequest{Bucket: fmt.Sprintf("b-%d", i%3)}
				default:
					c.Type, c.DropBucket = metapb.CmdDropBucket, &metapb.SealBucketRequest{Bucket: "b-old"}
				}
			}
		case 12:
			if rng.Intn(10) == 0 {
				c.Type = metapb.CommandType(rng.Intn(256)) // garbage command
			} else {
				c.Type, c.AckGarbage = metapb.CmdAckGarbage, &metapb.AckGarbageRequest{IDs: []uint64{uint64(rng.Intn(i + 1)), uint64(rng.Intn(i + 1))}}
				if i%3 == 0 { // tag changes (not from rng: the seeded history stays as it was)
					c.AckGarbage = nil
					c.Type, c.PutTags = metapb.CmdPutTags, &metapb.PutTagsRequest{Bucket: "b", Key: k, Tags: map[string]string{"t": id}}
					if i%2 == 0 {
						c.PutTags.Ver = vers[(i*7919)%len(vers)]
					}
				}
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

func sameResults(t testing.TB, a, b []metapb.Result) bool {
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

func snapBytes(t testing.TB, s *State) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := s.Snapshot().WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: n=%d len=%d err=%v", n, buf.Len(), err)
	}
	return buf.Bytes()
}

func applyAll(s *State, cmds []*metapb.Command, from uint64) []metapb.Result {
	out := make([]metapb.Result, len(cmds))
	for i, c := range cmds {
		out[i] = s.Apply(from+uint64(i), c)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		cmds := randomHistory(seed, 1500)
		a, b := New(), New()
		ra, rb := applyAll(a, cmds, 1), applyAll(b, cmds, 1)
		if !sameResults(t, ra, rb) {
			t.Fatalf("seed %d: results differ", seed)
		}
		sa, sb := snapBytes(t, a), snapBytes(t, b)
		if !bytes.Equal(sa, sb) {
			t.Fatalf("seed %d: snapshots differ", seed)
		}
		ok := map[metapb.CommandType]int{}
		for i, r := range ra {
			if r.Err == "" {
				ok[cmds[i].Type]++
			}
		}
		for ct := metapb.CmdPrepare; ct <= metapb.CmdAbortPart; ct++ {
			if ok[ct] == 0 {
				t.Fatalf("seed %d: no successful command of type %d: %v", seed, ct, ok)
			}
		}
		st := a.Stats()
		if st.Objects == 0 || st.Garbage == 0 || st.Tokens == 0 {
			t.Fatalf("seed %d: history too weak: %+v", seed, st)
		}
		checkNoLeakedShards(t, a)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	cmds := randomHistory(42, 2000)
	a := New()
	applyAll(a, cmds, 1)
	data := snapBytes(t, a)
	b := New()
	b.Apply(1, &metapb.Command{Type: metapb.CmdCommit, Time: t0, Commit: &metapb.CommitRequest{Bucket: "pre", Key: "existing", VersionID: "x", Final: metapb.ObjectVersion{Inline: []byte("x")}}})
	if err := b.Restore(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Get("pre", "existing"); ok {
		t.Fatal("restore did not replace the state")
	}
	if !bytes.Equal(snapBytes(t, b), data) {
		t.Fatal("restored state snapshots differently")
	}
	if a.Stats() != b.Stats() || b.LastApplied() != 2000 {
		t.Fatalf("stats differ: %+v vs %+v", a.Stats(), b.Stats())
	}
	// The restored state continues exactly like the original.
	more := randomHistory(43, 500)
	ra, rb := applyAll(a, more, 2001), applyAll(b, more, 2001)
	if !sameResults(t, ra, rb) || !bytes.Equal(snapBytes(t, a), snapBytes(t, b)) {
		t.Fatal("restored state diverges from the original")
	}
}

// TestSnapshotWhileApplying writes a snapshot concurrently with further
// Applies and reads; the snapshot must equal the state at Snapshot() time.
func TestSnapshotWhileApplying(t *testing.T) {
	cmds := randomHistory(9, 3000)
	a, ref := New(), New()
	applyAll(a, cmds[:1500], 1)
	applyAll(ref, cmds[:1500], 1)
	want := snapBytes(t, ref)

	sn := a.Snapshot()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		applyAll(a, cmds[1500:], 1501)
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			a.List(metapb.ListRequest{Bucket: "b", Delimiter: "/"})
			a.Get("b", "a")
			a.ReadFeed(0, 10)
		}
	}()
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("snapshot changed by Applies after Snapshot()")
	}
	if sn.Index() != 1500 || a.LastApplied() != 3000 {
		t.Fatalf("index %d last %d", sn.Index(), a.LastApplied())
	}
}

func TestRestoreRejectsCorrupt(t *testing.T) {
	a := New()
	applyAll(a, randomHistory(5, 300), 1)
	good := snapBytes(t, a)
	badVersion := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(badVersion[8:], 99)
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorruptSnapshot},
		{"bad magic", append([]byte("XXXXXXXX"), good[8:]...), ErrCorruptSnapshot},
		{"unknown version", badVersion, ErrSnapshotFormat},
		{"truncated", good[:len(good)/2], ErrCorruptSnapshot},
		{"no trailer", good[:len(good)-5], ErrCorruptSnapshot},
		{"trailing data", append(append([]byte(nil), good...), 0), ErrCorruptSnapshot},
		{"random bytes", bytes.Repeat([]byte{0x5a}, 1000), ErrCorruptSnapshot},
	}
	// Flip one byte at many positions: every flip must be caught.
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 40; i++ {
		d := append([]byte(nil), good...)
		pos := 12 + rng.Intn(len(d)-12)
		d[pos] ^= byte(1 + rng.Intn(255))
		cases = append(cases, struct {
			name string
			data []byte
			want error
		}{fmt.Sprintf("flip@%d", pos), d, ErrCorruptSnapshot})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			s.Apply(7, &metapb.Command{Type: metapb.CmdCommit, Time: t0, Commit: &metapb.CommitRequest{Bucket: "b", Key: "keep", VersionID: "x", Final: metapb.ObjectVersion{Inline: []byte("x")}}})
			err := s.Restore(bytes.NewReader(tc.data))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if _, ok := s.Get("b", "keep"); !ok || s.LastApplied() != 7 {
				t.Fatal("failed restore changed the state")
			}
		})
	}
}

func TestFeedTrimming(t *testing.T) {
	h := newHarness(t)
	ack := func(c string, seq uint64) metapb.Result {
		return h.apply(metapb.Command{Type: metapb.CmdAckFeed, AckFeed: &metapb.AckFeedRequest{Consumer: c, Seq: seq}})
	}
	for i := 0; i < 10; i++ {
		h.put("b", fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), 0)
	}
	feed := h.s.ReadFeed(0, 0)
	for i, e := range feed {
		if e.Seq != uint64(i+1) || e.Op != metapb.FeedPut {
			t.Fatalf("feed %+v", feed)
		}
	}
	if got := h.s.ReadFeed(7, 2); len(got) != 2 || got[0].Seq != 8 {
		t.Fatalf("ReadFeed(7,2) %+v", got)
	}
	ack("repl", 4)
	if f := h.s.ReadFeed(0, 0); len(f) != 6 || f[0].Seq != 5 {
		t.Fatalf("one consumer: %+v", f)
	}
	ack("audit", 2) // a new consumer registers; nothing already dropped returns
	ack("repl", 8)
	if f := h.s.ReadFeed(0, 0); len(f) != 6 || f[0].Seq != 5 {
		t.Fatalf("min of two consumers: %+v", f)
	}
	ack("audit", 9)
	if f := h.s.ReadFeed(0, 0); len(f) != 2 || f[0].Seq != 9 {
		t.Fatalf("after both advance: %+v", f)
	}
	// Acks never move backwards and never beyond the last entry.
	ack("repl", 3)
	if r := ack("repl", 1000); r.Seq != 10 {
		t.Fatalf("ack clamped: %+v", r)
	}
	if c := h.s.FeedConsumers(); c["repl"] != 10 || c["audit"] != 9 {
		t.Fatalf("consumers %+v", c)
	}
	ack("audit", 10)
	if h.s.Stats().FeedLen != 0 {
		t.Fatal("feed not emptied")
	}
	h.put("b", "k", "later", 0)
	if f := h.s.ReadFeed(10, 0); len(f) != 1 || f[0].Seq != 11 {
		t.Fatalf("seq after trim: %+v", f)
	}
}

func TestFeedRetainNoConsumer(t *testing.T) {
	tr := newTrees()
	for i := 0; i < FeedRetainNoConsumer+10; i++ {
		tr.appendFeed(metapb.FeedPut, "b", "k", "v", t0)
	}
	if tr.feed.Len() != FeedRetainNoConsumer {
		t.Fatalf("feed len %d", tr.feed.Len())
	}
	if e, _ := tr.feed.Min(); e.Seq != 11 {
		t.Fatalf("oldest seq %d", e.Seq)
	}
}

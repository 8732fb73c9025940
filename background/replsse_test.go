package background

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3replication"
	"github.com/meridian-s3/meridian/internal/sse"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// fakeSegments serves a version's bytes from its segments' Inline fields
// (as objectio.Engine would from shards).
type fakeSegments struct{}

func (fakeSegments) Read(_ context.Context, segs []metapb.Segment, _ metapb.Scheme, off, length int64, w io.Writer) error {
	var all []byte
	for _, s := range segs {
		all = append(all, s.Inline...)
	}
	if off+length > int64(len(all)) {
		return errors.New("read past the stored bytes")
	}
	_, err := w.Write(all[off : off+length])
	return err
}

// fakeDataKeys opens sealed keys by looking them up (SSE-S3 and KMS alike);
// it records the key ids and contexts it was asked for.
type fakeDataKeys struct {
	mu   sync.Mutex
	keys map[string][]byte // sealed → key
	asks []string
}

func (k *fakeDataKeys) OpenDataKey(_ context.Context, id string, sealed []byte) ([]byte, error) {
	return k.open(id, sealed)
}

func (k *fakeDataKeys) Decrypt(_ context.Context, arn string, sealed, encCtx []byte) ([]byte, error) {
	return k.open(arn+"|"+string(encCtx), sealed)
}

func (k *fakeDataKeys) open(what string, sealed []byte) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.asks = append(k.asks, what)
	key, ok := k.keys[string(sealed)]
	if !ok {
		return nil, sse.ErrUnwrap
	}
	return key, nil
}

// sseLinks is a destination that records each replica and its body.
type sseLinks struct {
	mu   sync.Mutex
	reps map[string]regionalclient.Replica
	body map[string][]byte
}

func (l *sseLinks) Do(req *http.Request, _ string) (*http.Response, error) {
	rep, err := regionalclient.ReplicaFrom(req.Header)
	if err != nil {
		return nil, err
	}
	if rep.SSE != nil && req.Header.Get(regionalclient.HeaderReplica) != "" {
		return nil, errors.New("an encrypted replica in the header older gateways read")
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) != req.ContentLength || req.ContentLength != rep.BodySize() {
		return &http.Response{StatusCode: 400, Body: io.NopCloser(strings.NewReader("IncompleteBody"))}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reps[rep.Ver], l.body[rep.Ver] = rep, body
	h := http.Header{}
	h.Set(regionalclient.HeaderReplicaResult, regionalclient.ReplicaCreated)
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// TestReplicatorEncryptedVersions: SSE-S3 and selected SSE-KMS versions
// leave as their plaintext (decrypted here with this region's key) with
// the encryption the destination must apply; SSE-C versions leave as
// their stored ciphertext with the IVs and key check; a version whose
// ciphertext does not authenticate, or whose key cannot be opened, is not
// copied (FAILED, not acknowledged).
func TestReplicatorEncryptedVersions(t *testing.T) {
	keys := &fakeDataKeys{keys: map[string][]byte{}}
	newKey := func() (key, sealed []byte) {
		key, sealed = sse.NewKey(), sse.NewKey()
		keys.keys[string(sealed)] = key
		return key, sealed
	}
	seal := func(key []byte, spans []sse.Span, plain []byte) []byte {
		r, err := sse.EncryptSpans(key, spans, bytes.NewReader(plain))
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := io.ReadAll(r)
		return ct
	}
	ver := func(i int) string { return strings.Repeat("B", 15) + string(rune('a'+i)) }
	plain := bytes.Repeat([]byte("SECRET-PLAINTEXT-"), 9000) // 153 KiB: three packages
	const kmsSrc = "arn:aws:kms:us:123456789012:key/src"
	const kmsReplica = "arn:aws:kms:eu:123456789012:key/replica"
	encCtx := base64.StdEncoding.EncodeToString([]byte(`{"a":"b"}`))
	vers := map[string]metapb.ObjectVersion{}
	add := func(i int, key string, enc *metapb.Encryption, parts []metapb.PartInfo, stored []byte, inline bool) {
		v := metapb.ObjectVersion{Bucket: "src/1", Key: key, Ver: ver(i), Replication: metapb.ReplPending, Size: int64(len(plain)),
			ETag: "e", Parts: parts, SSE: enc, State: metapb.StateCommitted, CommittedAt: time.Now()}
		if inline {
			v.Inline = stored
		} else { // two segments, cut inside a package
			v.Segments = []metapb.Segment{{Offset: 0, Size: 70000, Inline: stored[:70000]}, {Offset: 70000, Size: int64(len(stored)) - 70000, Inline: stored[70000:]}}
		}
		vers[ver(i)] = v
	}
	// 1: SSE-S3, single stream, in shards.
	k1, s1 := newKey()
	iv1 := sse.NewIV()
	add(1, "s3", &metapb.Encryption{Algorithm: metapb.SSEAlgAES256, IV: iv1, SealedKey: s1, KeyID: "1"}, nil, seal(k1, []sse.Span{{IV: iv1, Size: int64(len(plain))}}, plain), false)
	// 2: SSE-S3 multipart (parts of 100000 and the rest), inline.
	k2, s2 := newKey()
	parts := []metapb.PartInfo{{Number: 1, Size: 100000, ETag: "p1", SSEIV: sse.NewIV()}, {Number: 2, Size: int64(len(plain)) - 100000, ETag: "p2", SSEIV: sse.NewIV()}}
	spans2 := []sse.Span{{IV: parts[0].SSEIV, Size: parts[0].Size}, {IV: parts[1].SSEIV, Size: parts[1].Size}}
	add(2, "mp", &metapb.Encryption{Algorithm: metapb.SSEAlgAES256, SealedKey: s2, KeyID: "1"}, parts, seal(k2, spans2, plain), true)
	// 3: SSE-KMS with a context, selected by the rule.
	k3, s3 := newKey()
	keys.keys[string(s3)] = k3
	iv3 := sse.NewIV()
	add(3, "kms", &metapb.Encryption{Algorithm: metapb.SSEAlgKMS, IV: iv3, SealedKey: s3, KeyID: kmsSrc, BucketKey: true, Context: encCtx}, nil, seal(k3, []sse.Span{{IV: iv3, Size: int64(len(plain))}}, plain), false)
	// 4: SSE-C: the customer key is never here.
	ck, iv4 := sse.NewKey(), sse.NewIV()
	salt, mac := sse.KeyCheck(ck)
	ssecStored := seal(ck, []sse.Span{{IV: iv4, Size: int64(len(plain))}}, plain)
	add(4, "ssec", &metapb.Encryption{Algorithm: metapb.SSEAlgCustomer, IV: iv4, KeySalt: salt, KeyMAC: mac}, nil, ssecStored, false)
	// 5: SSE-S3 whose stored ciphertext was altered.
	k5, s5 := newKey()
	iv5 := sse.NewIV()
	bad := seal(k5, []sse.Span{{IV: iv5, Size: int64(len(plain))}}, plain)
	bad[100000] ^= 1
	add(5, "tampered", &metapb.Encryption{Algorithm: metapb.SSEAlgAES256, IV: iv5, SealedKey: s5, KeyID: "1"}, nil, bad, false)
	// 6: SSE-S3 sealed by a master key version this region cannot open.
	iv6 := sse.NewIV()
	add(6, "nokey", &metapb.Encryption{Algorithm: metapb.SSEAlgAES256, IV: iv6, SealedKey: []byte("unknown"), KeyID: "9"}, nil, seal(sse.NewKey(), []sse.Span{{IV: iv6, Size: int64(len(plain))}}, plain), true)

	meta := &fakeReplMeta{status: map[string][]string{}, vers: vers}
	for i := 1; i <= 6; i++ {
		meta.feed = append(meta.feed, metapb.FeedEntry{Seq: uint64(i), Op: metapb.FeedPut, Bucket: "src/1", Key: vers[ver(i)].Key, Ver: ver(i)})
	}
	links := &sseLinks{reps: map[string]regionalclient.Replica{}, body: map[string][]byte{}}
	cfg := DefaultConfig()
	cfg.Region, cfg.Links, cfg.Logger = "us", links, slog.New(slog.DiscardHandler)
	cfg.SSEKeys, cfg.KMS = keys, keys
	cfg.Catalog = oneBucketCatalog{bs: []bucketsvc.Bucket{
		{Name: "src", Incarnation: "1", Region: "us", Replication: &s3replication.Configuration{Rules: []s3replication.Rule{
			{ID: "r", Enabled: true, SSEKMS: "Enabled", Destination: s3replication.Destination{Bucket: "dst", ReplicaKMSKeyID: kmsReplica}}}}},
		{Name: "dst", Incarnation: "2", Region: "eu"},
	}}
	r := &replicator{cfg: &cfg, meta: meta, src: fakeSegments{}, m: newReplMetrics(nil), parts: map[int]*replPart{}, down: map[string]time.Time{}, slots: make(chan struct{}, 4), reports: map[int]*ReplPartitionReport{}}
	if _, _, _, err := r.Step(context.Background(), 0, "", func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int]string{1: metapb.ReplCompleted, 2: metapb.ReplCompleted, 3: metapb.ReplCompleted, 4: metapb.ReplCompleted, 5: metapb.ReplFailed, 6: metapb.ReplFailed} {
		if got := meta.vers[ver(i)].Replication; got != want {
			t.Errorf("version %d (%s): %q, want %q", i, vers[ver(i)].Key, got, want)
		}
	}
	if meta.acked != 4 {
		t.Errorf("acknowledged %d, want 4 (up to the first failed copy)", meta.acked)
	}
	for _, i := range []int{1, 2, 3} {
		if !bytes.Equal(links.body[ver(i)], plain) {
			t.Errorf("version %d: the destination got %d bytes, not the plaintext", i, len(links.body[ver(i)]))
		}
	}
	if e := links.reps[ver(1)].SSE; e == nil || e.Algorithm != metapb.SSEAlgAES256 || e.IV != nil || e.KeySalt != nil {
		t.Errorf("SSE-S3 replica encryption %+v", e)
	}
	if rp := links.reps[ver(2)]; rp.SSE == nil || len(rp.Parts) != 2 || rp.Parts[0].Size != 100000 {
		t.Errorf("multipart replica %+v", rp)
	}
	if e := links.reps[ver(3)].SSE; e == nil || e.Algorithm != metapb.SSEAlgKMS || e.KMSKeyID != kmsReplica || e.SourceKeyID != kmsSrc || !e.BucketKey || e.Context != encCtx {
		t.Errorf("SSE-KMS replica encryption %+v", e)
	}
	if !strings.Contains(strings.Join(keys.asks, " "), kmsSrc+`|{"a":"b"}`) {
		t.Errorf("the KMS was not asked with the version's context: %v", keys.asks)
	}
	rep4 := links.reps[ver(4)]
	if !bytes.Equal(links.body[ver(4)], ssecStored) || rep4.SSE == nil || rep4.SSE.Algorithm != metapb.SSEAlgCustomer ||
		!bytes.Equal(rep4.SSE.IV, iv4) || !bytes.Equal(rep4.SSE.KeySalt, salt) || !bytes.Equal(rep4.SSE.KeyMAC, mac) || rep4.Size != int64(len(plain)) {
		t.Errorf("SSE-C replica: body equal %v, %+v", bytes.Equal(links.body[ver(4)], ssecStored), rep4.SSE)
	}
	// The copied ciphertext opens with the customer key (and only with it).
	var out bytes.Buffer
	d, _ := sse.DecryptSpans(ck, rep4.Spans(rep4.SSE.IV), &out)
	if _, err := d.Write(links.body[ver(4)]); err != nil || d.Close() != nil || !bytes.Equal(out.Bytes(), plain) || !sse.CheckKey(ck, rep4.SSE.KeySalt, rep4.SSE.KeyMAC) {
		t.Errorf("SSE-C replica does not open with the customer key: %v", err)
	}
	for _, i := range []int{5, 6} {
		if b, ok := links.body[ver(i)]; ok && bytes.Contains(b, []byte("SECRET-PLAINTEXT-")) {
			t.Errorf("version %d: a failed copy committed plaintext at the destination", i)
		}
	}
	// Without a key service, SSE-S3 versions fail clearly.
	r.cfg.SSEKeys = nil
	if _, _, err := r.replicaSSE(context.Background(), vers[ver(1)], s3replication.Rule{}); !errors.Is(err, errNoKeyService) {
		t.Errorf("no key service: %v", err)
	}
}

// TestRuleForVersionSSEKMS: an SSE-KMS version is replicated only by a rule
// whose SourceSelectionCriteria select it.
func TestRuleForVersionSSEKMS(t *testing.T) {
	c := &s3replication.Configuration{Rules: []s3replication.Rule{{ID: "plain", Enabled: true, Priority: 2}}}
	kms := metapb.ObjectVersion{Key: "k", SSE: &metapb.Encryption{Algorithm: metapb.SSEAlgKMS}}
	s3 := metapb.ObjectVersion{Key: "k", SSE: &metapb.Encryption{Algorithm: metapb.SSEAlgAES256}}
	if _, ok := ruleForVersion(c, kms); ok {
		t.Fatal("a rule without SseKmsEncryptedObjects selected an SSE-KMS version")
	}
	if r, ok := ruleForVersion(c, s3); !ok || r.ID != "plain" {
		t.Fatal("SSE-S3 versions are replicated by default")
	}
	c.Rules = append(c.Rules, s3replication.Rule{ID: "kms", Enabled: true, Priority: 1, SSEKMS: "Enabled"})
	if r, ok := ruleForVersion(c, kms); !ok || r.ID != "kms" {
		t.Fatalf("SSE-KMS version → %q %v, want the rule selecting it", r.ID, ok)
	}
}

// swapCatalog is a catalog whose buckets a test replaces; it counts reads.
type swapCatalog struct {
	mu    sync.Mutex
	bs    []bucketsvc.Bucket
	reads int
}

func (c *swapCatalog) ListBuckets(context.Context, string) ([]bucketsvc.Bucket, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	return c.bs, nil
}

// TestReplicatorRereadsNewerRule: a version the gateway selected under a
// configuration newer than the replicator's cached catalog (a rule that
// now selects SSE-KMS objects) is copied, not marked FAILED; a version
// committed before the cached view was read is judged by it, with no
// extra catalog read.
func TestReplicatorRereadsNewerRule(t *testing.T) {
	keys := &fakeDataKeys{keys: map[string][]byte{}}
	key, sealed := sse.NewKey(), sse.NewKey()
	keys.keys[string(sealed)] = key
	iv := sse.NewIV()
	er, _ := sse.EncryptSpans(key, []sse.Span{{IV: iv, Size: 5}}, strings.NewReader("hello"))
	stored, _ := io.ReadAll(er)
	kmsVer := func(ver string, committed time.Time) metapb.ObjectVersion {
		return metapb.ObjectVersion{Bucket: "src/1", Key: "k", Ver: ver, Replication: metapb.ReplPending, Size: 5, ETag: "e", Inline: stored,
			SSE: &metapb.Encryption{Algorithm: metapb.SSEAlgKMS, IV: iv, SealedKey: sealed, KeyID: "arn:src"}, State: metapb.StateCommitted, CommittedAt: committed}
	}
	plainRule := &s3replication.Configuration{Rules: []s3replication.Rule{{ID: "r", Enabled: true, Destination: s3replication.Destination{Bucket: "dst"}}}}
	kmsRule := &s3replication.Configuration{Rules: []s3replication.Rule{{ID: "r", Enabled: true, SSEKMS: "Enabled", Destination: s3replication.Destination{Bucket: "dst", ReplicaKMSKeyID: "arn:replica"}}}}
	cat := &swapCatalog{bs: []bucketsvc.Bucket{{Name: "src", Incarnation: "1", Region: "us", Replication: plainRule}, {Name: "dst", Incarnation: "2", Region: "eu"}}}
	links := &sseLinks{reps: map[string]regionalclient.Replica{}, body: map[string][]byte{}}
	cfg := DefaultConfig()
	cfg.Region, cfg.Links, cfg.Logger, cfg.Catalog = "us", links, slog.New(slog.DiscardHandler), cat
	cfg.SSEKeys, cfg.KMS = keys, keys
	old := strings.Repeat("C", 15) + "a"
	meta := &fakeReplMeta{status: map[string][]string{}, vers: map[string]metapb.ObjectVersion{old: kmsVer(old, time.Now().Add(-time.Hour))}}
	meta.feed = []metapb.FeedEntry{{Seq: 1, Op: metapb.FeedPut, Bucket: "src/1", Key: "k", Ver: old}}
	r := &replicator{cfg: &cfg, meta: meta, src: fakeSegments{}, m: newReplMetrics(nil), parts: map[int]*replPart{}, down: map[string]time.Time{}, slots: make(chan struct{}, 4), reports: map[int]*ReplPartitionReport{}}
	step := func() {
		t.Helper()
		r.part(0).retryAt = time.Time{}
		if _, _, _, err := r.Step(context.Background(), 0, "", func() bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	step() // reads the catalog: the old version is judged by it (FAILED: no rule selects it)
	if got, reads := meta.vers[old].Replication, cat.reads; got != metapb.ReplFailed || reads != 1 {
		t.Fatalf("old version: %q after %d catalog reads, want FAILED after 1", got, reads)
	}
	// The configuration changes; a version committed now, under it.
	cat.mu.Lock()
	cat.bs[0].Replication = kmsRule
	cat.mu.Unlock()
	now := strings.Repeat("C", 15) + "b"
	meta.mu.Lock()
	meta.vers[now] = kmsVer(now, time.Now().Add(2*time.Second))
	meta.feed = append(meta.feed, metapb.FeedEntry{Seq: 2, Op: metapb.FeedPut, Bucket: "src/1", Key: "k", Ver: now})
	meta.mu.Unlock()
	step()
	if got := meta.vers[now].Replication; got != metapb.ReplCompleted || string(links.body[now]) != "hello" {
		t.Fatalf("version under the newer rule: %q, destination got %q", got, links.body[now])
	}
}

package regional

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/sse"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// replKeys is this region's SSE-S3 master key and a one-key KMS.
type replKeys struct{ kek []byte }

func (k replKeys) NewDataKey(context.Context) ([]byte, []byte, string, error) {
	key := sse.NewKey()
	sealed, err := sse.WrapKey(k.kek, key, []byte("v7"))
	return key, sealed, "7", err
}

func (k replKeys) OpenDataKey(_ context.Context, id string, sealed []byte) ([]byte, error) {
	return sse.UnwrapKey(k.kek, sealed, []byte("v"+id))
}

func (k replKeys) GenerateDataKey(_ context.Context, account, keyID string, encCtx []byte) ([]byte, []byte, string, error) {
	if keyID != "arn:aws:kms:eu:123456789012:key/r" {
		return nil, nil, "", &sse.KeyNotFoundError{Msg: "Key '" + keyID + "' does not exist"}
	}
	key := sse.NewKey()
	sealed, err := sse.WrapKey(k.kek, key, append([]byte(account+keyID), encCtx...))
	return key, sealed, keyID, err
}

func (k replKeys) Decrypt(_ context.Context, arn string, sealed, encCtx []byte) ([]byte, error) {
	return sse.UnwrapKey(k.kek, sealed, append([]byte("owner"+arn), encCtx...))
}

// storeReplica runs a replica body through replicaBodyFor as the commit
// coordinator would (read Size bytes, then Finish) and returns what would
// be stored and the version's record.
func storeReplica(t *testing.T, g *Gateway, b bucketsvc.Bucket, rep regionalclient.Replica, body []byte) ([]byte, metapb.ObjectVersion, error) {
	t.Helper()
	v := metapb.ObjectVersion{Size: rep.Size, Parts: rep.Parts}
	cb, err := g.replicaBodyFor(context.Background(), b, rep, &v, io.NopCloser(bytes.NewReader(body)))
	if err != nil {
		return nil, v, err
	}
	stored, err := io.ReadAll(io.LimitReader(cb.Reader, cb.Size))
	if err == nil && int64(len(stored)) != cb.Size {
		err = s3err.New(s3err.IncompleteBody)
	}
	if err == nil {
		err = cb.Finish()
	}
	if err == nil && cb.ETag() != rep.ETag {
		t.Fatalf("replica ETag %q, source %q", cb.ETag(), rep.ETag)
	}
	return stored, v, err
}

// open decrypts what storeReplica stored with the record's key.
func openReplica(t *testing.T, g *Gateway, v metapb.ObjectVersion, stored []byte) []byte {
	t.Helper()
	key, err := g.openManaged(context.Background(), v.SSE)
	if err != nil {
		t.Fatal(err)
	}
	spans := regionalclient.Replica{Size: v.Size, Parts: v.Parts}.Spans(v.SSE.IV)
	var out bytes.Buffer
	d, err := sse.DecryptSpans(key, spans, &out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write(stored); err != nil || d.Close() != nil {
		t.Fatalf("replica does not decrypt: %v", err)
	}
	return out.Bytes()
}

// TestReplicaEncryption: the destination stores replicas of SSE-S3 and
// SSE-KMS versions encrypted under its own keys (fresh IVs, the source's
// part boundaries and ETag), checks the plaintext against the source's
// ETags first (MD5(MD5||ARN) for SSE-KMS), keeps SSE-C ciphertext as it
// came, and applies its bucket's default encryption to replicas of
// unencrypted versions. Never a plaintext byte stored.
func TestReplicaEncryption(t *testing.T) {
	keys := replKeys{kek: sse.NewKey()}
	g := &Gateway{cfg: Config{SSEKeys: keys, KMS: keys}}
	dst := bucketsvc.Bucket{Name: "dst", Owner: "owner"}
	plain := bytes.Repeat([]byte("REPLICA-PLAINTEXT-"), 8000) // 144,000 bytes
	const srcARN = "arn:aws:kms:us:123456789012:key/s"
	const replicaARN = "arn:aws:kms:eu:123456789012:key/r"
	single := regionalclient.Replica{Ver: "v", Size: int64(len(plain)), ETag: md5hex(plain)}
	mp := multipartReplica(plain, 70000, 70000, len(plain)-140000)
	for i := range mp.Parts {
		mp.Parts[i].SSEIV = sse.NewIV() // the source's IVs: replaced here
	}
	// The SSE-KMS source's ETags: MD5(MD5 || source key ARN), per part too.
	kmsSingle := single
	kmsSingle.ETag = kmsETag(md5sum(plain), srcARN)
	kmsMP := multipartReplica(plain, 70000, len(plain)-70000)
	var sums []byte
	for i, p := range kmsMP.Parts {
		off := int64(0)
		for _, q := range kmsMP.Parts[:i] {
			off += q.Size
		}
		kmsMP.Parts[i].ETag = kmsETag(md5sum(plain[off:off+p.Size]), srcARN)
		raw, _ := hex.DecodeString(kmsMP.Parts[i].ETag)
		sums = append(sums, raw...)
	}
	all := md5.Sum(sums)
	kmsMP.ETag = hex.EncodeToString(all[:]) + "-" + strconv.Itoa(len(kmsMP.Parts))
	withSSE := func(r regionalclient.Replica, e regionalclient.ReplicaSSE) regionalclient.Replica {
		r.SSE = &e
		return r
	}
	s3e := regionalclient.ReplicaSSE{Algorithm: metapb.SSEAlgAES256}
	kmse := regionalclient.ReplicaSSE{Algorithm: metapb.SSEAlgKMS, KMSKeyID: replicaARN, SourceKeyID: srcARN, BucketKey: true}
	changed := append([]byte(nil), plain...)
	changed[100] ^= 1
	for _, tc := range []struct {
		name    string
		bucket  bucketsvc.Bucket
		rep     regionalclient.Replica
		body    []byte
		alg     string // the replica's encryption ("" none)
		wantErr string // S3 code
	}{
		{"sse-s3", dst, withSSE(single, s3e), plain, metapb.SSEAlgAES256, ""},
		{"sse-s3 multipart", dst, withSSE(mp, s3e), plain, metapb.SSEAlgAES256, ""},
		{"sse-s3 changed byte", dst, withSSE(single, s3e), changed, "", "BadDigest"},
		{"sse-kms", dst, withSSE(kmsSingle, kmse), plain, metapb.SSEAlgKMS, ""},
		{"sse-kms multipart", dst, withSSE(kmsMP, kmse), plain, metapb.SSEAlgKMS, ""},
		{"sse-kms wrong source arn", dst, withSSE(kmsSingle, regionalclient.ReplicaSSE{Algorithm: metapb.SSEAlgKMS, KMSKeyID: replicaARN, SourceKeyID: srcARN + "x"}), plain, "", "BadDigest"},
		{"sse-kms unknown replica key", dst, withSSE(kmsSingle, regionalclient.ReplicaSSE{Algorithm: metapb.SSEAlgKMS, KMSKeyID: replicaARN + "x", SourceKeyID: srcARN}), plain, "", "KMS.NotFoundException"},
		{"unencrypted, default SSE-S3 at the destination", bucketsvc.Bucket{Name: "dst", Owner: "owner", Encryption: &bucketsvc.BucketEncryption{Algorithm: metapb.SSEAlgAES256}}, single, plain, metapb.SSEAlgAES256, ""},
		{"unencrypted", dst, single, plain, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored, v, err := storeReplica(t, g, tc.bucket, tc.rep, tc.body)
			if tc.wantErr != "" {
				var e *s3err.Error
				if !errors.As(err, &e) || string(e.Code) != tc.wantErr {
					t.Fatalf("err %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.alg == "" {
				if v.SSE != nil || !bytes.Equal(stored, plain) {
					t.Fatalf("unencrypted replica: SSE %+v", v.SSE)
				}
				return
			}
			if v.SSE == nil || v.SSE.Algorithm != tc.alg || bytes.Contains(stored, plain[:64]) {
				t.Fatalf("replica SSE %+v; plaintext stored: %v", v.SSE, bytes.Contains(stored, plain[:64]))
			}
			if tc.alg == metapb.SSEAlgKMS && (v.SSE.KeyID != replicaARN || !v.SSE.BucketKey) {
				t.Fatalf("SSE-KMS replica under %q (bucket key %v), want %s", v.SSE.KeyID, v.SSE.BucketKey, replicaARN)
			}
			if len(tc.rep.Parts) > 0 {
				if v.SSE.IV != nil || len(v.Parts) != len(tc.rep.Parts) {
					t.Fatalf("multipart replica: IV %x, %d parts", v.SSE.IV, len(v.Parts))
				}
				for i, p := range v.Parts {
					if p.Size != tc.rep.Parts[i].Size || p.ETag != tc.rep.Parts[i].ETag || len(p.SSEIV) != sse.IVSize || (tc.rep.SSE != nil && bytes.Equal(p.SSEIV, tc.rep.Parts[i].SSEIV)) {
						t.Fatalf("part %d: %+v (source %+v)", i, p, tc.rep.Parts[i])
					}
				}
			} else if len(v.SSE.IV) != sse.IVSize {
				t.Fatalf("single-stream replica IV %x", v.SSE.IV)
			}
			if got := openReplica(t, g, v, stored); !bytes.Equal(got, plain) {
				t.Fatal("replica decrypts to other bytes")
			}
		})
	}

	t.Run("sse-c ciphertext kept", func(t *testing.T) {
		ck, iv := sse.NewKey(), sse.NewIV()
		salt, mac := sse.KeyCheck(ck)
		er, _ := sse.EncryptSpans(ck, []sse.Span{{IV: iv, Size: int64(len(plain))}}, bytes.NewReader(plain))
		ct, _ := io.ReadAll(er)
		rep := withSSE(regionalclient.Replica{Ver: "v", Size: int64(len(plain)), ETag: "0123456789abcdef0123456789abcdef"},
			regionalclient.ReplicaSSE{Algorithm: metapb.SSEAlgCustomer, IV: iv, KeySalt: salt, KeyMAC: mac})
		if rep.BodySize() != int64(len(ct)) {
			t.Fatalf("BodySize %d, ciphertext %d", rep.BodySize(), len(ct))
		}
		stored, v, err := storeReplica(t, g, dst, rep, ct)
		if err != nil || !bytes.Equal(stored, ct) || v.SSE == nil || v.SSE.Algorithm != metapb.SSEAlgCustomer || !bytes.Equal(v.SSE.IV, iv) || !sse.CheckKey(ck, v.SSE.KeySalt, v.SSE.KeyMAC) {
			t.Fatalf("SSE-C replica: %v, SSE %+v", err, v.SSE)
		}
		if _, _, err := storeReplica(t, g, dst, rep, ct[:len(ct)-1]); err == nil {
			t.Fatal("a short SSE-C body was accepted")
		}
		// Multipart: the parts' IVs are the source's, kept.
		mpc := multipartReplica(plain, 70000, len(plain)-70000)
		var spans []sse.Span
		for i := range mpc.Parts {
			mpc.Parts[i].SSEIV = sse.NewIV()
			spans = append(spans, sse.Span{IV: mpc.Parts[i].SSEIV, Size: mpc.Parts[i].Size})
		}
		er, _ = sse.EncryptSpans(ck, spans, bytes.NewReader(plain))
		mct, _ := io.ReadAll(er)
		mpc = withSSE(mpc, regionalclient.ReplicaSSE{Algorithm: metapb.SSEAlgCustomer, KeySalt: salt, KeyMAC: mac})
		stored, v, err = storeReplica(t, g, dst, mpc, mct)
		if err != nil || !bytes.Equal(stored, mct) || v.SSE.IV != nil || len(v.Parts) != 2 || !bytes.Equal(v.Parts[1].SSEIV, spans[1].IV) {
			t.Fatalf("multipart SSE-C replica: %v, SSE %+v, parts %+v", err, v.SSE, v.Parts)
		}
		var out bytes.Buffer
		d, _ := sse.DecryptSpans(ck, regionalclient.Replica{Size: v.Size, Parts: v.Parts}.Spans(nil), &out)
		if _, err := d.Write(stored); err != nil || d.Close() != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("multipart SSE-C replica does not open with the customer key: %v", err)
		}
	})
}

func md5sum(b []byte) []byte { s := md5.Sum(b); return s[:] }

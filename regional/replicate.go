package regional

// Replication at the gateway (docs/replication.md): the status a new
// version or delete marker is committed with when a rule of its bucket
// replicates it, and the destination side of the replicator — the
// edge-link operation that commits a replica (regionalclient.Replica)
// through the commit coordinator, idempotent by version id.

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/commit"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// replicationStatus is the status a new version of key is committed with:
// PENDING when an enabled rule of the bucket selects it, else none. An
// SSE-KMS version (enc) is selected only by rules whose
// SourceSelectionCriteria enable SseKmsEncryptedObjects; one that no rule
// selects gets no status and is not replicated, as in S3.
func replicationStatus(b bucketsvc.Bucket, key string, tags map[string]string, enc *metapb.Encryption) string {
	if b.Replication == nil {
		return ""
	}
	if _, ok := b.Replication.RuleForObject(key, tags, enc != nil && enc.Algorithm == metapb.SSEAlgKMS); ok {
		return metapb.ReplPending
	}
	return ""
}

// markerReplicationStatus is the status of a delete marker a DELETE of key
// adds (none when it names a version: permanent deletes are not
// replicated): PENDING when the rule that selects key replicates delete
// markers. Rules with tag filters never do (S3 refuses that combination),
// so the marker's lack of tags does not matter.
func markerReplicationStatus(b bucketsvc.Bucket, key, named string) string {
	if b.Replication == nil || named != "" || b.Versioning == bucketsvc.VersioningOff {
		return ""
	}
	if r, ok := b.Replication.RuleFor(key, nil); ok && r.DeleteMarkers {
		return metapb.ReplPending
	}
	return ""
}

// replicatorPeer returns the identity of a verified background server (any
// region) on the edge link.
func replicatorPeer(r *http.Request) (mtls.Identity, bool) {
	id, err := mtls.PeerIdentity(r.TLS)
	if err != nil || id.Role != mtls.RoleBackground {
		return mtls.Identity{}, false
	}
	return id, true
}

// errReplicaBadDigest: the replicated body does not hash to the ETag (or
// part ETags) its source recorded.
var errReplicaBadDigest = s3err.WithMessage(s3err.BadDigest, "The replicated body does not match the source version's ETag.")

// replicate serves PUT /<bucket>/<key>?meridian-replicate from a
// replicator (regionalclient.QueryReplicate).
func (g *Gateway) replicate(w http.ResponseWriter, r *http.Request, peer mtls.Identity) {
	req := &request{r: r, w: w, id: newRequestID(), start: time.Now()}
	w.Header().Set("x-amz-request-id", req.id)
	w.Header().Set("x-amz-id-2", s3api.ExtendedRequestID(g.hostID, req.id))
	req.log = g.log.With("request_id", req.id, "op", "replicate", "peer", peer.String())
	result, err := g.replicateOne(req)
	if err != nil {
		g.writeError(req, err)
		return
	}
	w.Header().Set(regionalclient.HeaderReplicaResult, result)
	w.WriteHeader(http.StatusOK)
}

func (g *Gateway) replicateOne(req *request) (string, error) {
	r := req.r
	ctx := r.Context()
	if r.Method != http.MethodPut {
		return "", s3err.New(s3err.MethodNotAllowed)
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok || bucket == "" || key == "" {
		return "", s3err.WithMessage(s3err.InvalidRequest, "A replica names a bucket and a key.")
	}
	req.bucket, req.key = bucket, key
	rep, err := regionalclient.ReplicaFrom(r.Header)
	if err != nil {
		return "", s3err.WithMessage(s3err.InvalidRequest, "Missing or malformed "+regionalclient.HeaderReplica+" (or "+regionalclient.HeaderReplicaEncrypted+") header.")
	}
	if r.ContentLength != rep.BodySize() {
		return "", s3err.WithMessage(s3err.InvalidRequest, "Content-Length differs from the replica's size.")
	}
	b, err := g.cfg.Catalog.GetBucket(ctx, bucket)
	if err != nil {
		if errors.Is(err, bucketsvc.ErrNoSuchBucket) {
			return "", s3err.New(s3err.NoSuchBucket).With("BucketName", bucket)
		}
		return "", err
	}
	if b.Region != g.cfg.Region {
		return "", s3err.WithMessage(s3err.Code("PermanentRedirect"), "The destination bucket lives in another region.").With("BucketName", bucket).With("Region", b.Region)
	}
	if b.Versioning != bucketsvc.VersioningEnabled {
		return "", s3err.WithMessage(s3err.InvalidRequest, "Versioning must be 'Enabled' on the destination bucket.")
	}
	req.mb = b.MetaKey()
	req.log = req.log.With("bucket", bucket, "key", key, "ver", rep.Ver)
	if rep.DeleteMarker {
		res, err := g.cfg.Meta.DeleteObject(ctx, metapb.DeleteRequest{Bucket: req.mb, Key: key, Owner: rep.Owner,
			Replica: &metapb.ReplicaMarker{Ver: rep.Ver, Created: rep.Created, Null: rep.Null}})
		if err != nil {
			return "", err
		}
		return replicaResult(res.Existed), nil
	}
	if rep.TagsOnly {
		// A tag change of a version copied earlier: the destination's
		// record takes the source's tags (one Raft apply; idempotent).
		if _, err := g.cfg.Meta.PutTags(ctx, metapb.PutTagsRequest{Bucket: req.mb, Key: key, Ver: rep.Ver, Tags: rep.Tags}); err != nil {
			if errors.Is(err, metaclient.ErrNotFound) {
				// Deleted for good here since it was copied: nothing to tag
				// (the replicator must not retry forever).
				req.log.Info("replicated tag change for a version absent here")
				return regionalclient.ReplicaTags, nil
			}
			return "", err
		}
		return regionalclient.ReplicaTags, nil
	}
	// Already there: answer before reading the body (the replicator stops
	// sending it).
	if _, err := g.cfg.Meta.GetVer(ctx, req.mb, key, rep.Ver); err == nil {
		return regionalclient.ReplicaExists, nil
	} else if !errors.Is(err, metaclient.ErrNotFound) {
		return "", err
	}
	now := time.Now().UTC()
	v := metapb.ObjectVersion{
		Format: metapb.FormatV1, Bucket: req.mb, Key: key, VersionID: newVersionID(now), Ver: rep.Ver, Null: rep.Null,
		Size: rep.Size, ContentType: rep.ContentType, Headers: rep.Headers, UserMeta: rep.UserMeta,
		Tags: rep.Tags, ChecksumType: rep.ChecksumType, Owner: rep.Owner, Created: rep.Created,
		Scheme: g.cfg.Data.Scheme(), Parts: rep.Parts, Replication: metapb.ReplReplica, ACL: rep.ACL,
	}
	if b.ObjectLock != nil { // objectlock.go: a destination without Object Lock keeps no retention
		v.Lock = rep.Lock
	}
	src := r.Body
	if src == nil {
		src = http.NoBody
	}
	body, err := g.replicaBodyFor(ctx, b, rep, &v, src) // replicasse.go: encrypted versions
	if err != nil {
		return "", err
	}
	res, err := g.commit.Write(ctx, commit.Target{Object: &v, Versioning: metapb.VersioningEnabled, Replica: true, Log: req.log}, body)
	if err != nil {
		return "", err
	}
	existed := res.Version != nil && res.Version.VersionID != v.VersionID
	return replicaResult(existed), nil
}

func replicaResult(existed bool) string {
	if existed {
		return regionalclient.ReplicaExists
	}
	return regionalclient.ReplicaCreated
}

// replicaBody verifies a replicated body while it streams: the MD5 of each
// part (the boundaries the source recorded) or of the whole object must
// give the source's ETag, so a multipart replica keeps its "<hex>-<n>" ETag
// only if its bytes and part boundaries are the source's.
type replicaBody struct {
	src   io.Reader
	rep   regionalclient.Replica
	h     hash.Hash
	part  int   // index into rep.Parts
	left  int64 // bytes left in the current part
	sums  []byte
	total int64
	err   error
}

func newReplicaBody(src io.Reader, rep regionalclient.Replica) *replicaBody {
	b := &replicaBody{src: src, rep: rep, h: md5.New()}
	if len(rep.Parts) > 0 {
		b.left = rep.Parts[0].Size
	}
	return b
}

func (b *replicaBody) Read(p []byte) (int, error) {
	n, err := b.src.Read(p)
	b.total += int64(n)
	data := p[:n]
	for len(data) > 0 {
		if len(b.rep.Parts) == 0 {
			b.h.Write(data)
			break
		}
		for b.left == 0 && b.part < len(b.rep.Parts)-1 {
			b.endPart()
		}
		k := int64(len(data))
		if k > b.left {
			k = b.left
		}
		if k == 0 { // more bytes than the parts hold
			b.err = errReplicaBadDigest
			return n, b.err
		}
		b.h.Write(data[:k])
		b.left -= k
		data = data[k:]
	}
	if b.err != nil {
		return n, b.err
	}
	return n, err
}

// etag is the ETag the source gave bytes whose MD5 is sum: the hex MD5, or
// for SSE-KMS MD5(MD5 || source key ARN) (replicasse.go).
func (b *replicaBody) etag(sum []byte) string {
	if e := b.rep.SSE; e != nil && e.Algorithm == metapb.SSEAlgKMS && e.SourceKeyID != "" {
		return kmsETag(sum, e.SourceKeyID)
	}
	return hex.EncodeToString(sum)
}

// endPart checks the finished part's MD5 and starts the next part.
func (b *replicaBody) endPart() {
	etag := b.etag(b.h.Sum(nil))
	if etag != b.rep.Parts[b.part].ETag && b.err == nil {
		b.err = errReplicaBadDigest
	}
	raw, _ := hex.DecodeString(etag)
	b.sums = append(b.sums, raw...)
	b.h.Reset()
	b.part++
	b.left = b.rep.Parts[b.part].Size
}

// finish reads to the end and compares the digests (commit.Body.Finish).
func (b *replicaBody) finish() error {
	if _, err := io.Copy(io.Discard, b); err != nil {
		return err
	}
	if b.err != nil {
		return b.err
	}
	if b.total != b.rep.Size {
		return s3err.New(s3err.IncompleteBody)
	}
	if len(b.rep.Parts) == 0 {
		if b.etag(b.h.Sum(nil)) != b.rep.ETag {
			return errReplicaBadDigest
		}
		return nil
	}
	for b.part < len(b.rep.Parts)-1 {
		b.endPart()
	}
	last := b.etag(b.h.Sum(nil))
	if last != b.rep.Parts[b.part].ETag || b.left != 0 {
		return errReplicaBadDigest
	}
	raw, _ := hex.DecodeString(last)
	all := md5.Sum(append(b.sums, raw...))
	if want := hex.EncodeToString(all[:]) + "-" + strconv.Itoa(len(b.rep.Parts)); want != b.rep.ETag {
		return fmt.Errorf("%w (multipart ETag %s, source %s)", errReplicaBadDigest, want, b.rep.ETag)
	}
	return b.err
}

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
// PENDING when an enabled rule of the bucket selects it, else none.
func replicationStatus(b bucketsvc.Bucket, key string, tags map[string]string) string {
	if b.Replication == nil {
		return ""
	}
	if _, ok := b.Replication.RuleFor(key, tags); ok {
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
	rep, err := regionalclient.DecodeReplica(r.Header.Get(regionalclient.HeaderReplica))
	if err != nil {
		return "", s3err.WithMessage(s3err.InvalidRequest, "Missing or malformed "+regionalclient.HeaderReplica+" header.")
	}
	if r.ContentLength != rep.Size {
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
			Replica: &metapb.ReplicaMarker{Ver: rep.Ver, Created: rep.Created}})
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
		Format: metapb.FormatV1, Bucket: req.mb, Key: key, VersionID: newVersionID(now), Ver: rep.Ver,
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
	vb := newReplicaBody(&edgeBody{src: src, want: rep.Size}, rep)
	res, err := g.commit.Write(ctx, commit.Target{Object: &v, Versioning: metapb.VersioningEnabled, Replica: true, Log: req.log},
		commit.Body{Size: rep.Size, Reader: vb, Finish: vb.finish, ETag: func() string { return rep.ETag },
			Checksums: func() map[string]string { return rep.Checksums }})
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

// endPart checks the finished part's MD5 and starts the next part.
func (b *replicaBody) endPart() {
	sum := b.h.Sum(nil)
	if hex.EncodeToString(sum) != b.rep.Parts[b.part].ETag && b.err == nil {
		b.err = errReplicaBadDigest
	}
	b.sums = append(b.sums, sum...)
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
		if hex.EncodeToString(b.h.Sum(nil)) != b.rep.ETag {
			return errReplicaBadDigest
		}
		return nil
	}
	for b.part < len(b.rep.Parts)-1 {
		b.endPart()
	}
	last := b.h.Sum(nil)
	if hex.EncodeToString(last) != b.rep.Parts[b.part].ETag || b.left != 0 {
		return errReplicaBadDigest
	}
	all := md5.Sum(append(b.sums, last...))
	if want := hex.EncodeToString(all[:]) + "-" + strconv.Itoa(len(b.rep.Parts)); want != b.rep.ETag {
		return fmt.Errorf("%w (multipart ETag %s, source %s)", errReplicaBadDigest, want, b.rep.ETag)
	}
	return b.err
}

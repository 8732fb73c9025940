package regionalclient

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// The replication write (docs/replication.md): a background server's
// replicator sends a version of a source bucket to the destination bucket's
// home region over the same link edges use, authenticated by its own
// certificate (role background), never by a client's credentials:
//
//	PUT /<bucket>/<key>?meridian-replicate
//	X-Meridian-Replica: base64url(JSON Replica)
//	Content-Length: <size>           (0 and no body for a delete marker)
//
// The gateway commits the version with the given version id through the
// commit coordinator, marked REPLICA, and answers 200 with
// X-Meridian-Replica-Result "created" or "exists" (the version id was
// already there: nothing written). Any other answer is an S3 error; the
// replicator retries it.
const (
	QueryReplicate        = "meridian-replicate"
	HeaderReplica         = "X-Meridian-Replica"
	HeaderReplicaResult   = "X-Meridian-Replica-Result"
	ReplicaCreated        = "created"
	ReplicaExists         = "exists"
	ReplicaTags           = "tags" // a TagsOnly replica was applied
	maxReplicaHeaderBytes = 256 << 10
)

// Replica describes the version being replicated.
type Replica struct {
	Ver          string            `json:"ver"`
	Created      time.Time         `json:"created"` // Last-Modified at the source
	DeleteMarker bool              `json:"dm,omitempty"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"` // unquoted; "<hex>-<n>" for multipart
	Parts        []metapb.PartInfo `json:"parts,omitempty"`
	ContentType  string            `json:"ctype,omitempty"`
	Headers      map[string]string `json:"hdrs,omitempty"`
	UserMeta     map[string]string `json:"meta,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Checksums    map[string]string `json:"cks,omitempty"`
	ChecksumType string            `json:"cktype,omitempty"`
	Owner        string            `json:"owner,omitempty"`
	// ACL is the version's ACL at the time it is copied (later ACL changes
	// are not replicated).
	ACL *metapb.ObjectACL `json:"acl,omitempty"`
	// Lock is the version's Object Lock state at the time it is copied
	// (docs/object-lock.md): kept by a lock-enabled destination bucket,
	// dropped by one without Object Lock; later changes are not replicated.
	Lock *metapb.ObjectLock `json:"lock,omitempty"`
	// TagsOnly: the version exists at the destination already and only its
	// tags changed at the source (PutObjectTagging, DeleteObjectTagging):
	// the destination replaces the version's tags with Tags; no body.
	TagsOnly bool `json:"tags_only,omitempty"`
}

// ErrBadReplica: the replica header is missing, too large or malformed.
var ErrBadReplica = errors.New("regionalclient: bad replica header")

// EncodeReplica returns the header value of r.
func EncodeReplica(r Replica) (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeReplica parses a header value.
func DecodeReplica(s string) (Replica, error) {
	var r Replica
	if s == "" || len(s) > maxReplicaHeaderBytes {
		return r, ErrBadReplica
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return r, ErrBadReplica
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, ErrBadReplica
	}
	if !metapb.ValidVersionID(r.Ver) || r.Ver == metapb.NullVersion || r.Size < 0 || (r.DeleteMarker && r.Size != 0) {
		return r, ErrBadReplica
	}
	return r, nil
}

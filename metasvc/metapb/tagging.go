package metapb

// Object tags and checksum types of the object record (ObjectVersion.Tags,
// ObjectVersion.ChecksumType, Upload.Tags, Upload.ChecksumType).

// MaxObjectTags is S3's limit of tags per object version.
const MaxObjectTags = 10

// Checksum types (x-amz-checksum-type, GetObjectAttributes ChecksumType).
const (
	ChecksumFullObject = "FULL_OBJECT"
	ChecksumComposite  = "COMPOSITE"
)

// FeedTags is a feed entry for a change of one version's tags
// (PutObjectTagging, DeleteObjectTagging); Ver names the version.
const FeedTags FeedOp = 4

// PutTagsRequest replaces the tags of one committed object version: the
// version Ver names ("null" or an id), or with Ver empty the key's newest
// record. Tags nil or empty removes every tag (DeleteObjectTagging). The
// record keeps everything else (size, ETag, shards, version id); the
// partition writes a FeedTags entry. Errors: ErrNotFound when there is no
// such version; ErrMethodNotAllowed when it is a delete marker (S3 answers
// 405 MethodNotAllowed for a named marker, 404 NoSuchKey when the newest
// record is one); ErrBadRequest for more than MaxObjectTags tags.
// Result.Version is the record after the change.
type PutTagsRequest struct {
	Bucket string            `json:"bucket"`
	Key    string            `json:"key"`
	Ver    string            `json:"ver,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// ErrMethodNotAllowed: the command does not apply to that record (a delete marker).
const ErrMethodNotAllowed = "MethodNotAllowed"

// ErrBadDigest: CompleteUpload's claimed full-object checksum differs from
// the one computed from the parts.
const ErrBadDigest = "BadDigest"

package metapb

// Versioning is a bucket's versioning mode as a write command carries it
// (the gateway reads it from the bucket catalog at write time). Off and
// Suspended write the key's null version (replacing the previous null
// version, whose shards become garbage); Enabled adds a new version and keeps
// the previous ones.
type Versioning uint8

const (
	VersioningOff       Versioning = 0 // never enabled: every record is the null version
	VersioningEnabled   Versioning = 1
	VersioningSuspended Versioning = 2
)

// NullVersion is the S3 version id of a key's null version.
const NullVersion = "null"

// VerLen is the length of a version id (ObjectVersion.Ver).
const VerLen = 16

// VerAlphabet holds the characters of a version id: URL-safe and in ASCII
// order, so fixed-length ids compare like the bytes they encode.
const VerAlphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// ValidVersionID reports whether id can name a version: "null" or
// VerLen characters of VerAlphabet.
func ValidVersionID(id string) bool {
	if id == NullVersion {
		return true
	}
	if len(id) != VerLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
			return false
		}
	}
	return true
}

// S3VersionID is the version id S3 clients see: "null" for the null
// version, else Ver.
func (v *ObjectVersion) S3VersionID() string {
	if v.Null {
		return NullVersion
	}
	return v.Ver
}

// IsDeleteMarker reports whether v is a delete marker.
func (v *ObjectVersion) IsDeleteMarker() bool { return v.State == StateDeleteMarker }

// FeedMarker is a feed entry for a delete marker created by a DELETE
// without a version id on a versioned (or suspended) bucket. FeedDelete is
// then a permanent removal of one version (Ver names it).
const FeedMarker FeedOp = 3

// ListVersionsRequest lists one bucket's versions and delete markers
// (ListObjectVersions) in one partition or, through metaclient, merged over
// all partitions. Order: key ascending, then newest version first.
//
// With VersionMarker empty, keys ≤ KeyMarker are skipped (and, when
// KeyMarker is itself a common prefix, every key under it). With
// VersionMarker set ("null" or a version id), the listing starts after that
// version of KeyMarker; when that version no longer exists it starts after
// where its id would sort ("null": at the next key).
type ListVersionsRequest struct {
	Bucket        string `json:"bucket"`
	Prefix        string `json:"prefix,omitempty"`
	Delimiter     string `json:"delim,omitempty"`
	KeyMarker     string `json:"keymarker,omitempty"`
	VersionMarker string `json:"vmarker,omitempty"`
	MaxKeys       int    `json:"max"` // 1..1000; versions, markers and common prefixes count alike
}

// VersionEntry is a version or delete marker (Version set, in listing form:
// no bytes, segments or parts) or a common prefix (Prefix set). Latest marks
// the key's newest record (S3's IsLatest).
type VersionEntry struct {
	Prefix  string         `json:"prefix,omitempty"`
	Version *ObjectVersion `json:"version,omitempty"`
	Latest  bool           `json:"latest,omitempty"`
}

// Name returns the key or the common prefix.
func (e VersionEntry) Name() string {
	if e.Version != nil {
		return e.Version.Key
	}
	return e.Prefix
}

// ListVersionsResponse is the ordered result; Truncated when more follow.
type ListVersionsResponse struct {
	Entries   []VersionEntry `json:"entries"`
	Truncated bool           `json:"truncated"`
}

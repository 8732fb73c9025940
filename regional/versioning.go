package regional

import (
	"bytes"
	"crypto/md5"
	"errors"
	"io"
	"net/http"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Versioning (docs/versioning.md). The bucket's status is read from the
// catalog by every request (bucketFor; the gateway keeps no cache of it),
// so a write that starts after PutBucketVersioning was acknowledged uses
// the new status; a write already past bucketFor uses the one it read.

// versioningOf is the mode a write command carries.
func versioningOf(b bucketsvc.Bucket) metapb.Versioning {
	switch b.Versioning {
	case bucketsvc.VersioningEnabled:
		return metapb.VersioningEnabled
	case bucketsvc.VersioningSuspended:
		return metapb.VersioningSuspended
	}
	return metapb.VersioningOff
}

// setVersionHeader sends x-amz-version-id for v when the bucket has
// versioning (enabled or suspended); S3 sends none for a bucket that never
// had it.
func setVersionHeader(h http.Header, b bucketsvc.Bucket, v *metapb.ObjectVersion) {
	if b.Versioning != bucketsvc.VersioningOff && v != nil && (v.Ver != "" || v.Null) {
		h.Set("x-amz-version-id", v.S3VersionID())
	}
}

// checkVersionParam validates a versionId query parameter against the
// bucket before anything is read or deleted (s3api.CheckVersionID).
func checkVersionParam(q map[string][]string, b bucketsvc.Bucket) error {
	id, present := s3api.VersionIDParam(q)
	return s3api.CheckVersionID(id, present, b.Versioning != bucketsvc.VersioningOff, metapb.ValidVersionID)
}

// resolveVersion returns the version a GET, HEAD or object-subresource
// request names: ?versionId's version (404 NoSuchVersion when there is
// none; a delete marker answers 405 MethodNotAllowed), else the current
// version (404 NoSuchKey, with x-amz-delete-marker when the key's newest
// record is a delete marker). checkVersionParam ran before.
func (g *Gateway) resolveVersion(req *request, b bucketsvc.Bucket) (metapb.ObjectVersion, error) {
	ctx := req.r.Context()
	h := req.w.Header()
	id, named := s3api.VersionIDParam(req.r.URL.Query())
	if named && b.Versioning == bucketsvc.VersioningOff {
		named = false // "null" on a bucket that never had versioning: the object itself
	}
	if !named {
		v, err := g.cfg.Meta.Latest(ctx, req.mb, req.key)
		if err != nil {
			return v, err
		}
		if v.IsDeleteMarker() {
			h.Set("x-amz-delete-marker", "true")
			setVersionHeader(h, b, &v)
			return v, s3err.New(s3err.NoSuchKey).With("Key", req.key)
		}
		return v, nil
	}
	v, err := g.cfg.Meta.GetVer(ctx, req.mb, req.key, id)
	if errors.Is(err, metaclient.ErrNotFound) {
		return v, s3err.New(s3err.NoSuchVersion).With("Key", req.key).With("VersionId", id)
	}
	if err != nil {
		return v, err
	}
	if v.IsDeleteMarker() {
		h.Set("x-amz-delete-marker", "true")
		h.Set("Last-Modified", v.Created.UTC().Format(http.TimeFormat))
		setVersionHeader(h, b, &v)
		h.Set("Allow", "DELETE")
		return v, s3err.New(s3err.MethodNotAllowed).With("Method", req.r.Method).With("ResourceType", "DeleteMarker")
	}
	return v, nil
}

const maxVersioningBody = 64 << 10

// putBucketVersioning sets Enabled or Suspended in the bucket catalog (a
// bucket never returns to unversioned, as in S3).
func (g *Gateway) putBucketVersioning(req *request) error {
	ctx := req.r.Context()
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if req.r.Header.Get("x-amz-mfa") != "" {
		return s3err.WithMessage(s3err.NotImplemented, "Meridian does not implement MFA Delete.").With("Header", "x-amz-mfa")
	}
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, maxVersioningBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxVersioningBody {
		return s3err.New(s3err.MalformedXML)
	}
	if err := checkContentMD5(req, body); err != nil {
		return err
	}
	status, err := s3api.ParseVersioningConfiguration(body)
	if err != nil {
		return err
	}
	err = g.cfg.Catalog.UpdateBucket(ctx, b.Name, func(cur *bucketsvc.Bucket) error {
		if cur.Incarnation != b.Incarnation {
			return bucketsvc.ErrNoSuchBucket // deleted and re-created meanwhile
		}
		if cur.Replication != nil && bucketsvc.VersioningState(status) != bucketsvc.VersioningEnabled {
			return errReplicationNeedsVersioning
		}
		if cur.ObjectLock != nil && bucketsvc.VersioningState(status) != bucketsvc.VersioningEnabled {
			return errLockPresent // objectlock.go
		}
		cur.Versioning = bucketsvc.VersioningState(status)
		return nil
	})
	if errors.Is(err, errReplicationNeedsVersioning) {
		// As S3: a replicated bucket's versioning cannot be suspended.
		return s3err.WithMessage(s3err.InvalidBucketState, "A replication configuration is present on this bucket, so the versioning state cannot be changed.")
	}
	if errors.Is(err, errLockPresent) {
		return s3err.WithMessage(s3err.InvalidBucketState, "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
	}
	if err != nil {
		return err
	}
	req.log.Info("bucket versioning set", "status", status)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// listObjectVersions serves ListObjectVersions (GET ?versions), merged over
// all partitions by metaclient.
func (g *Gateway) listObjectVersions(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	q := req.r.URL.Query()
	maxKeys, err := maxKeysParam(q, "max-keys")
	if err != nil {
		return err
	}
	enc, err := encodingParam(q)
	if err != nil {
		return err
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	keyMarker, verMarker := q.Get("key-marker"), q.Get("version-id-marker")
	if verMarker != "" {
		if keyMarker == "" {
			return s3err.WithMessage(s3err.InvalidArgument, "A version-id marker cannot be specified without a key marker.").
				With("ArgumentName", "version-id-marker").With("ArgumentValue", verMarker)
		}
		if !metapb.ValidVersionID(verMarker) {
			return s3err.WithMessage(s3err.InvalidArgument, "Invalid version id specified").
				With("ArgumentName", "version-id-marker").With("ArgumentValue", verMarker)
		}
	}
	res := s3api.ListVersionsResult{
		XMLNS: s3api.XMLNS, Name: req.bucket, Prefix: encodeName(prefix, enc), KeyMarker: encodeName(keyMarker, enc),
		VersionIDMarker: verMarker, MaxKeys: maxKeys, Delimiter: encodeName(delim, enc),
	}
	if enc {
		res.EncodingType = "url"
	}
	if maxKeys == 0 {
		return writeXML(req, http.StatusOK, res)
	}
	page, err := g.cfg.Meta.ListVersions(req.r.Context(), metapb.ListVersionsRequest{
		Bucket: req.mb, Prefix: prefix, Delimiter: delim, KeyMarker: keyMarker, VersionMarker: verMarker, MaxKeys: maxKeys,
	})
	if err != nil {
		return err
	}
	res.IsTruncated = page.Truncated
	owners := map[string]*s3api.Owner{}
	ownerOf := func(id string) *s3api.Owner {
		if o, ok := owners[id]; ok {
			return o
		}
		o := g.owner(req, id)
		owners[id] = &o
		return &o
	}
	for _, e := range page.Entries {
		if e.Version == nil {
			res.CommonPrefixes = append(res.CommonPrefixes, s3api.CommonPrefix{Prefix: encodeName(e.Prefix, enc)})
			continue
		}
		v := e.Version
		ve := s3api.VersionEntry{
			Key: encodeName(v.Key, enc), VersionID: v.S3VersionID(), IsLatest: e.Latest,
			LastModified: s3api.ISOTime(v.Created), Owner: ownerOf(v.Owner),
		}
		if v.IsDeleteMarker() {
			ve.XMLName.Local = "DeleteMarker"
		} else {
			size := v.Size
			ve.XMLName.Local, ve.ETag, ve.Size, ve.StorageClass = "Version", s3api.QuoteETag(v.ETag), &size, "STANDARD"
			ve.ChecksumAlgo, ve.ChecksumType = listedChecksum(v) // list.go
		}
		res.Entries = append(res.Entries, ve)
	}
	if page.Truncated && len(page.Entries) > 0 {
		last := page.Entries[len(page.Entries)-1]
		res.NextKeyMarker = encodeName(last.Name(), enc)
		if last.Version != nil {
			res.NextVersionIDMarker = last.Version.S3VersionID()
		}
	}
	return writeXML(req, http.StatusOK, res)
}

// deleteHeaders answers a DELETE of a versioned bucket: the marker created,
// or the version removed.
func deleteHeaders(h http.Header, b bucketsvc.Bucket, named string, res metapb.Result) {
	if b.Versioning == bucketsvc.VersioningOff && named == "" {
		return
	}
	if named != "" {
		h.Set("x-amz-version-id", named)
		if res.Version != nil && res.Version.IsDeleteMarker() {
			h.Set("x-amz-delete-marker", "true")
		}
		return
	}
	if res.Version != nil && res.Version.IsDeleteMarker() {
		h.Set("x-amz-delete-marker", "true")
		h.Set("x-amz-version-id", res.Version.S3VersionID())
	}
}

// deletedEntry is a DeleteObjects <Deleted> element for one result.
func deletedEntry(key string, b bucketsvc.Bucket, named string, res metapb.Result) s3api.DeletedObject {
	d := s3api.DeletedObject{Key: key}
	if named != "" {
		d.VersionID = named
		if res.Version != nil && res.Version.IsDeleteMarker() {
			d.DeleteMarker, d.DeleteMarkerVersionID = true, named
		}
		return d
	}
	if b.Versioning != bucketsvc.VersioningOff && res.Version != nil && res.Version.IsDeleteMarker() {
		d.DeleteMarker, d.DeleteMarkerVersionID = true, res.Version.S3VersionID()
	}
	return d
}

// checkContentMD5 is S3's integrity rule for small configuration and
// multi-delete bodies: a Content-MD5 (checked against body), or an
// x-amz-checksum-* (header or trailer) that the verifying body reader
// checked (its value is known once the body was read to EOF).
func checkContentMD5(req *request, body []byte) error {
	want, err := s3api.ContentMD5(req.r.Header)
	if err != nil {
		return err
	}
	if want == nil {
		if len(req.auth.Checksums()) == 0 {
			return s3err.WithMessage(s3err.InvalidRequest, "Missing required header for this request: Content-MD5")
		}
		return nil
	}
	if sum := md5.Sum(body); !bytes.Equal(sum[:], want) {
		return s3err.New(s3err.BadDigest)
	}
	return nil
}

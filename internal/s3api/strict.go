package s3api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// CheckContentLength refuses an upload body whose length is not declared.
// S3 needs the length before it stores a byte: a PutObject or UploadPart
// carries Content-Length, or — with aws-chunked (streaming is true) —
// x-amz-decoded-content-length, which the SigV4 verifier requires. An
// HTTP/1.1 request with neither (no header at all, or Transfer-Encoding:
// chunked) answers 411 MissingContentLength, never an empty object. HTTP/2
// and HTTP/3 frame the body, so a known ContentLength there is a declared one.
func CheckContentLength(r *http.Request, streaming bool) error {
	if streaming {
		return nil
	}
	if r.ContentLength >= 0 && (r.ProtoMajor >= 2 || r.Header.Get("Content-Length") != "") {
		return nil
	}
	return s3err.New(s3err.MissingContentLength)
}

// ParsePartNumber reads the partNumber query parameter of GetObject and
// HeadObject: present is false when the parameter is absent; a value that
// is not an integer in [1, 10000] is InvalidArgument.
func ParsePartNumber(q url.Values, maxParts int) (n int, present bool, err error) {
	vals, present := q["partNumber"]
	if !present {
		return 0, false, nil
	}
	v := ""
	if len(vals) > 0 {
		v = vals[0]
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < 1 || n > maxParts || len(vals) > 1 {
		return 0, true, s3err.WithMessage(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive").
			With("ArgumentName", "partNumber").With("ArgumentValue", v)
	}
	return n, true, nil
}

// PartRange is the byte range of part n of an object of size bytes whose
// multipart parts have the given sizes, in order (empty for an object that
// was not uploaded in parts: its only part is the whole object, as in S3).
// A part past the last is 416 InvalidPartNumber.
func PartRange(n int, size int64, partSizes []int64) (Range, error) {
	if len(partSizes) == 0 {
		if n != 1 {
			return Range{}, s3err.New(s3err.InvalidPartNumber)
		}
		return Range{Start: 0, Length: size}, nil
	}
	if n < 1 || n > len(partSizes) {
		return Range{}, s3err.New(s3err.InvalidPartNumber)
	}
	var off int64
	for _, s := range partSizes[:n-1] {
		off += s
	}
	return Range{Start: off, Length: partSizes[n-1]}, nil
}

// ErrPartNumberWithRange answers a GetObject or HeadObject that names both a
// partNumber and a Range.
func ErrPartNumberWithRange() error {
	return s3err.WithMessage(s3err.InvalidRequest, "Cannot specify both Range header and partNumber query parameter")
}

// NullVersionID is the version id of an object written while the bucket's
// versioning was never enabled (or suspended).
const NullVersionID = "null"

// CheckVersionID validates a versionId query parameter (or a DeleteObjects
// <VersionId>) before anything is read or deleted. On a bucket that never
// had versioning, S3 knows only the "null" version, and any other id is 400
// InvalidArgument. On a bucket with versioning (enabled or suspended), an id
// that wellFormed refuses is 400 InvalidArgument too; a well-formed id that
// names no version is the handler's 404 NoSuchVersion.
func CheckVersionID(id string, present, versioned bool, wellFormed func(string) bool) error {
	if !present || id == NullVersionID {
		return nil
	}
	if id == "" {
		return s3err.WithMessage(s3err.InvalidArgument, "Version id cannot be the empty string").
			With("ArgumentName", "versionId").With("ArgumentValue", id)
	}
	if versioned && wellFormed(id) {
		return nil
	}
	return ErrInvalidVersionID(id)
}

// ErrInvalidVersionID answers a version id that cannot name a version.
func ErrInvalidVersionID(id string) error {
	return s3err.WithMessage(s3err.InvalidArgument, "Invalid version id specified").
		With("ArgumentName", "versionId").With("ArgumentValue", truncateArg(id))
}

// VersionIDParam returns the versionId query parameter and whether it is present.
func VersionIDParam(q url.Values) (string, bool) {
	v, ok := q["versionId"]
	if !ok {
		return "", false
	}
	if len(v) == 0 {
		return "", true
	}
	return v[0], true
}

func truncateArg(s string) string {
	if len(s) > 256 {
		return s[:256]
	}
	return s
}

// HeaderScope says which operation a request's headers are checked for.
type HeaderScope int

// Scopes of CheckUnsupportedHeaders.
const (
	// ScopeObjectWrite: PutObject, CreateMultipartUpload, CopyObject.
	ScopeObjectWrite HeaderScope = iota + 1
	// ScopePartWrite: UploadPart, UploadPartCopy, CompleteMultipartUpload.
	ScopePartWrite
	// ScopeObjectRead: GetObject, HeadObject.
	ScopeObjectRead
	// ScopeBucketCreate: CreateBucket.
	ScopeBucketCreate
)

// errNoEncryption is the answer to any server-side-encryption header.
func errNoEncryption(name string) error {
	return s3err.WithMessage(s3err.NotImplemented, "Server-side encryption is not supported yet; Meridian refuses the request rather than store or serve data unencrypted ("+name+").").
		With("Header", name)
}

// CheckUnsupportedHeaders refuses a request carrying a header that changes
// what the operation would do when Meridian cannot honour it (invariant 9:
// refused, never ignored):
//   - server-side encryption headers (x-amz-server-side-encryption*,
//     SSE-C customer keys, copy-source SSE-C) on bucket creation: 501
//     NotImplemented. Object reads and writes take them: the regional
//     gateway honours or refuses each (regional/sse.go, docs/sse.md);
//   - object writes: website redirects (501), a
//     storage class other than STANDARD (400 InvalidStorageClass).
//
// Object Lock headers (x-amz-object-lock-*, x-amz-bucket-object-lock-enabled)
// are the handlers' (internal/s3lock; regional/objectlock.go): they depend on
// the bucket's configuration.
//
// ACL headers (x-amz-acl, x-amz-grant-*) and x-amz-object-ownership are
// served (internal/s3acl, regional/acl.go), per bucket ownership controls.
// Headers stock clients send by default (x-amz-storage-class: STANDARD) pass.
func CheckUnsupportedHeaders(h http.Header, scope HeaderScope) error {
	if scope == ScopeBucketCreate {
		for name := range h {
			lname := strings.ToLower(name)
			if strings.HasPrefix(lname, "x-amz-server-side-encryption") ||
				strings.HasPrefix(lname, "x-amz-copy-source-server-side-encryption") {
				return errNoEncryption(lname)
			}
		}
	}
	switch scope {
	case ScopeObjectWrite:
		for name := range h {
			lname := strings.ToLower(name)
			switch {
			case lname == "x-amz-website-redirect-location":
				return s3err.WithMessage(s3err.NotImplemented, "Website redirects are not supported yet (x-amz-website-redirect-location).").With("Header", lname)
			}
		}
		if sc := h.Get("X-Amz-Storage-Class"); sc != "" && sc != "STANDARD" {
			return s3err.New(s3err.InvalidStorageClass).With("StorageClassRequested", truncateArg(sc))
		}
	}
	return nil
}

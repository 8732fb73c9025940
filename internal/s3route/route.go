package s3route

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// Level is what a request addresses: the service, a bucket or an object.
type Level uint8

const (
	Service Level = iota // "/"
	Bucket               // "/bucket"
	Object               // "/bucket/key"
)

func (l Level) String() string {
	switch l {
	case Service:
		return "SERVICE"
	case Bucket:
		return "BUCKET"
	}
	return "OBJECT"
}

// LevelOf is the level of a split request.
func LevelOf(bucket, key string) Level {
	switch {
	case bucket == "":
		return Service
	case key == "":
		return Bucket
	}
	return Object
}

// Split returns the bucket and key a request addresses: virtual-hosted
// style when host is <bucket>.<one of domains> (any port, any case),
// path style otherwise. path is the decoded URL path.
func Split(host, path string, domains []string) (bucket, key string) {
	if b := HostBucket(host, domains); b != "" {
		return b, strings.TrimPrefix(path, "/")
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return bucket, key
}

// HostBucket returns the bucket of a virtual-hosted-style Host, or "".
func HostBucket(host string, domains []string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, d := range domains {
		if b, ok := strings.CutSuffix(host, "."+strings.ToLower(d)); ok && b != "" {
			return b
		}
	}
	return ""
}

// Request is what the route table looks at.
type Request struct {
	Method     string
	Level      Level
	RawQuery   string
	CopySource bool // an x-amz-copy-source header is present
}

// RequestOf describes r, addressed at level, for Resolve.
func RequestOf(r *http.Request, level Level) Request {
	return Request{Method: r.Method, Level: level, RawQuery: r.URL.RawQuery, CopySource: r.Header.Get("x-amz-copy-source") != ""}
}

// key of the table: a level, a method and the one subresource present
// ("" for none).
type key struct {
	level  Level
	method string
	sub    string
}

const (
	get, head, put, post, del = http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete
)

// table is the route table: every (level, method, subresource) S3 defines.
// Requests whose operation also depends on a parameter or a header
// (ListObjectsV2's list-type, the ?id of analytics and friends,
// x-amz-copy-source) are refined by Resolve.
var table = map[key]Operation{
	{Service, get, ""}: ListBuckets,

	{Bucket, put, ""}:         CreateBucket,
	{Bucket, del, ""}:         DeleteBucket,
	{Bucket, head, ""}:        HeadBucket,
	{Bucket, get, ""}:         ListObjects, // ListObjectsV2 with list-type=2
	{Bucket, post, ""}:        PostObject,
	{Bucket, get, "versions"}: ListObjectVersions,
	{Bucket, get, "uploads"}:  ListMultipartUploads,
	{Bucket, post, "delete"}:  DeleteObjects,
	{Bucket, get, "session"}:  CreateSession,
	{Bucket, get, "location"}: GetBucketLocation,

	{Bucket, get, "versioning"}:              GetBucketVersioning,
	{Bucket, put, "versioning"}:              PutBucketVersioning,
	{Bucket, get, "acl"}:                     GetBucketAcl,
	{Bucket, put, "acl"}:                     PutBucketAcl,
	{Bucket, get, "policy"}:                  GetBucketPolicy,
	{Bucket, put, "policy"}:                  PutBucketPolicy,
	{Bucket, del, "policy"}:                  DeleteBucketPolicy,
	{Bucket, get, "policyStatus"}:            GetBucketPolicyStatus,
	{Bucket, get, "tagging"}:                 GetBucketTagging,
	{Bucket, put, "tagging"}:                 PutBucketTagging,
	{Bucket, del, "tagging"}:                 DeleteBucketTagging,
	{Bucket, get, "cors"}:                    GetBucketCors,
	{Bucket, put, "cors"}:                    PutBucketCors,
	{Bucket, del, "cors"}:                    DeleteBucketCors,
	{Bucket, get, "lifecycle"}:               GetBucketLifecycleConfiguration,
	{Bucket, put, "lifecycle"}:               PutBucketLifecycleConfiguration,
	{Bucket, del, "lifecycle"}:               DeleteBucketLifecycle,
	{Bucket, get, "encryption"}:              GetBucketEncryption,
	{Bucket, put, "encryption"}:              PutBucketEncryption,
	{Bucket, del, "encryption"}:              DeleteBucketEncryption,
	{Bucket, get, "replication"}:             GetBucketReplication,
	{Bucket, put, "replication"}:             PutBucketReplication,
	{Bucket, del, "replication"}:             DeleteBucketReplication,
	{Bucket, get, "website"}:                 GetBucketWebsite,
	{Bucket, put, "website"}:                 PutBucketWebsite,
	{Bucket, del, "website"}:                 DeleteBucketWebsite,
	{Bucket, get, "logging"}:                 GetBucketLogging,
	{Bucket, put, "logging"}:                 PutBucketLogging,
	{Bucket, get, "notification"}:            GetBucketNotificationConfiguration,
	{Bucket, put, "notification"}:            PutBucketNotificationConfiguration,
	{Bucket, get, "object-lock"}:             GetObjectLockConfiguration,
	{Bucket, put, "object-lock"}:             PutObjectLockConfiguration,
	{Bucket, get, "publicAccessBlock"}:       GetPublicAccessBlock,
	{Bucket, put, "publicAccessBlock"}:       PutPublicAccessBlock,
	{Bucket, del, "publicAccessBlock"}:       DeletePublicAccessBlock,
	{Bucket, get, "ownershipControls"}:       GetBucketOwnershipControls,
	{Bucket, put, "ownershipControls"}:       PutBucketOwnershipControls,
	{Bucket, del, "ownershipControls"}:       DeleteBucketOwnershipControls,
	{Bucket, get, "accelerate"}:              GetBucketAccelerateConfiguration,
	{Bucket, put, "accelerate"}:              PutBucketAccelerateConfiguration,
	{Bucket, get, "requestPayment"}:          GetBucketRequestPayment,
	{Bucket, put, "requestPayment"}:          PutBucketRequestPayment,
	{Bucket, get, "abac"}:                    GetBucketAbac,
	{Bucket, put, "abac"}:                    PutBucketAbac,
	{Bucket, get, "analytics"}:               ListBucketAnalyticsConfigurations, // Get… with ?id
	{Bucket, put, "analytics"}:               PutBucketAnalyticsConfiguration,
	{Bucket, del, "analytics"}:               DeleteBucketAnalyticsConfiguration,
	{Bucket, get, "metrics"}:                 ListBucketMetricsConfigurations, // Get… with ?id
	{Bucket, put, "metrics"}:                 PutBucketMetricsConfiguration,
	{Bucket, del, "metrics"}:                 DeleteBucketMetricsConfiguration,
	{Bucket, get, "inventory"}:               ListBucketInventoryConfigurations, // Get… with ?id
	{Bucket, put, "inventory"}:               PutBucketInventoryConfiguration,
	{Bucket, del, "inventory"}:               DeleteBucketInventoryConfiguration,
	{Bucket, get, "intelligent-tiering"}:     ListBucketIntelligentTieringConfigurations, // Get… with ?id
	{Bucket, put, "intelligent-tiering"}:     PutBucketIntelligentTieringConfiguration,
	{Bucket, del, "intelligent-tiering"}:     DeleteBucketIntelligentTieringConfiguration,
	{Bucket, post, "metadataConfiguration"}:  CreateBucketMetadataConfiguration,
	{Bucket, get, "metadataConfiguration"}:   GetBucketMetadataConfiguration,
	{Bucket, del, "metadataConfiguration"}:   DeleteBucketMetadataConfiguration,
	{Bucket, post, "metadataTable"}:          CreateBucketMetadataTableConfiguration,
	{Bucket, get, "metadataTable"}:           GetBucketMetadataTableConfiguration,
	{Bucket, del, "metadataTable"}:           DeleteBucketMetadataTableConfiguration,
	{Bucket, put, "metadataInventoryTable"}:  UpdateBucketMetadataInventoryTableConfiguration,
	{Bucket, put, "metadataJournalTable"}:    UpdateBucketMetadataJournalTableConfiguration,
	{Bucket, put, "metadataAnnotationTable"}: UpdateBucketMetadataAnnotationTableConfiguration,

	{Object, put, ""}:             PutObject, // CopyObject with x-amz-copy-source
	{Object, get, ""}:             GetObject,
	{Object, head, ""}:            HeadObject,
	{Object, del, ""}:             DeleteObject,
	{Object, post, "uploads"}:     CreateMultipartUpload,
	{Object, put, "uploadId"}:     UploadPart, // UploadPartCopy with x-amz-copy-source
	{Object, post, "uploadId"}:    CompleteMultipartUpload,
	{Object, del, "uploadId"}:     AbortMultipartUpload,
	{Object, get, "uploadId"}:     ListParts,
	{Object, get, "tagging"}:      GetObjectTagging,
	{Object, put, "tagging"}:      PutObjectTagging,
	{Object, del, "tagging"}:      DeleteObjectTagging,
	{Object, get, "acl"}:          GetObjectAcl,
	{Object, put, "acl"}:          PutObjectAcl,
	{Object, get, "retention"}:    GetObjectRetention,
	{Object, put, "retention"}:    PutObjectRetention,
	{Object, get, "legal-hold"}:   GetObjectLegalHold,
	{Object, put, "legal-hold"}:   PutObjectLegalHold,
	{Object, get, "attributes"}:   GetObjectAttributes,
	{Object, get, "torrent"}:      GetObjectTorrent,
	{Object, post, "restore"}:     RestoreObject,
	{Object, post, "select"}:      SelectObjectContent,
	{Object, put, "renameObject"}: RenameObject,
	{Object, put, "encryption"}:   UpdateObjectEncryption,
	{Object, get, "annotation"}:   ListObjectAnnotations, // Get… with ?annotationName
	{Object, put, "annotation"}:   PutObjectAnnotation,
	{Object, del, "annotation"}:   DeleteObjectAnnotation,
}

// subresources: every query name that selects an operation somewhere in
// the table.
var subresources = func() map[string]bool {
	m := map[string]bool{}
	for k := range table {
		if k.sub != "" {
			m[k.sub] = true
		}
	}
	return m
}()

// params are the query names that are arguments of an operation, never
// part of its choice. Names starting with x-amz- (SigV4's presign
// parameters and headers hoisted into a presigned URL) are parameters too.
var params = map[string]bool{
	"versionId": true, "partNumber": true, "id": true, "list-type": true,
	"prefix": true, "delimiter": true, "marker": true, "max-keys": true, "encoding-type": true,
	"continuation-token": true, "start-after": true, "fetch-owner": true,
	"key-marker": true, "version-id-marker": true, "upload-id-marker": true,
	"max-uploads": true, "max-parts": true, "part-number-marker": true,
	"max-buckets": true, "bucket-region": true, "max-directory-buckets": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
	"select-type": true, "annotationName": true, "annotation-prefix": true, "max-annotation-results": true,
	"x-id": true, // the AWS SDKs' operation hint
	// SigV2's presigned-URL parameters.
	"AWSAccessKeyId": true, "Expires": true, "Signature": true,
}

// IsParameter reports whether a query name is an argument of an
// operation rather than one that selects it.
func IsParameter(name string) bool {
	return params[name] || len(name) >= 6 && strings.EqualFold(name[:6], "x-amz-")
}

// IsSubresource reports whether a query name selects an S3 operation.
func IsSubresource(name string) bool { return subresources[name] }

// Resolve maps a request to its one operation, or to the S3 error it
// gets: MethodNotAllowed when the resource does not support the method,
// InvalidRequest when the query names two operations, NotImplemented for
// a query name that is neither a subresource nor a parameter (it may
// select an operation this table does not know), InvalidURI for a query
// that does not parse. It never falls back to a neighbouring operation.
func Resolve(rq Request) (Operation, error) {
	q, err := url.ParseQuery(rq.RawQuery)
	if err != nil {
		return Unknown, s3err.New(s3err.InvalidURI)
	}
	var subs []string
	for name := range q {
		switch {
		case IsParameter(name):
		case subresources[name]:
			subs = append(subs, name)
		default:
			return Unknown, s3err.WithMessage(s3err.NotImplemented,
				"Meridian does not recognise the query parameter ?"+bounded(name)+"; it may select an S3 operation Meridian does not implement.")
		}
	}
	slices.Sort(subs)
	if len(subs) > 1 {
		return Unknown, s3err.WithMessage(s3err.InvalidRequest,
			"The request names more than one operation: ?"+strings.Join(subs, " and ?")+".")
	}
	sub := ""
	if len(subs) == 1 {
		sub = subs[0]
	}
	op, ok := table[key{rq.Level, rq.Method, sub}]
	if !ok {
		return Unknown, s3err.New(s3err.MethodNotAllowed).With("Method", rq.Method).With("ResourceType", rq.Level.String())
	}
	switch op {
	case ListObjects:
		if q.Get("list-type") == "2" {
			op = ListObjectsV2
		}
	case PutObject:
		switch {
		case q.Has("partNumber"):
			// A part without its upload id is an UploadPart that fails,
			// never a PutObject that replaces the object with the part.
			op = UploadPart
			if rq.CopySource {
				op = UploadPartCopy
			}
		case rq.CopySource:
			op = CopyObject
		}
	case UploadPart:
		if rq.CopySource {
			op = UploadPartCopy
		}
	case ListBucketAnalyticsConfigurations, ListBucketMetricsConfigurations,
		ListBucketInventoryConfigurations, ListBucketIntelligentTieringConfigurations:
		if q.Has("id") {
			op = getByID[op]
		}
	case ListObjectAnnotations:
		if q.Has("annotationName") {
			op = GetObjectAnnotation
		}
	}
	return op, nil
}

var getByID = map[Operation]Operation{
	ListBucketAnalyticsConfigurations:          GetBucketAnalyticsConfiguration,
	ListBucketMetricsConfigurations:            GetBucketMetricsConfiguration,
	ListBucketInventoryConfigurations:          GetBucketInventoryConfiguration,
	ListBucketIntelligentTieringConfigurations: GetBucketIntelligentTieringConfiguration,
}

// bounded shortens a client-supplied name for an error message.
func bounded(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

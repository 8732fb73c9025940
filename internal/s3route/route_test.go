package s3route

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// s3Operations is every REST operation of the Amazon S3 API reference, as
// the aws-sdk-go-v2 service/s3 model (v1.114) binds it: method, level,
// query (the model's literal query, x-id hint included, plus typical
// parameters) and whether an x-amz-copy-source header is sent. PostObject
// (the browser form upload, not in the SDK model) is added by hand.
// WriteGetObjectResponse is left out: it is served by S3 Object Lambda
// endpoints, not by a bucket endpoint.
var s3Operations = []struct {
	method string
	level  Level
	query  string
	copy   bool
	want   Operation
}{
	{"DELETE", Object, "x-id=AbortMultipartUpload&uploadId=u1", false, AbortMultipartUpload},
	{"POST", Object, "uploadId=u1", false, CompleteMultipartUpload},
	{"PUT", Object, "x-id=CopyObject", true, CopyObject},
	{"PUT", Bucket, "", false, CreateBucket},
	{"POST", Bucket, "metadataConfiguration", false, CreateBucketMetadataConfiguration},
	{"POST", Bucket, "metadataTable", false, CreateBucketMetadataTableConfiguration},
	{"POST", Object, "uploads", false, CreateMultipartUpload},
	{"GET", Bucket, "session", false, CreateSession},
	{"DELETE", Bucket, "", false, DeleteBucket},
	{"DELETE", Bucket, "analytics&id=a1", false, DeleteBucketAnalyticsConfiguration},
	{"DELETE", Bucket, "cors", false, DeleteBucketCors},
	{"DELETE", Bucket, "encryption", false, DeleteBucketEncryption},
	{"DELETE", Bucket, "intelligent-tiering", false, DeleteBucketIntelligentTieringConfiguration},
	{"DELETE", Bucket, "inventory", false, DeleteBucketInventoryConfiguration},
	{"DELETE", Bucket, "lifecycle", false, DeleteBucketLifecycle},
	{"DELETE", Bucket, "metadataConfiguration", false, DeleteBucketMetadataConfiguration},
	{"DELETE", Bucket, "metadataTable", false, DeleteBucketMetadataTableConfiguration},
	{"DELETE", Bucket, "metrics", false, DeleteBucketMetricsConfiguration},
	{"DELETE", Bucket, "ownershipControls", false, DeleteBucketOwnershipControls},
	{"DELETE", Bucket, "policy", false, DeleteBucketPolicy},
	{"DELETE", Bucket, "replication", false, DeleteBucketReplication},
	{"DELETE", Bucket, "tagging", false, DeleteBucketTagging},
	{"DELETE", Bucket, "website", false, DeleteBucketWebsite},
	{"DELETE", Object, "x-id=DeleteObject&versionId=v1", false, DeleteObject},
	{"DELETE", Object, "annotation", false, DeleteObjectAnnotation},
	{"POST", Bucket, "delete", false, DeleteObjects},
	{"DELETE", Object, "tagging&versionId=v1", false, DeleteObjectTagging},
	{"DELETE", Bucket, "publicAccessBlock", false, DeletePublicAccessBlock},
	{"GET", Bucket, "abac", false, GetBucketAbac},
	{"GET", Bucket, "accelerate", false, GetBucketAccelerateConfiguration},
	{"GET", Bucket, "acl", false, GetBucketAcl},
	{"GET", Bucket, "analytics&x-id=GetBucketAnalyticsConfiguration&id=a1", false, GetBucketAnalyticsConfiguration},
	{"GET", Bucket, "cors", false, GetBucketCors},
	{"GET", Bucket, "encryption", false, GetBucketEncryption},
	{"GET", Bucket, "intelligent-tiering&x-id=GetBucketIntelligentTieringConfiguration&id=t1", false, GetBucketIntelligentTieringConfiguration},
	{"GET", Bucket, "inventory&x-id=GetBucketInventoryConfiguration&id=i1", false, GetBucketInventoryConfiguration},
	{"GET", Bucket, "lifecycle", false, GetBucketLifecycleConfiguration},
	{"GET", Bucket, "location", false, GetBucketLocation},
	{"GET", Bucket, "logging", false, GetBucketLogging},
	{"GET", Bucket, "metadataConfiguration", false, GetBucketMetadataConfiguration},
	{"GET", Bucket, "metadataTable", false, GetBucketMetadataTableConfiguration},
	{"GET", Bucket, "metrics&x-id=GetBucketMetricsConfiguration&id=m1", false, GetBucketMetricsConfiguration},
	{"GET", Bucket, "notification", false, GetBucketNotificationConfiguration},
	{"GET", Bucket, "ownershipControls", false, GetBucketOwnershipControls},
	{"GET", Bucket, "policy", false, GetBucketPolicy},
	{"GET", Bucket, "policyStatus", false, GetBucketPolicyStatus},
	{"GET", Bucket, "replication", false, GetBucketReplication},
	{"GET", Bucket, "requestPayment", false, GetBucketRequestPayment},
	{"GET", Bucket, "tagging", false, GetBucketTagging},
	{"GET", Bucket, "versioning", false, GetBucketVersioning},
	{"GET", Bucket, "website", false, GetBucketWebsite},
	{"GET", Object, "x-id=GetObject&versionId=v1&response-content-type=text%2Fplain", false, GetObject},
	{"GET", Object, "acl", false, GetObjectAcl},
	{"GET", Object, "annotation&x-id=GetObjectAnnotation&annotationName=n", false, GetObjectAnnotation},
	{"GET", Object, "attributes", false, GetObjectAttributes},
	{"GET", Object, "legal-hold", false, GetObjectLegalHold},
	{"GET", Bucket, "object-lock", false, GetObjectLockConfiguration},
	{"GET", Object, "retention", false, GetObjectRetention},
	{"GET", Object, "tagging&versionId=v1", false, GetObjectTagging},
	{"GET", Object, "torrent", false, GetObjectTorrent},
	{"GET", Bucket, "publicAccessBlock", false, GetPublicAccessBlock},
	{"HEAD", Bucket, "", false, HeadBucket},
	{"HEAD", Object, "partNumber=1", false, HeadObject},
	{"GET", Bucket, "analytics&x-id=ListBucketAnalyticsConfigurations", false, ListBucketAnalyticsConfigurations},
	{"GET", Bucket, "intelligent-tiering&x-id=ListBucketIntelligentTieringConfigurations", false, ListBucketIntelligentTieringConfigurations},
	{"GET", Bucket, "inventory&x-id=ListBucketInventoryConfigurations", false, ListBucketInventoryConfigurations},
	{"GET", Bucket, "metrics&x-id=ListBucketMetricsConfigurations", false, ListBucketMetricsConfigurations},
	{"GET", Service, "x-id=ListBuckets", false, ListBuckets},
	{"GET", Service, "x-id=ListDirectoryBuckets", false, ListBuckets},
	{"GET", Bucket, "uploads&key-marker=a&upload-id-marker=b&max-uploads=5", false, ListMultipartUploads},
	{"GET", Object, "annotation&x-id=ListObjectAnnotations", false, ListObjectAnnotations},
	{"GET", Bucket, "prefix=a&marker=b", false, ListObjects},
	{"GET", Bucket, "list-type=2&prefix=a&continuation-token=c&start-after=x&fetch-owner=true", false, ListObjectsV2},
	{"GET", Bucket, "versions&key-marker=a&version-id-marker=b", false, ListObjectVersions},
	{"GET", Object, "x-id=ListParts&uploadId=u1&max-parts=10", false, ListParts},
	{"PUT", Bucket, "abac", false, PutBucketAbac},
	{"PUT", Bucket, "accelerate", false, PutBucketAccelerateConfiguration},
	{"PUT", Bucket, "acl", false, PutBucketAcl},
	{"PUT", Bucket, "analytics&id=a1", false, PutBucketAnalyticsConfiguration},
	{"PUT", Bucket, "cors", false, PutBucketCors},
	{"PUT", Bucket, "encryption", false, PutBucketEncryption},
	{"PUT", Bucket, "intelligent-tiering", false, PutBucketIntelligentTieringConfiguration},
	{"PUT", Bucket, "inventory", false, PutBucketInventoryConfiguration},
	{"PUT", Bucket, "lifecycle", false, PutBucketLifecycleConfiguration},
	{"PUT", Bucket, "logging", false, PutBucketLogging},
	{"PUT", Bucket, "metrics", false, PutBucketMetricsConfiguration},
	{"PUT", Bucket, "notification", false, PutBucketNotificationConfiguration},
	{"PUT", Bucket, "ownershipControls", false, PutBucketOwnershipControls},
	{"PUT", Bucket, "policy", false, PutBucketPolicy},
	{"PUT", Bucket, "replication", false, PutBucketReplication},
	{"PUT", Bucket, "requestPayment", false, PutBucketRequestPayment},
	{"PUT", Bucket, "tagging", false, PutBucketTagging},
	{"PUT", Bucket, "versioning", false, PutBucketVersioning},
	{"PUT", Bucket, "website", false, PutBucketWebsite},
	{"PUT", Object, "x-id=PutObject", false, PutObject},
	{"PUT", Object, "acl", false, PutObjectAcl},
	{"PUT", Object, "annotation", false, PutObjectAnnotation},
	{"PUT", Object, "legal-hold", false, PutObjectLegalHold},
	{"PUT", Bucket, "object-lock", false, PutObjectLockConfiguration},
	{"PUT", Object, "retention", false, PutObjectRetention},
	{"PUT", Object, "tagging", false, PutObjectTagging},
	{"PUT", Bucket, "publicAccessBlock", false, PutPublicAccessBlock},
	{"PUT", Object, "renameObject", false, RenameObject},
	{"POST", Object, "restore", false, RestoreObject},
	{"POST", Object, "select&select-type=2", false, SelectObjectContent},
	{"PUT", Bucket, "metadataAnnotationTable", false, UpdateBucketMetadataAnnotationTableConfiguration},
	{"PUT", Bucket, "metadataInventoryTable", false, UpdateBucketMetadataInventoryTableConfiguration},
	{"PUT", Bucket, "metadataJournalTable", false, UpdateBucketMetadataJournalTableConfiguration},
	{"PUT", Object, "encryption", false, UpdateObjectEncryption},
	{"PUT", Object, "x-id=UploadPart&partNumber=1&uploadId=u1", false, UploadPart},
	{"PUT", Object, "x-id=UploadPartCopy&partNumber=1&uploadId=u1", true, UploadPartCopy},
	{"POST", Bucket, "", false, PostObject},
}

// TestEveryS3Operation: each operation of the API reference reaches its own
// Operation, and every Operation is reached by one of them.
func TestEveryS3Operation(t *testing.T) {
	reached := map[Operation]bool{}
	for _, tc := range s3Operations {
		got, err := Resolve(Request{Method: tc.method, Level: tc.level, RawQuery: tc.query, CopySource: tc.copy})
		if err != nil || got != tc.want {
			t.Errorf("%s %s ?%s (copy %v) → %v, %v; want %v", tc.method, tc.level, tc.query, tc.copy, got, err, tc.want)
		}
		reached[got] = true
	}
	for _, op := range Operations() {
		if !reached[op] {
			t.Errorf("%v is reached by no operation of the API reference", op)
		}
	}
}

// TestRejections: what is not an S3 operation gets S3's error, never a
// neighbour's operation.
func TestRejections(t *testing.T) {
	tests := []struct {
		name   string
		method string
		level  Level
		query  string
		copy   bool
		want   Operation  // when no error
		code   s3err.Code // when an error
	}{
		// The defects of issue 6: object DELETEs that are not DeleteObject.
		{"DeleteObjectTagging is not DeleteObject", "DELETE", Object, "tagging", false, DeleteObjectTagging, ""},
		{"DELETE ?acl", "DELETE", Object, "acl", false, 0, s3err.MethodNotAllowed},
		{"DELETE ?versionId is DeleteObject with a version", "DELETE", Object, "versionId=bogus", false, DeleteObject, ""},
		{"DELETE ?retention", "DELETE", Object, "retention", false, 0, s3err.MethodNotAllowed},
		{"DELETE ?legal-hold", "DELETE", Object, "legal-hold", false, 0, s3err.MethodNotAllowed},
		{"DELETE ?uploads", "DELETE", Object, "uploads", false, 0, s3err.MethodNotAllowed},
		{"DELETE ?restore", "DELETE", Object, "restore", false, 0, s3err.MethodNotAllowed},
		{"DELETE with an unknown name", "DELETE", Object, "frobnicate", false, 0, s3err.NotImplemented},
		{"DELETE ?tagging&acl", "DELETE", Object, "tagging&acl", false, 0, s3err.InvalidRequest},
		{"DELETE ?tagging&uploadId", "DELETE", Object, "tagging&uploadId=u", false, 0, s3err.InvalidRequest},
		// Bucket subresources Meridian answers with defaults are theirs, not ListObjects.
		{"GET ?accelerate", "GET", Bucket, "accelerate", false, GetBucketAccelerateConfiguration, ""},
		{"GET ?publicAccessBlock", "GET", Bucket, "publicAccessBlock", false, GetPublicAccessBlock, ""},
		{"GET ?requestPayment", "GET", Bucket, "requestPayment", false, GetBucketRequestPayment, ""},
		{"GET bucket with an unknown name", "GET", Bucket, "frobnicate", false, 0, s3err.NotImplemented},
		{"subresource names are case-sensitive", "GET", Bucket, "ACL", false, 0, s3err.NotImplemented},
		{"DELETE ?acl on a bucket", "DELETE", Bucket, "acl", false, 0, s3err.MethodNotAllowed},
		{"DELETE ?versioning", "DELETE", Bucket, "versioning", false, 0, s3err.MethodNotAllowed},
		{"PUT ?location", "PUT", Bucket, "location", false, 0, s3err.MethodNotAllowed},
		{"POST ?tagging", "POST", Bucket, "tagging", false, 0, s3err.MethodNotAllowed},
		{"GET ?delete", "GET", Bucket, "delete", false, 0, s3err.MethodNotAllowed},
		{"HEAD ?acl on a bucket", "HEAD", Bucket, "acl", false, 0, s3err.MethodNotAllowed},
		{"HEAD ?tagging on an object", "HEAD", Object, "tagging", false, 0, s3err.MethodNotAllowed},
		{"HEAD ?uploadId", "HEAD", Object, "uploadId=u", false, 0, s3err.MethodNotAllowed},
		// Subresources of the other level.
		{"object subresource on a bucket", "GET", Bucket, "retention", false, 0, s3err.MethodNotAllowed},
		{"bucket subresource on an object", "GET", Object, "versioning", false, 0, s3err.MethodNotAllowed},
		{"DELETE ?policy on an object", "DELETE", Object, "policy", false, 0, s3err.MethodNotAllowed},
		{"uploadId on a bucket", "DELETE", Bucket, "uploadId=u", false, 0, s3err.MethodNotAllowed},
		{"DELETE ?uploads on a bucket", "DELETE", Bucket, "uploads", false, 0, s3err.MethodNotAllowed},
		// Service level.
		{"PUT /", "PUT", Service, "", false, 0, s3err.MethodNotAllowed},
		{"DELETE /", "DELETE", Service, "", false, 0, s3err.MethodNotAllowed},
		{"GET /?acl", "GET", Service, "acl", false, 0, s3err.MethodNotAllowed},
		{"ListBuckets parameters", "GET", Service, "max-buckets=10&prefix=a&bucket-region=eu-west-1&continuation-token=x", false, ListBuckets, ""},
		// Methods S3 does not serve.
		{"PATCH", "PATCH", Object, "", false, 0, s3err.MethodNotAllowed},
		{"OPTIONS", "OPTIONS", Bucket, "", false, 0, s3err.MethodNotAllowed},
		{"POST on an object", "POST", Object, "", false, 0, s3err.MethodNotAllowed},
		// Parameters never select an operation.
		{"presigned GET", "GET", Object, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab", false, GetObject, ""},
		{"presigned PUT with hoisted headers", "PUT", Object, "x-amz-acl=private&X-Amz-Signature=ab&x-amz-meta-a=b", false, PutObject, ""},
		{"GET response overrides", "GET", Object, "response-content-disposition=attachment&response-expires=0", false, GetObject, ""},
		{"GET ?partNumber", "GET", Object, "partNumber=2", false, GetObject, ""},
		{"x-id is only a hint", "DELETE", Object, "x-id=DeleteObject", false, DeleteObject, ""},
		{"list-type other than 2", "GET", Bucket, "list-type=1", false, ListObjects, ""},
		{"empty subresource value", "GET", Object, "tagging=", false, GetObjectTagging, ""},
		{"repeated subresource", "GET", Object, "tagging&tagging", false, GetObjectTagging, ""},
		// Copy and parts.
		{"PUT ?partNumber without uploadId is a failing UploadPart", "PUT", Object, "partNumber=1", false, UploadPart, ""},
		{"copy with ?partNumber only", "PUT", Object, "partNumber=1", true, UploadPartCopy, ""},
		{"copy onto ?tagging is PutObjectTagging", "PUT", Object, "tagging", true, PutObjectTagging, ""},
		{"POST ?uploads&uploadId", "POST", Object, "uploads&uploadId=u", false, 0, s3err.InvalidRequest},
		{"select-type alone is a parameter", "POST", Object, "select-type=2", false, 0, s3err.MethodNotAllowed},
		{"analytics list without id", "GET", Bucket, "analytics&continuation-token=x", false, ListBucketAnalyticsConfigurations, ""},
		// Queries that do not parse.
		{"bad escape", "DELETE", Object, "tagging%zz", false, 0, s3err.InvalidURI},
		{"semicolon", "DELETE", Object, "tagging;acl", false, 0, s3err.InvalidURI},
		{"empty name", "GET", Object, "=x", false, 0, s3err.NotImplemented},
	}
	for _, tc := range tests {
		got, err := Resolve(Request{Method: tc.method, Level: tc.level, RawQuery: tc.query, CopySource: tc.copy})
		if tc.code == "" {
			if err != nil || got != tc.want {
				t.Errorf("%s: %s %v ?%s → %v, %v; want %v", tc.name, tc.method, tc.level, tc.query, got, err, tc.want)
			}
			continue
		}
		e, ok := err.(*s3err.Error)
		if !ok || e.Code != tc.code || got != Unknown {
			t.Errorf("%s: %s %v ?%s → %v, %v; want %s", tc.name, tc.method, tc.level, tc.query, got, err, tc.code)
		}
	}
}

func TestMethodNotAllowedBody(t *testing.T) {
	_, err := Resolve(Request{Method: "DELETE", Level: Object, RawQuery: "acl"})
	e := s3err.As(err)
	if e.Status != http.StatusMethodNotAllowed || len(e.Extra) != 2 ||
		e.Extra[0] != (s3err.Field{Name: "Method", Value: "DELETE"}) || e.Extra[1] != (s3err.Field{Name: "ResourceType", Value: "OBJECT"}) {
		t.Fatalf("DELETE ?acl: %+v", e)
	}
}

func TestSplit(t *testing.T) {
	domains := []string{"s3.localhost", "Example.COM"}
	tests := []struct{ host, path, bucket, key string }{
		{"localhost", "/", "", ""},
		{"localhost", "/photos", "photos", ""},
		{"localhost", "/photos/", "photos", ""},
		{"localhost", "/photos/a/b.jpg", "photos", "a/b.jpg"},
		{"s3.localhost", "/photos/a", "photos", "a"},
		{"photos.s3.localhost", "/a/b", "photos", "a/b"},
		{"photos.s3.localhost:9000", "/", "photos", ""},
		{"my.dotted.bucket.s3.localhost", "/k", "my.dotted.bucket", "k"},
		{"PHOTOS.example.com", "/k", "photos", "k"},
		{"127.0.0.1:9000", "/b/k", "b", "k"},
		{"evil-s3.localhost", "/b/k", "b", "k"},
	}
	for _, tc := range tests {
		b, k := Split(tc.host, tc.path, domains)
		if b != tc.bucket || k != tc.key {
			t.Errorf("Split(%q, %q) = %q, %q; want %q, %q", tc.host, tc.path, b, k, tc.bucket, tc.key)
		}
	}
}

func TestRequestOf(t *testing.T) {
	r := httptest.NewRequest("PUT", "http://localhost/b/k?partNumber=1&uploadId=u", nil)
	r.Header.Set("X-Amz-Copy-Source", "/b/src")
	rq := RequestOf(r, Object)
	if op, err := Resolve(rq); err != nil || op != UploadPartCopy {
		t.Fatalf("%+v → %v, %v", rq, op, err)
	}
}

func TestOperationNames(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range Operations() {
		n := op.String()
		if n == "" || n == "Unknown" || seen[n] {
			t.Errorf("operation %d has name %q", op, n)
		}
		seen[n] = true
	}
	if Operation(255).String() != "Unknown" {
		t.Error("out-of-range operation")
	}
}

package s3route

// Operation is one S3 REST operation, named as in the AWS S3 API reference.
type Operation uint8

// The S3 operations of the Amazon S3 API reference (the REST bindings of
// aws-sdk-go-v2's service/s3 model). Superseded names that share a route
// with a newer one (GetBucketLifecycle, PutBucketNotification, …) appear
// once, under the newer name.
const (
	Unknown Operation = iota // never returned with a nil error

	// Service.
	ListBuckets

	// Bucket.
	CreateBucket
	DeleteBucket
	HeadBucket
	ListObjects
	ListObjectsV2
	ListObjectVersions
	ListMultipartUploads
	DeleteObjects
	PostObject
	CreateSession
	GetBucketLocation
	GetBucketVersioning
	PutBucketVersioning
	GetBucketAcl
	PutBucketAcl
	GetBucketPolicy
	PutBucketPolicy
	DeleteBucketPolicy
	GetBucketPolicyStatus
	GetBucketTagging
	PutBucketTagging
	DeleteBucketTagging
	GetBucketCors
	PutBucketCors
	DeleteBucketCors
	GetBucketLifecycleConfiguration
	PutBucketLifecycleConfiguration
	DeleteBucketLifecycle
	GetBucketEncryption
	PutBucketEncryption
	DeleteBucketEncryption
	GetBucketReplication
	PutBucketReplication
	DeleteBucketReplication
	GetBucketWebsite
	PutBucketWebsite
	DeleteBucketWebsite
	GetBucketLogging
	PutBucketLogging
	GetBucketNotificationConfiguration
	PutBucketNotificationConfiguration
	GetObjectLockConfiguration
	PutObjectLockConfiguration
	GetPublicAccessBlock
	PutPublicAccessBlock
	DeletePublicAccessBlock
	GetBucketOwnershipControls
	PutBucketOwnershipControls
	DeleteBucketOwnershipControls
	GetBucketAccelerateConfiguration
	PutBucketAccelerateConfiguration
	GetBucketRequestPayment
	PutBucketRequestPayment
	GetBucketAbac
	PutBucketAbac
	GetBucketAnalyticsConfiguration
	PutBucketAnalyticsConfiguration
	DeleteBucketAnalyticsConfiguration
	ListBucketAnalyticsConfigurations
	GetBucketMetricsConfiguration
	PutBucketMetricsConfiguration
	DeleteBucketMetricsConfiguration
	ListBucketMetricsConfigurations
	GetBucketInventoryConfiguration
	PutBucketInventoryConfiguration
	DeleteBucketInventoryConfiguration
	ListBucketInventoryConfigurations
	GetBucketIntelligentTieringConfiguration
	PutBucketIntelligentTieringConfiguration
	DeleteBucketIntelligentTieringConfiguration
	ListBucketIntelligentTieringConfigurations
	CreateBucketMetadataConfiguration
	GetBucketMetadataConfiguration
	DeleteBucketMetadataConfiguration
	CreateBucketMetadataTableConfiguration
	GetBucketMetadataTableConfiguration
	DeleteBucketMetadataTableConfiguration
	UpdateBucketMetadataInventoryTableConfiguration
	UpdateBucketMetadataJournalTableConfiguration
	UpdateBucketMetadataAnnotationTableConfiguration

	// Object.
	PutObject
	CopyObject
	GetObject
	HeadObject
	DeleteObject
	CreateMultipartUpload
	UploadPart
	UploadPartCopy
	CompleteMultipartUpload
	AbortMultipartUpload
	ListParts
	GetObjectTagging
	PutObjectTagging
	DeleteObjectTagging
	GetObjectAcl
	PutObjectAcl
	GetObjectRetention
	PutObjectRetention
	GetObjectLegalHold
	PutObjectLegalHold
	GetObjectAttributes
	GetObjectTorrent
	RestoreObject
	SelectObjectContent
	RenameObject
	UpdateObjectEncryption
	GetObjectAnnotation
	PutObjectAnnotation
	DeleteObjectAnnotation
	ListObjectAnnotations

	numOperations
)

var operationNames = [numOperations]string{
	Unknown:                                          "Unknown",
	ListBuckets:                                      "ListBuckets",
	CreateBucket:                                     "CreateBucket",
	DeleteBucket:                                     "DeleteBucket",
	HeadBucket:                                       "HeadBucket",
	ListObjects:                                      "ListObjects",
	ListObjectsV2:                                    "ListObjectsV2",
	ListObjectVersions:                               "ListObjectVersions",
	ListMultipartUploads:                             "ListMultipartUploads",
	DeleteObjects:                                    "DeleteObjects",
	PostObject:                                       "PostObject",
	CreateSession:                                    "CreateSession",
	GetBucketLocation:                                "GetBucketLocation",
	GetBucketVersioning:                              "GetBucketVersioning",
	PutBucketVersioning:                              "PutBucketVersioning",
	GetBucketAcl:                                     "GetBucketAcl",
	PutBucketAcl:                                     "PutBucketAcl",
	GetBucketPolicy:                                  "GetBucketPolicy",
	PutBucketPolicy:                                  "PutBucketPolicy",
	DeleteBucketPolicy:                               "DeleteBucketPolicy",
	GetBucketPolicyStatus:                            "GetBucketPolicyStatus",
	GetBucketTagging:                                 "GetBucketTagging",
	PutBucketTagging:                                 "PutBucketTagging",
	DeleteBucketTagging:                              "DeleteBucketTagging",
	GetBucketCors:                                    "GetBucketCors",
	PutBucketCors:                                    "PutBucketCors",
	DeleteBucketCors:                                 "DeleteBucketCors",
	GetBucketLifecycleConfiguration:                  "GetBucketLifecycleConfiguration",
	PutBucketLifecycleConfiguration:                  "PutBucketLifecycleConfiguration",
	DeleteBucketLifecycle:                            "DeleteBucketLifecycle",
	GetBucketEncryption:                              "GetBucketEncryption",
	PutBucketEncryption:                              "PutBucketEncryption",
	DeleteBucketEncryption:                           "DeleteBucketEncryption",
	GetBucketReplication:                             "GetBucketReplication",
	PutBucketReplication:                             "PutBucketReplication",
	DeleteBucketReplication:                          "DeleteBucketReplication",
	GetBucketWebsite:                                 "GetBucketWebsite",
	PutBucketWebsite:                                 "PutBucketWebsite",
	DeleteBucketWebsite:                              "DeleteBucketWebsite",
	GetBucketLogging:                                 "GetBucketLogging",
	PutBucketLogging:                                 "PutBucketLogging",
	GetBucketNotificationConfiguration:               "GetBucketNotificationConfiguration",
	PutBucketNotificationConfiguration:               "PutBucketNotificationConfiguration",
	GetObjectLockConfiguration:                       "GetObjectLockConfiguration",
	PutObjectLockConfiguration:                       "PutObjectLockConfiguration",
	GetPublicAccessBlock:                             "GetPublicAccessBlock",
	PutPublicAccessBlock:                             "PutPublicAccessBlock",
	DeletePublicAccessBlock:                          "DeletePublicAccessBlock",
	GetBucketOwnershipControls:                       "GetBucketOwnershipControls",
	PutBucketOwnershipControls:                       "PutBucketOwnershipControls",
	DeleteBucketOwnershipControls:                    "DeleteBucketOwnershipControls",
	GetBucketAccelerateConfiguration:                 "GetBucketAccelerateConfiguration",
	PutBucketAccelerateConfiguration:                 "PutBucketAccelerateConfiguration",
	GetBucketRequestPayment:                          "GetBucketRequestPayment",
	PutBucketRequestPayment:                          "PutBucketRequestPayment",
	GetBucketAbac:                                    "GetBucketAbac",
	PutBucketAbac:                                    "PutBucketAbac",
	GetBucketAnalyticsConfiguration:                  "GetBucketAnalyticsConfiguration",
	PutBucketAnalyticsConfiguration:                  "PutBucketAnalyticsConfiguration",
	DeleteBucketAnalyticsConfiguration:               "DeleteBucketAnalyticsConfiguration",
	ListBucketAnalyticsConfigurations:                "ListBucketAnalyticsConfigurations",
	GetBucketMetricsConfiguration:                    "GetBucketMetricsConfiguration",
	PutBucketMetricsConfiguration:                    "PutBucketMetricsConfiguration",
	DeleteBucketMetricsConfiguration:                 "DeleteBucketMetricsConfiguration",
	ListBucketMetricsConfigurations:                  "ListBucketMetricsConfigurations",
	GetBucketInventoryConfiguration:                  "GetBucketInventoryConfiguration",
	PutBucketInventoryConfiguration:                  "PutBucketInventoryConfiguration",
	DeleteBucketInventoryConfiguration:               "DeleteBucketInventoryConfiguration",
	ListBucketInventoryConfigurations:                "ListBucketInventoryConfigurations",
	GetBucketIntelligentTieringConfiguration:         "GetBucketIntelligentTieringConfiguration",
	PutBucketIntelligentTieringConfiguration:         "PutBucketIntelligentTieringConfiguration",
	DeleteBucketIntelligentTieringConfiguration:      "DeleteBucketIntelligentTieringConfiguration",
	ListBucketIntelligentTieringConfigurations:       "ListBucketIntelligentTieringConfigurations",
	CreateBucketMetadataConfiguration:                "CreateBucketMetadataConfiguration",
	GetBucketMetadataConfiguration:                   "GetBucketMetadataConfiguration",
	DeleteBucketMetadataConfiguration:                "DeleteBucketMetadataConfiguration",
	CreateBucketMetadataTableConfiguration:           "CreateBucketMetadataTableConfiguration",
	GetBucketMetadataTableConfiguration:              "GetBucketMetadataTableConfiguration",
	DeleteBucketMetadataTableConfiguration:           "DeleteBucketMetadataTableConfiguration",
	UpdateBucketMetadataInventoryTableConfiguration:  "UpdateBucketMetadataInventoryTableConfiguration",
	UpdateBucketMetadataJournalTableConfiguration:    "UpdateBucketMetadataJournalTableConfiguration",
	UpdateBucketMetadataAnnotationTableConfiguration: "UpdateBucketMetadataAnnotationTableConfiguration",
	PutObject:                                        "PutObject",
	CopyObject:                                       "CopyObject",
	GetObject:                                        "GetObject",
	HeadObject:                                       "HeadObject",
	DeleteObject:                                     "DeleteObject",
	CreateMultipartUpload:                            "CreateMultipartUpload",
	UploadPart:                                       "UploadPart",
	UploadPartCopy:                                   "UploadPartCopy",
	CompleteMultipartUpload:                          "CompleteMultipartUpload",
	AbortMultipartUpload:                             "AbortMultipartUpload",
	ListParts:                                        "ListParts",
	GetObjectTagging:                                 "GetObjectTagging",
	PutObjectTagging:                                 "PutObjectTagging",
	DeleteObjectTagging:                              "DeleteObjectTagging",
	GetObjectAcl:                                     "GetObjectAcl",
	PutObjectAcl:                                     "PutObjectAcl",
	GetObjectRetention:                               "GetObjectRetention",
	PutObjectRetention:                               "PutObjectRetention",
	GetObjectLegalHold:                               "GetObjectLegalHold",
	PutObjectLegalHold:                               "PutObjectLegalHold",
	GetObjectAttributes:                              "GetObjectAttributes",
	GetObjectTorrent:                                 "GetObjectTorrent",
	RestoreObject:                                    "RestoreObject",
	SelectObjectContent:                              "SelectObjectContent",
	RenameObject:                                     "RenameObject",
	UpdateObjectEncryption:                           "UpdateObjectEncryption",
	GetObjectAnnotation:                              "GetObjectAnnotation",
	PutObjectAnnotation:                              "PutObjectAnnotation",
	DeleteObjectAnnotation:                           "DeleteObjectAnnotation",
	ListObjectAnnotations:                            "ListObjectAnnotations",
}

// String is the operation's name in the AWS S3 API reference.
func (o Operation) String() string {
	if o < numOperations {
		return operationNames[o]
	}
	return "Unknown"
}

// Operations lists every operation the table can return.
func Operations() []Operation {
	out := make([]Operation, 0, numOperations-1)
	for o := Unknown + 1; o < numOperations; o++ {
		out = append(out, o)
	}
	return out
}

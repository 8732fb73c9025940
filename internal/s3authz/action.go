package s3authz

import (
	"strings"

	"github.com/meridian-s3/meridian/internal/s3route"
)

// Action is an IAM action name as policies spell it ("s3:GetObject").
type Action string

// The actions the engine is asked about that are not the action of a
// route: permissions checked inside an operation.
const (
	ActionBypassGovernanceRetention Action = "s3:BypassGovernanceRetention"
	ActionGetObject                 Action = "s3:GetObject"
	ActionGetObjectVersion          Action = "s3:GetObjectVersion"
	ActionListBucket                Action = "s3:ListBucket"
	ActionPutObject                 Action = "s3:PutObject"
	ActionDeleteObject              Action = "s3:DeleteObject"
	ActionDeleteObjectVersion       Action = "s3:DeleteObjectVersion"
	ActionPutObjectAcl              Action = "s3:PutObjectAcl"
)

// ResourceKind is what an action applies to.
type ResourceKind uint8

const (
	OnBucket  ResourceKind = 1 << iota // arn:aws:s3:::bucket
	OnObject                           // arn:aws:s3:::bucket/key
	OnAccount                          // no bucket (s3:ListAllMyBuckets)
)

// actionKinds: every S3 action a bucket policy may name, with the resource
// it applies to (the policy validator refuses other names, and a statement
// whose actions apply to none of its resources).
var actionKinds = map[string]ResourceKind{}

func init() {
	bucket := []string{
		"CreateBucket", "DeleteBucket", "ListBucket", "ListBucketVersions", "ListBucketMultipartUploads",
		"GetBucketLocation", "GetBucketVersioning", "PutBucketVersioning", "GetBucketAcl", "PutBucketAcl",
		"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy", "GetBucketPolicyStatus",
		"GetBucketTagging", "PutBucketTagging", "GetBucketCORS", "PutBucketCORS",
		"GetLifecycleConfiguration", "PutLifecycleConfiguration", "GetEncryptionConfiguration",
		"PutEncryptionConfiguration", "GetReplicationConfiguration", "PutReplicationConfiguration",
		"GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite", "GetBucketLogging", "PutBucketLogging",
		"GetBucketNotification", "PutBucketNotification", "GetBucketObjectLockConfiguration",
		"PutBucketObjectLockConfiguration", "GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock",
		"GetBucketOwnershipControls", "PutBucketOwnershipControls", "GetAccelerateConfiguration",
		"PutAccelerateConfiguration", "GetBucketRequestPayment", "PutBucketRequestPayment",
		"GetAnalyticsConfiguration", "PutAnalyticsConfiguration", "GetMetricsConfiguration",
		"PutMetricsConfiguration", "GetInventoryConfiguration", "PutInventoryConfiguration",
		"GetIntelligentTieringConfiguration", "PutIntelligentTieringConfiguration",
		"CreateBucketMetadataTableConfiguration", "GetBucketMetadataTableConfiguration",
		"DeleteBucketMetadataTableConfiguration", "GetBucketAbac", "PutBucketAbac",
		"PutBucketOwnershipControls", "CreateSession",
	}
	object := []string{
		"GetObject", "GetObjectVersion", "PutObject", "DeleteObject", "DeleteObjectVersion",
		"AbortMultipartUpload", "ListMultipartUploadParts", "GetObjectTagging", "GetObjectVersionTagging",
		"PutObjectTagging", "PutObjectVersionTagging", "DeleteObjectTagging", "DeleteObjectVersionTagging",
		"GetObjectAcl", "GetObjectVersionAcl", "PutObjectAcl", "PutObjectVersionAcl",
		"GetObjectRetention", "PutObjectRetention", "GetObjectLegalHold", "PutObjectLegalHold",
		"BypassGovernanceRetention", "GetObjectAttributes", "GetObjectVersionAttributes",
		"GetObjectTorrent", "GetObjectVersionTorrent", "RestoreObject", "RenameObject",
		"ReplicateObject", "ReplicateDelete", "ReplicateTags", "GetObjectVersionForReplication",
		"ObjectOwnerOverrideToBucketOwner", "UpdateObjectEncryption",
		"GetObjectAnnotation", "PutObjectAnnotation", "DeleteObjectAnnotation", "ListObjectAnnotations",
	}
	for _, a := range bucket {
		actionKinds["s3:"+strings.ToLower(a)] = OnBucket
	}
	for _, a := range object {
		actionKinds["s3:"+strings.ToLower(a)] = OnObject
	}
	actionKinds["s3:listallmybuckets"] = OnAccount
	actionKinds["s3:getaccountpublicaccessblock"] = OnAccount
	actionKinds["s3:putaccountpublicaccessblock"] = OnAccount
}

// Kind is the resource the action applies to (0 for an unknown action).
func (a Action) Kind() ResourceKind { return actionKinds[strings.ToLower(string(a))] }

// ActionOf is the IAM action S3 checks for op. versioned is whether the
// request names a version (?versionId): S3 then checks the …Version
// action (s3:GetObjectVersion for GET ?versionId). CopyObject and
// UploadPartCopy are s3:PutObject on the destination; the caller checks
// s3:GetObject on the source separately. DeleteObjects is s3:DeleteObject
// per key, checked by the caller for each key.
func ActionOf(op s3route.Operation, versioned bool) Action {
	if versioned {
		switch op {
		case s3route.GetObject, s3route.HeadObject:
			return "s3:GetObjectVersion"
		case s3route.DeleteObject:
			return "s3:DeleteObjectVersion"
		case s3route.GetObjectTagging:
			return "s3:GetObjectVersionTagging"
		case s3route.PutObjectTagging:
			return "s3:PutObjectVersionTagging"
		case s3route.DeleteObjectTagging:
			return "s3:DeleteObjectVersionTagging"
		case s3route.GetObjectAcl:
			return "s3:GetObjectVersionAcl"
		case s3route.PutObjectAcl:
			return "s3:PutObjectVersionAcl"
		case s3route.GetObjectAttributes:
			return "s3:GetObjectVersionAttributes"
		case s3route.GetObjectTorrent:
			return "s3:GetObjectVersionTorrent"
		}
	}
	if a, ok := opActions[op]; ok {
		return a
	}
	return Action("s3:" + op.String())
}

var opActions = map[s3route.Operation]Action{
	s3route.ListBuckets:                                      "s3:ListAllMyBuckets",
	s3route.HeadBucket:                                       "s3:ListBucket",
	s3route.ListObjects:                                      "s3:ListBucket",
	s3route.ListObjectsV2:                                    "s3:ListBucket",
	s3route.ListObjectVersions:                               "s3:ListBucketVersions",
	s3route.ListMultipartUploads:                             "s3:ListBucketMultipartUploads",
	s3route.DeleteObjects:                                    "s3:DeleteObject",
	s3route.PostObject:                                       "s3:PutObject",
	s3route.DeleteBucketTagging:                              "s3:PutBucketTagging",
	s3route.GetBucketCors:                                    "s3:GetBucketCORS",
	s3route.PutBucketCors:                                    "s3:PutBucketCORS",
	s3route.DeleteBucketCors:                                 "s3:PutBucketCORS",
	s3route.GetBucketLifecycleConfiguration:                  "s3:GetLifecycleConfiguration",
	s3route.PutBucketLifecycleConfiguration:                  "s3:PutLifecycleConfiguration",
	s3route.DeleteBucketLifecycle:                            "s3:PutLifecycleConfiguration",
	s3route.GetBucketEncryption:                              "s3:GetEncryptionConfiguration",
	s3route.PutBucketEncryption:                              "s3:PutEncryptionConfiguration",
	s3route.DeleteBucketEncryption:                           "s3:PutEncryptionConfiguration",
	s3route.GetBucketReplication:                             "s3:GetReplicationConfiguration",
	s3route.PutBucketReplication:                             "s3:PutReplicationConfiguration",
	s3route.DeleteBucketReplication:                          "s3:PutReplicationConfiguration",
	s3route.GetBucketNotificationConfiguration:               "s3:GetBucketNotification",
	s3route.PutBucketNotificationConfiguration:               "s3:PutBucketNotification",
	s3route.GetObjectLockConfiguration:                       "s3:GetBucketObjectLockConfiguration",
	s3route.PutObjectLockConfiguration:                       "s3:PutBucketObjectLockConfiguration",
	s3route.GetPublicAccessBlock:                             "s3:GetBucketPublicAccessBlock",
	s3route.PutPublicAccessBlock:                             "s3:PutBucketPublicAccessBlock",
	s3route.DeletePublicAccessBlock:                          "s3:PutBucketPublicAccessBlock",
	s3route.DeleteBucketOwnershipControls:                    "s3:PutBucketOwnershipControls",
	s3route.GetBucketAccelerateConfiguration:                 "s3:GetAccelerateConfiguration",
	s3route.PutBucketAccelerateConfiguration:                 "s3:PutAccelerateConfiguration",
	s3route.GetBucketAnalyticsConfiguration:                  "s3:GetAnalyticsConfiguration",
	s3route.PutBucketAnalyticsConfiguration:                  "s3:PutAnalyticsConfiguration",
	s3route.DeleteBucketAnalyticsConfiguration:               "s3:PutAnalyticsConfiguration",
	s3route.ListBucketAnalyticsConfigurations:                "s3:GetAnalyticsConfiguration",
	s3route.GetBucketMetricsConfiguration:                    "s3:GetMetricsConfiguration",
	s3route.PutBucketMetricsConfiguration:                    "s3:PutMetricsConfiguration",
	s3route.DeleteBucketMetricsConfiguration:                 "s3:PutMetricsConfiguration",
	s3route.ListBucketMetricsConfigurations:                  "s3:GetMetricsConfiguration",
	s3route.GetBucketInventoryConfiguration:                  "s3:GetInventoryConfiguration",
	s3route.PutBucketInventoryConfiguration:                  "s3:PutInventoryConfiguration",
	s3route.DeleteBucketInventoryConfiguration:               "s3:PutInventoryConfiguration",
	s3route.ListBucketInventoryConfigurations:                "s3:GetInventoryConfiguration",
	s3route.GetBucketIntelligentTieringConfiguration:         "s3:GetIntelligentTieringConfiguration",
	s3route.PutBucketIntelligentTieringConfiguration:         "s3:PutIntelligentTieringConfiguration",
	s3route.DeleteBucketIntelligentTieringConfiguration:      "s3:PutIntelligentTieringConfiguration",
	s3route.ListBucketIntelligentTieringConfigurations:       "s3:GetIntelligentTieringConfiguration",
	s3route.CreateBucketMetadataConfiguration:                "s3:CreateBucketMetadataTableConfiguration",
	s3route.GetBucketMetadataConfiguration:                   "s3:GetBucketMetadataTableConfiguration",
	s3route.DeleteBucketMetadataConfiguration:                "s3:DeleteBucketMetadataTableConfiguration",
	s3route.UpdateBucketMetadataInventoryTableConfiguration:  "s3:CreateBucketMetadataTableConfiguration",
	s3route.UpdateBucketMetadataJournalTableConfiguration:    "s3:CreateBucketMetadataTableConfiguration",
	s3route.UpdateBucketMetadataAnnotationTableConfiguration: "s3:CreateBucketMetadataTableConfiguration",
	s3route.HeadObject:                                       "s3:GetObject",
	s3route.CopyObject:                                       "s3:PutObject",
	s3route.CreateMultipartUpload:                            "s3:PutObject",
	s3route.UploadPart:                                       "s3:PutObject",
	s3route.UploadPartCopy:                                   "s3:PutObject",
	s3route.CompleteMultipartUpload:                          "s3:PutObject",
	s3route.ListParts:                                        "s3:ListMultipartUploadParts",
	s3route.SelectObjectContent:                              "s3:GetObject",
	s3route.ListObjectAnnotations:                            "s3:ListObjectAnnotations",
}

// Package s3lifecycle is S3's bucket lifecycle configuration: the rule model
// the bucket catalog stores (JSON), the strict parser and validator of
// PutBucketLifecycleConfiguration bodies (AWS's errors, through s3err), the
// GetBucketLifecycleConfiguration document, and the pure evaluation of rules
// against object versions and multipart uploads that the gateway (the
// x-amz-expiration header) and the background janitor (execution) share.
//
// Time: "days" are counted as AWS counts them — an object created at t
// with Expiration Days=n expires at the first midnight UTC at or after
// t + n days. Evaluation takes the length of a day as a parameter so
// tests can run days in seconds (Day(); the regional and background roles
// read MERIDIAN_TEST_DAY); "midnight" is then a multiple of that length
// since the Unix epoch. Dates (Expiration Date) are never scaled.
//
// docs/lifecycle.md describes what is executed and what is only stored.
package s3lifecycle

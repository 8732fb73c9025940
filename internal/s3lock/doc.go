// Package s3lock is S3 Object Lock's protocol model: the bucket's Object
// Lock configuration as the catalog stores it (JSON) with the strict parser
// of PutObjectLockConfiguration bodies and the GetObjectLockConfiguration
// document; the per-version retention (mode, retain-until date) and legal
// hold documents of Put/GetObjectRetention and Put/GetObjectLegalHold; the
// x-amz-object-lock-* headers of object writes and reads; and the pure rules
// (Protected, RetentionChange) that the metadata service's state machine and
// the regional gateway share. Errors are S3 errors (s3err), as AWS answers.
//
// Nothing here reads a clock: every rule takes "now" as a parameter. The
// metadata service passes the Raft command's time (docs/object-lock.md,
// "Clock").
package s3lock

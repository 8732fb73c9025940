// Package embedded is the single-machine bucket catalog: one bbolt file.
//
// Every mutation is one bbolt Update transaction. bbolt allows one writer at
// a time and readers see a consistent snapshot, so every transaction is
// serializable and a read-modify-write (UpdateBucket) cannot lose an update.
// Each commit is fsync'd before the call returns.
//
// Layout (bbolt buckets; values are JSON records with a format version "v"):
//
//	meta              "format" → "1"
//	accounts          account id → accountRecord
//	access_keys       access key id → keyRecord (secret sealed with AES-256-GCM)
//	buckets           bucket name → bucketRecord
//	buckets_by_owner  owner id 0x00 bucket name → "" (index for ListBuckets)
//
// Secrets are sealed by bucketsvc/secretcrypt with the access key id as
// associated data; the configured key must be 32 bytes, older keys may be
// listed so rotated keys still open old records.
package embedded

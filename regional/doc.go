// Package regional is the regional S3 gateway: it authenticates requests
// (SigV4, internal/sigv4), authorizes them against the bucket catalog, and
// implements S3 object semantics on top of the metadata service (metasvc,
// through the Meta interface) and the erasure-coded data path
// (regional/objectio, through DataPath).
//
// A PUT is PREPARE → write shards → COMMIT (docs/commit-protocol.md):
// small objects (≤ InlineThreshold) skip the shards and commit their bytes
// inline in one Raft command. A PUT is acknowledged only after COMMIT is
// applied by a Raft quorum, and COMMIT happens only after the body verified
// (payload hash, chunk signatures, trailing checksums, Content-MD5) and every
// segment has its write quorum of fsync'd shards.
package regional

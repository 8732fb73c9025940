// Package md5lanes computes the MD5 of request bodies (the S3 ETag and the
// Content-MD5 check) for many concurrent uploads.
//
// A Pool hands out one Hasher per body. Below Config.MinStreams bodies in
// flight, or for a body shorter than Config.MinSize, a Hasher runs
// crypto/md5 on a goroutine of its own fed pooled copies of the body (the
// hash runs beside the erasure coding instead of in series with it). From
// MinStreams on, a new Hasher is a lane of a multi-buffer MD5 server
// (github.com/minio/md5-simd): one goroutine hashes up to 8 streams per
// AVX2 instruction stream (16 in two), so concurrent uploads share the
// per-byte cost. docs/performance.md ("Multi-buffer MD5") has the
// measurements that chose the thresholds.
//
// md5-simd v1.1.2 (the release on the module proxy) never forgets a closed
// hasher: its server keeps the hasher's channel and digest in two maps and
// scans every kept hasher when it looks for work, so a long-lived server
// slows down and grows with every upload. The Pool therefore retires a
// server after Config.StreamsPerServer hashers and closes it once the last
// of them is closed; a new server takes the next hashers.
//
// Every Hasher must be finished with Sum or Close (both are safe to call
// more than once, from any goroutine, also while a Write is in progress);
// the gateway ties Close to the request's context, so a client abort or an
// error path frees the lane.
package md5lanes

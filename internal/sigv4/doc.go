// Package sigv4 authenticates S3 requests signed with AWS Signature
// Version 4 and decodes their payloads; it also signs requests, for tests,
// benchmarks and Meridian's own clients.
//
// # Verification
//
// Verifier.Verify accepts the three forms S3 accepts:
//
//   - the Authorization header "AWS4-HMAC-SHA256 Credential=AKID/date/
//     region/s3/aws4_request, SignedHeaders=..., Signature=...";
//   - a presigned URL (X-Amz-Algorithm, -Credential, -Date, -Expires,
//     -SignedHeaders, -Signature; at most 7 days);
//   - no authentication at all, reported as Auth{Anonymous: true} for the
//     caller to judge.
//
// The canonical request is built as S3 builds it: the path is unescaped
// once per segment and re-encoded strictly (never double-encoded, never
// normalized), the query is decoded, re-encoded and sorted, header values
// are trimmed with inner whitespace collapsed, host comes from r.Host.
// Every x-amz-* header the request carries must be signed. The request
// time (X-Amz-Date, else Date) must be within MaxSkew of the clock and on
// the credential scope's day; the scope's region must be allowed.
//
// # Payloads
//
// x-amz-content-sha256 selects how the body is checked. Auth.Body is a
// verifying reader over the decoded payload for every mode:
//
//   - a hex SHA-256: hashed as it streams, compared at EOF
//     (XAmzContentSHA256Mismatch);
//   - UNSIGNED-PAYLOAD: passed through;
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked; each chunk's
//     signature chains from the previous one, starting at the request
//     signature (SignatureDoesNotMatch);
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the same plus trailing
//     checksum headers signed by x-amz-trailer-signature;
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked without signatures,
//     with trailing checksum headers.
//
// A checksum named in x-amz-trailer, or sent as a plain
// x-amz-checksum-<alg> header, is computed over the decoded bytes and
// compared at EOF (BadDigest). The decoded length must equal
// x-amz-decoded-content-length (or Content-Length) exactly.
//
// Data is handed to the caller as it arrives, before the check that
// covers it completes; memory stays bounded whatever the chunk size.
// Hence the one rule for callers: commit nothing until Auth.Body returned
// io.EOF. Any other error from Body is an *s3err.Error (possibly wrapping
// the transport error) that says why.
//
// All errors are S3 errors from internal/s3err: this is a protocol
// package, and its failures are exactly what the client must be told.
package sigv4

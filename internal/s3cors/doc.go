// Package s3cors is S3's bucket CORS configuration: the rule model the
// bucket catalog stores (JSON), the strict parser and validator of
// PutBucketCors bodies (AWS's errors, through s3err), the GetBucketCors
// document, and the evaluation of requests against the rules that the edge
// and the regional gateway share — the answer to a preflight OPTIONS
// request and the Access-Control-* headers of an actual request.
//
// Matching is S3's: the first rule whose AllowedOrigin matches the Origin
// header (case-sensitive, one '*' standing for any run of characters,
// the empty run included), whose AllowedMethod lists the method (the
// Access-Control-Request-Method of a preflight, else that header when an
// actual request carries it, else the request's own method) and — for a
// preflight only — whose AllowedHeader patterns match every name in
// Access-Control-Request-Headers (case-insensitive) wins. A rule listing
// the origin "*" answers Access-Control-Allow-Origin: * without
// credentials; any other echoes the origin with
// Access-Control-Allow-Credentials: true.
//
// docs/access-control.md ("CORS") lists the answers, errors included.
package s3cors

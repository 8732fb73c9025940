// Package s3route is the one S3 route table that the edge and the
// regional gateway share (DESIGN.md invariant 9: a request does only what
// it names).
//
// A request is routed by its method, the level it addresses (service,
// bucket, object) and the one subresource in its query (?tagging, ?acl,
// ?uploadId, …) to exactly one Operation. Query names that are arguments
// of an operation (versionId, partNumber, prefix, response-*, the SigV4
// presign parameters, the SDKs' x-id, …) never take part in the choice;
// the operation's handler reads them. Everything else is an S3 error,
// never a neighbouring operation:
//
//   - a resource that does not support the method (DELETE ?acl, POST on an
//     object without ?uploads/?uploadId/?restore/?select, HEAD ?tagging):
//     405 MethodNotAllowed, as S3 answers;
//   - two subresources in one query (?tagging&acl): 400 InvalidRequest;
//   - a query name the table does not know, which may select an S3
//     operation newer than Meridian: 501 NotImplemented;
//   - a query that does not parse: 400 InvalidURI.
//
// Callers authenticate before they route, so that unsigned requests learn
// nothing about which operations exist — except a CORS preflight
// (IsPreflight: any OPTIONS), which S3 answers unauthenticated from the
// bucket's CORS rules and which never reaches Resolve. The table imports no part: it is
// protocol, not policy.
package s3route

package s3route

import "net/http"

// IsPreflight reports whether a request with this method is a CORS
// preflight. S3 answers every OPTIONS request — on the service, a bucket
// or a key, whatever its query — from the bucket's CORS configuration,
// before and without authentication (a browser signs no preflight), so the
// edge and the regional gateway send it there instead of to Resolve, which
// knows no OPTIONS operation.
func IsPreflight(method string) bool { return method == http.MethodOptions }

package s3err

import "net/http"

// CORS answers (internal/s3cors): S3 refuses a preflight with this code,
// which its error table does not list.
const AccessForbidden Code = "AccessForbidden"

func init() {
	registry[AccessForbidden] = entry{http.StatusForbidden, "CORSResponse: This CORS request is not allowed."}
}

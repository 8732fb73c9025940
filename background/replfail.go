package background

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/meridian-s3/meridian/internal/sse"
)

// Which failed copies show FAILED (docs/replication.md, "Failures"). S3
// keeps a version PENDING while its copy fails for a temporary reason —
// the destination bucket or region unavailable — and shows FAILED for a
// copy the destination refused (permissions, a missing bucket). The
// replicator retries both; the status tells an operator which one it is.

// destRefusal is a destination's answer other than 200 to a replica write.
type destRefusal struct {
	Region string
	Status int
	Body   []byte
}

func (e *destRefusal) Error() string {
	return fmt.Sprintf("destination %s answered %d: %s", e.Region, e.Status, e.Body)
}

// refusedCopy reports whether err is a refusal that will not pass by
// itself: the destination bucket is not in the catalog, the destination
// answered 4xx (BadDigest, NoSuchBucket, AccessDenied …), or an encrypted
// version cannot be opened here (its data key does not unwrap, its KMS key
// is gone, no key service, its ciphertext fails to authenticate — S3 shows
// KMS permission failures as FAILED too). A link failure, a region backing
// off, a 5xx (503 while the region is unavailable), a timeout or a failed
// source read is temporary: the version stays PENDING.
func refusedCopy(err error) bool {
	var notFound *sse.KeyNotFoundError
	if errors.Is(err, errNoDestination) || errors.Is(err, errNoKeyService) || errors.Is(err, sse.ErrUnwrap) ||
		errors.Is(err, sse.ErrAuth) || errors.As(err, &notFound) {
		return true
	}
	var r *destRefusal
	return errors.As(err, &r) && r.Status >= http.StatusBadRequest && r.Status < http.StatusInternalServerError
}

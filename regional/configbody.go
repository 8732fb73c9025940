package regional

import (
	"bytes"
	"crypto/md5"
	"io"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// configBody reads the body of a bucket-configuration PUT (lifecycle,
// CORS) of at most max bytes (MalformedXML beyond) and makes the integrity
// check S3 requires of them: a Content-MD5 that matches, or an
// x-amz-checksum-* that the verifying body reader checked at EOF.
func configBody(req *request, max int) ([]byte, error) {
	wantMD5, err := s3api.ContentMD5(req.r.Header)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(body) > max {
		return nil, s3err.New(s3err.MalformedXML)
	}
	if wantMD5 == nil && len(req.auth.Checksums()) == 0 {
		return nil, s3err.WithMessage(s3err.InvalidRequest, "Missing required header for this request: Content-MD5")
	}
	if wantMD5 != nil {
		if sum := md5.Sum(body); !bytes.Equal(sum[:], wantMD5) {
			return nil, s3err.New(s3err.BadDigest)
		}
	}
	return body, nil
}

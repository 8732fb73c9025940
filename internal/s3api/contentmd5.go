package s3api

import (
	"crypto/md5"
	"encoding/base64"
	"net/http"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// ContentMD5 reads the Content-MD5 header: the 16-byte digest when one was
// sent, nil when the header is absent. A header that is present but empty,
// not base64, or not 16 bytes is InvalidDigest, as S3 answers it — before
// any of the body is read.
func ContentMD5(h http.Header) ([]byte, error) {
	vs, ok := h["Content-Md5"]
	if !ok {
		return nil, nil
	}
	if len(vs) != 1 {
		return nil, s3err.New(s3err.InvalidDigest)
	}
	d, err := base64.StdEncoding.DecodeString(vs[0])
	if err != nil || len(d) != md5.Size {
		return nil, s3err.New(s3err.InvalidDigest)
	}
	return d, nil
}

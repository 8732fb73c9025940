package regional

// Additional checksums (docs/tagging-checksums.md): CRC32, CRC32C,
// CRC64NVME, SHA1 and SHA256. A PutObject or UploadPart checksum (header or
// aws-chunked trailer) is verified by the SigV4 body reader — at the edge,
// recomputed here — and a mismatch fails the request with BadDigest before
// the COMMIT, so nothing is stored. A multipart upload created with an
// algorithm gets that checksum for every part (computed here when the part
// request did not send it), and Complete combines them (metastate:
// COMPOSITE "-N" or FULL_OBJECT). GET and HEAD with x-amz-checksum-mode:
// ENABLED answer the stored checksum (not for a byte range, as S3).

import (
	"io"
	"net/http"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/commit"
)

// withServerChecksum makes body compute alg while it streams; the body's
// Checksums then include alg (the client's verified value when it sent
// one, which equals ours).
func withServerChecksum(body commit.Body, alg s3checksum.Algorithm) commit.Body {
	h := s3checksum.New(alg)
	body.Reader = io.TeeReader(body.Reader, h)
	client := body.Checksums
	body.Checksums = func() map[string]string {
		out := map[string]string{}
		for k, v := range client() {
			out[k] = v
		}
		if _, ok := out[string(alg)]; !ok {
			out[string(alg)] = s3checksum.Encode(h.Sum(nil))
		}
		return out
	}
	return body
}

// uploadChecksum parses CreateMultipartUpload's x-amz-checksum-algorithm
// and x-amz-checksum-type (S3's InvalidRequest answers for a bad value or
// combination).
func uploadChecksum(r *http.Request) (alg s3checksum.Algorithm, typ string, err error) {
	if v := r.Header.Get("x-amz-checksum-algorithm"); v != "" {
		if alg, err = s3checksum.Parse(v); err != nil || strings.HasPrefix(strings.ToLower(v), s3checksum.HeaderPrefix) {
			return "", "", s3err.WithMessage(s3err.InvalidRequest, "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
		}
	}
	switch typ = strings.ToUpper(r.Header.Get("x-amz-checksum-type")); typ {
	case "", metapb.ChecksumComposite, metapb.ChecksumFullObject:
	default:
		return "", "", s3err.WithMessage(s3err.InvalidRequest, "Value for x-amz-checksum-type header is invalid.")
	}
	switch {
	case typ != "" && alg == "":
		return "", "", s3err.WithMessage(s3err.InvalidRequest, "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
	case typ == metapb.ChecksumComposite && !alg.SupportsComposite(),
		typ == metapb.ChecksumFullObject && !alg.SupportsFullObject():
		return "", "", s3err.WithMessage(s3err.InvalidRequest, "The "+typ+" checksum type cannot be used with the "+strings.ToLower(string(alg))+" checksum algorithm.")
	}
	if alg != "" && typ == "" {
		typ = metapb.ChecksumComposite
		if !alg.SupportsComposite() {
			typ = metapb.ChecksumFullObject
		}
	}
	return alg, typ, nil
}

// setUploadChecksumHeaders answers CreateMultipartUpload's algorithm and type.
func setUploadChecksumHeaders(h http.Header, u *metapb.Upload) {
	if u.Checksum != "" {
		h.Set("x-amz-checksum-algorithm", u.Checksum)
		h.Set("x-amz-checksum-type", u.ChecksumType)
	}
}

// checksumType is a version's checksum type as S3 names it.
func checksumType(v *metapb.ObjectVersion) string {
	if v.ChecksumType != "" {
		return v.ChecksumType
	}
	return metapb.ChecksumFullObject
}

// setChecksumHeaders answers x-amz-checksum-* on GetObject and HeadObject
// with x-amz-checksum-mode: ENABLED: the object's checksum and type for a
// whole-object read, the part's own checksum for ?partNumber of a multipart
// object, nothing for a byte range (S3 has no checksum of a range).
func setChecksumHeaders(h http.Header, r *http.Request, v *metapb.ObjectVersion, partial bool, partNumber int) {
	if !strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED") {
		return
	}
	cks, typ := v.Checksums, checksumType(v)
	switch {
	case partNumber > 0 && len(v.Parts) > 0:
		if partNumber > len(v.Parts) {
			return
		}
		cks, typ = v.Parts[partNumber-1].Checksums, metapb.ChecksumFullObject
	case partial:
		return
	}
	for alg, val := range cks {
		h.Set(s3checksum.HeaderPrefix+strings.ToLower(alg), val)
	}
	if len(cks) > 0 {
		h.Set("x-amz-checksum-type", typ)
	}
}

// completeChecksums returns the full-object checksums a
// CompleteMultipartUpload claims in x-amz-checksum-<alg> headers (the SigV4
// verifier leaves them alone there: sigv4.ObjectChecksumHeaders); metastate
// compares them with the checksum computed from the parts (BadDigest).
func completeChecksums(r *http.Request) (map[string]string, error) {
	var out map[string]string
	for k, vals := range r.Header {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, s3checksum.HeaderPrefix) {
			continue
		}
		alg, err := s3checksum.Parse(lk)
		if err != nil {
			continue // x-amz-checksum-type, -mode, -algorithm
		}
		v := strings.TrimSpace(vals[0])
		if _, err := s3checksum.Decode(alg, v); len(vals) != 1 || err != nil {
			return nil, s3err.WithMessage(s3err.InvalidRequest, "Value for "+lk+" header is invalid.")
		}
		if out == nil {
			out = map[string]string{}
		}
		out[string(alg)] = v
	}
	return out, nil
}

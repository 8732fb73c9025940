package regional

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// getObjectAttributes serves GetObjectAttributes: the attributes named in
// x-amz-object-attributes (ETag, Checksum, ObjectParts, StorageClass,
// ObjectSize) of the version ?versionId names, or of the current one.
// ObjectParts pages a multipart object's parts with x-amz-max-parts
// (default and maximum 1000) and x-amz-part-number-marker; its Part
// elements appear only when the parts have checksums, as in S3.
func (g *Gateway) getObjectAttributes(req *request) error {
	want, err := objectAttributesParam(req.r.Header)
	if err != nil {
		return err
	}
	maxParts, marker := 1000, 0
	if v := req.r.Header.Get("x-amz-max-parts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s3err.WithMessage(s3err.InvalidArgument, "Provided max-parts not an integer or within integer range").With("ArgumentName", "x-amz-max-parts").With("ArgumentValue", v)
		}
		maxParts = min(n, 1000)
	}
	if v := req.r.Header.Get("x-amz-part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s3err.WithMessage(s3err.InvalidArgument, "Provided part-number-marker not an integer or within integer range").With("ArgumentName", "x-amz-part-number-marker").With("ArgumentValue", v)
		}
		marker = n
	}
	b, v, err := g.objectFor(req) // 404 NoSuchKey/NoSuchVersion, 405 on a named delete marker
	if err != nil {
		return err
	}
	if v.SSE != nil && v.SSE.Algorithm == metapb.SSEAlgCustomer {
		// An SSE-C object's attributes need its key, as S3 asks (sse.go).
		if _, _, err := g.objectKey(req, v.SSE, prefixSSEC); err != nil {
			return err
		}
	}
	h := req.w.Header()
	h.Set("Last-Modified", v.Created.UTC().Format(http.TimeFormat))
	setVersionHeader(h, b, &v)
	out := s3api.GetObjectAttributesResponse{XMLNS: s3api.XMLNS}
	if want["ETag"] {
		out.ETag = v.ETag // unquoted, as S3 answers this operation
	}
	if want["Checksum"] && len(v.Checksums) > 0 {
		cks := make(map[string]string, len(v.Checksums))
		for alg, val := range v.Checksums {
			// A composite checksum without its "-<parts>" suffix: the part
			// count is ObjectParts' PartsCount.
			if i := strings.LastIndexByte(val, '-'); i > 0 {
				val = val[:i]
			}
			cks[alg] = val
		}
		c := s3api.ChecksumElementsOf(cks)
		c.ChecksumType = checksumType(&v)
		out.Checksum = &c
	}
	if want["ObjectParts"] && len(v.Parts) > 0 {
		op := &s3api.ObjectParts{PartsCount: len(v.Parts), PartNumberMarker: marker, MaxParts: maxParts}
		for _, p := range v.Parts {
			if p.Number <= marker {
				continue
			}
			if len(op.Parts) == maxParts {
				op.IsTruncated = true
				break
			}
			if len(p.Checksums) == 0 {
				continue
			}
			op.Parts = append(op.Parts, s3api.ObjectPart{PartNumber: p.Number, Size: p.Size, ChecksumElements: s3api.ChecksumElementsOf(p.Checksums)})
			op.NextPartNumberMarker = p.Number
		}
		out.ObjectParts = op
	}
	if want["StorageClass"] {
		out.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		size := v.Size
		out.ObjectSize = &size
	}
	return writeXML(req, http.StatusOK, out)
}

// objectAttributesParam parses x-amz-object-attributes (comma separated,
// possibly repeated): at least one name, each one S3 knows.
func objectAttributesParam(h http.Header) (map[string]bool, error) {
	want := map[string]bool{}
	for _, line := range h.Values("x-amz-object-attributes") {
		for _, name := range strings.Split(line, ",") {
			name = strings.TrimSpace(name)
			switch name {
			case "":
			case "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize":
				want[name] = true
			default:
				return nil, s3err.WithMessage(s3err.InvalidArgument, "Invalid attribute name specified.").With("ArgumentName", "x-amz-object-attributes").With("ArgumentValue", name)
			}
		}
	}
	if len(want) == 0 {
		return nil, s3err.WithMessage(s3err.InvalidRequest, "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	return want, nil
}

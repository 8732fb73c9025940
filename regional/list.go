package regional

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// maxKeysParam parses max-keys style parameters: default 1000, capped at 1000.
func maxKeysParam(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3err.WithMessage(s3err.InvalidArgument, "Provided "+name+" not an integer or within integer range").With("ArgumentName", name).With("ArgumentValue", v)
	}
	return min(n, 1000), nil
}

func encodingParam(q url.Values) (bool, error) {
	switch q.Get("encoding-type") {
	case "":
		return false, nil
	case "url":
		return true, nil
	}
	return false, s3err.WithMessage(s3err.InvalidArgument, "Invalid Encoding Method specified in Request").With("ArgumentName", "encoding-type")
}

// encodeName applies S3's encoding-type=url to a name in a listing: every
// byte but the unreserved characters (A–Z a–z 0–9 - . _ ~) and "/" is
// percent-encoded with upper-case hex, so a space is %20 and "+" is %2B,
// and "/" — the usual delimiter and prefix separator — stays as it is.
// (url.QueryEscape would turn "/" into %2F and a space into "+", which no
// client decodes back as S3 meant.)
func encodeName(s string, enc bool) string {
	if !enc {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// listPage fetches one page of a bucket listing merged over all partitions.
func (g *Gateway) listPage(req *request, prefix, delim, after string, maxKeys int) (metapb.ListResponse, error) {
	if maxKeys == 0 {
		return metapb.ListResponse{}, nil
	}
	return g.cfg.Meta.List(req.r.Context(), metapb.ListRequest{
		Bucket: req.mb, Prefix: prefix, Delimiter: delim, StartAfter: after, MaxKeys: maxKeys,
	})
}

func objectInfo(v *metapb.ObjectVersion, enc, owner bool) s3api.ObjectInfo {
	oi := s3api.ObjectInfo{
		Key:          encodeName(v.Key, enc),
		LastModified: s3api.ISOTime(v.Created),
		ETag:         s3api.QuoteETag(v.ETag),
		Size:         v.Size,
		StorageClass: "STANDARD",
	}
	oi.ChecksumAlgo, oi.ChecksumType = listedChecksum(v)
	if owner {
		oi.Owner = &s3api.Owner{ID: v.Owner}
	}
	return oi
}

func (g *Gateway) listObjectsV2(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	q := req.r.URL.Query()
	maxKeys, err := maxKeysParam(q, "max-keys")
	if err != nil {
		return err
	}
	enc, err := encodingParam(q)
	if err != nil {
		return err
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	after := q.Get("start-after")
	token := q.Get("continuation-token")
	if _, ok := q["continuation-token"]; ok {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || token == "" {
			return s3err.WithMessage(s3err.InvalidArgument, "The continuation token provided is incorrect").With("ArgumentName", "continuation-token")
		}
		after = string(raw)
	}
	page, err := g.listPage(req, prefix, delim, after, maxKeys)
	if err != nil {
		return err
	}
	res := s3api.ListBucketResultV2{
		XMLNS: s3api.XMLNS, Name: req.bucket, Prefix: encodeName(prefix, enc), Delimiter: encodeName(delim, enc),
		MaxKeys: maxKeys, KeyCount: len(page.Entries), IsTruncated: page.Truncated,
		ContinuationToken: token, StartAfter: encodeName(q.Get("start-after"), enc),
	}
	if enc {
		res.EncodingType = "url"
	}
	fetchOwner := q.Get("fetch-owner") == "true"
	for _, e := range page.Entries {
		if e.Version != nil {
			res.Contents = append(res.Contents, objectInfo(e.Version, enc, fetchOwner))
		} else {
			res.CommonPrefixes = append(res.CommonPrefixes, s3api.CommonPrefix{Prefix: encodeName(e.Prefix, enc)})
		}
	}
	if page.Truncated && len(page.Entries) > 0 {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(page.Entries[len(page.Entries)-1].Name()))
	}
	return writeXML(req, http.StatusOK, res)
}

func (g *Gateway) listObjectsV1(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	q := req.r.URL.Query()
	maxKeys, err := maxKeysParam(q, "max-keys")
	if err != nil {
		return err
	}
	enc, err := encodingParam(q)
	if err != nil {
		return err
	}
	prefix, delim, marker := q.Get("prefix"), q.Get("delimiter"), q.Get("marker")
	page, err := g.listPage(req, prefix, delim, marker, maxKeys)
	if err != nil {
		return err
	}
	res := s3api.ListBucketResultV1{
		XMLNS: s3api.XMLNS, Name: req.bucket, Prefix: encodeName(prefix, enc), Marker: encodeName(marker, enc),
		MaxKeys: maxKeys, Delimiter: encodeName(delim, enc), IsTruncated: page.Truncated,
	}
	if enc {
		res.EncodingType = "url"
	}
	for _, e := range page.Entries {
		if e.Version != nil {
			res.Contents = append(res.Contents, objectInfo(e.Version, enc, true))
		} else {
			res.CommonPrefixes = append(res.CommonPrefixes, s3api.CommonPrefix{Prefix: encodeName(e.Prefix, enc)})
		}
	}
	// S3 sends NextMarker only when a delimiter was given; clients otherwise use the last key.
	if page.Truncated && delim != "" && len(page.Entries) > 0 {
		res.NextMarker = encodeName(page.Entries[len(page.Entries)-1].Name(), enc)
	}
	return writeXML(req, http.StatusOK, res)
}

// listedChecksum is a version's checksum algorithm and type as S3 lists
// them (checksum.go); a record holds one algorithm.
func listedChecksum(v *metapb.ObjectVersion) (alg, typ string) {
	for _, a := range s3checksum.Algorithms() {
		if v.Checksums[string(a)] != "" {
			return string(a), checksumType(v)
		}
	}
	return "", ""
}

package s3api

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// BucketEntry is one bucket as ListBuckets sees it.
type BucketEntry struct {
	Name, Region string
	Created      time.Time
}

// ListBucketsPage is ListBuckets' paging and filtering, parsed from the
// query: max-buckets (1–10000; absent: all), continuation-token (the
// opaque token of the previous page: the last name it held), prefix and
// bucket-region.
type ListBucketsPage struct {
	Max                   int
	After, Prefix, Region string
}

// ParseListBucketsPage reads q, answering InvalidArgument as S3 does for a
// max-buckets out of range and a token that is not one of ours.
func ParseListBucketsPage(q url.Values) (ListBucketsPage, error) {
	p := ListBucketsPage{Prefix: q.Get("prefix"), Region: q.Get("bucket-region")}
	if v, ok := q["max-buckets"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 10000 {
			return p, s3err.WithMessage(s3err.InvalidArgument, "max-buckets must be an integer between 1 and 10000").
				With("ArgumentName", "max-buckets").With("ArgumentValue", v[0])
		}
		p.Max = n
	}
	if v, ok := q["continuation-token"]; ok {
		raw, err := base64.RawURLEncoding.DecodeString(v[0])
		if err != nil || v[0] == "" {
			return p, s3err.WithMessage(s3err.InvalidArgument, "The continuation token provided is incorrect").With("ArgumentName", "continuation-token")
		}
		p.After = string(raw)
	}
	return p, nil
}

// Fill puts the page of buckets (any order) into res: sorted by name,
// filtered, cut at Max with the token of the next page.
func (p ListBucketsPage) Fill(res *ListAllMyBucketsResult, buckets []BucketEntry) {
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].Name < buckets[j].Name })
	res.Prefix = p.Prefix
	for _, b := range buckets {
		if b.Name <= p.After || !strings.HasPrefix(b.Name, p.Prefix) || (p.Region != "" && b.Region != p.Region) {
			continue
		}
		if p.Max > 0 && len(res.Buckets) == p.Max {
			res.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Buckets[len(res.Buckets)-1].Name))
			return
		}
		res.Buckets = append(res.Buckets, BucketInfo{Name: b.Name, CreationDate: ISOTime(b.Created), BucketRegion: b.Region})
	}
}

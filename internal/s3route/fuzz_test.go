package s3route

import (
	"net/url"
	"slices"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// refinements: operations Resolve derives from a table entry by a
// parameter or a header.
var refinements = map[Operation][]Operation{
	ListObjects:                                {ListObjectsV2},
	PutObject:                                  {CopyObject, UploadPart, UploadPartCopy},
	UploadPart:                                 {UploadPartCopy},
	ListBucketAnalyticsConfigurations:          {GetBucketAnalyticsConfiguration},
	ListBucketMetricsConfigurations:            {GetBucketMetricsConfiguration},
	ListBucketInventoryConfigurations:          {GetBucketInventoryConfiguration},
	ListBucketIntelligentTieringConfigurations: {GetBucketIntelligentTieringConfiguration},
	ListObjectAnnotations:                      {GetObjectAnnotation},
}

var fuzzMethods = []string{"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "get", ""}

// FuzzResolve: no input panics; every answer is one Operation or an S3
// error; and an Operation is only ever the one the query's single
// subresource (or its absence) selects for that method and level — a
// request never reaches a neighbour's operation.
func FuzzResolve(f *testing.F) {
	for _, tc := range s3Operations {
		f.Add(uint8(slices.Index(fuzzMethods, tc.method)), uint8(tc.level), tc.query, tc.copy)
	}
	f.Fuzz(func(t *testing.T, m, level uint8, rawQuery string, copySource bool) {
		rq := Request{Method: fuzzMethods[int(m)%len(fuzzMethods)], Level: Level(level % 3), RawQuery: rawQuery, CopySource: copySource}
		op, err := Resolve(rq)
		op2, err2 := Resolve(rq)
		if op != op2 || (err == nil) != (err2 == nil) {
			t.Fatalf("%+v: not deterministic: %v/%v, %v/%v", rq, op, op2, err, err2)
		}
		if err != nil {
			e, ok := err.(*s3err.Error)
			if !ok || op != Unknown || e.Code == s3err.InternalError || e.Status < 400 || e.Status > 501 || s3err.Status(e.Code) != e.Status {
				t.Fatalf("%+v: rejection %v (%T), op %v is not an S3 client error", rq, err, err, op)
			}
			return
		}
		if op == Unknown || op >= numOperations {
			t.Fatalf("%+v: operation %d with no error", rq, op)
		}
		q, perr := url.ParseQuery(rawQuery)
		if perr != nil {
			t.Fatalf("%+v: unparsable query routed to %v", rq, op)
		}
		sub := ""
		for name := range q {
			if IsParameter(name) {
				continue
			}
			if sub != "" && sub != name {
				t.Fatalf("%+v: two subresources routed to %v", rq, op)
			}
			sub = name
		}
		base, ok := table[key{rq.Level, rq.Method, sub}]
		if !ok || (base != op && !slices.Contains(refinements[base], op)) {
			t.Fatalf("%+v: routed to %v, but ?%s on %s %v selects %v", rq, op, sub, rq.Method, rq.Level, base)
		}
	})
}

package sigv4

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzPresignedQuery: any query string on a presigned GET yields an S3 error
// or a verified request, never a panic; a mutated query is never verified
// with a principal unless it is the signed one.
func FuzzPresignedQuery(f *testing.F) {
	r := mustRequest(f, "GET", "https://bucket.s3.us-east-1.amazonaws.com/photos/cat%2B1.jpg?versionId=abc", nil)
	signed, err := Presign(r, docAccessKey, docSecret, "us-east-1", testNow, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	u, _ := url.Parse(signed)
	valid := u.RawQuery
	for _, s := range []string{
		valid, "", "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Signature=", "X-Amz-Credential=%zz",
		strings.Replace(valid, "X-Amz-Expires=3600", "X-Amz-Expires=99999999999999999999", 1),
		strings.Replace(valid, "X-Amz-Date=", "X-Amz-Date=2025", 1),
		strings.Replace(valid, "X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=", 1),
		strings.Replace(valid, "%2F", "/", -1), valid + "&" + valid, "AWSAccessKeyId=A&Expires=1&Signature=s",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a/b/c/d/e/f&X-Amz-Date=x&X-Amz-Expires=-1&X-Amz-SignedHeaders=;&X-Amz-Signature=zz",
	} {
		f.Add(s)
	}
	v, _ := newTestVerifier(f, testNow.Add(time.Minute))
	f.Fuzz(func(t *testing.T, q string) {
		r := mustRequest(t, "GET", "https://bucket.s3.us-east-1.amazonaws.com/photos/cat%2B1.jpg", nil)
		r.URL.RawQuery = q
		a, err := v.Verify(r)
		if err != nil {
			if !isS3Error(err) {
				t.Fatalf("non-S3 error %v for %q", err, q)
			}
			return
		}
		if !a.Anonymous && q != valid && !sameQuery(q, valid) {
			t.Fatalf("a different query was verified: %q", q)
		}
	})
}

// sameQuery reports whether two raw queries canonicalise alike (the
// signature covers the canonical form, so reordering is allowed).
func sameQuery(a, b string) bool {
	return canonicalQuery(a, "X-Amz-Signature") == canonicalQuery(b, "X-Amz-Signature")
}

// FuzzSignedHeaders: any values of the SigV4 headers other than
// Authorization (x-amz-date, x-amz-content-sha256, x-amz-decoded-content-length,
// x-amz-trailer, a checksum header, content-encoding) yield an S3 error or
// a verified request whose body reads back as an S3 error or the bytes
// declared, never a panic.
func FuzzSignedHeaders(f *testing.F) {
	f.Add("20250314T150926Z", UnsignedPayload, "", "", "", "")
	f.Add("20250314T150926Z", StreamingUnsignedTrailer, "11", "x-amz-checksum-crc32", "", "aws-chunked")
	f.Add("2025-03-14", "zz", "-1", "x-amz-checksum-sha256,x-amz-checksum-crc32", "AAAA", "gzip")
	f.Add("", StreamingSignedPayload, "99999999999999999999", "", "DUoRhQ==", "")
	f.Add("20250314T150926Z", hexSHA(testBody), "0", "", "", "aws-chunked,gzip")
	v, _ := newTestVerifier(f, testNow)
	f.Fuzz(func(t *testing.T, date, payload, decoded, trailer, crc, encoding string) {
		r := mustRequest(t, "PUT", "https://bucket.s3.us-east-1.amazonaws.com/k", nopBody(testBody))
		for k, val := range map[string]string{"X-Amz-Decoded-Content-Length": decoded, "X-Amz-Trailer": trailer,
			"X-Amz-Checksum-Crc32": crc, "Content-Encoding": encoding} {
			if val != "" {
				r.Header.Set(k, val)
			}
		}
		Sign(r, docAccessKey, docSecret, "us-east-1", testNow, payload)
		if date != "" {
			r.Header.Set("X-Amz-Date", date) // after signing: a date the signature may not cover
		}
		a, err := v.Verify(r)
		if err != nil {
			if !isS3Error(err) {
				t.Fatalf("non-S3 error %v", err)
			}
			return
		}
		got, err := readBody(a)
		if err != nil {
			if !isS3Error(err) {
				t.Fatalf("non-S3 body error %v", err)
			}
			return
		}
		if a.DecodedLength >= 0 && int64(len(got)) != a.DecodedLength {
			t.Fatalf("accepted %d bytes for a declared %d", len(got), a.DecodedLength)
		}
	})
}

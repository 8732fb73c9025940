package sigv4

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/internal/s3err"
)

func isS3Error(err error) bool {
	var e *s3err.Error
	return errors.As(err, &e)
}

// FuzzAuthorization: any Authorization header yields an S3 error or a
// verified request, never a panic.
func FuzzAuthorization(f *testing.F) {
	valid := signedPut(&testing.T{}, testBody, UnsignedPayload, nil).Header.Get("Authorization")
	for _, s := range []string{
		valid, "", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 Credential=",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=,Signature=",
		"AWS4-HMAC-SHA256 Credential=////,SignedHeaders=;;,Signature=x,Signature=y",
		"AWS AKID:sig", strings.Replace(valid, ",", ",,", -1), strings.Replace(valid, "=", "==", -1),
		"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250314/us-east-1/s3/aws4_request,SignedHeaders=HOST,Signature=00",
	} {
		f.Add(s)
	}
	v, _ := newTestVerifier(f, testNow)
	f.Fuzz(func(t *testing.T, az string) {
		r := signedPut(t, testBody, UnsignedPayload, nil)
		r.Header.Set("Authorization", az)
		a, err := v.Verify(r)
		if err != nil {
			if !isS3Error(err) {
				t.Fatalf("non-S3 error %v", err)
			}
			return
		}
		if _, err := readBody(a); err != nil && !isS3Error(err) {
			t.Fatalf("non-S3 body error %v", err)
		}
	})
}

// FuzzChunkedBody: any aws-chunked body yields an S3 error or exactly the
// declared number of bytes, never a panic.
func FuzzChunkedBody(f *testing.F) {
	f.Add([]byte("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"), true)
	f.Add([]byte("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), false)
	f.Add([]byte("ffffffffffffffff\r\n"), false)
	f.Add([]byte("-1\r\n"), false)
	f.Add([]byte("0\r\n"+strings.Repeat("x-amz-checksum-crc32:AAAAAA==\r\n", 20)), true)
	f.Add([]byte("b;chunk-signature=\r\nhello world\r\n0\r\n"), false)
	f.Add([]byte(strings.Repeat("0", 5000)+"\r\n"), false)
	v, _ := newTestVerifier(f, testNow)
	f.Fuzz(func(t *testing.T, body []byte, trailer bool) {
		r := mustRequest(t, "PUT", "https://b.s3.amazonaws.com/k", bytes.NewReader(body))
		r.Header.Set("X-Amz-Decoded-Content-Length", "11")
		if trailer {
			r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		}
		Sign(r, docAccessKey, docSecret, "us-east-1", testNow, StreamingUnsignedTrailer)
		a, err := v.Verify(r)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		got, err := readBody(a)
		if err != nil {
			if !isS3Error(err) {
				t.Fatalf("non-S3 error %v", err)
			}
			return
		}
		if len(got) != 11 {
			t.Fatalf("accepted %d bytes for a declared 11", len(got))
		}
	})
}

// Random mutations of valid signed and checksummed uploads are never
// accepted with different data, and never panic.
func TestRandomMutationsNeverAccepted(t *testing.T) {
	data := randomData(40_000, 5)
	rng := rand.New(rand.NewPCG(11, 12))
	modes := []struct {
		mode    string
		trailer s3checksum.Algorithm
	}{
		{StreamingSignedPayload, ""},
		{StreamingSignedPayloadTrailer, s3checksum.CRC32C},
		{StreamingUnsignedTrailer, s3checksum.SHA256},
	}
	v, _ := newTestVerifier(t, testNow)
	accepted := 0
	for _, m := range modes {
		r0, enc := chunkedPut(t, data, m.mode, ChunkedOptions{ChunkSize: 9000, Trailer: m.trailer})
		for i := 0; i < 300; i++ {
			mut := append([]byte(nil), enc...)
			switch rng.IntN(4) {
			case 0: // flip bits
				for k := 0; k < 1+rng.IntN(3); k++ {
					mut[rng.IntN(len(mut))] ^= byte(1 + rng.IntN(255))
				}
			case 1: // truncate
				mut = mut[:rng.IntN(len(mut))]
			case 2: // insert junk
				at := rng.IntN(len(mut))
				mut = append(mut[:at:at], append([]byte("\r\n;=0"[rng.IntN(4):]), mut[at:]...)...)
			case 3: // delete a range
				at := rng.IntN(len(mut))
				end := min(len(mut), at+1+rng.IntN(100))
				mut = append(mut[:at:at], mut[end:]...)
			}
			r := r0.Clone(r0.Context())
			r.Body = io.NopCloser(bytes.NewReader(mut))
			a, err := v.Verify(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readBody(a)
			if err != nil {
				if !isS3Error(err) {
					t.Fatalf("non-S3 error %v", err)
				}
				continue
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%s: mutation accepted with different data", m.mode)
			}
			accepted++ // e.g. a flip inside a hex digit's case
		}
	}
	t.Logf("%d of 900 mutations were harmless and accepted", accepted)
}

var _ = http.NoBody

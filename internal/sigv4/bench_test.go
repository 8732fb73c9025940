package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3checksum"
)

// BenchmarkVerify4KiB: header-signed PUT of 4 KiB with a hex SHA-256
// payload hash, Verify plus reading (and so hashing) the body.
func BenchmarkVerify4KiB(b *testing.B) {
	data := randomData(4096, 1)
	for _, mode := range []string{"signed-payload", "unsigned-payload", "verify-only"} {
		b.Run(mode, func(b *testing.B) {
			ph := hexSHA(string(data))
			if mode == "unsigned-payload" {
				ph = UnsignedPayload
			}
			r0 := mustRequest(b, "PUT", "https://bucket.s3.us-east-1.amazonaws.com/some/object/key.bin", bytes.NewReader(data))
			r0.Header.Set("Content-Type", "application/octet-stream")
			r0.Header.Set("X-Amz-Meta-Owner", "bench")
			Sign(r0, docAccessKey, docSecret, "us-east-1", testNow, ph)
			v, _ := newTestVerifier(b, testNow)
			rd := bytes.NewReader(data)
			r := *r0
			r.Body = io.NopCloser(rd)
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			start := processCPU()
			for b.Loop() {
				rd.Reset(data)
				a, err := v.Verify(&r)
				if err != nil {
					b.Fatal(err)
				}
				if mode == "verify-only" {
					continue
				}
				for {
					_, err := a.Body.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			reportCPU(b, start, int64(len(data)))
		})
	}
}

// BenchmarkChunkedDecode: decoding throughput of an 8 MiB aws-chunked body
// in 64 KiB chunks (MB/s of decoded data), per mode and trailer checksum.
func BenchmarkChunkedDecode(b *testing.B) {
	data := randomData(8<<20, 2)
	cases := []struct {
		name    string
		mode    string
		trailer s3checksum.Algorithm
	}{
		{"unsigned-trailer-crc32", StreamingUnsignedTrailer, s3checksum.CRC32},
		{"unsigned-trailer-crc32c", StreamingUnsignedTrailer, s3checksum.CRC32C},
		{"unsigned-trailer-crc64nvme", StreamingUnsignedTrailer, s3checksum.CRC64NVME},
		{"signed", StreamingSignedPayload, ""},
		{"signed-trailer-crc32", StreamingSignedPayloadTrailer, s3checksum.CRC32},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r0, enc := chunkedPut(b, data, c.mode, ChunkedOptions{Trailer: c.trailer})
			v, _ := newTestVerifier(b, testNow)
			rd := bytes.NewReader(enc)
			r := *r0
			r.Body = io.NopCloser(rd)
			buf := make([]byte, 128<<10)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			start := processCPU()
			for b.Loop() {
				rd.Reset(enc)
				a, err := v.Verify(&r)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := a.Body.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			reportCPU(b, start, int64(len(data)))
		})
	}
}

var _ = http.NoBody

// processCPU is the CPU time this process used. The machine is shared, so
// the benchmarks also report CPU per op, which wall time overstates
// under load (run with GOMAXPROCS=1 for a clean figure).
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, bytesPerOp int64) {
	cpu := processCPU() - start
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/op")
	if cpu > 0 && bytesPerOp > 0 {
		b.ReportMetric(float64(bytesPerOp)*n/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}

// BenchmarkHMAC calibrates the machine: one HMAC-SHA256 of a
// string-to-sign-sized message, the floor of any SigV4 verification.
func BenchmarkHMAC(b *testing.B) {
	key := SigningKey(docSecret, "20250314", "us-east-1", "s3")
	msg := stringToSign("20250314T150926Z", "20250314/us-east-1/s3/aws4_request", "canonical")
	start := processCPU()
	for b.Loop() {
		signHex(key, msg)
	}
	reportCPU(b, start, 0)
}

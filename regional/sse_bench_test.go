package regional_test

import (
	"crypto/rand"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/sse"
)

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSSE16MiB: PUT and GET of 16 MiB through a gateway (shards in
// memory, a 3-node metadata cluster in process), plain vs SSE-S3 vs SSE-C.
// cpu-ms/MiB is the whole process's CPU (client, gateway, metadata) per MiB.
func BenchmarkSSE16MiB(b *testing.B) {
	w := newSSEWorld(b)
	w.mustStatus(200, "PUT", "/bench", nil, nil)
	body := make([]byte, 16<<20)
	_, _ = rand.Read(body)
	key := sse.NewKey()
	for _, mode := range []struct {
		name     string
		hdr, get map[string]string
	}{
		{"plain", nil, nil},
		{"SSE-S3", map[string]string{"x-amz-server-side-encryption": "AES256"}, nil},
		{"SSE-C", ssec(key, ""), ssec(key, "")},
	} {
		obj := "/bench/" + mode.name
		for _, op := range []string{"PUT", "GET"} {
			b.Run(fmt.Sprintf("%s/%s", op, mode.name), func(b *testing.B) {
				if op == "GET" {
					w.mustStatus(200, "PUT", obj, body, mode.hdr)
				}
				b.SetBytes(int64(len(body)))
				cpu0 := processCPU()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var code int
					if op == "PUT" {
						code, _, _ = w.doResp("PUT", obj, body, mode.hdr)
					} else {
						var got []byte
						code, _, got = w.doResp("GET", obj, nil, mode.get)
						if len(got) != len(body) {
							b.Fatalf("GET %d bytes", len(got))
						}
					}
					if code != 200 {
						b.Fatalf("%s: %d", op, code)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N*16), "cpu-ms/MiB")
			})
		}
	}
}

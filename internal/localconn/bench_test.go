package localconn_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/localconn"
	"github.com/meridian-s3/meridian/testbed/benchtool"
)

// cpuTime is the process CPU so far (benchtool.SelfCPU: getrusage).
func cpuTime() time.Duration {
	d, _ := benchtool.SelfCPU()
	return d
}

// BenchmarkStream sends b.N MiB over an authenticated local connection
// (both ends in this process; reader with 32 KiB buffers, as net/http's)
// for several write sizes and socket buffer sizes ("default": the
// kernel's, net.core.wmem_default; otherwise SO_SNDBUF/SO_RCVBUF set on
// both ends, as Dial and Accept do with 1 MiB); it reports the process CPU
// per MiB (both ends together). Compare internal/connbuf's BenchmarkStream
// (the same over TLS).
//
//	go test -run '^$' -bench Stream -benchtime 512x ./internal/localconn/
func BenchmarkStream(b *testing.B) {
	for _, ws := range []int{32 << 10, 256 << 10, 1 << 20} {
		for _, sb := range []int{0, 1 << 20, 4 << 20} {
			name := "default"
			if sb > 0 {
				name = fmt.Sprintf("%dKiB", sb>>10)
			}
			b.Run(fmt.Sprintf("sockbuf=%s/write=%dKiB", name, ws>>10), func(b *testing.B) { benchStream(b, ws, sb) })
		}
	}
}

func benchStream(b *testing.B, writeSize, sockBuf int) {
	ca := newCA(b)
	cert := ca.issue(b, leafOpts{})
	l, err := localconn.Listen(shortDir(b), "127.0.0.1:1", localconn.ListenConfig{TLS: serverTLS(cert, ca)})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	total := int64(b.N) << 20
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		setBuffers(c.(*localconn.Conn), sockBuf)
		_, err = io.CopyBuffer(io.Discard, io.LimitReader(c, total), make([]byte, 32<<10))
		done <- err
	}()
	c, err := localconn.Dial(context.Background(), l.Path(), "", clientTLS(cert, ca))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	setBuffers(c, sockBuf)
	buf := make([]byte, writeSize)
	b.SetBytes(1 << 20)
	b.ResetTimer()
	cpu0 := cpuTime()
	for sent := int64(0); sent < total; {
		n := min(int64(len(buf)), total-sent)
		if _, err := c.Write(buf[:n]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/MiB")
}

// setBuffers: 0 puts back the kernel's defaults (as far as the sysctl
// says; SO_SNDBUF doubles what it is given).
func setBuffers(c *localconn.Conn, n int) {
	if n == 0 {
		n = 212992 / 2
	}
	_ = c.SetWriteBuffer(n)
	_ = c.SetReadBuffer(n)
}

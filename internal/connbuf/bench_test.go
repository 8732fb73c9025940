package connbuf

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStream sends b.N MiB over loopback TLS 1.3 (both ends in this
// process) with crypto/tls alone and with connbuf on both ends, for several
// write sizes; it reports the process CPU per MiB (both ends together).
//
//	go test -run '^$' -bench Stream -benchtime 512x ./internal/connbuf/
func BenchmarkStream(b *testing.B) {
	for _, ws := range []int{32 << 10, 256 << 10, 1 << 20} {
		for _, mode := range []string{"tls", "connbuf"} {
			b.Run(fmt.Sprintf("%s/write=%dKiB", mode, ws>>10), func(b *testing.B) {
				benchStream(b, mode == "connbuf", ws)
			})
		}
	}
}

func benchStream(b *testing.B, buffered bool, writeSize int) {
	scfg, ccfg := testConfigs(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	p := MustPool(DefaultOptions())
	var l net.Listener = tls.NewListener(ln, scfg)
	if buffered {
		l = p.NewListener(ln, scfg)
	}
	total := int64(b.N) << 20
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		// The reader's buffer is 32 KiB, as net/http's bufio readers.
		_, err = io.CopyBuffer(io.Discard, io.LimitReader(c, total), make([]byte, 32<<10))
		done <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	var c net.Conn = tls.Client(raw, ccfg)
	if buffered {
		c = p.Client(raw, ccfg)
	}
	defer c.Close()
	buf := pattern(writeSize, 1)
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
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/MiB")
}

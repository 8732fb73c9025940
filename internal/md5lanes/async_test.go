package md5lanes

import (
	"bytes"
	"crypto/md5"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestAsyncHashMatchesMD5(t *testing.T) {
	for _, size := range []int{0, 1, asyncHashBuf - 1, asyncHashBuf, asyncHashBuf + 1, 5*asyncHashBuf + 77} {
		data := make([]byte, size)
		r := rand.New(rand.NewPCG(uint64(size), 1))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		a := newAsyncHash(md5.New())
		// Uneven writes, like a streaming body.
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+r.IntN(3*asyncHashBuf/2))
			_, _ = a.Write(rest[:n])
			rest = rest[n:]
		}
		want := md5.Sum(data)
		if got := a.Sum(); !bytes.Equal(got, want[:]) {
			t.Errorf("size %d: got %x want %x", size, got, want)
		}
		if got := a.Sum(); !bytes.Equal(got, want[:]) {
			t.Errorf("size %d: second Sum differs", size)
		}
	}
}

func TestAsyncHashStopDuringWrites(t *testing.T) {
	// A cancelled request stops the hasher while the handler may still write.
	a := newAsyncHash(md5.New())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for i := 0; i < 2000; i++ {
			_, _ = a.Write(buf)
		}
	}()
	a.stop()
	wg.Wait()
}

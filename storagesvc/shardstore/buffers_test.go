package shardstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
)

// Buffers follow concurrency, not request count: 100 concurrent Puts and
// reads of 1 MiB and 100 KiB shards never hold more than BufferBytes of
// buffers at once, and all complete (they wait for a buffer).
func TestBuffersBoundedUnderConcurrency(t *testing.T) {
	o := testOpts(t.TempDir())
	o.BufferBytes = 3 * bufLen
	s := openStore(t, o)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			size := 100 << 10
			if i%2 == 0 {
				size = 1 << 20
			}
			b := data(size, uint64(i))
			id := fmt.Sprintf("s%03d", i)
			if _, err := s.Put(context.Background(), id, bytes.NewReader(b), int64(size), PutOptions{}); err != nil {
				errs <- err
				return
			}
			r, err := s.Open(id, 0, -1)
			if err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(r)
			_ = r.Close()
			if err != nil || !bytes.Equal(got, b) {
				errs <- fmt.Errorf("%s: read back %d bytes: %v", id, len(got), err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	in, peak, limit := s.BufferStats()
	t.Logf("buffer bytes: peak %d KiB of a %d KiB cap", peak>>10, limit>>10)
	if in != 0 || peak > limit || peak == 0 {
		t.Fatalf("buffers: %d out after the test, peak %d, cap %d", in, peak, limit)
	}
}

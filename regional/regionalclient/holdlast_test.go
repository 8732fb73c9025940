package regionalclient

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// endingBody yields data in pieces of at most step bytes, then end (io.EOF
// or an error), optionally with the last bytes (Go readers may return data
// together with io.EOF).
type endingBody struct {
	data     []byte
	step     int
	end      error
	withLast bool
}

func (b *endingBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, b.end
	}
	n := copy(p[:min(len(p), b.step)], b.data)
	b.data = b.data[n:]
	if b.withLast && len(b.data) == 0 {
		return n, b.end
	}
	return n, nil
}

func (b *endingBody) Close() error { return nil }

// TestHoldLastByte: a body that ends cleanly passes whole, whatever the
// read sizes; one that ends in an error never delivers its last byte, so a
// Content-Length request over HTTP/1.1 stays one byte short.
func TestHoldLastByte(t *testing.T) {
	boom := errors.New("verifier failed at the end")
	for _, size := range []int{0, 1, 2, 3, 100, 70000} {
		data := bytes.Repeat([]byte("abcdefg"), size/7+1)[:size]
		for _, step := range []int{1, 2, 7, 64 << 10} {
			for _, buf := range []int{1, 2, 5, 32 << 10} {
				for _, withLast := range []bool{false, true} {
					// Clean end: every byte, then io.EOF.
					h := HoldLastByte(&endingBody{data: bytes.Clone(data), step: step, end: io.EOF, withLast: withLast})
					got, err := readAllWith(h, buf)
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("size %d step %d buf %d last %v: clean body gave %d bytes, %v", size, step, buf, withLast, len(got), err)
					}
					// Error at the end: short by at least one byte, and the error.
					h = HoldLastByte(&endingBody{data: bytes.Clone(data), step: step, end: boom, withLast: withLast})
					got, err = readAllWith(h, buf)
					if !errors.Is(err, boom) {
						t.Fatalf("size %d step %d buf %d last %v: error at the end gave %v", size, step, buf, withLast, err)
					}
					if size > 0 && len(got) >= size {
						t.Fatalf("size %d step %d buf %d last %v: all %d bytes delivered before the error", size, step, buf, withLast, len(got))
					}
					if !bytes.Equal(got, data[:len(got)]) {
						t.Fatalf("size %d step %d buf %d: bytes out of order", size, step, buf)
					}
				}
			}
		}
	}
}

func readAllWith(r io.Reader, buf int) ([]byte, error) {
	var out []byte
	p := make([]byte, buf)
	for i := 0; ; i++ {
		n, err := r.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if i > 1<<20 {
			return out, errors.New("no progress")
		}
	}
}

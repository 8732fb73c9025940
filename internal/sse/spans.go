package sse

import (
	"fmt"
	"io"
)

// Span is one stream of a stored object: a single-stream object has one
// (its IV, its size), a multipart object one per part, stored one after
// the other. Size is the stream's plaintext size.
type Span struct {
	IV   []byte
	Size int64
}

// StoredSize is the ciphertext size of spans stored one after the other.
func StoredSize(spans []Span) int64 {
	var n int64
	for _, s := range spans {
		n += EncryptedSize(s.Size)
	}
	return n
}

// EncryptSpans returns a reader of the ciphertext of spans, stored one after
// the other, over the plaintext r yields (the sum of the spans' sizes, in
// order): each span is its own stream under key and its IV. A short r gives
// a short ciphertext, so the consumer's length check fails.
func EncryptSpans(key []byte, spans []Span, r io.Reader) (io.Reader, error) {
	rs := make([]io.Reader, 0, len(spans))
	for _, s := range spans {
		st, err := NewStream(key, s.IV, s.Size)
		if err != nil {
			return nil, err
		}
		rs = append(rs, st.Encrypt(io.LimitReader(r, s.Size)))
	}
	return io.MultiReader(rs...), nil
}

// SpansDecrypter is an io.Writer that takes the whole ciphertext of spans,
// in order (StoredSize bytes), and writes their plaintext to its
// destination, each package only after it authenticated. Close reports a
// short ciphertext.
type SpansDecrypter struct {
	key   []byte
	spans []Span
	w     io.Writer
	i     int        // current span
	cur   *Decrypter // its decrypter
	left  int64      // ciphertext bytes the current span still takes
	err   error
}

// DecryptSpans returns a SpansDecrypter of spans under key writing to w.
func DecryptSpans(key []byte, spans []Span, w io.Writer) (*SpansDecrypter, error) {
	d := &SpansDecrypter{key: key, spans: spans, w: w, i: -1}
	for _, s := range spans {
		if _, err := NewStream(key, s.IV, s.Size); err != nil {
			return nil, err
		}
	}
	d.next()
	return d, d.err
}

// next closes the current span (checking it was whole) and opens the next
// non-empty one.
func (d *SpansDecrypter) next() {
	if d.cur != nil {
		if err := d.cur.Close(); err != nil {
			d.err = err
			return
		}
		d.cur = nil
	}
	for d.i+1 < len(d.spans) {
		d.i++
		s := d.spans[d.i]
		if s.Size == 0 {
			continue
		}
		st, err := NewStream(d.key, s.IV, s.Size)
		if err != nil {
			d.err = err
			return
		}
		d.cur, d.left = st.NewDecrypter(d.w, 0, s.Size), st.EncryptedSize()
		return
	}
}

// Write implements io.Writer.
func (d *SpansDecrypter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if d.err != nil {
			return total - len(p), d.err
		}
		if d.cur == nil {
			d.err = fmt.Errorf("sse: ciphertext past the last stream")
			return total - len(p), d.err
		}
		n := int(min(int64(len(p)), d.left))
		if _, err := d.cur.Write(p[:n]); err != nil {
			d.err = err
			return total - len(p), err
		}
		p, d.left = p[n:], d.left-int64(n)
		if d.left == 0 {
			d.next()
		}
	}
	return total, d.err
}

// Close reports whether every span was written whole (ErrShort otherwise).
func (d *SpansDecrypter) Close() error {
	if d.err != nil {
		return d.err
	}
	if d.cur != nil {
		return ErrShort
	}
	return nil
}

package sse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestSpansRoundTrip: the ciphertext of consecutive streams (a multipart
// object's parts) is each part's own stream, and DecryptSpans gives the
// plaintext back whatever the write sizes; a cut or changed ciphertext
// fails.
func TestSpansRoundTrip(t *testing.T) {
	key := NewKey()
	for _, sizes := range [][]int64{{0}, {100}, {PackageSize + 3}, {5 << 10, 0, PackageSize, 2*PackageSize + 1}, {1, 1, 1}} {
		var spans []Span
		var total int64
		for _, n := range sizes {
			spans = append(spans, Span{IV: NewIV(), Size: n})
			total += n
		}
		plain := pattern(int(total))
		er, err := EncryptSpans(key, spans, bytes.NewReader(plain))
		if err != nil {
			t.Fatal(err)
		}
		ct, err := io.ReadAll(er)
		if err != nil || int64(len(ct)) != StoredSize(spans) {
			t.Fatalf("%v: %d ciphertext bytes, want %d (%v)", sizes, len(ct), StoredSize(spans), err)
		}
		// Each span is a stream of its own: the first decrypts alone.
		if sizes[0] > 0 {
			s0, _ := NewStream(key, spans[0].IV, sizes[0])
			got, err := decrypt(s0, ct[:s0.EncryptedSize()], 0, sizes[0], 7)
			if err != nil || !bytes.Equal(got, plain[:sizes[0]]) {
				t.Fatalf("%v: first span alone: %v", sizes, err)
			}
		}
		for _, chunk := range []int{1, 1000, 1 << 20} {
			var out bytes.Buffer
			d, err := DecryptSpans(key, spans, &out)
			if err != nil {
				t.Fatal(err)
			}
			for src := ct; len(src) > 0; {
				n := min(chunk, len(src))
				if _, err := d.Write(src[:n]); err != nil {
					t.Fatalf("%v chunk %d: %v", sizes, chunk, err)
				}
				src = src[n:]
			}
			if err := d.Close(); err != nil || !bytes.Equal(out.Bytes(), plain) {
				t.Fatalf("%v chunk %d: close %v, equal %v", sizes, chunk, err, bytes.Equal(out.Bytes(), plain))
			}
		}
		if len(ct) == 0 {
			continue
		}
		// Short by one byte: Close fails.
		d, _ := DecryptSpans(key, spans, io.Discard)
		_, werr := d.Write(ct[:len(ct)-1])
		if werr == nil && d.Close() == nil {
			t.Fatalf("%v: a cut ciphertext decrypted", sizes)
		}
		// A flipped byte: ErrAuth.
		bad := append([]byte(nil), ct...)
		bad[len(bad)/2] ^= 1
		d, _ = DecryptSpans(key, spans, io.Discard)
		if _, err := d.Write(bad); !errors.Is(err, ErrAuth) {
			if err == nil {
				err = d.Close()
			}
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("%v: tampered ciphertext: %v", sizes, err)
			}
		}
		// One byte too many.
		d, _ = DecryptSpans(key, spans, io.Discard)
		if _, err := d.Write(append(append([]byte(nil), ct...), 0)); err == nil {
			t.Fatalf("%v: extra ciphertext accepted", sizes)
		}
	}
	// Short plaintext: the ciphertext is short too.
	spans := []Span{{NewIV(), 10}, {NewIV(), 10}}
	er, _ := EncryptSpans(key, spans, bytes.NewReader(make([]byte, 15)))
	if ct, _ := io.ReadAll(er); int64(len(ct)) >= StoredSize(spans) {
		t.Fatalf("short plaintext gave %d ciphertext bytes", len(ct))
	}
}

// BenchmarkSpansReencrypt is what replicating a 16 MiB SSE-S3 or SSE-KMS
// version adds in CPU: the source decrypts its stored streams, the
// destination encrypts the plaintext under its own key (four 4 MiB parts).
func BenchmarkSpansReencrypt(b *testing.B) {
	const part = 4 << 20
	src, dst := NewKey(), NewKey()
	var spans, out []Span
	for range 4 {
		spans = append(spans, Span{IV: NewIV(), Size: part})
		out = append(out, Span{IV: NewIV(), Size: part})
	}
	plain := pattern(4 * part)
	er, _ := EncryptSpans(src, spans, bytes.NewReader(plain))
	ct, _ := io.ReadAll(er)
	b.SetBytes(int64(len(plain)))
	b.ResetTimer()
	for range b.N {
		pr, pw := io.Pipe()
		go func() {
			d, _ := DecryptSpans(src, spans, pw)
			_, err := d.Write(ct)
			if err == nil {
				err = d.Close()
			}
			pw.CloseWithError(err)
		}()
		enc, _ := EncryptSpans(dst, out, pr)
		if n, err := io.Copy(io.Discard, enc); err != nil || n != StoredSize(out) {
			b.Fatal(n, err)
		}
	}
}

package sse

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecryptTampered: whatever is done to a stream's ciphertext (a byte
// flipped at pos, the stream cut at cut, both chosen by the fuzzer), the
// decrypter never panics and never writes a byte that is not the
// plaintext's: it writes a correct prefix, then fails with ErrAuth or
// ErrShort — or, for an untouched ciphertext, writes all of it.
func FuzzDecryptTampered(f *testing.F) {
	f.Add(uint32(3*PackageSize+100), uint32(10), byte(1), uint32(1<<30), uint32(0), uint32(1<<30))
	f.Add(uint32(PackageSize), uint32(PackageSize+3), byte(0x80), uint32(PackageSize), uint32(5), uint32(PackageSize))
	f.Add(uint32(1), uint32(0), byte(0), uint32(0), uint32(0), uint32(1))
	key, iv := NewKey(), NewIV()
	f.Fuzz(func(t *testing.T, size, pos uint32, flip byte, cut, off, length uint32) {
		n := int64(size % (4*PackageSize + 1))
		plain := pattern(int(n))
		s, err := NewStream(key, iv, n)
		if err != nil {
			t.Fatal(err)
		}
		ct := encrypt(t, s, plain)
		o := int64(off) % (n + 1)
		l := int64(length) % (n - o + 1)
		co, cl := s.CiphertextRange(o, l)
		src := bytes.Clone(ct[co : co+cl])
		tampered := false
		if len(src) > 0 && flip != 0 {
			src[int(pos)%len(src)] ^= flip
			tampered = true
		}
		if c := int(cut); c < len(src) {
			src = src[:c]
			tampered = true
		}
		var out bytes.Buffer
		d := s.NewDecrypter(&out, o, l)
		_, err = d.Write(src)
		if err == nil {
			err = d.Close()
		}
		if !bytes.Equal(out.Bytes(), plain[o:o+int64(out.Len())]) {
			t.Fatal("wrote bytes that are not the plaintext")
		}
		switch {
		case !tampered && (err != nil || int64(out.Len()) != l):
			t.Fatalf("untouched ciphertext: %v, %d of %d bytes", err, out.Len(), l)
		case tampered && err == nil:
			t.Fatal("tampered ciphertext decrypted without error")
		case tampered && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrShort):
			t.Fatalf("tampered: unexpected error %v", err)
		}
	})
}

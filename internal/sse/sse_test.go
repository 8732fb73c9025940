package sse

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

func pattern(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func encrypt(t *testing.T, s *Stream, plain []byte) []byte {
	t.Helper()
	ct, err := io.ReadAll(s.Encrypt(bytes.NewReader(plain)))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(ct)) != s.EncryptedSize() {
		t.Fatalf("ciphertext %d bytes, want %d", len(ct), s.EncryptedSize())
	}
	return ct
}

// decrypt reads [off, off+length) through CiphertextRange + Decrypter,
// feeding the ciphertext in chunks of chunk bytes.
func decrypt(s *Stream, ct []byte, off, length int64, chunk int) ([]byte, error) {
	var out bytes.Buffer
	co, cl := s.CiphertextRange(off, length)
	d := s.NewDecrypter(&out, off, length)
	src := ct[co : co+cl]
	for len(src) > 0 {
		n := min(chunk, len(src))
		if _, err := d.Write(src[:n]); err != nil {
			return out.Bytes(), err
		}
		src = src[n:]
	}
	return out.Bytes(), d.Close()
}

func TestRoundTripRanges(t *testing.T) {
	key, iv := NewKey(), NewIV()
	for _, size := range []int{0, 1, 100, PackageSize - 1, PackageSize, PackageSize + 1, 3*PackageSize + 17, 5 * PackageSize} {
		plain := pattern(size)
		s, err := NewStream(key, iv, int64(size))
		if err != nil {
			t.Fatal(err)
		}
		ct := encrypt(t, s, plain)
		if size > 64 && bytes.Contains(ct, plain[:64]) {
			t.Fatalf("size %d: ciphertext contains plaintext", size)
		}
		type rg struct{ off, n int64 }
		ranges := []rg{{0, int64(size)}}
		if size > 0 {
			ranges = append(ranges, rg{0, 1}, rg{int64(size) - 1, 1}, rg{int64(size) / 2, int64(size) / 3})
		}
		if size > PackageSize+3 {
			ranges = append(ranges, rg{PackageSize - 3, 6}, rg{PackageSize, int64(size) - PackageSize})
		}
		for _, r := range ranges {
			for _, chunk := range []int{1 << 20, 4096, 7} {
				got, err := decrypt(s, ct, r.off, r.n, chunk)
				if err != nil {
					t.Fatalf("size %d range %+v chunk %d: %v", size, r, chunk, err)
				}
				if !bytes.Equal(got, plain[r.off:r.off+r.n]) {
					t.Fatalf("size %d range %+v chunk %d: wrong bytes", size, r, chunk)
				}
			}
			// Only the overlapped packages are read.
			co, cl := s.CiphertextRange(r.off, r.n)
			if r.n > 0 && (co%(PackageSize+TagSize) != 0 || cl > (r.n/PackageSize+2)*(PackageSize+TagSize)) {
				t.Fatalf("size %d range %+v: ciphertext range %d+%d too wide", size, r, co, cl)
			}
		}
	}
}

func TestTamperNeverYieldsWrongBytes(t *testing.T) {
	key, iv := NewKey(), NewIV()
	size := 3*PackageSize + 100
	plain := pattern(size)
	s, _ := NewStream(key, iv, int64(size))
	ct := encrypt(t, s, plain)
	full := PackageSize + TagSize
	other, _ := NewStream(NewKey(), iv, int64(size))
	otherIV, _ := NewStream(key, NewIV(), int64(size))
	swapped := bytes.Clone(ct)
	copy(swapped[:full], ct[full:2*full])
	copy(swapped[full:2*full], ct[:full])
	// A stream declared one package shorter: its last package is package 2
	// with the final flag, but the stored package 2 was sealed non-final.
	shorter, _ := NewStream(key, iv, int64(3*PackageSize))
	cases := []struct {
		name   string
		s      *Stream
		ct     []byte
		mutate func([]byte)
	}{
		{"flipped bit in first package", s, ct, func(b []byte) { b[10] ^= 1 }},
		{"flipped bit in tag", s, ct, func(b []byte) { b[full-1] ^= 0x80 }},
		{"flipped bit in last package", s, ct, func(b []byte) { b[len(b)-20] ^= 4 }},
		{"packages swapped", s, swapped, nil},
		{"wrong key", other, ct, nil},
		{"wrong IV", otherIV, ct, nil},
		{"truncated at a package boundary", shorter, ct[:3*full], nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(c.ct)
			if c.mutate != nil {
				c.mutate(b)
			}
			var out bytes.Buffer
			d := c.s.NewDecrypter(&out, 0, c.s.Size())
			_, err := d.Write(b[:min(len(b), int(c.s.EncryptedSize()))])
			if err == nil {
				err = d.Close()
			}
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			// Whatever was written before the failure is a correct prefix.
			if !bytes.Equal(out.Bytes(), plain[:out.Len()]) {
				t.Fatal("wrong bytes were written before the failure")
			}
		})
	}
	// A ciphertext cut short mid-package: ErrShort, never a partial package.
	var out bytes.Buffer
	d := s.NewDecrypter(&out, 0, int64(size))
	if _, err := d.Write(ct[:full+100]); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); !errors.Is(err, ErrShort) || out.Len() != PackageSize {
		t.Fatalf("short: err %v, %d bytes out", err, out.Len())
	}
}

func TestEncryptShortAndFailingSource(t *testing.T) {
	s, _ := NewStream(NewKey(), NewIV(), 2*PackageSize)
	ct, err := io.ReadAll(s.Encrypt(bytes.NewReader(pattern(PackageSize + 5))))
	if err != nil || int64(len(ct)) >= s.EncryptedSize() {
		t.Fatalf("short source: %d bytes, err %v", len(ct), err)
	}
	boom := errors.New("boom")
	_, err = io.ReadAll(s.Encrypt(io.MultiReader(bytes.NewReader(pattern(100)), iotestErr{boom})))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the source's", err)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

func TestWrapAndKeyCheck(t *testing.T) {
	kek, key := NewKey(), NewKey()
	w, err := WrapKey(kek, key, []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnwrapKey(kek, w, []byte("ctx")); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := UnwrapKey(kek, w, []byte("other")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("other context: %v", err)
	}
	if _, err := UnwrapKey(NewKey(), w, []byte("ctx")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("other kek: %v", err)
	}
	salt, mac := KeyCheck(key)
	if !CheckKey(key, salt, mac) || CheckKey(kek, salt, mac) {
		t.Fatal("CheckKey")
	}
	if OpaqueETag(key, []byte("m")) != OpaqueETag(key, []byte("m")) || OpaqueETag(key, []byte("m")) == OpaqueETag(kek, []byte("m")) {
		t.Fatal("OpaqueETag")
	}
}

func BenchmarkEncrypt(b *testing.B) {
	plain := pattern(16 << 20)
	s, _ := NewStream(NewKey(), NewIV(), int64(len(plain)))
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		if _, err := io.Copy(io.Discard, s.Encrypt(bytes.NewReader(plain))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	plain := pattern(16 << 20)
	s, _ := NewStream(NewKey(), NewIV(), int64(len(plain)))
	ct, _ := io.ReadAll(s.Encrypt(bytes.NewReader(plain)))
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		d := s.NewDecrypter(io.Discard, 0, int64(len(plain)))
		if _, err := io.Copy(d, bytes.NewReader(ct)); err != nil {
			b.Fatal(err)
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

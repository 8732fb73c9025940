// Package sse is Meridian's at-rest encryption format for object bytes
// (docs/sse.md). The regional gateway encrypts a body before erasure coding,
// so shards and inline records hold only ciphertext, and decrypts on read.
//
// # Stream format (version 1)
//
// An object (or one multipart part) is one stream: its plaintext is cut into
// packages of PackageSize bytes (the last may be shorter; an empty stream has
// no package), and package i is sealed with AES-256-GCM:
//
//	stream key  = HMAC-SHA256(object key, "meridian sse stream v1\x00" || IV)
//	nonce(i)    = uint64be(i) || 0x00000000
//	aad(i)      = "meridian sse v1\x00" || uint64be(i) || final
//	package(i)  = GCM-Seal(stream key, nonce(i), plaintext[i*P:(i+1)*P], aad(i))
//
// The IV is 32 random bytes per stream, so every stream has its own key and
// the counter nonces never repeat under one key. The index and the final
// flag (1 for the last package, else 0) are authenticated: reordered,
// duplicated, truncated or extended ciphertext fails to open, and a reader
// never returns bytes that did not authenticate.
//
// Ciphertext is plaintext plus a 16-byte tag per package, so a plaintext
// range maps to a ciphertext range of whole packages (CiphertextRange) and a
// ranged read decrypts only the packages it overlaps.
package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Sizes of the format.
const (
	// PackageSize is the plaintext size of every package but the last.
	PackageSize = 64 << 10
	// TagSize is the GCM tag added to each package.
	TagSize = 16
	// KeySize is the size of object keys, customer keys and master keys.
	KeySize = 32
	// IVSize is the size of a stream's random IV.
	IVSize = 32
	// sealedPackage is the ciphertext size of a full package.
	sealedPackage = PackageSize + TagSize
)

// Errors.
var (
	// ErrAuth: a package failed to authenticate (tampered, truncated,
	// reordered ciphertext, or the wrong key).
	ErrAuth = errors.New("sse: ciphertext failed to authenticate")
	// ErrKeySize: a key is not KeySize bytes.
	ErrKeySize = errors.New("sse: keys must be 32 bytes")
	// ErrIVSize: an IV is not IVSize bytes.
	ErrIVSize = errors.New("sse: IVs must be 32 bytes")
	// ErrShort: the ciphertext ended before the range it should cover.
	ErrShort = errors.New("sse: ciphertext ended early")
)

// NewIV returns a fresh random stream IV.
func NewIV() []byte {
	iv := make([]byte, IVSize)
	_, _ = rand.Read(iv) // never fails (Go ≥1.24)
	return iv
}

// NewKey returns a fresh random 256-bit key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return k
}

// EncryptedSize is the ciphertext size of a stream of n plaintext bytes.
func EncryptedSize(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return n + packages(n)*TagSize
}

func packages(n int64) int64 { return (n + PackageSize - 1) / PackageSize }

// Stream is one stream's cipher: object key + IV + plaintext size. It is
// immutable and safe for concurrent use.
type Stream struct {
	aead cipher.AEAD
	size int64
	last int64 // index of the final package (-1 for an empty stream)
}

// NewStream derives the stream key of (key, iv) for a stream of size
// plaintext bytes.
func NewStream(key, iv []byte, size int64) (*Stream, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	if len(iv) != IVSize {
		return nil, ErrIVSize
	}
	if size < 0 {
		return nil, fmt.Errorf("sse: negative size %d", size)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("meridian sse stream v1\x00"))
	m.Write(iv)
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Stream{aead: aead, size: size, last: packages(size) - 1}, nil
}

// Size is the stream's plaintext size.
func (s *Stream) Size() int64 { return s.size }

// EncryptedSize is the stream's ciphertext size.
func (s *Stream) EncryptedSize() int64 { return EncryptedSize(s.size) }

func nonce(i int64) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[:8], uint64(i))
	return n[:]
}

func (s *Stream) aad(i int64, buf *[25]byte) []byte {
	copy(buf[:], "meridian sse v1\x00")
	binary.BigEndian.PutUint64(buf[16:24], uint64(i))
	buf[24] = 0
	if i == s.last {
		buf[24] = 1
	}
	return buf[:]
}

// CiphertextRange maps the plaintext range [off, off+length) to the
// ciphertext range of the whole packages that hold it.
func (s *Stream) CiphertextRange(off, length int64) (ctOff, ctLen int64) {
	if length <= 0 {
		return 0, 0
	}
	first := off / PackageSize
	last := (off + length - 1) / PackageSize
	ctOff = first * sealedPackage
	end := min((last+1)*sealedPackage, s.EncryptedSize())
	return ctOff, end - ctOff
}

// Encrypt returns a reader of the ciphertext of the size plaintext bytes r
// yields. Errors of r are returned unchanged. If r ends early the reader
// returns the ciphertext of what it had (shorter than EncryptedSize), then
// io.EOF, so the consumer's length check fails as it would on a short
// plaintext. Memory: one package.
func (s *Stream) Encrypt(r io.Reader) io.Reader {
	return &encrypter{s: s, r: r, buf: make([]byte, 0, sealedPackage)}
}

type encrypter struct {
	s    *Stream
	r    io.Reader
	idx  int64
	read int64  // plaintext consumed
	buf  []byte // sealed package
	pos  int    // next unread byte of buf
	err  error
	aad  [25]byte
}

func (e *encrypter) Read(p []byte) (int, error) {
	for e.pos == len(e.buf) {
		if e.err != nil {
			return 0, e.err
		}
		if e.read >= e.s.size {
			e.err = io.EOF
			return 0, io.EOF
		}
		e.fill()
	}
	n := copy(p, e.buf[e.pos:])
	e.pos += n
	return n, nil
}

// fill reads and seals the next package (or records r's error).
func (e *encrypter) fill() {
	want := min(int64(PackageSize), e.s.size-e.read)
	plain := e.buf[:want]
	n, err := io.ReadFull(e.r, plain)
	e.read += int64(n)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		e.err = io.EOF // short: seal what came, then end
	default:
		e.err = err
		if n == 0 {
			e.buf, e.pos = e.buf[:0], 0
			return
		}
	}
	if n == 0 {
		e.buf, e.pos = e.buf[:0], 0
		return
	}
	e.buf = e.s.aead.Seal(plain[:0], nonce(e.idx), plain[:n], e.s.aad(e.idx, &e.aad))
	e.pos = 0
	e.idx++
}

// Decrypter is an io.Writer that takes the ciphertext of CiphertextRange(off,
// length), in order, and writes exactly the plaintext [off, off+length) to
// its destination, package by package, only after each package
// authenticated. Close reports a short ciphertext.
type Decrypter struct {
	s       *Stream
	w       io.Writer
	idx     int64 // index of the package being collected
	skip    int64 // plaintext bytes to drop from the first package
	left    int64 // plaintext bytes still to write
	buf     []byte
	scratch []byte
	aad     [25]byte
	err     error
}

// NewDecrypter returns a Decrypter of the plaintext range [off, off+length).
func (s *Stream) NewDecrypter(w io.Writer, off, length int64) *Decrypter {
	d := &Decrypter{s: s, w: w, idx: off / PackageSize, skip: off % PackageSize, left: length}
	if off < 0 || length < 0 || off+length > s.size {
		d.err = fmt.Errorf("sse: range [%d,+%d) outside a %d-byte stream", off, length, s.size)
	}
	return d
}

// packageLen is the ciphertext length of package i.
func (d *Decrypter) packageLen(i int64) int {
	if i < d.s.last {
		return sealedPackage
	}
	return int(d.s.size-i*PackageSize) + TagSize
}

// Write implements io.Writer.
func (d *Decrypter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	total := len(p)
	for len(p) > 0 {
		if d.left <= 0 {
			d.err = fmt.Errorf("sse: ciphertext past the requested range")
			return total - len(p), d.err
		}
		want := d.packageLen(d.idx)
		if len(d.buf) == 0 && len(p) >= want {
			// A whole package in p: open it without copying it first.
			if err := d.open(p[:want]); err != nil {
				return total - len(p), err
			}
			p = p[want:]
			continue
		}
		if d.buf == nil {
			d.buf = make([]byte, 0, sealedPackage)
		}
		n := min(want-len(d.buf), len(p))
		d.buf = append(d.buf, p[:n]...)
		p = p[n:]
		if len(d.buf) == want {
			if err := d.open(d.buf); err != nil {
				return total - len(p), err
			}
			d.buf = d.buf[:0]
		}
	}
	return total, nil
}

func (d *Decrypter) open(sealed []byte) error {
	if d.scratch == nil {
		d.scratch = make([]byte, 0, PackageSize)
	}
	plain, err := d.s.aead.Open(d.scratch[:0], nonce(d.idx), sealed, d.s.aad(d.idx, &d.aad))
	if err != nil {
		d.err = fmt.Errorf("%w (package %d)", ErrAuth, d.idx)
		return d.err
	}
	d.idx++
	if d.skip > 0 {
		plain = plain[d.skip:]
		d.skip = 0
	}
	if int64(len(plain)) > d.left {
		plain = plain[:d.left]
	}
	d.left -= int64(len(plain))
	if _, err := d.w.Write(plain); err != nil {
		d.err = err
		return err
	}
	return nil
}

// Close reports whether the whole range was written (ErrShort otherwise).
func (d *Decrypter) Close() error {
	if d.err != nil {
		return d.err
	}
	if d.left > 0 {
		return ErrShort
	}
	return nil
}

package localconn

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"slices"
	"syscall"
	"time"
)

// Limits of the handshake (docs in doc.go).
const (
	Magic                   = "MRDNLC1\n"
	NonceSize               = 32
	MaxCerts                = 8
	MaxChainBytes           = 64 << 10
	MaxSignatureBytes       = 1 << 10
	MaxProtocolBytes        = 255
	DefaultHandshakeTimeout = 5 * time.Second
	MaxPendingHandshakes    = 64
)

// Sentinel errors.
var (
	// ErrUnavailable: no server at the socket path (missing, refused). A
	// client falls back to TLS without a word.
	ErrUnavailable = errors.New("localconn: no local server")
	// ErrHandshake: the local handshake failed (the peer could not be
	// authenticated, or broke the protocol). A client falls back to TLS
	// and says so.
	ErrHandshake = errors.New("localconn: handshake failed")
	// ErrPeerUID: the peer process runs as another user.
	ErrPeerUID = errors.New("localconn: peer runs as another user")
	// ErrConfig: a tls.Config that cannot serve a local handshake.
	ErrConfig = errors.New("localconn: unusable configuration")
)

const (
	transcriptLabel = "meridian localconn v1 transcript"
	clientSigLabel  = "meridian localconn v1 client"
	serverSigLabel  = "meridian localconn v1 server"
)

// handshakeError is a failed step. Its text is one of a fixed set (the
// step, and describe's class of the cause): nothing a peer sent, such as
// the names in a certificate that did not verify, reaches a log through
// it. The cause stays reachable with errors.Is/As.
type handshakeError struct {
	step, what string
	cause      error
}

func (e *handshakeError) Error() string {
	return "localconn: handshake failed: " + e.step + ": " + e.what
}

func (e *handshakeError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrHandshake}
	}
	return []error{ErrHandshake, e.cause}
}

// fail is ErrHandshake for a step, with a fixed-format text.
func fail(step string, err error) error {
	return &handshakeError{step: step, what: describe(err), cause: err}
}

// protoError is a violation of the handshake's format (fixed texts).
type protoError string

func (e protoError) Error() string { return string(e) }

// checkError is a refusal by the config's own VerifyPeerCertificate or
// VerifyConnection (run only on a chain that parsed): its text is the
// local code's, so it is kept.
type checkError struct{ err error }

func (e checkError) Error() string { return e.err.Error() }
func (e checkError) Unwrap() error { return e.err }

// describe classes a step's cause into a fixed text.
func describe(err error) string {
	var (
		pe protoError
		ce checkError
		ua x509.UnknownAuthorityError
		ci x509.CertificateInvalidError
		he x509.HostnameError
		ne net.Error
	)
	switch {
	case err == nil:
		return "refused"
	case errors.As(err, &pe):
		return pe.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the peer"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	case errors.As(err, &ne) && ne.Timeout():
		return "deadline exceeded"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset by the peer"
	case errors.As(err, &ua):
		return "certificate signed by an unknown authority"
	case errors.As(err, &he):
		return "certificate not valid for the server name"
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			return "certificate expired or not yet valid"
		case x509.IncompatibleUsage:
			return "certificate not valid for this use"
		}
		return "certificate invalid"
	case errors.As(err, &ce):
		// After the x509 cases: a check that verifies the chain itself
		// (internal/mtls) reports x509's errors, which are classed above.
		return "refused by the configuration's checks: " + ce.Error()
	}
	return "invalid"
}

// certOf returns the certificate a config presents (the first one).
func certOf(tc *tls.Config) (*tls.Certificate, error) {
	if tc == nil || len(tc.Certificates) == 0 || len(tc.Certificates[0].Certificate) == 0 {
		return nil, fmt.Errorf("%w: no certificate in the tls.Config", ErrConfig)
	}
	c := &tc.Certificates[0]
	if _, ok := c.PrivateKey.(crypto.Signer); !ok {
		return nil, fmt.Errorf("%w: the private key cannot sign", ErrConfig)
	}
	if len(c.Certificate) > MaxCerts || encodedChainLen(c.Certificate) > MaxChainBytes {
		return nil, fmt.Errorf("%w: the certificate chain exceeds the handshake's bounds", ErrConfig)
	}
	return c, nil
}

func encodedChainLen(chain [][]byte) int {
	n := 1
	for _, c := range chain {
		n += 4 + len(c)
	}
	return n
}

// encodeChain is u8 count, then u32 length + DER per certificate.
func encodeChain(chain [][]byte) []byte {
	b := make([]byte, 0, encodedChainLen(chain))
	b = append(b, byte(len(chain)))
	for _, c := range chain {
		b = binary.BigEndian.AppendUint32(b, uint32(len(c)))
		b = append(b, c...)
	}
	return b
}

// readChain reads one encoded chain, at most MaxChainBytes in all, and
// returns its bytes as sent (for the transcript) and the certificates.
func readChain(r io.Reader) (enc []byte, chain [][]byte, err error) {
	var hdr [1]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, err
	}
	n := int(hdr[0])
	if n < 1 || n > MaxCerts {
		return nil, nil, protoError("certificate count out of bounds")
	}
	enc = append(make([]byte, 0, 1024), hdr[0])
	for i := 0; i < n; i++ {
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, nil, err
		}
		size := int(binary.BigEndian.Uint32(l[:]))
		if size < 1 || size > MaxChainBytes-len(enc)-4 {
			return nil, nil, protoError("certificate chain exceeds the bound")
		}
		enc = append(enc, l[:]...)
		start := len(enc)
		enc = slices.Grow(enc, size)[:start+size]
		if _, err := io.ReadFull(r, enc[start:]); err != nil {
			return nil, nil, err
		}
		chain = append(chain, enc[start:start+size:start+size])
	}
	return enc, chain, nil
}

// readSmall reads a length-prefixed field (u8 or u16 length) of at most max bytes.
func readSmall(r io.Reader, wide bool, max int) ([]byte, error) {
	var n int
	if wide {
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	} else {
		var l [1]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, err
		}
		n = int(l[0])
	}
	if n > max {
		return nil, protoError("field exceeds its bound")
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func readHello(r io.Reader) (nonce []byte, err error) {
	// The magic first, alone: a peer speaking something else (an HTTP
	// request, a TLS hello) is refused at once, not at the deadline.
	var m [len(Magic)]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return nil, err
	}
	if !bytes.Equal(m[:], []byte(Magic)) {
		return nil, protoError("not a local handshake of this version")
	}
	nonce = make([]byte, NonceSize)
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, err
	}
	return nonce, nil
}

// transcript is the hash both signatures cover.
func transcript(serverNonce, clientNonce, serverChain, clientChain []byte, proto, path string) []byte {
	h := sha256.New()
	field := func(h hash.Hash, b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	field(h, []byte(transcriptLabel))
	field(h, serverNonce)
	field(h, clientNonce)
	field(h, serverChain)
	field(h, clientChain)
	field(h, []byte(proto))
	field(h, []byte(path))
	return h.Sum(nil)
}

func signedMessage(label string, th []byte) []byte {
	m := make([]byte, 0, len(label)+1+len(th))
	m = append(m, label...)
	m = append(m, 0)
	return append(m, th...)
}

// sign signs label ‖ 0 ‖ th with the certificate's key.
func sign(c *tls.Certificate, label string, th []byte) ([]byte, error) {
	s := c.PrivateKey.(crypto.Signer)
	msg := signedMessage(label, th)
	switch s.Public().(type) {
	case *ecdsa.PublicKey:
		d := sha256.Sum256(msg)
		return s.Sign(rand.Reader, d[:], crypto.SHA256)
	case *rsa.PublicKey:
		d := sha256.Sum256(msg)
		return s.Sign(rand.Reader, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	case ed25519.PublicKey:
		return s.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	return nil, fmt.Errorf("%w: unsupported key type", ErrConfig)
}

// checkSig verifies the peer's signature with its leaf certificate.
func checkSig(leaf *x509.Certificate, label string, th, sig []byte) error {
	var algo x509.SignatureAlgorithm
	switch leaf.PublicKey.(type) {
	case *ecdsa.PublicKey:
		algo = x509.ECDSAWithSHA256
	case *rsa.PublicKey:
		algo = x509.SHA256WithRSAPSS
	case ed25519.PublicKey:
		algo = x509.PureEd25519
	default:
		return protoError("unsupported key type")
	}
	return leaf.CheckSignature(algo, signedMessage(label, th), sig)
}

// VerifyChain parses a DER chain (leaf first) and verifies it with opts
// (its Intermediates are the chain's other certificates).
func VerifyChain(chain [][]byte, opts x509.VerifyOptions) ([]*x509.Certificate, [][]*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, nil, errors.New("empty certificate chain")
	}
	certs := make([]*x509.Certificate, 0, len(chain))
	for _, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, err
		}
		certs = append(certs, c)
	}
	opts.Intermediates = x509.NewCertPool()
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := certs[0].Verify(opts)
	if err != nil {
		return nil, nil, err
	}
	return certs, chains, nil
}

func now(tc *tls.Config) time.Time {
	if tc.Time != nil {
		return tc.Time()
	}
	return time.Now()
}

// verifyPeer verifies the peer's chain as crypto/tls would with tc: a
// client's chain (server side) against ClientCAs for client
// authentication, a server's (client side) against RootCAs and
// ServerName unless InsecureSkipVerify; then VerifyPeerCertificate and
// VerifyConnection with the state the connection will have.
func verifyPeer(tc *tls.Config, server bool, chain [][]byte, st *tls.ConnectionState) error {
	var certs []*x509.Certificate
	var chains [][]*x509.Certificate
	var err error
	switch {
	case server:
		certs, chains, err = VerifyChain(chain, x509.VerifyOptions{Roots: tc.ClientCAs, CurrentTime: now(tc),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	case tc.InsecureSkipVerify:
		certs = make([]*x509.Certificate, 0, len(chain))
		for _, der := range chain {
			c, perr := x509.ParseCertificate(der)
			if perr != nil {
				return perr
			}
			certs = append(certs, c)
		}
	default:
		certs, chains, err = VerifyChain(chain, x509.VerifyOptions{Roots: tc.RootCAs, CurrentTime: now(tc),
			DNSName: tc.ServerName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	}
	if err != nil {
		return err
	}
	st.PeerCertificates, st.VerifiedChains = certs, chains
	if tc.VerifyPeerCertificate != nil {
		if err := tc.VerifyPeerCertificate(chain, chains); err != nil {
			return checkError{err}
		}
	}
	if tc.VerifyConnection != nil {
		if err := tc.VerifyConnection(*st); err != nil {
			return checkError{err}
		}
	}
	return nil
}

// checkServerConfig: a server config must present a certificate and
// require and verify client certificates against ClientCAs (anything
// less would be weaker than the TLS listener it stands beside).
func checkServerConfig(tc *tls.Config) (*tls.Certificate, error) {
	c, err := certOf(tc)
	if err != nil {
		return nil, err
	}
	if tc.ClientAuth != tls.RequireAndVerifyClientCert || tc.ClientCAs == nil {
		return nil, fmt.Errorf("%w: the server must require and verify client certificates", ErrConfig)
	}
	return c, nil
}

// serverHandshake runs the server's side on rw (deadlines are the
// caller's). path is the socket path the server bound.
func serverHandshake(rw io.ReadWriter, tc *tls.Config, cert *tls.Certificate, path string) (*tls.ConnectionState, error) {
	sNonce := make([]byte, NonceSize)
	if _, err := rand.Read(sNonce); err != nil {
		return nil, fail("nonce", err)
	}
	sChain := encodeChain(cert.Certificate)
	hello := make([]byte, 0, len(Magic)+NonceSize+len(sChain))
	hello = append(append(append(hello, Magic...), sNonce...), sChain...)
	if _, err := rw.Write(hello); err != nil {
		return nil, fail("write server hello", err)
	}
	cNonce, err := readHello(rw)
	if err != nil {
		return nil, fail("read client hello", err)
	}
	proto, err := readSmall(rw, false, MaxProtocolBytes)
	if err != nil {
		return nil, fail("read protocol", err)
	}
	if len(proto) > 0 && len(tc.NextProtos) > 0 && !slices.Contains(tc.NextProtos, string(proto)) {
		return nil, fail("protocol not offered by the server", nil)
	}
	cChainEnc, cChain, err := readChain(rw)
	if err != nil {
		return nil, fail("read client chain", err)
	}
	sig, err := readSmall(rw, true, MaxSignatureBytes)
	if err != nil {
		return nil, fail("read client signature", err)
	}
	st := &tls.ConnectionState{HandshakeComplete: true, NegotiatedProtocol: string(proto)}
	if err := verifyPeer(tc, true, cChain, st); err != nil {
		return nil, fail("client certificate", err)
	}
	th := transcript(sNonce, cNonce, sChain, cChainEnc, string(proto), path)
	if err := checkSig(st.PeerCertificates[0], clientSigLabel, th, sig); err != nil {
		return nil, fail("client signature", err)
	}
	mine, err := sign(cert, serverSigLabel, th)
	if err != nil {
		return nil, fail("sign", err)
	}
	if _, err := rw.Write(binary.BigEndian.AppendUint16(nil, uint16(len(mine)))); err != nil {
		return nil, fail("write server signature", err)
	}
	if _, err := rw.Write(mine); err != nil {
		return nil, fail("write server signature", err)
	}
	return st, nil
}

// clientHandshake runs the client's side on rw. path is the socket path
// the client dialed; proto the protocol it will speak.
func clientHandshake(rw io.ReadWriter, tc *tls.Config, cert *tls.Certificate, path, proto string) (*tls.ConnectionState, error) {
	if len(proto) > MaxProtocolBytes {
		return nil, fmt.Errorf("%w: protocol name too long", ErrConfig)
	}
	sNonce, err := readHello(rw)
	if err != nil {
		return nil, fail("read server hello", err)
	}
	sChainEnc, sChain, err := readChain(rw)
	if err != nil {
		return nil, fail("read server chain", err)
	}
	st := &tls.ConnectionState{HandshakeComplete: true, NegotiatedProtocol: proto, ServerName: tc.ServerName}
	if err := verifyPeer(tc, false, sChain, st); err != nil {
		return nil, fail("server certificate", err)
	}
	cNonce := make([]byte, NonceSize)
	if _, err := rand.Read(cNonce); err != nil {
		return nil, fail("nonce", err)
	}
	cChain := encodeChain(cert.Certificate)
	th := transcript(sNonce, cNonce, sChainEnc, cChain, proto, path)
	sig, err := sign(cert, clientSigLabel, th)
	if err != nil {
		return nil, fail("sign", err)
	}
	msg := make([]byte, 0, len(Magic)+NonceSize+1+len(proto)+len(cChain)+2+len(sig))
	msg = append(msg, Magic...)
	msg = append(msg, cNonce...)
	msg = append(msg, byte(len(proto)))
	msg = append(msg, proto...)
	msg = append(msg, cChain...)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(sig)))
	msg = append(msg, sig...)
	if _, err := rw.Write(msg); err != nil {
		return nil, fail("write client hello", err)
	}
	ssig, err := readSmall(rw, true, MaxSignatureBytes)
	if err != nil {
		// The server closes without an answer when it refuses us.
		return nil, fail("read server signature", err)
	}
	if err := checkSig(st.PeerCertificates[0], serverSigLabel, th, ssig); err != nil {
		return nil, fail("server signature", err)
	}
	return st, nil
}

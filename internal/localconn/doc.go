// Package localconn is certificate-authenticated plaintext over Unix domain
// sockets, for internal hops between two processes on the same host.
//
// Bytes written to a Unix stream socket stay in the kernel and reach only
// the process at the other end, so encrypting them buys nothing; what an
// internal hop needs is authentication — who is calling, by the same
// certificates the mutual-TLS hops use. A local connection proves that
// once, in a short handshake, and then carries the application's bytes
// unchanged (no records, no AES; docs/performance.md, issue 9).
//
// # Handshake (version 1)
//
// All integers are big-endian. A chain is u8 count (1..MaxCerts), then per
// certificate u32 length and the DER bytes, the whole at most MaxChainBytes.
//
//	server → client: magic "MRDNLC1\n" · server nonce (32 random bytes) · server chain
//	client → server: magic · client nonce (32) · u8 len + ALPN protocol · client chain
//	                 · u16 len + client signature
//	server → client: u16 len + server signature
//
// Both signatures cover one transcript hash, SHA-256 over (each field
// length-prefixed): a label naming the version, the server nonce, the
// client nonce, the encoded server chain, the encoded client chain, the
// protocol and the socket path as each side knows it (the path the client
// dialed, the path the server bound). The client signs "meridian localconn
// v1 client" ‖ 0 ‖ hash, the server "… server" ‖ 0 ‖ hash, each with the
// private key of its tls.Certificate (ECDSA with SHA-256, RSA-PSS with
// SHA-256 or Ed25519, by the key's type). Each side verifies the peer's
// chain exactly as crypto/tls would with the same tls.Config — the server
// against ClientCAs for client authentication, the client against RootCAs
// for server authentication and ServerName, then VerifyPeerCertificate and
// VerifyConnection (which is where internal/mtls checks the server's role)
// — and then the peer's signature with the leaf's public key.
//
// Before any byte is read, each side also asks the kernel who the peer
// process is (SO_PEERCRED) and refuses a peer of another user id. The
// socket's folder is 0700 and the socket 0600, so another user cannot even
// connect.
//
// Every read is bounded (MaxChainBytes per chain, MaxSignatureBytes,
// MaxProtocolBytes) and the whole handshake has a deadline
// (DefaultHandshakeTimeout). A server runs handshakes off its Accept loop,
// at most MaxPendingHandshakes at a time, so a silent client holds one slot
// until the deadline and never blocks others. A failed handshake closes the
// connection without an answer; the error says which step failed, never
// echoing the peer's bytes.
//
// docs/security.md ("Local sockets") argues why this is sound.
//
// # Rendezvous
//
// A server listening on TCP address A also listens on SocketPath(dir, A);
// a client about to dial A first tries that path and falls back to TLS over
// TCP when it is missing or refuses (ErrUnavailable), and when the local
// handshake fails. internal/mtls wires both for Node's dialers and
// servers; the edge link wires them with its own tls.Configs.
package localconn

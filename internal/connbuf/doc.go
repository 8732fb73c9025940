// Package connbuf gives TLS connections fewer, larger system calls.
//
// crypto/tls writes every record (at most 16 KiB of plaintext) with its own
// write system call and reads about one record per read call. On a hop that
// carries bulk data — the gateway's shard streams to storage nodes, the
// edge's same-region HTTP/2 link, HTTPS to clients — those calls cost as much
// CPU as the encryption (docs/performance.md, issue 9). A Conn is a
// *tls.Conn over a buffering layer:
//
//   - Writes: the records one Conn.Write produces are gathered in a pooled
//     buffer (Options.WriteBuffer, 256 KiB by default) and written with one
//     system call per buffer, and always before Write returns — the layer
//     never holds bytes after Write returns, so a writer that then waits for
//     a reply cannot deadlock and small request/response exchanges see no
//     added latency (no timers). Writes below MinGather bytes go straight
//     through.
//   - Reads: when crypto/tls asks for more bytes, one read system call
//     fetches up to Options.ReadBuffer bytes into a pooled buffer, from
//     which the following record reads are served. The buffer is taken only
//     once the socket is readable (through syscall.RawConn), and returned as
//     soon as it is drained, so an idle connection — a keep-alive
//     connection parked in a pool, a reader blocked waiting for a reply —
//     holds no buffer. Connections that do not expose a syscall.RawConn are
//     read directly.
//
// Memory per connection is bounded by WriteBuffer while a Write is in
// flight plus ReadBuffer while received bytes wait to be decrypted. Each
// has a small class (64 KiB) too: a Write that fits takes a small buffer,
// and a fetch takes a large one only when the previous fetch filled its
// buffer, so a connection carrying little holds little.
// Deadlines are the underlying connection's and apply to every system call
// of the layer. Errors are sticky, as in crypto/tls: after a failed write
// every later write fails with the same error.
//
// net/http treats only a *tls.Conn as TLS, so a server serving Conns sets
// the request's TLS state itself: ConfigureServer installs ConnContext and
// wraps the handler so that r.TLS is the connection's state, and accepts
// HTTP/2 by its connection preface (the TLS layer negotiated "h2" by ALPN).
// A client hands Conns to http.Transport through DialTLSContext (HTTP/1.1),
// or, for HTTP/2, with Protocols set to unencrypted HTTP/2 only — the
// transport then speaks HTTP/2 with prior knowledge over the already
// encrypted Conn.
package connbuf

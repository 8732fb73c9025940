// Package raftmux multiplexes many hashicorp/raft groups and one HTTP server
// over a single TCP listener.
//
// Framing. Every inbound connection is sniffed once: if its first four bytes
// are the magic "MRFT", the next byte is the length L (1..255) of a group
// name and the following L bytes are the name; the rest of the connection
// belongs to that group's raft.NetworkTransport (msgpack RPCs). Any other
// first bytes mean an HTTP/1.1 connection: the sniffed bytes are replayed
// and the connection is handed to the HTTP listener returned by
// (*Mux).HTTPListener.
//
// With TLS (NewTLS, what metasvc always uses) every inbound connection must
// first complete a TLS 1.3 handshake with a verified client certificate;
// Raft connections then are those that negotiated the ALPN protocol
// "meridian-raft" (and pass the AuthorizeRaft check: metasvc admits only
// meta nodes of its region), and carry the same group header inside TLS;
// every other connection is handed to the HTTP listener as a *tls.Conn.
// Plain connections are closed after their failed handshake.
//
// Each group obtains a *Layer (a raft.StreamLayer) from (*Mux).Group. Its
// Dial connects to the peer's shared listener and writes the header; its
// Accept yields the connections the mux routed to that group. A connection
// naming an unknown group, or one that does not send its header within the
// sniff timeout, is closed.
//
// The Mux owns one accept goroutine (Serve) and one short-lived sniffing
// goroutine per inbound connection; Close stops them and waits for them, and
// makes Dial fail. Raft connections handed off (accepted or dialed) belong to
// their transports, but the mux keeps track of them until they are closed:
// AbortRaftConns closes the socket under each, to unblock a shutdown whose
// Raft goroutines are stuck reading from or writing to a stalled peer.
package raftmux

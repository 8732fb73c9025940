// Package latencyproxy is a user-space stand-in for netem: a TCP or UDP
// proxy that adds a one-way delay (with optional jitter and a bandwidth
// limit) to each direction of a path, and can cut the path on demand. Tests
// put it between a client and a server on loopback to emulate a long link,
// e.g. the edge → region WAN hop that carries HTTP/3 over QUIC.
//
// # Model
//
// Each direction is a link: a serializer running at BandwidthBytesPerSec
// (shared by every connection or session of the proxy; unlimited if 0)
// followed by a propagation delay of Delay ± Jitter. A unit of data — one
// read of a TCP stream (a chunk) or one UDP datagram — is timestamped when
// the proxy reads it at t; it leaves the serializer at
// sent = max(t, link free) + size/bandwidth and is delivered to the far side
// at due = max(sent + delay, previous due of the same queue). The max with
// the previous due keeps every direction in order even with jitter or after
// SetDelay shortens the delay. A round trip through the proxy therefore
// takes at least 2×Delay.
//
// Delivery is a pipeline, not stop-and-wait: the reader of a direction keeps
// reading and queueing while earlier data is still "on the wire", and a
// separate writer releases each unit at its due time. A bulk transfer costs
// about one Delay plus its transfer time, like a real long link with a
// large enough window, rather than one delay per chunk. The queue holds at
// most QueueLen units; beyond that a TCP reader stops reading (back-pressure
// to the sender's socket buffers) and a UDP datagram is dropped (tail drop).
// With a bandwidth limit the TCP reader also paces itself at the link rate.
//
// # TCP
//
// Every accepted connection gets its own dialled connection to Target and
// two pipelines. The end of a stream travels like data: a FIN read from one
// side is delivered, after the delay, as CloseWrite on the other (half-close
// propagation); a read error (e.g. a reset) resets the whole connection. The
// proxy's own accept completes immediately, so the TCP handshake itself costs
// no emulated round trip (as with TCP Fast Open); everything after it does.
//
// # UDP
//
// The proxy keeps a NAT-like session table: the first datagram from a client
// address opens a connected upstream socket to Target, used for every later
// datagram of that client, and the target's replies on it go back to that
// client. Sessions expire after UDPIdleTimeout without traffic. Datagrams are
// never split or coalesced, and each direction of a session keeps its order.
// Every UDP socket of the proxy asks for SocketBuffer (8 MiB) of receive and
// send buffer, past net.core.rmem_max where the process may (as quic-go does),
// so a burst waits in the proxy's queue instead of being dropped by the
// kernel before the proxy reads it; drops the kernel still makes are counted
// (Stats, KernelDropped).
// This is what quic-go needs: a QUIC connection through the proxy pays the
// delay on every handshake flight and on every packet after it.
//
// # Faults
//
// Partition(true) cuts the path: new TCP connections are reset on accept,
// established ones stall (data is held and flows on after the heal, as TCP
// retransmission would deliver it), and every UDP datagram read or falling
// due during the cut is dropped. DropConnections resets every TCP connection
// or forgets every UDP session. SetDelay changes the delay at run time.
//
// # Lifecycle
//
// NewTCP and NewUDP start listening at once; Addr reports the address.
// Close stops accepting, closes every connection and session, and waits for
// every goroutine the proxy started; it is safe to call twice. Stats reports
// bytes, packets (TCP chunks or datagrams) delivered and datagrams dropped,
// per direction.
package latencyproxy

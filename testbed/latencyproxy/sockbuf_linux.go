package latencyproxy

import (
	"net"
	"syscall"
)

// forceBuffers sets c's receive and send buffers to size past
// net.core.rmem_max/wmem_max where the process may (SO_RCVBUFFORCE and
// SO_SNDBUFFORCE need CAP_NET_ADMIN), as quic-go does for its own sockets;
// it reports whether both were set.
func forceBuffers(c *net.UDPConn, size int) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		ok = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) == nil &&
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, size) == nil
	})
	return ok
}

// receiveBuffer is the receive buffer the kernel granted c, in bytes of
// its accounting (twice the size asked for); 0 if unknown.
func receiveBuffer(c *net.UDPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = rc.Control(func(fd uintptr) {
		n, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return n
}

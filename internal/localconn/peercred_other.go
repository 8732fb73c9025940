//go:build !linux

package localconn

import (
	"errors"
	"net"
)

// peerUID: only Linux's SO_PEERCRED is wired; elsewhere every local
// connection is refused (clients fall back to TLS).
func peerUID(*net.UnixConn) (int, error) {
	return 0, errors.ErrUnsupported
}

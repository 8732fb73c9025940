//go:build !linux

package latencyproxy

import "net"

func forceBuffers(*net.UDPConn, int) bool { return false }

func receiveBuffer(*net.UDPConn) int { return 0 }

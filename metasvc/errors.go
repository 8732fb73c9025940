package metasvc

import "errors"

// Sentinel errors.
var (
	ErrClosed         = errors.New("metasvc: closed")
	ErrRunning        = errors.New("metasvc: Run already called")
	ErrNotLeader      = errors.New("metasvc: not leader")
	ErrUnavailable    = errors.New("metasvc: unavailable")
	ErrUnknownGroup   = errors.New("metasvc: unknown group")
	ErrWrongPartition = errors.New("metasvc: key does not belong to this partition")
)

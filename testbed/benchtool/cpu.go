package benchtool

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// CPUMeter reads a process's cumulative CPU time (user + system).
type CPUMeter func() (time.Duration, error)

// userHZ is the unit of /proc/<pid>/stat's utime and stime: USER_HZ, fixed
// at 100 in the Linux user ABI.
const userHZ = 100

// ProcCPU meters process pid from /proc/<pid>/stat (utime + stime, every
// thread, live or exited; resolution 10 ms).
func ProcCPU(pid int) CPUMeter {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	return func() (time.Duration, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		return parseStatCPU(b)
	}
}

// parseStatCPU returns utime + stime of a /proc/<pid>/stat line. The
// command name (field 2) may hold spaces and parentheses: fields are
// counted after its last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("benchtool: malformed stat line")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("benchtool: short stat line")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("benchtool: stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// SelfCPU meters the calling process (getrusage, microsecond resolution).
func SelfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

//go:build unix

package logs

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system time so far: throughput per
// CPU-second holds steady on a machine shared with other work, where wall
// time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

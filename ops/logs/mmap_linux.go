package logs

import (
	"fmt"
	"os"
	"syscall"
)

const (
	mapMin       = 8 << 20 // smaller windows are read, not mapped
	mapBlockSize = 4 << 20
)

// mapper maps blocks of f read-only and unmaps them when scanned, so the
// resident set stays at the blocks in flight. MAP_POPULATE was measured
// slower here than the kernel's fault-around on first touch.
func mapper(f *os.File) func(from, n int64, _ *[]byte) ([]byte, func(), error) {
	page := int64(os.Getpagesize())
	fd := int(f.Fd())
	return func(from, n int64, _ *[]byte) ([]byte, func(), error) {
		if n <= 0 {
			return nil, nil, nil
		}
		at := from &^ (page - 1)
		m, err := syscall.Mmap(fd, at, int(from+n-at), syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			return nil, nil, fmt.Errorf("map log: %w", err)
		}
		return m[from-at:], func() { _ = syscall.Munmap(m) }, nil
	}
}

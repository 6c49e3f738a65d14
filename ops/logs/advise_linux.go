package logs

import (
	"os"

	"golang.org/x/sys/unix"
)

// adviseSequential asks the kernel for a larger read-ahead on f: a search
// reads the file front to back, and on a cold cache the disk then streams.
func adviseSequential(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}

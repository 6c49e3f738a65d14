//go:build unix

package backup

import (
	"fmt"
	"opsbot/ops"
	"os"
	"syscall"
)

// freeBytes is the space left to an unprivileged writer in dir.
func freeBytes(dir string) (int64, bool) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0, false
	}
	return int64(fs.Bavail) * int64(fs.Bsize), true
}

// spaceHint explains a failed write of a copy of src into dir when the
// cause can be seen: too little space, or a file size limit (SQLite
// reports both only as a disk I/O error).
func spaceHint(dir, src string) string {
	info, err := os.Stat(src)
	if err != nil {
		return ""
	}
	need := info.Size()
	if free, ok := freeBytes(dir); ok && free < need {
		return fmt.Sprintf(" (disk full: %s free, the database is %s)", ops.Bytes(free), ops.Bytes(need))
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err == nil && lim.Cur != ^uint64(0) && lim.Cur < uint64(need) {
		return fmt.Sprintf(" (file size limit %s is below the database's %s)", ops.Bytes(int64(lim.Cur)), ops.Bytes(need))
	}
	return ""
}

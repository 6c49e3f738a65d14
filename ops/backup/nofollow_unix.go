//go:build unix

package backup

import "syscall"

// noFollow makes an open fail on a symlink swapped in after the walk looked.
const noFollow = syscall.O_NOFOLLOW

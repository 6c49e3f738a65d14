//go:build !linux

package logs

import "os"

// adviseSequential is a no-op where there is no posix_fadvise.
func adviseSequential(*os.File) {}

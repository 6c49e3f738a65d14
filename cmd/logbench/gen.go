package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"opsbot/ops/logs/loggen"
)

// genMode writes app.log, access.log and security.log of -size MiB each into -dir,
// deterministically (same seed, same end time => same bytes), for the
// whole-process comparisons of bench/compare.sh.
//
//	logbench gen -dir /tmp/logs -size 1024 -end 1796000000
func genMode(args []string) int {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "", "folder for the logs")
	size := fs.Int64("size", 1024, "MiB per log")
	end := fs.Int64("end", 0, "unix time of the last line (default: now)")
	_ = fs.Parse(args)
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "logbench gen: -dir is required")
		return 2
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "logbench gen:", err)
		return 1
	}
	t := time.Now().Truncate(time.Second)
	if *end > 0 {
		t = time.Unix(*end, 0)
	}
	for _, g := range []struct {
		name string
		fn   func(io.Writer, loggen.Options) error
	}{{"app.log", loggen.App}, {"access.log", loggen.Access}, {"security.log", loggen.Security}} {
		f, err := os.Create(filepath.Join(*dir, g.name))
		if err != nil {
			fmt.Fprintln(os.Stderr, "logbench gen:", err)
			return 1
		}
		err = g.fn(f, loggen.Options{Size: *size << 20, End: t, Span: 7 * 24 * time.Hour, Seed: 7})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "logbench gen:", err)
			return 1
		}
	}
	return 0
}

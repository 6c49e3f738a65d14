// Command logbench measures `logs search` on generated 1 GiB logs against
// ripgrep and grep in the same run, on warm cache: times, counts (which
// must equal grep -c's), --since latency and peak memory (the Maxrss of a
// child process doing one search). It removes its data when done.
//
//	go run ./cmd/logbench [-size 1024] [-runs 3] [-keep]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"opsbot/chat"
	"opsbot/config"
	oplogs "opsbot/ops/logs"
	"opsbot/ops/logs/loggen"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		os.Exit(child(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "monitor" {
		os.Exit(monitorMode(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "gen" {
		os.Exit(genMode(os.Args[2:]))
	}
	os.Exit(run())
}

type measure struct {
	count  int64
	wall   time.Duration
	inner  time.Duration // our search's own time, without process start
	maxrss int64         // KiB
	cpu    time.Duration // user + system time of the process
	err    error
}

type bcase struct {
	name    string
	log     string // app | access
	pattern string
	regex   bool
	fold    bool
	since   string
	rg      []string // rg args before pattern; nil = no peer
	grep    []string
	factor  float64 // target: ours <= factor × rg
}

func run() int {
	size := flag.Int64("size", 1024, "MiB per log")
	runs := flag.Int("runs", 3, "runs per measurement (best is kept)")
	keep := flag.Bool("keep", false, "keep the generated logs")
	dirFlag := flag.String("dir", "", "folder for the logs (default: a new temp folder)")
	flag.Parse()

	dir := *dirFlag
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "logbench:", err)
			return 1
		}
	} else {
		d, err := os.MkdirTemp("", "logbench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "logbench: temp folder:", err)
			return 1
		}
		dir = d
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	end := time.Now().Truncate(time.Second)
	span := 7 * 24 * time.Hour
	for _, g := range []struct {
		name string
		fn   func(io.Writer, loggen.Options) error
	}{{"app.log", loggen.App}, {"access.log", loggen.Access}} {
		path := filepath.Join(dir, g.name)
		if st, err := os.Stat(path); err == nil && st.Size() >= *size<<20 {
			continue
		}
		start := time.Now()
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "logbench:", err)
			return 1
		}
		err = g.fn(f, loggen.Options{Size: *size << 20, End: end, Span: span, Seed: 7})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "logbench: generate:", err)
			return 1
		}
		fmt.Printf("generated %s (%d MiB) in %s\n", g.name, *size, time.Since(start).Round(time.Millisecond))
	}
	// Warm cache: every tool reads from memory.
	for _, n := range []string{"app.log", "access.log"} {
		f, err := os.Open(filepath.Join(dir, n))
		if err == nil {
			_, _ = io.Copy(io.Discard, f)
			f.Close()
		}
	}
	rg, rgErr := exec.LookPath("rg")
	grep, grepErr := exec.LookPath("grep")
	if rgErr != nil {
		fmt.Println("ripgrep (rg) is not installed: `apt-get install ripgrep` for the comparison; measuring ours alone")
	}
	if grepErr != nil {
		fmt.Println("grep is not installed: counts cannot be checked against grep -c")
	}
	if v, err := exec.Command("rg", "--version").Output(); err == nil {
		fmt.Printf("peer: %s", strings.SplitN(string(v), "\n", 2)[0]+"\n")
	}

	cases := []bcase{
		{name: "literal app", log: "app.log", pattern: "LLM API Error", rg: []string{"-c", "-F"}, grep: []string{"-c", "-F"}, factor: 1.5},
		{name: "literal access", log: "access.log", pattern: "POST /api/upload", rg: []string{"-c", "-F"}, grep: []string{"-c", "-F"}, factor: 1.5},
		{name: "alternation", log: "app.log", pattern: "ERROR|LLM API Error", regex: true, rg: []string{"-c"}, grep: []string{"-c", "-E"}, factor: 3},
		{name: "ignore-case", log: "app.log", pattern: "llm api error", fold: true, rg: []string{"-c", "-i"}, grep: []string{"-c", "-i"}, factor: 3},
		{name: "regex 5xx", log: "access.log", pattern: `" 50[0-9] `, regex: true, rg: []string{"-c"}, grep: []string{"-c", "-E"}, factor: 3},
		{name: "regex timeout", log: "app.log", pattern: `timeout after [0-9]+ ms`, regex: true, rg: []string{"-c"}, grep: []string{"-c", "-E"}, factor: 3},
		{name: "since 1h app", log: "app.log", pattern: "ERROR", since: "1h"},
		{name: "since 1h access", log: "access.log", pattern: "POST", since: "1h"},
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "logbench:", err)
		return 1
	}
	fmt.Printf("\n%-16s %10s %8s %8s %8s %8s %8s %8s %8s %7s %7s  %s\n", "case", "count", "ours", "(search)", "rg", "grep", "ours/rg", "cpu ours", "cpu rg", "rss MiB", "counts", "target (wall)")
	failed := false
	var peak int64
	for _, c := range cases {
		args := []string{"child", "-dir", dir, "-log", strings.TrimSuffix(c.log, ".log"), "-pattern", c.pattern, "-now", strconv.FormatInt(end.Unix(), 10)}
		if c.regex {
			args = append(args, "-regex")
		}
		if c.fold {
			args = append(args, "-i")
		}
		if c.since != "" {
			args = append(args, "-since", c.since)
		}
		ours := best(*runs, func() measure { return runChild(self, args) })
		if ours.err != nil {
			fmt.Printf("%-16s ours failed: %v\n", c.name, ours.err)
			failed = true
			continue
		}
		if c.since == "" {
			peak = max(peak, ours.maxrss)
		}
		path := filepath.Join(dir, c.log)
		var rgM, grepM measure
		if rgErr == nil && c.rg != nil {
			rgM = best(*runs, func() measure { return runTool(rg, append(append([]string{}, c.rg...), c.pattern, path)) })
		}
		if grepErr == nil && c.grep != nil {
			grepM = best(1, func() measure { return runTool(grep, append(append([]string{}, c.grep...), c.pattern, path)) })
		}
		counts := "n/a"
		if grepM.err == nil && c.grep != nil && grepErr == nil {
			counts = "= grep"
			if grepM.count != ours.count {
				counts = fmt.Sprintf("grep %d!", grepM.count)
				failed = true
			}
		}
		if rgM.err == nil && c.rg != nil && rgErr == nil && rgM.count != ours.count {
			counts += fmt.Sprintf(" rg %d!", rgM.count)
			failed = true
		}
		ratio, target := "", ""
		switch {
		case c.since != "":
			target = "< 50 ms"
			if ours.inner >= 50*time.Millisecond {
				target += " MISSED"
				failed = true
			}
		case rgM.wall > 0:
			r := float64(ours.wall) / float64(rgM.wall)
			ratio = fmt.Sprintf("%.2f×", r)
			target = fmt.Sprintf("≤ %.1f× rg", c.factor)
			if r > c.factor {
				target += " MISSED"
				failed = true
			}
			if grepM.wall > 0 {
				target += ", ≤ grep"
				if ours.wall > grepM.wall {
					target += " MISSED"
					failed = true
				}
			}
		}
		fmt.Printf("%-16s %10d %8s %8s %8s %8s %8s %8s %8s %7.1f %7s  %s\n", c.name, ours.count, ms(ours.wall), ms(ours.inner), ms(rgM.wall), ms(grepM.wall), ratio, ms(ours.cpu), ms(rgM.cpu), float64(ours.maxrss)/1024, counts, target)
	}
	fmt.Printf("\npeak RSS of a %d MiB search: %.1f MiB (target < 64 MiB)\n", *size, float64(peak)/1024)
	if peak >= 64<<10 {
		failed = true
	}
	if !*keep {
		fmt.Println("removed", dir)
	}
	if failed {
		fmt.Println("RESULT: some targets missed")
		return 1
	}
	fmt.Println("RESULT: all targets met")
	return 0
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
}

func best(n int, fn func() measure) measure {
	var b measure
	for i := range n {
		m := fn()
		if m.err != nil {
			return m
		}
		if i == 0 || m.wall < b.wall {
			b = m
		}
	}
	return b
}

func maxrss(cmd *exec.Cmd) int64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}

// cpuTime is the child's user + system time: on a shared machine, wall
// time says as much about the neighbours as about the tool.
func cpuTime(cmd *exec.Cmd) time.Duration {
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// runTool runs rg or grep (LC_ALL=C, as the comparison asks) and reads the count.
func runTool(bin string, args []string) measure {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return measure{err: fmt.Errorf("%s: %w", filepath.Base(bin), err)}
	}
	s := strings.TrimSpace(out.String())
	if s == "" {
		s = "0"
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return measure{err: fmt.Errorf("%s output %q: %w", filepath.Base(bin), s, err)}
	}
	return measure{count: n, wall: wall, maxrss: maxrss(cmd), cpu: cpuTime(cmd)}
}

// runChild runs one search of ours in a child process, for its wall time
// and peak RSS.
func runChild(self string, args []string) measure {
	cmd := exec.Command(self, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measure{err: fmt.Errorf("child: %w: %s", err, strings.TrimSpace(errb.String()))}
	}
	f := strings.Fields(out.String())
	if len(f) != 2 {
		return measure{err: fmt.Errorf("child output %q", out.String())}
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	inner, _ := strconv.ParseInt(f[1], 10, 64)
	return measure{count: n, wall: wall, inner: time.Duration(inner), maxrss: maxrss(cmd), cpu: cpuTime(cmd)}
}

// child runs one search through ops/logs as the bot would and prints
// "count nanoseconds".
func child(args []string) int {
	fs := flag.NewFlagSet("child", flag.ExitOnError)
	dir := fs.String("dir", "", "")
	log := fs.String("log", "app", "")
	pattern := fs.String("pattern", "", "")
	regex := fs.Bool("regex", false, "")
	fold := fs.Bool("i", false, "")
	since := fs.String("since", "", "")
	now := fs.Int64("now", 0, "")
	redact := fs.Bool("redact", true, "match lines as redacted (as the bot does)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the search here")
	_ = fs.Parse(args)
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	var red oplogs.Redactor
	if *redact {
		red = chat.NewRedactor(nil, nil)
	}
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "bench", Workdir: *dir, Logs: map[string]config.LogFile{
		"app":    {Path: "app.log", Format: "app_iso", Timezone: "Local"},
		"access": {Path: "access.log", Format: "nginx_timed", Timezone: "Local"},
	}}}
	l := oplogs.New(func() *config.Config { return cfg })
	l.Now = func() time.Time { return time.Unix(*now, 0) }
	start := time.Now()
	res, err := l.Search(context.Background(), oplogs.Query{Logs: []string{*log}, Pattern: *pattern, Regex: *regex, IgnoreCase: *fold, Since: *since, CountOnly: true, Redactor: red})
	took := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(res.Total, took.Nanoseconds())
	return 0
}

package logs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/ops/logs/loggen"

	"opsbot/internal/race"
)

var end = time.Date(2026, 11, 25, 12, 0, 0, 0, time.FixedZone("+0800", 8*3600))

type fixture struct {
	dir  string
	logs *Logs
	cfg  *config.Config
}

// newFixture writes an app log (with rotated app.log.1 and app.log.2.gz),
// an access log and an error log into a temp dir, about appMB MiB in all.
func newFixture(t *testing.T, appMB int64) *fixture {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, gz bool, fn func(w *bufio.Writer) error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var zw *gzip.Writer
		var w *bufio.Writer
		if gz {
			zw = gzip.NewWriter(f)
			w = bufio.NewWriter(zw)
		} else {
			w = bufio.NewWriter(f)
		}
		if err := fn(w); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if zw != nil {
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	mb := int64(1 << 20)
	day := 24 * time.Hour
	write("app.log.2.gz", true, func(w *bufio.Writer) error {
		return loggen.App(w, loggen.Options{Size: 2 * mb, End: end.Add(-2 * day), Span: day, Seed: 2})
	})
	write("app.log.1", false, func(w *bufio.Writer) error {
		return loggen.App(w, loggen.Options{Size: 2 * mb, End: end.Add(-day), Span: day, Seed: 1})
	})
	write("app.log", false, func(w *bufio.Writer) error {
		return loggen.App(w, loggen.Options{Size: appMB * mb, End: end, Span: day, Seed: 3})
	})
	write("access.log", false, func(w *bufio.Writer) error {
		return loggen.Access(w, loggen.Options{Size: 3 * mb, End: end, Span: day, Seed: 4})
	})
	write("error.log", false, func(w *bufio.Writer) error {
		if _, err := w.WriteString("2026-11-25T09:00:00+08:00 ERROR first\nno newline at the end ERROR"); err != nil {
			return err
		}
		return nil
	})
	// An unrelated file with a similar name is not a rotated sibling.
	if err := os.WriteFile(filepath.Join(dir, "app.log.bak"), []byte("2026-11-25T09:00:00+08:00 ERROR stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Targets = []config.Target{{
		Name: "api", HealthURL: "http://127.0.0.1:1/health", Workdir: dir,
		Logs: map[string]config.LogFile{
			"app":    {Path: "app.log", Format: "app_iso", Timezone: "Asia/Shanghai"},
			"access": {Path: filepath.Join(dir, "access.log"), Format: "nginx_timed", Timezone: "Asia/Shanghai"},
			"error":  {Path: "error.log", Format: "app_iso", Timezone: "UTC"},
			"llm":    {Path: "llm.log", Format: "app_iso", Timezone: "UTC"},
		},
	}}
	l := New(func() *config.Config { return cfg })
	l.Now = func() time.Time { return end }
	l.Workers = 2
	return &fixture{dir: dir, logs: l, cfg: cfg}
}

// grepCount runs the real grep over the given files (gz ones through
// gzip -dc) and returns the number of matching lines.
func grepCount(t *testing.T, args []string, files ...string) int64 {
	t.Helper()
	if _, err := exec.LookPath("grep"); err != nil {
		t.Skip("grep not installed")
	}
	var total int64
	for _, f := range files {
		var cmd *exec.Cmd
		if strings.HasSuffix(f, ".gz") {
			cmd = exec.Command("sh", append([]string{"-c", `gzip -dc "$0" | grep -c "$@"`, f}, args...)...)
		} else {
			cmd = exec.Command("grep", append(append([]string{"-c"}, args...), f)...)
		}
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		out, err := cmd.Output()
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
			t.Fatalf("grep %v %s: %v", args, f, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			t.Fatalf("grep output %q: %v", out, err)
		}
		total += n
	}
	return total
}

func TestSearchCountsEqualGrep(t *testing.T) {
	// Many 256 KiB file blocks either way; fewer under the race
	// detector, which slows the single-threaded scan tenfold.
	mb := int64(12)
	if race.Enabled {
		mb = 6
	}
	fx := newFixture(t, mb)
	app := []string{filepath.Join(fx.dir, "app.log.2.gz"), filepath.Join(fx.dir, "app.log.1"), filepath.Join(fx.dir, "app.log")}
	access := []string{filepath.Join(fx.dir, "access.log")}
	cases := []struct {
		name  string
		q     Query
		grep  []string
		files []string
	}{
		{"literal", Query{Pattern: "LLM API Error"}, []string{"-F", "LLM API Error"}, app},
		{"literal frequent", Query{Pattern: "INFO"}, []string{"-F", "INFO"}, app},
		{"literal absent", Query{Pattern: "no such thing anywhere"}, []string{"-F", "no such thing anywhere"}, app},
		{"literal with regexp characters", Query{Pattern: "[api] request"}, []string{"-F", "[api] request"}, app},
		{"alternation", Query{Pattern: "ERROR|LLM API Error", Regex: true}, []string{"-E", "ERROR|LLM API Error"}, app},
		{"ignore case", Query{Pattern: "llm api error", IgnoreCase: true}, []string{"-i", "-F", "llm api error"}, app},
		{"ignore case all letters", Query{Pattern: "error", IgnoreCase: true}, []string{"-i", "-F", "error"}, app},
		{"regex with literal", Query{Pattern: `timeout after [0-9]+ ms`, Regex: true}, []string{"-E", `timeout after [0-9]+ ms`}, app},
		{"regex ignore case alternation", Query{Pattern: `traceback|timeouterror`, Regex: true, IgnoreCase: true}, []string{"-i", "-E", `traceback|timeouterror`}, app},
		{"regex anchored", Query{Pattern: `^  File`, Regex: true}, []string{"-E", `^  File`}, app},
		{"regex end anchor", Query{Pattern: `[0-9]\)$`, Regex: true}, []string{"-E", `[0-9]\)$`}, app},
		{"regex without literal", Query{Pattern: `[0-9]{4}ms`, Regex: true}, []string{"-E", `[0-9]{4}ms`}, app},
		{"nginx 5xx", Query{Logs: []string{"access"}, Pattern: `" 50[0-3] `, Regex: true}, []string{"-E", `" 50[0-3] `}, access},
		{"nginx literal", Query{Logs: []string{"access"}, Pattern: "POST /api/upload"}, []string{"-F", "POST /api/upload"}, access},
		{"level", Query{Pattern: "", Level: "error"}, []string{"-E", `^[0-9-]{10}T[0-9:.+-]{18} ERROR `}, app},
		{"level and literal", Query{Pattern: "user", Level: "WARN"}, []string{"-E", `^[^ ]+ WARN .*user`}, app},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := c.q
			if q.Logs == nil {
				q.Logs = []string{"app"}
			}
			q.CountOnly = true
			want := grepCount(t, c.grep, c.files...)
			// The generated logs hold no secret: redaction changes no count.
			for _, red := range []Redactor{nil, chat.NewRedactor([]string{"hunter2"}, nil)} {
				q.Redactor = red
				res, err := fx.logs.Search(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				if res.Total != want {
					t.Fatalf("count %d (redactor %v), grep -c says %d (files %+v)", res.Total, red != nil, want, res.Files)
				}
			}
			if want == 0 && c.name != "literal absent" {
				t.Fatalf("pattern matches nothing: a weak test")
			}
		})
	}
}

func TestSearchUnterminatedLastLineAndMissingFile(t *testing.T) {
	fx := newFixture(t, 1)
	res, err := fx.logs.Search(context.Background(), Query{Logs: []string{"error", "llm"}, Pattern: "ERROR"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 || len(res.Matches) != 2 || res.Matches[1].Line.Text != "no newline at the end ERROR" {
		t.Fatalf("result %+v", res)
	}
	var llm FileCount
	for _, f := range res.Files {
		if f.Log == "llm" {
			llm = f
		}
	}
	if llm.Note != "missing" {
		t.Fatalf("missing llm.log not noted: %+v", res.Files)
	}
}

func TestSearchRotatedOldestFirst(t *testing.T) {
	fx := newFixture(t, 2)
	res, err := fx.logs.Search(context.Background(), Query{Logs: []string{"app"}, Pattern: "ERROR", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, f := range res.Files {
		order = append(order, f.Path)
	}
	if strings.Join(order, ",") != "app.log.2.gz,app.log.1,app.log" {
		t.Fatalf("file order %v", order)
	}
	// Matches come in time order across the files.
	var last time.Time
	f := AppFormat{Loc: time.UTC}
	for _, m := range res.Matches {
		tm, ok := f.Time([]byte(m.Line.Text))
		if !ok {
			t.Fatalf("match without time: %q", m.Line.Text)
		}
		if tm.Before(last) {
			t.Fatalf("out of order: %v after %v", tm, last)
		}
		last = tm
	}
	if int64(len(res.Matches)) != min(res.Total, 10000) || res.Matches[0].Path != "app.log.2.gz" {
		t.Fatalf("%d matches of %d, first in %s", len(res.Matches), res.Total, res.Matches[0].Path)
	}
}

// readLines splits a file into lines with their offsets.
func readLines(t *testing.T, path string) ([]Line, map[int64]int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []Line
	idx := map[int64]int{}
	off := 0
	for off < len(data) {
		e := bytes.IndexByte(data[off:], '\n')
		if e < 0 {
			e = len(data) - off
		}
		idx[int64(off)] = len(out)
		out = append(out, Line{Off: int64(off), Text: string(data[off : off+e])})
		off += e + 1
	}
	return out, idx
}

func TestSearchContextAcrossBlocks(t *testing.T) {
	// app.log (10 MiB) and app.log.1 (2 MiB) are read in 256 KiB blocks:
	// context must be whole across block edges.
	fx := newFixture(t, 10)
	const c = 3
	res, err := fx.logs.Search(context.Background(), Query{Logs: []string{"app"}, Pattern: "WARN", Context: c, Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	type file struct {
		lines []Line
		idx   map[int64]int
		block int64
	}
	files := map[string]*file{}
	for name, block := range map[string]int64{"app.log": fileBlockSize, "app.log.1": fileBlockSize} {
		lines, idx := readLines(t, filepath.Join(fx.dir, name))
		files[name] = &file{lines, idx, block}
	}
	checked, edges := map[string]int{}, map[string]int{}
	for _, m := range res.Matches {
		f := files[m.Path]
		if f == nil {
			continue
		}
		i, ok := f.idx[m.Line.Off]
		if !ok || f.lines[i].Text != m.Line.Text {
			t.Fatalf("match at %d is not a line start: %q", m.Line.Off, m.Line.Text)
		}
		wantB := f.lines[max(0, i-c):i]
		wantA := f.lines[i+1 : min(len(f.lines), i+1+c)]
		if !equalLines(m.Before, wantB) || !equalLines(m.After, wantA) {
			t.Fatalf("context of %s line %d:\nbefore %+v\nwant   %+v\nafter %+v\nwant  %+v", m.Path, i, m.Before, wantB, m.After, wantA)
		}
		if len(wantB) > 0 && len(wantA) > 0 && (m.Line.Off/f.block != wantB[0].Off/f.block || m.Line.Off/f.block != wantA[len(wantA)-1].Off/f.block) {
			edges[m.Path]++
		}
		checked[m.Path]++
	}
	for name := range files {
		if checked[name] < 500 || edges[name] == 0 {
			t.Fatalf("%s: checked %d matches, %d across block edges: too few", name, checked[name], edges[name])
		}
	}
}

func equalLines(a, b []Line) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// windowCount counts the lines of the app logs in [since, until] the slow
// way: every line, untimestamped lines going with the entry above.
func windowCount(t *testing.T, f Format, since, until time.Time, pattern string, paths ...string) int64 {
	t.Helper()
	var n int64
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := buf.ReadFrom(zr); err != nil {
				t.Fatal(err)
			}
			data = buf.Bytes()
		}
		in := false
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if tm, ok := f.Time([]byte(line)); ok {
				in = !tm.Before(since) && (until.IsZero() || !tm.After(until))
			}
			if in && strings.Contains(line, pattern) {
				n++
			}
		}
	}
	return n
}

func TestSinceReadsOnlyTheWindow(t *testing.T) {
	fx := newFixture(t, 24)
	res, err := fx.logs.Search(context.Background(), Query{Logs: []string{"app"}, Pattern: "ERROR", Since: "1h", CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	f := AppFormat{Loc: time.UTC}
	app := filepath.Join(fx.dir, "app.log")
	want := windowCount(t, f, end.Add(-time.Hour), time.Time{}, "ERROR", app)
	if res.Total != want || want == 0 {
		t.Fatalf("--since 1h: %d matches, the window holds %d", res.Total, want)
	}
	st, _ := os.Stat(app)
	// One hour of a day-long file is 1/24 of it; allow the probes' reads.
	if res.Bytes > st.Size()/24+256<<10 {
		t.Fatalf("read %d bytes of %d for the last hour", res.Bytes, st.Size())
	}
	for _, fc := range res.Files {
		if fc.Path == "app.log.2.gz" && fc.Note != "older than --since" {
			// The .gz was written now by the test, so mtime cannot rule it out;
			// its stream is cut by time instead and gives nothing.
			if fc.Count != 0 {
				t.Fatalf("old rotated file gave %d matches", fc.Count)
			}
		}
	}
}

func TestSinceUntilAbsoluteInLogTimeZone(t *testing.T) {
	fx := newFixture(t, 4)
	// 2026-11-24 18:00 to 20:00 in Asia/Shanghai, spanning app.log.1's end and
	// app.log's start; the .gz is older and read through.
	res, err := fx.logs.Search(context.Background(), Query{Logs: []string{"app"}, Pattern: "INFO", Since: "2026-11-24T18:00", Until: "2026-11-24 20:00", CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	since := time.Date(2026, 11, 24, 18, 0, 0, 0, sh)
	until := time.Date(2026, 11, 24, 20, 0, 0, 0, sh)
	f := AppFormat{Loc: sh}
	want := windowCount(t, f, since, until, "INFO", filepath.Join(fx.dir, "app.log.2.gz"), filepath.Join(fx.dir, "app.log.1"), filepath.Join(fx.dir, "app.log"))
	if res.Total != want || want == 0 {
		t.Fatalf("window count %d, want %d (%+v)", res.Total, want, res.Files)
	}
	// The same window in the .gz alone, cut while streaming.
	res, err = fx.logs.Search(context.Background(), Query{Logs: []string{"app"}, Pattern: "INFO", Since: "2026-11-23T06:00", Until: "2026-11-23T07:30", CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	want = windowCount(t, f, time.Date(2026, 11, 23, 6, 0, 0, 0, sh), time.Date(2026, 11, 23, 7, 30, 0, 0, sh), "INFO", filepath.Join(fx.dir, "app.log.2.gz"))
	if res.Total != want || want == 0 || res.Files[0].Count != want {
		t.Fatalf("gz window count %d, want %d (%+v)", res.Total, want, res.Files)
	}
}

func TestSinceOnNginxLog(t *testing.T) {
	fx := newFixture(t, 1)
	res, err := fx.logs.Search(context.Background(), Query{Logs: []string{"access"}, Pattern: "POST", Since: "90m", CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	want := windowCount(t, NginxFormat{Loc: time.UTC}, end.Add(-90*time.Minute), time.Time{}, "POST", filepath.Join(fx.dir, "access.log"))
	if res.Total != want || want == 0 {
		t.Fatalf("count %d, want %d", res.Total, want)
	}
}

func TestSearchBadInput(t *testing.T) {
	fx := newFixture(t, 1)
	cases := []struct {
		q    Query
		want string
	}{
		{Query{Logs: []string{"nope"}, Pattern: "x"}, `unknown log "nope"; logs: access, app, error, llm`},
		{Query{Logs: []string{"../../etc/passwd"}, Pattern: "root"}, `unknown log "../../etc/passwd"; logs: access, app, error, llm`},
		{Query{Logs: []string{"/etc/passwd"}, Pattern: "root"}, `unknown log "/etc/passwd"; logs: access, app, error, llm`},
		{Query{Logs: []string{"app.log"}, Pattern: "x"}, `unknown log "app.log"; logs: access, app, error, llm`},
		{Query{Pattern: "(unclosed", Regex: true}, `invalid regexp "(unclosed": missing closing ): (unclosed`},
		{Query{Pattern: "x", Since: "yesterday-ish"}, `--since "yesterday-ish": want a duration like 1h, 30m or 2d, or a time like 2026-11-25T10:00`},
		{Query{Pattern: "x", Until: "2026-13-45"}, `--until "2026-13-45": want a duration like 1h, 30m or 2d, or a time like 2026-11-25T10:00`},
		{Query{Pattern: "x", Since: "-5m"}, `--since "-5m": the duration must be positive`},
		{Query{Pattern: "x", Since: "1h", Until: "2h"}, `--until is before --since`},
		{Query{Pattern: "x", Limit: -5}, `--limit must be positive, got -5`},
		{Query{Pattern: "x", Context: 99}, `-C must be between 0 and 10, got 99`},
		{Query{Pattern: "x", Level: "LOUD"}, `unknown level "LOUD" (want DEBUG, INFO, WARN, ERROR, CRITICAL or FATAL)`},
		{Query{Target: "web", Pattern: "x"}, `unknown target "web"; targets: api`},
	}
	for _, c := range cases {
		res, err := fx.logs.Search(context.Background(), c.q)
		if err == nil || !errors.Is(err, ErrInput) || err.Error() != c.want || res != nil {
			t.Errorf("%+v: got %v, want %q", c.q, err, c.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
}

func TestSearchHonoursCancel(t *testing.T) {
	fx := newFixture(t, 8)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := fx.logs.Search(ctx, Query{Logs: []string{"app"}, Pattern: "INFO"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = fx.logs.Search(ctx, Query{Logs: []string{"app"}, Pattern: "INFO"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want context.DeadlineExceeded", err)
	}
}

// Cancelled in the middle, the search stops within a few blocks and hands
// back what it counted so far.
func TestSearchStopsWhenCancelledMidway(t *testing.T) {
	fx := newFixture(t, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	blocks := 0
	fx.logs.onBlock = func() {
		if blocks++; blocks == 2 {
			cancel()
		}
	}
	var heard []int64
	res, err := fx.logs.Search(ctx, Query{Logs: []string{"app"}, Pattern: "INFO", CountOnly: true, Progress: func(n int64) { heard = append(heard, n) }})
	if !errors.Is(err, context.Canceled) || res == nil {
		t.Fatalf("err %v, res %v", err, res)
	}
	if len(heard) == 0 || heard[len(heard)-1] != res.Bytes {
		t.Fatalf("progress heard %v, scanned %d", heard, res.Bytes)
	}
	// app.log.2.gz (2 MiB) and part of app.log.1 at most, never app.log.
	if res.Bytes > 4<<20 || res.Total == 0 || res.Files[len(res.Files)-1].Path == "app.log" {
		t.Fatalf("read %d bytes, %d matches, files %+v after cancel", res.Bytes, res.Total, res.Files)
	}
}

func TestSearchLimitKeepsFirstMatches(t *testing.T) {
	fx := newFixture(t, 3)
	res, err := fx.logs.Search(context.Background(), Query{Logs: []string{"app"}, Pattern: "WARN", Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 7 || !res.Truncated || res.Total <= 7 {
		t.Fatalf("%d matches of %d, truncated %v", len(res.Matches), res.Total, res.Truncated)
	}
	full, err := fx.logs.Search(context.Background(), Query{Logs: []string{"app"}, Pattern: "WARN", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Matches {
		if res.Matches[i].Line != full.Matches[i].Line {
			t.Fatalf("match %d differs: %q vs %q", i, res.Matches[i].Line.Text, full.Matches[i].Line.Text)
		}
	}
}

func TestLongLineLongerThanABlock(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 3<<20) + " NEEDLE"
	content := "2026-11-25T10:00:00Z INFO a\n" + long + "\n2026-11-25T10:00:01Z INFO NEEDLE b\n"
	if err := os.WriteFile(filepath.Join(dir, "app.log"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", Logs: map[string]config.LogFile{"app": {Path: filepath.Join(dir, "app.log"), Format: "app_iso", Timezone: "UTC"}}}}
	l := New(func() *config.Config { return cfg })
	res, err := l.Search(context.Background(), Query{Pattern: "NEEDLE"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 || !strings.HasSuffix(res.Matches[0].Line.Text, "…") || len(res.Matches[0].Line.Text) > clipLine+4 {
		t.Fatalf("total %d, first match %d bytes", res.Total, len(res.Matches[0].Line.Text))
	}
}

func TestCorruptGzipIsNoted(t *testing.T) {
	fx := newFixture(t, 1)
	gz := filepath.Join(fx.dir, "app.log.2.gz")
	data, err := os.ReadFile(gz)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gz, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := fx.logs.Search(context.Background(), Query{Logs: []string{"app"}, Pattern: "INFO", CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files[0].Note == "" || res.Files[1].Count == 0 {
		t.Fatalf("files %+v", res.Files)
	}
}

func TestFilesOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"app.log", "app.log.1", "app.log.10.gz", "app.log.2.gz", "app.log.gz", "app.log.bak", "app.log.1.tmp", "app.logx", "other.log.1"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Files(filepath.Join(dir, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, filepath.Base(p))
	}
	if strings.Join(names, ",") != "app.log.10.gz,app.log.2.gz,app.log.1,app.log.gz,app.log" {
		t.Fatalf("files %v", names)
	}
}

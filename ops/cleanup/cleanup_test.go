package cleanup_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"opsbot/config"
	"opsbot/ops/cleanup"
)

var now = time.Date(2026, 11, 25, 3, 30, 0, 0, time.UTC)

const day = 24 * time.Hour

func put(t *testing.T, path, content string, age time.Duration) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, now.Add(-age), now.Add(-age)); err != nil {
		t.Fatal(err)
	}
}

func target(wd string) config.Target {
	return config.Target{
		Name:    "api",
		Workdir: wd,
		Logs: map[string]config.LogFile{
			"app":   {Path: "logs/app.log"},
			"error": {Path: "logs/error.log"},
		},
		Cleanup: config.Cleanup{GzipAfter: 7 * day, DeleteGzAfter: 30 * day, TempAfter: day},
	}
}

// tree lists every path under dir with its size and mtime, links as links.
func tree(t *testing.T, dir string) string {
	var lines []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, _ := os.Lstat(p)
		lines = append(lines, p+" "+info.Mode().String()+" "+info.ModTime().String()+" "+strconv.FormatInt(info.Size(), 10))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func setup(t *testing.T) (wd, outside string) {
	wd = t.TempDir()
	outside = t.TempDir()
	logLine := strings.Repeat("2026-11-15 10:00:00 INFO request served in 12 ms\n", 2000)
	put(t, filepath.Join(wd, "logs", "app.log"), logLine, 10*day) // active: never gzipped
	put(t, filepath.Join(wd, "logs", "app.log.1"), logLine, 10*day)
	put(t, filepath.Join(wd, "logs", "app.log.2"), logLine, 3*day)
	put(t, filepath.Join(wd, "logs", "archive", "nested.log"), logLine, 8*day)
	put(t, filepath.Join(wd, "logs", "notes.txt"), "not a log", 100*day)
	put(t, filepath.Join(wd, "logs", "old.log.gz"), "gz-old", 40*day)
	put(t, filepath.Join(wd, "logs", "recent.log.gz"), "gz-recent", 10*day)
	put(t, filepath.Join(wd, "temp", "a.tmp"), "aaaa", 2*day)
	put(t, filepath.Join(wd, "temp", "sub", "b.tmp"), "bbbbbbbb", 3*day)
	put(t, filepath.Join(wd, "temp", "fresh.tmp"), "new", time.Hour)
	put(t, filepath.Join(wd, "uploads", "old.gz"), "data", 400*day)
	// Links out of the roots, made to look old: neither they nor what they
	// point at may be touched.
	put(t, filepath.Join(outside, "victim.log"), logLine, 60*day)
	put(t, filepath.Join(outside, "keep", "precious.tmp"), "precious", 60*day)
	for link, to := range map[string]string{
		filepath.Join(wd, "logs", "link.log"):     filepath.Join(outside, "victim.log"),
		filepath.Join(wd, "logs", "evil.log.gz"):  filepath.Join(outside, "victim.log"),
		filepath.Join(wd, "temp", "victim.tmp"):   filepath.Join(outside, "victim.log"),
		filepath.Join(wd, "temp", "dirlink"):      filepath.Join(outside, "keep"),
		filepath.Join(wd, "logs", "archive", "x"): outside,
	} {
		if err := os.Symlink(to, link); err != nil {
			t.Fatal(err)
		}
	}
	return wd, outside
}

func TestCleanup(t *testing.T) {
	wd, outside := setup(t)
	before := tree(t, outside)
	orig, _ := os.ReadFile(filepath.Join(wd, "logs", "app.log.1"))
	rep, err := cleanup.Run(context.Background(), target(wd), cleanup.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("errors %v", rep.Errors)
	}
	got := map[string]string{}
	var freed int64
	for _, a := range rep.Actions {
		got[a.Path] = a.Kind
		freed += a.Freed
	}
	want := map[string]string{
		"logs/app.log.1":          cleanup.Gzip,
		"logs/archive/nested.log": cleanup.Gzip,
		"logs/old.log.gz":         cleanup.Delete,
		"temp/a.tmp":              cleanup.Delete,
		"temp/sub/b.tmp":          cleanup.Delete,
	}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("%s: %q, want %q (all: %v)", p, got[p], k, got)
		}
	}
	for _, p := range []string{"logs/app.log", "logs/app.log.2", "logs/recent.log.gz", "logs/notes.txt", "temp/fresh.tmp", "uploads/old.gz"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s was touched: %s", p, got[p])
		}
		if _, err := os.Stat(filepath.Join(wd, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if freed != rep.Freed || rep.Freed <= int64(len(orig)) {
		t.Fatalf("freed %d (report %d)", freed, rep.Freed)
	}
	// The gzipped log has the original's content, mode and age.
	gz := filepath.Join(wd, "logs", "app.log.1.gz")
	fh, err := os.Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(zr)
	if !bytes.Equal(back, orig) {
		t.Fatal("gzipped content differs")
	}
	info, _ := os.Stat(gz)
	if !info.ModTime().Equal(now.Add(-10*day)) || info.Mode().Perm() != 0o640 {
		t.Fatalf("gz mtime %v mode %v", info.ModTime(), info.Mode())
	}
	if _, err := os.Stat(filepath.Join(wd, "logs", "app.log.1")); !os.IsNotExist(err) {
		t.Fatal("original log left next to its .gz")
	}
	if after := tree(t, outside); after != before {
		t.Fatalf("files outside the roots changed:\n%s\n---\n%s", before, after)
	}
}

func TestCleanupNeverFollowsLinks(t *testing.T) {
	wd, outside := setup(t)
	before := tree(t, outside)
	// From two months on, the links' own age qualifies too.
	rep, err := cleanup.Run(context.Background(), target(wd), cleanup.Options{Now: time.Now().Add(60 * day)})
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]bool{}
	for _, a := range rep.Actions {
		if a.Kind == cleanup.Skip {
			skipped[a.Path] = true
		}
	}
	for _, p := range []string{"logs/link.log", "logs/evil.log.gz", "temp/victim.tmp", "temp/dirlink"} {
		if !skipped[p] {
			t.Errorf("%s not reported as a skipped link (%v)", p, rep.Actions)
		}
		if _, err := os.Lstat(filepath.Join(wd, p)); err != nil {
			t.Errorf("link %s removed: %v", p, err)
		}
	}
	if after := tree(t, outside); after != before {
		t.Fatalf("files outside the roots changed:\n%s\n---\n%s", before, after)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	wd, _ := setup(t)
	before := tree(t, wd)
	rep, err := cleanup.Run(context.Background(), target(wd), cleanup.Options{Now: now, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(cleanup.Gzip) != 2 || rep.Count(cleanup.Delete) != 3 || !rep.DryRun {
		t.Fatalf("dry run report %+v", rep)
	}
	if rep.Freed != int64(len("gz-old")+len("aaaa")+len("bbbbbbbb")) {
		t.Fatalf("dry run freed %d", rep.Freed)
	}
	if after := tree(t, wd); after != before {
		t.Fatalf("dry run changed files:\n%s\n---\n%s", before, after)
	}
}

func TestLogsInTheWorkdirDoNotExpireData(t *testing.T) {
	wd := t.TempDir()
	put(t, filepath.Join(wd, "server.log.3"), "old log", 20*day)
	put(t, filepath.Join(wd, "uploads", "course.log.gz"), "data", 400*day)
	put(t, filepath.Join(wd, "backups", "x", "config.log.gz"), "data", 400*day)
	tg := target(wd)
	tg.Logs = map[string]config.LogFile{"app": {Path: "server.log"}}
	rep, err := cleanup.Run(context.Background(), tg, cleanup.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Actions) != 1 || rep.Actions[0].Path != "server.log.3" || rep.Actions[0].Kind != cleanup.Gzip {
		t.Fatalf("actions %+v", rep.Actions)
	}
	for _, p := range []string{"uploads/course.log.gz", "backups/x/config.log.gz"} {
		if _, err := os.Stat(filepath.Join(wd, p)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
}

func TestMissingFoldersAreNotErrors(t *testing.T) {
	rep, err := cleanup.Run(context.Background(), target(t.TempDir()), cleanup.Options{Now: now})
	if err != nil || len(rep.Actions) != 0 || len(rep.Errors) != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	if _, err := cleanup.Run(context.Background(), config.Target{Name: "x"}, cleanup.Options{}); err == nil || !strings.Contains(err.Error(), "no workdir") {
		t.Fatalf("no workdir: %v", err)
	}
}

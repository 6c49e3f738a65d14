package store_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// starQuery matches SELECT *, SELECT t.* and RETURNING *; not COUNT(*).
var starQuery = regexp.MustCompile(`(?i)\b(select\s+(distinct\s+)?([a-z_][a-z0-9_]*\.)?\*|returning\s+\*)`)

// No code of the module reads rows with SELECT * or RETURNING *: a column
// added by a newer release's migration would break this release's scans
// during a rolling upgrade. The widened runs of the store cases catch what
// they reach; this catches the rest, in every package.
func TestNoStarQueries(t *testing.T) {
	if !starQuery.MatchString("x := `SELECT a.* FROM alerts a`") || !starQuery.MatchString("returning *") ||
		starQuery.MatchString("SELECT COUNT(*) FROM audit") {
		t.Fatal("pattern does not tell star queries apart")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "//") {
				continue
			}
			if starQuery.MatchString(line) {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d: name the columns instead: %s", rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files", checked)
	}
}

package logs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"opsbot/config"
)

func tailLogs(t *testing.T, path string) *Logs {
	t.Helper()
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", Logs: map[string]config.LogFile{"app": {Path: path, Format: "app_iso", Timezone: "UTC"}}}}
	return New(func() *config.Config { return cfg })
}

func TestTailLastLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	var b strings.Builder
	for i := range 50000 {
		fmt.Fprintf(&b, "2026-11-25T10:00:00Z INFO line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l := tailLogs(t, path)
	for _, n := range []int{1, 3, 20, 1000} {
		res, err := l.Tail(context.Background(), "", "app", n)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Lines) != n || res.Lines[n-1] != "2026-11-25T10:00:00Z INFO line 49999" || res.Lines[0] != fmt.Sprintf("2026-11-25T10:00:00Z INFO line %d", 50000-n) {
			t.Fatalf("tail %d: %d lines, first %q last %q", n, len(res.Lines), res.Lines[0], res.Lines[len(res.Lines)-1])
		}
	}
	// No newline at the end, and fewer lines than asked.
	if err := os.WriteFile(path, []byte("a\nb\nc"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := l.Tail(context.Background(), "", "app", 10)
	if err != nil || strings.Join(res.Lines, ",") != "a,b,c" {
		t.Fatalf("tail: %v %v", res, err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := l.Tail(context.Background(), "", "app", 10); err != nil || len(res.Lines) != 0 {
		t.Fatalf("empty file: %v %v", res, err)
	}
}

// A sparse file of 1 TiB with lines only at its end: reading from the start
// could not finish, reading backwards from the end is instant.
func TestTailReadsFromTheEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("\nfirst\nsecond\nthird\n"), 1<<40); err != nil {
		f.Close()
		t.Skipf("no sparse files here: %v", err)
	}
	f.Close()
	res, err := tailLogs(t, path).Tail(context.Background(), "", "app", 2)
	if err != nil || strings.Join(res.Lines, ",") != "second,third" {
		t.Fatalf("tail: %+v %v", res, err)
	}
}

func TestTailBadInput(t *testing.T) {
	l := tailLogs(t, filepath.Join(t.TempDir(), "app.log"))
	cases := []struct {
		name string
		n    int
		want string
	}{
		{"../../etc/passwd", 5, `unknown log "../../etc/passwd"; logs: app`},
		{"/var/log/syslog", 5, `unknown log "/var/log/syslog"; logs: app`},
		{"app", -5, `the number of lines must be between 1 and 1000, got -5`},
		{"app", 5000, `the number of lines must be between 1 and 1000, got 5000`},
		{"app", 5, `log app has no file yet (app.log)`},
	}
	for _, c := range cases {
		_, err := l.Tail(context.Background(), "", c.name, c.n)
		if !errors.Is(err, ErrInput) || err.Error() != c.want {
			t.Errorf("tail %q %d: %v, want %q", c.name, c.n, err, c.want)
		}
	}
}

package cleanup_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/store/storetest"
	"opsbot/verbs/cleanup"
)

var now = time.Date(2026, 11, 25, 3, 30, 0, 0, time.UTC)

func setup(t *testing.T) (*commands.Registry, string) {
	dir := t.TempDir()
	put := func(p string, n int, age time.Duration) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(strings.Repeat("x", n)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	put("logs/app.log", 100, time.Hour)
	put("logs/app.log.1", 50_000, 9*24*time.Hour)
	put("logs/app.log.9.gz", 2_000, 40*24*time.Hour)
	put("temp/upload.part", 3_000, 2*24*time.Hour)
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", Workdir: dir, HealthURL: "http://127.0.0.1:1/",
		Logs:    map[string]config.LogFile{"app": {Path: "logs/app.log"}},
		Cleanup: config.Cleanup{GzipAfter: 7 * 24 * time.Hour, DeleteGzAfter: 30 * 24 * time.Hour, TempAfter: 24 * time.Hour}}}
	cfg.Roles = map[string]config.Role{"ops": {Users: []string{"slack:UOPS"}, Verbs: []string{"cleanup"}}}
	reg := commands.NewRegistry(func() *config.Config { return cfg }, storetest.SQLite(t), nil)
	reg.Now = func() time.Time { return now }
	reg.MustRegister(cleanup.Verbs(cleanup.Deps{Config: func() *config.Config { return cfg }})...)
	return reg, dir
}

func handle(reg *commands.Registry, user, text string) commands.Response {
	return reg.Handle(context.Background(), commands.Request{Platform: "slack", User: user, Channel: "C1", Text: text})
}

func TestCleanupVerb(t *testing.T) {
	reg, dir := setup(t)
	resp := handle(reg, "UOPS", "cleanup --dry-run")
	if !strings.Contains(resp.Title, "dry run") || resp.Text != "would gzip 1 logs, would delete 2 files; would free at least 4.9 KiB" {
		t.Fatalf("dry run: %q / %q", resp.Title, resp.Text)
	}
	if _, err := os.Stat(filepath.Join(dir, "temp", "upload.part")); err != nil {
		t.Fatal("dry run deleted a file")
	}
	resp = handle(reg, "UOPS", "cleanup")
	if !strings.HasPrefix(resp.Text, "gzipped 1 logs, deleted 2 files; freed ") || !strings.Contains(resp.Code, "logs/app.log.1") || resp.Severity != chat.SevOK {
		t.Fatalf("cleanup: %+v", resp.Message)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "app.log.1.gz")); err != nil {
		t.Fatal(err)
	}
	if resp = handle(reg, "UOPS", "cleanup"); resp.Text != "nothing to clean" {
		t.Fatalf("second run: %q", resp.Text)
	}
}

func TestCleanupVerbGuards(t *testing.T) {
	reg, dir := setup(t)
	if r := handle(reg, "USOMEONE", "cleanup"); !strings.Contains(r.Text, "you may not run cleanup") {
		t.Fatalf("no role: %q", r.Text)
	}
	if r := handle(reg, "UOPS", "cleanup --target web"); r.Text != `unknown target "web"; targets: api` {
		t.Fatalf("unknown target: %q", r.Text)
	}
	if r := handle(reg, "UOPS", "cleanup --dry-run=yes"); !strings.Contains(r.Text, "--dry-run takes no value") {
		t.Fatalf("bad flag: %q", r.Text)
	}
	if _, err := os.Stat(filepath.Join(dir, "temp", "upload.part")); err != nil {
		t.Fatal("a refused cleanup deleted a file")
	}
}

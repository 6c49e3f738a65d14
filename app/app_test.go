package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"opsbot/commands"
	"opsbot/config"
)

// A reload reaches the parts that copied configuration at start: job
// schedules (including a job the file now turns on) and rule thresholds.
func TestReloadReschedulesJobs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte("store:\n  dsn: "+filepath.Join(dir, "opsbot.db")+"\n"+s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := build(ctx, cfg, st, Options{Stdout: io.Discard}, slog.New(slog.NewTextHandler(io.Discard, nil)), true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	list := func() string {
		return a.reg.Handle(ctx, commands.Request{Platform: "console", User: "me", Local: true, Text: "schedule"}).Code
	}
	if l := list(); !strings.Contains(l, "backup     0 2 * * *") || !strings.Contains(l, "restart    0 4 * * *      off (config)") {
		t.Fatalf("before:\n%s", l)
	}
	write("schedules:\n  backup: {spec: \"15 1 * * *\"}\n  restart: {spec: \"0 4 * * *\", enabled: true}\n")
	if !a.Reload() {
		t.Fatal("valid reload refused")
	}
	l := list()
	if !strings.Contains(l, "backup     15 1 * * *") || strings.Contains(l, "off (config)") {
		t.Fatalf("after reload:\n%s", l)
	}
	write("schedules:\n  backup: {spec: \"99 1 * * *\"}\n")
	if a.Reload() || !strings.Contains(list(), "backup     15 1 * * *") {
		t.Fatal("a broken file replaced the schedule")
	}
}

// Once shutdown began, errors that are only its cancellation are not
// logged; other errors still are, and before shutdown everything is.
func TestShutdownFilterDropsOnlyCancellation(t *testing.T) {
	var b strings.Builder
	log, closing := newLogger(config.Default(), &b)
	wrapped := fmt.Errorf("seed subscription console/security: %w", context.Canceled)
	log.Error("before", "err", wrapped)
	closing.Store(true)
	log.Error("dropped", "err", wrapped)
	log.With("job", "health").Warn("dropped too", "err", "get state remediation:demo: context canceled")
	log.Error("kept", "err", errors.New("disk full"))
	out := b.String()
	if !strings.Contains(out, "msg=before") || !strings.Contains(out, "msg=kept") || strings.Contains(out, "dropped") {
		t.Fatalf("log:\n%s", out)
	}
}

package backup_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	opbackup "opsbot/ops/backup"
	"opsbot/store/storetest"
	vbackup "opsbot/verbs/backup"
)

type env struct {
	reg *commands.Registry
	dir string
	cfg *config.Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "data", "ai_tutor.db")+"?_pragma=journal_mode(WAL)")
	must(t, err)
	_, err = db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('a'), ('b'), ('c')`)
	must(t, err)
	db.Close()
	must(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("X=1\n"), 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "uploads"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "uploads", "a.txt"), []byte("hello"), 0o644))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	cfg := config.Default()
	cfg.Targets = []config.Target{{
		Name: "api", HealthURL: srv.URL, Workdir: dir,
		Stop: []string{"true"}, Start: []string{"true"},
		CommandTimeout: 10 * time.Second, HealthDeadline: 2 * time.Second,
		Database: config.Database{Driver: "sqlite", Path: "data/ai_tutor.db"},
		Backup:   config.Backup{ConfigPaths: []string{".env"}, Retention: 30 * 24 * time.Hour, Prefix: "ai_tutor", Timeout: time.Minute},
	}}
	st := storetest.SQLite(t)
	get := func() *config.Config { return cfg }
	svc := opbackup.New(st, get, nil)
	svc.HealthInterval = 10 * time.Millisecond
	reg := commands.NewRegistry(get, st, nil)
	reg.MustRegister(vbackup.Verbs(vbackup.Deps{Config: get, Backups: svc})...)
	return &env{reg: reg, dir: dir, cfg: cfg}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) shell(text string, confirmed bool, progress func(chat.Message)) commands.Response {
	return e.reg.Handle(context.Background(), commands.Request{Platform: "console", User: "op", Local: true, Text: text, Confirmed: confirmed, Progress: progress})
}

func TestBackupVerbs(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var progress []string
	resp := e.shell("backup", false, func(m chat.Message) { mu.Lock(); progress = append(progress, m.Text); mu.Unlock() })
	if resp.Title != "Backup 1 of api" || resp.Severity != chat.SevOK || !strings.Contains(resp.Code, "ai_tutor_") || !strings.Contains(resp.Code, "1 tables, 3 rows") {
		t.Fatalf("create: %+v", resp.Message)
	}
	if len(progress) == 0 || !strings.Contains(strings.Join(progress, "\n"), "copying database") {
		t.Fatalf("progress %v", progress)
	}
	resp = e.shell("backup list", false, nil)
	lines := strings.Split(resp.Code, "\n")
	if len(lines) != 2 || !strings.HasPrefix(strings.TrimSpace(lines[1]), "1 ") || !strings.Contains(lines[1], " yes ") || !strings.Contains(lines[0], "off-host") {
		t.Fatalf("list:\n%s", resp.Code)
	}
	resp = e.shell("backup verify 1", false, nil)
	if resp.Title != "Backup 1 verified" {
		t.Fatalf("verify: %+v", resp.Message)
	}
	// Restore asks for confirmation first, then runs on the click.
	resp = e.shell("backup restore 1", false, nil)
	if resp.Title != "Confirm: restore backup 1 of api" || len(resp.Buttons) != 2 {
		t.Fatalf("restore prompt: %+v", resp.Message)
	}
	done := e.reg.Button(context.Background(), commands.Request{Platform: "console", User: "op", Local: true}, "confirm", resp.Buttons[0].Value)
	if done.Title != "Backup 1 restored on api" || !strings.Contains(done.Context, ".before-restore-") {
		t.Fatalf("restore: %+v", done.Message)
	}
}

// Each call names the target it concerns (incident timelines, audit): the
// only one by default, else the one given with --target.
func TestBackupCallsNameTheirTarget(t *testing.T) {
	e := newEnv(t)
	e.shell("backup list", false, nil)
	e.shell("backup list --target web", false, nil)
	rows, err := e.reg.Store.RecentAudit(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Target != "web" || rows[1].Verb != "backup list" || rows[1].Target != "api" {
		t.Fatalf("audit targets %+v", rows)
	}
}

func TestBackupVerbsBadInput(t *testing.T) {
	e := newEnv(t)
	for text, want := range map[string]string{
		"backup restore abc --target api": `a backup id is a whole number such as 7 (see backup list), got "abc"`,
		"backup restore -3":               `a backup id is a whole number such as 7`,
		"backup restore 99":               "there is no backup 99",
		"backup verify 99":                "there is no backup 99",
		"backup verify":                   "api has no complete backup yet",
		"backup list --target web":        `unknown target "web"; targets: api`,
		"backup restore":                  "backup restore needs <id>",
		"backup frobnicate":               `too many arguments`,
	} {
		resp := e.shell(text, true, nil)
		if !strings.Contains(resp.Text, want) || resp.Severity != chat.SevWarning {
			t.Errorf("%s: %q, want %q", text, resp.Text, want)
		}
	}
	// Without a role nobody but the local user may restore.
	resp := e.reg.Handle(context.Background(), commands.Request{Platform: "slack", User: "U1", Channel: "C1", Text: "backup restore 1"})
	if !strings.Contains(resp.Text, "you may not run backup restore") {
		t.Fatalf("no role: %q", resp.Text)
	}
	if resp := e.shell("backup list", false, nil); !strings.Contains(resp.Text, "no backups yet") {
		t.Fatalf("list after bad input: %+v", resp.Message)
	}
}

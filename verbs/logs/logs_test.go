package logs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	oplogs "opsbot/ops/logs"
	"opsbot/store"
)

// Secrets planted in the log; none may reach the chat.
var planted = []string{
	"hunter2-pass-Zx9",                   // password=…
	"eyJhbGciOiJIUzI1NiJ9.payload.sig42", // Authorization: Bearer …
	"sk-proj-4f9KxQ2mW8vLzT1aB7cD",       // an sk- key
	"am-tok-Qw3rTy-9981",                 // a configured secret (Alertmanager token), bare
	"redis-Pw-Vk82jd",                    // a configured secret (a target's Redis password), bare
}

type env struct {
	reg *commands.Registry
	dir string
	cfg *config.Config
}

func newEnv(t *testing.T, targets int) *env {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "2026-11-25T10:%02d:00+08:00 INFO request %d ok\n", i, i)
		fmt.Fprintf(&b, "2026-11-25T10:%02d:01+08:00 ERROR PLANTED login failed password=%s user=%d\n", i, planted[0], i)
		fmt.Fprintf(&b, "2026-11-25T10:%02d:02+08:00 ERROR PLANTED upstream said Authorization: Bearer %s\n", i, planted[1])
		fmt.Fprintf(&b, "2026-11-25T10:%02d:03+08:00 ERROR PLANTED LLM API Error with key %s\n", i, planted[2])
		fmt.Fprintf(&b, "2026-11-25T10:%02d:04+08:00 WARN PLANTED webhook token %s rejected\n", i, planted[3])
		fmt.Fprintf(&b, "2026-11-25T10:%02d:05+08:00 WARN PLANTED cache auth with %s failed\n", i, planted[4])
	}
	if err := os.WriteFile(filepath.Join(dir, "app.log"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "error.log"), []byte("2026-11-25T10:00:00+08:00 ERROR one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Secrets.AlertmanagerToken = config.Secret(planted[3])
	for i := range targets {
		cfg.Targets = append(cfg.Targets, config.Target{
			Name: []string{"api", "web"}[i], HealthURL: "http://127.0.0.1:1/health", Workdir: dir,
			Redis: config.Redis{Password: config.Secret(planted[4])},
			Logs: map[string]config.LogFile{
				"app":   {Path: "app.log", Format: "app_iso", Timezone: "Asia/Shanghai"},
				"error": {Path: "error.log", Format: "app_iso", Timezone: "Asia/Shanghai"},
			},
		})
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(dir, "opsbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	reg := commands.NewRegistry(func() *config.Config { return cfg }, st, nil)
	l := oplogs.New(func() *config.Config { return cfg })
	l.Now = func() time.Time { return time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC) }
	reg.MustRegister(Verbs(Deps{Config: func() *config.Config { return cfg }, Logs: l})...)
	return &env{reg: reg, dir: dir, cfg: cfg}
}

func (e *env) run(t *testing.T, text string) commands.Response {
	t.Helper()
	return e.reg.Handle(context.Background(), commands.Request{Platform: "slack", User: "U1", UserName: "alice", Channel: "C1", Text: text})
}

// everything is every text a platform could show or upload.
func everything(r commands.Response) string {
	var b strings.Builder
	b.WriteString(r.Title + "\n" + r.Text + "\n" + r.Code + "\n" + r.Context + "\n")
	for _, f := range r.Fields {
		b.WriteString(f.Name + " " + f.Value + "\n")
	}
	for _, f := range r.Files {
		b.WriteString(f.Name + "\n" + string(f.Data) + "\n")
	}
	return b.String()
}

func TestPlantedSecretsNeverReachTheResponse(t *testing.T) {
	e := newEnv(t, 1)
	for _, cmd := range []string{
		"logs search PLANTED --file app",
		"logs search PLANTED --limit 1000 -C 2",
		"logs search planted --ignore-case --level ERROR",
		`logs search "password=|Bearer|sk-" --regex`,
		"logs tail app 200",
		"logs tail app 3",
	} {
		resp := e.run(t, cmd)
		all := everything(resp)
		if !strings.Contains(all, "[REDACTED]") {
			t.Fatalf("%s: nothing redacted, so nothing was tested:\n%s", cmd, all)
		}
		for _, s := range planted {
			if strings.Contains(all, s) {
				t.Fatalf("%s: secret %q reached the response:\n%s", cmd, s, all)
			}
		}
	}
	// The long ones carry the full result as a file, redacted too.
	resp := e.run(t, "logs search PLANTED --limit 1000")
	if len(resp.Files) != 1 || strings.Count(string(resp.Files[0].Data), "\napp.log:") != 200 {
		t.Fatalf("want the 200 matches attached, got %d files", len(resp.Files))
	}
	if !strings.Contains(resp.Text, "200 matching lines") {
		t.Fatalf("summary %q", resp.Text)
	}
	resp = e.run(t, "logs tail app 200")
	if len(resp.Files) != 1 || strings.Count(string(resp.Files[0].Data), "\n") != 200 {
		t.Fatalf("want the 200 tail lines attached, got %+v", resp.Files)
	}
}

func TestSearchReply(t *testing.T) {
	e := newEnv(t, 1)
	resp := e.run(t, `logs search "LLM API Error" --since 2026-11-25T10:30`)
	if !strings.Contains(resp.Text, "10 matching lines") || strings.Count(resp.Code, "app.log:") != 10 || len(resp.Files) != 0 {
		t.Fatalf("reply text %q code %q files %d", resp.Text, resp.Code, len(resp.Files))
	}
	if !strings.Contains(resp.Context, "took ") {
		t.Fatalf("no timing: %q", resp.Context)
	}
	resp = e.run(t, "logs search ERROR --count")
	if resp.Text != "121 matching lines" || !strings.Contains(resp.Code, "app.log") || len(resp.Fields) != 2 || resp.Fields[0].Value != "120" || resp.Fields[1].Value != "1" {
		t.Fatalf("count reply %q %q %+v", resp.Text, resp.Code, resp.Fields)
	}
	resp = e.run(t, "logs search nothing-like-this")
	if resp.Text != "no matching lines" {
		t.Fatalf("reply %q", resp.Text)
	}
	// Context groups as grep -C draws them.
	resp = e.run(t, `logs search "request 7 ok" --file app -C 1`)
	want := "app.log-2026-11-25T10:06:05+08:00 WARN PLANTED cache auth with [REDACTED] failed\n" +
		"app.log:2026-11-25T10:07:00+08:00 INFO request 7 ok\n" +
		"app.log-2026-11-25T10:07:01+08:00 ERROR PLANTED login failed password=[REDACTED] user=7"
	if resp.Code != want {
		t.Fatalf("context code:\n%s\nwant:\n%s", resp.Code, want)
	}
}

func TestBadInputIsOneLine(t *testing.T) {
	e := newEnv(t, 1)
	cases := map[string]string{
		"logs search root --file ../../etc/passwd":                        `unknown log "../../etc/passwd"; logs: app, error`,
		"logs search root --file /etc/passwd":                             `unknown log "/etc/passwd"; logs: app, error`,
		"logs search x --file nope":                                       `unknown log "nope"; logs: app, error`,
		`logs search "(" --regex`:                                         `invalid regexp "(": missing closing ): (`,
		"logs search x --since yesterday-ish":                             `--since "yesterday-ish": want a duration like 1h, 30m or 2d, or a time like 2026-11-25T10:00`,
		"logs search x --limit -5":                                        `--limit must be positive, got -5`,
		"logs search x --limit 0":                                         `--limit must be positive, got 0`,
		"logs search x --limit many":                                      `--limit wants a whole number, got "many"`,
		"logs search x -C 50":                                             `-C must be between 0 and 10, got 50`,
		"logs tail ../../etc/passwd":                                      `unknown log "../../etc/passwd"; logs: app, error`,
		"logs tail app -5":                                                `the number of lines must be between 1 and 1000, got -5`,
		"logs tail app lots":                                              `the number of lines must be a whole number, got "lots"`,
		"logs search x --target web":                                      `unknown target "web"; targets: api`,
		"logs search x --level LOUD":                                      `unknown level "LOUD" (want DEBUG, INFO, WARN, ERROR, CRITICAL or FATAL)`,
		"logs search x --until 2026-11-25T09:00 --since 2026-11-25T10:00": `--until is before --since`,
	}
	for cmd, want := range cases {
		resp := e.run(t, cmd)
		if resp.Text != want {
			t.Errorf("%s:\n got %q\nwant %q", cmd, resp.Text, want)
		}
	}
}

func TestSeveralTargetsNeedTargetFlag(t *testing.T) {
	e := newEnv(t, 2)
	resp := e.run(t, "logs search ERROR --count")
	if resp.Text != "several targets (api, web): pick one with --target" {
		t.Fatalf("reply %q", resp.Text)
	}
	resp = e.run(t, "logs search ERROR --count --target web")
	if resp.Text != "121 matching lines" || !strings.Contains(resp.Title, "on web") {
		t.Fatalf("reply %q %q", resp.Title, resp.Text)
	}
	if !e.reg.IsSlow(commands.Request{Text: "logs search x"}) || e.reg.IsSlow(commands.Request{Text: "logs tail app"}) {
		t.Fatal("search must be slow, tail fast")
	}
	// The target each call concerns (incident timelines, audit): the one
	// named, or "" (every target) when several exist and none is named.
	rows, err := e.reg.Store.RecentAudit(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Target != "web" || rows[1].Target != "" {
		t.Fatalf("audit targets %+v", rows)
	}
}

// With one target, search and tail concern it without --target.
func TestSingleTargetIsTheCallsTarget(t *testing.T) {
	e := newEnv(t, 1)
	e.run(t, "logs search ERROR --count")
	e.run(t, "logs tail error")
	rows, err := e.reg.Store.RecentAudit(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Verb != "logs tail" || rows[0].Target != "api" || rows[1].Verb != "logs search" || rows[1].Target != "api" {
		t.Fatalf("audit targets %+v", rows)
	}
}

func TestSearchTellsProgress(t *testing.T) {
	e := newEnv(t, 1)
	var heard []string
	resp := e.reg.Handle(context.Background(), commands.Request{Platform: "console", User: "me", Local: true, Text: "logs search ERROR",
		Progress: func(m chat.Message) { heard = append(heard, m.Text) }})
	if len(heard) == 0 || heard[0] != `searching logs for "ERROR"…` || !strings.Contains(resp.Text, "121 matching lines") {
		t.Fatalf("progress %q, reply %q", heard, resp.Text)
	}
}

// Search matches what the reply would show: a pattern that reaches into a
// secret finds nothing, one that names the mask finds the line.
func TestSearchIsNoOracle(t *testing.T) {
	e := newEnv(t, 1)
	for _, cmd := range []string{
		`logs search "password=h" --regex`,
		`logs search "password=h"`,
		`logs search "password=hunter2-pass-Z" --ignore-case`,
		`logs search "password=[g-i]" --regex`,
		`logs search "am-tok-Q"`,
		`logs search "Bearer eyJ"`,
	} {
		resp := e.run(t, cmd)
		if resp.Text != "no matching lines" {
			t.Errorf("%s: %q, want no matching lines", cmd, resp.Text)
		}
		if resp = e.run(t, cmd+" --count"); resp.Text != "0 matching lines" {
			t.Errorf("%s --count: %q, want 0 matching lines", cmd, resp.Text)
		}
	}
	resp := e.run(t, `logs search "password=[REDACTED]" --count`)
	if resp.Text != "40 matching lines" {
		t.Fatalf("the mask: %q", resp.Text)
	}
	resp = e.run(t, `logs search REDACTED --count`)
	if resp.Text != "200 matching lines" {
		t.Fatalf("REDACTED: %q", resp.Text)
	}
}

func TestRepliesQuotingLogsArePrivateUnlessPublic(t *testing.T) {
	e := newEnv(t, 1)
	for cmd, private := range map[string]bool{
		"logs search PLANTED":             true,
		"logs search PLANTED --count":     true,
		"logs search PLANTED --public":    false,
		"logs tail app 3":                 true,
		"logs tail app 3 --public":        false,
		"logs search x --file nope":       true, // an error is private anyway
		"logs search ERROR --public -C 1": false,
	} {
		if resp := e.run(t, cmd); resp.Ephemeral != private {
			t.Errorf("%s: ephemeral %v, want %v", cmd, resp.Ephemeral, private)
		}
		if got := e.reg.IsPrivate(commands.Request{Text: cmd}); got != private && !strings.Contains(cmd, "nope") {
			t.Errorf("%s: IsPrivate %v, want %v", cmd, got, private)
		}
	}
	if e.reg.IsPrivate(commands.Request{Text: "help"}) || e.reg.IsPrivate(commands.Request{Text: "logs bogus"}) {
		t.Fatal("only the logs verbs are private")
	}
}

// A tail cut to fit a message is redacted before the cut: a configured
// secret straddling the cut would otherwise show its first half.
func TestTailRedactsBeforeCutting(t *testing.T) {
	e := newEnv(t, 1)
	long := strings.Repeat("x", shownLine-10) + " " + planted[3] + " end"
	key := "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nagw=\n-----END PRIVATE KEY-----"
	if err := os.WriteFile(filepath.Join(e.dir, "error.log"), []byte(long+"\n"+key+"\nlast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp := e.run(t, "logs tail error 6")
	all := everything(resp)
	for _, s := range []string{planted[3][:8], "MIIEvQ", "agw="} {
		if strings.Contains(all, s) {
			t.Fatalf("%q shown:\n%s", s, all)
		}
	}
	if !strings.Contains(resp.Code, "[REDACTED]\nlast") {
		t.Fatalf("tail code:\n%s", resp.Code)
	}
}

// Progress quotes the pattern, redacted like the reply.
func TestProgressIsRedacted(t *testing.T) {
	e := newEnv(t, 1)
	var heard []string
	e.reg.Handle(context.Background(), commands.Request{Platform: "slack", User: "U1", Channel: "C1", Text: `logs search "webhook token ` + planted[3] + `"`,
		Progress: func(m chat.Message) { heard = append(heard, m.Text) }})
	if len(heard) == 0 || strings.Contains(strings.Join(heard, "\n"), planted[3]) || !strings.Contains(heard[0], "[REDACTED]") {
		t.Fatalf("progress %q", heard)
	}
}

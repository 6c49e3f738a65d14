package diagnose_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/bot/slack"
	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/ops/diagnose"
	"opsbot/rules"
	"opsbot/store"
	"opsbot/store/storetest"
	verbs "opsbot/verbs/diagnose"
)

type env struct {
	cfg  *config.Config
	reg  *commands.Registry
	n    *notifier.Notifier
	inc  *incidents.Service
	fake *slackfake.Server
	st   *store.Store
}

// setup wires the verb and the button as the app does, with the notifier
// posting to a local Slack that speaks the Web API.
func setup(t *testing.T) *env {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	cfg := config.Default()
	cfg.Slack.APIURL = fake.APIURL()
	cfg.Secrets.SlackBotToken = slackfake.BotToken
	cfg.Notifier.GroupWait = 0
	cfg.Targets = []config.Target{{Name: "api", Workdir: t.TempDir()}}
	get := func() *config.Config { return cfg }
	st := storetest.SQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := commands.NewRegistry(get, st, log)
	adapter := slack.New(get, reg, log, slack.WithPace(time.Millisecond, 1000))
	router := chat.NewRouter()
	router.Set("slack", adapter.Poster())
	n := notifier.New(st, router, get, log)
	inc := incidents.New(st, n, get, log)
	g := diagnose.New(diagnose.Deps{Config: get, Samples: st})
	d := verbs.Deps{Config: get, Diagnoser: g, Alerts: n, SymptomOf: rules.SymptomOf, Reply: n.Reply, Timeline: inc.RecordAction, Redactor: reg.Redactor}
	reg.MustRegister(verbs.Verbs(d)...)
	for id, h := range verbs.Buttons(d) {
		reg.RegisterButton(id, h)
	}
	n.SetDiagnose(verbs.Action, rules.SymptomOf)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &env{cfg: cfg, reg: reg, n: n, inc: inc, fake: fake, st: st}
}

func (e *env) run(text string) commands.Response {
	return e.reg.Handle(context.Background(), commands.Request{Platform: "console", User: "op", Local: true, Text: text})
}

func await(t *testing.T, fake *slackfake.Server, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fake.Await(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v; messages: %+v", what, err, fake.Messages())
	}
}

func TestVerbNamesSymptomOrTarget(t *testing.T) {
	e := setup(t)
	for _, text := range []string{"diagnose disk", "diagnose disk api", "diagnose api disk"} {
		resp := e.run(text)
		if resp.Title != "Diagnosis: disk on api" {
			t.Errorf("%s: title %q (text %q)", text, resp.Title, resp.Text)
		}
	}
	for text, want := range map[string]string{
		"diagnose cpu":       "say what to diagnose: one of api-down, db, llm, memory, disk, redis, security, or a target (api)",
		"diagnose disk db":   "say what to diagnose",
		"diagnose":           "no alert is firing: name a symptom",
		"diagnose api nope":  "say what to diagnose",
		"diagnose disk nope": "say what to diagnose",
	} {
		resp := e.run(text)
		if !strings.Contains(resp.Text, want) {
			t.Errorf("%s: %q, want %q", text, resp.Text, want)
		}
	}
}

// A firing alert's message carries Diagnose and its runbook; the click
// posts the diagnosis in the alert's thread and in the open incident's
// timeline, and leaves the alert's message as it was. `/ops diagnose`
// alone picks the firing alert's symptom.
func TestDiagnoseButtonAnswersInThread(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if err := e.n.Subscribe(ctx, "slack:C1", []string{"threshold"}, "", "", "test"); err != nil {
		t.Fatal(err)
	}
	in, err := e.inc.Open(ctx, "disk filling", "critical", "api", "test")
	if err != nil {
		t.Fatal(err)
	}
	a := alert.Alert{Fingerprint: "disk1", Kind: "threshold", Rule: "disk_high", Target: "api", Severity: "critical", Status: alert.Firing,
		Summary: "disk use on api is 95 %", Value: 95, StartsAt: time.Now()}
	if err := e.n.Source("rules").Notify(ctx, a); err != nil {
		t.Fatal(err)
	}
	var parent slackfake.Message
	await(t, e.fake, "the alert message", func() bool {
		for _, m := range e.fake.Messages() {
			if m.Channel == "C1" && m.ThreadTS == "" && strings.Contains(string(m.Attachments), `"action_id":"diagnose"`) {
				parent = m
				return true
			}
		}
		return false
	})
	if !strings.Contains(string(parent.Attachments), "runbook docs/runbooks.md#disk-full") {
		t.Errorf("alert message lacks its runbook: %s", parent.Attachments)
	}

	resp := e.run("diagnose")
	if resp.Title != "Diagnosis: disk on api" || !strings.Contains(resp.Context, "Chosen from the firing alerts") {
		t.Errorf("diagnose alone: %q / %q", resp.Title, resp.Context)
	}

	firing, err := e.n.Firing(ctx, 10)
	if err != nil || len(firing) != 1 {
		t.Fatalf("firing %v %v", firing, err)
	}
	click := e.reg.Button(ctx, commands.Request{Platform: "slack", User: "U1", Channel: "C1"}, verbs.Action, strconv.FormatInt(firing[0].ID, 10))
	if !click.Ephemeral || !strings.Contains(click.Text, "posted in the alert's thread") {
		t.Fatalf("click answered %+v", click)
	}
	await(t, e.fake, "the diagnosis in the alert's thread", func() bool {
		for _, m := range e.fake.Messages() {
			if m.ThreadTS == parent.TS && strings.Contains(string(m.Blocks)+string(m.Attachments)+m.Text, "Diagnosis: disk on api") {
				return true
			}
		}
		return false
	})
	_, entries, err := e.inc.Get(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, en := range entries {
		found = found || strings.HasPrefix(en.Text, "diagnose disk")
	}
	if !found {
		t.Errorf("incident timeline lacks the diagnosis: %+v", entries)
	}

	// A click on an alert that does not exist changes nothing.
	bad := e.reg.Button(ctx, commands.Request{Platform: "slack", User: "U1", Channel: "C1"}, verbs.Action, "999")
	if !strings.Contains(bad.Text, "no alert #999") {
		t.Errorf("unknown alert: %q", bad.Text)
	}
}

// The evidence quotes the error log; what goes to the thread has its
// secrets taken out before it is queued (the outbox is stored), not only
// by the router on the way out.
func TestDiagnoseThreadIsRedacted(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	log := filepath.Join(e.cfg.Targets[0].Workdir, "error.log")
	line := fmt.Sprintf("%s ERROR db connect failed password=hunter2-secret\n", time.Now().Format("2006-01-02T15:04:05.000-07:00"))
	if err := os.WriteFile(log, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cfg.Targets[0].Logs = map[string]config.LogFile{"error": {Path: log}}
	if err := e.n.Subscribe(ctx, "slack:C1", []string{"threshold"}, "", "", "test"); err != nil {
		t.Fatal(err)
	}
	a := alert.Alert{Fingerprint: "err1", Kind: "threshold", Rule: "error_lines_high", Target: "api", Severity: "warning", Status: alert.Firing,
		Summary: "ERROR lines 12", Value: 12, StartsAt: time.Now()}
	if err := e.n.Source("rules").Notify(ctx, a); err != nil {
		t.Fatal(err)
	}
	await(t, e.fake, "the alert message", func() bool { return len(e.fake.Messages()) > 0 })
	firing, err := e.n.Firing(ctx, 10)
	if err != nil || len(firing) != 1 {
		t.Fatalf("firing %v %v", firing, err)
	}
	e.reg.Button(ctx, commands.Request{Platform: "slack", User: "U1", Channel: "C1"}, verbs.Action, strconv.FormatInt(firing[0].ID, 10))
	var posted string
	await(t, e.fake, "the diagnosis", func() bool {
		for _, m := range e.fake.Messages() {
			if m.ThreadTS != "" {
				posted = string(m.Blocks) + string(m.Attachments) + m.Text
				return strings.Contains(posted, "ERROR db connect failed")
			}
		}
		return false
	})
	if strings.Contains(posted, "hunter2") {
		t.Fatalf("a secret reached the thread: %s", posted)
	}
	var stored int
	if err := e.st.Get(ctx, &stored, `SELECT COUNT(*) FROM outbox WHERE payload LIKE '%hunter2%'`); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Fatalf("%d outbox row(s) store the secret", stored)
	}
}

package discord_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/bot/discord/discordfake"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/ops/diagnose"
	"opsbot/rules"
	"opsbot/store/storetest"
	diagnoseverbs "opsbot/verbs/diagnose"
)

// On Discord too, a firing alert's message carries Diagnose; the click is
// answered to the clicker alone, the alert's message keeps its buttons,
// and the diagnosis is posted in the message's thread.
func TestDiagnoseButtonOnDiscord(t *testing.T) {
	e := newEnv(t, "http")
	e.setCfg(func(c *config.Config) {
		c.Notifier.GroupWait = 0
		c.Targets = []config.Target{{Name: "api", Workdir: t.TempDir()}}
	})
	cfg := func() *config.Config { return e.cfgp.Load() }
	st := storetest.SQLite(t)
	router := chat.NewRouter()
	router.Set("discord", e.a.Poster())
	n := notifier.New(st, router, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d := diagnoseverbs.Deps{Config: cfg, Diagnoser: diagnose.New(diagnose.Deps{Config: cfg}), Alerts: n, SymptomOf: rules.SymptomOf, Reply: n.Reply}
	e.reg.MustRegister(diagnoseverbs.Verbs(d)...)
	for id, h := range diagnoseverbs.Buttons(d) {
		e.reg.RegisterButton(id, h)
	}
	n.SetDiagnose(diagnoseverbs.Action, rules.SymptomOf)
	ctx := context.Background()
	if err := n.Subscribe(ctx, "discord:"+channel, []string{"threshold"}, "", "", "test"); err != nil {
		t.Fatal(err)
	}
	if err := n.Source("rules").Notify(ctx, alert.Alert{Fingerprint: "disk1", Kind: "threshold", Rule: "disk_high", Target: "api", Severity: "critical",
		Status: alert.Firing, Summary: "disk use on api is 95 %", Value: 95, StartsAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	deliver := func() {
		t.Helper()
		if err := n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	deliver()
	msgs := e.fake.Messages(channel)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the channel", len(msgs))
	}
	var diag string
	for _, b := range discordfake.Buttons(msgs[0].Components) {
		if strings.HasPrefix(b.CustomID, "diagnose:") {
			diag = b.CustomID
		}
	}
	if diag == "" {
		t.Fatalf("no Diagnose button: %+v", discordfake.Buttons(msgs[0].Components))
	}
	_, body := e.deliver(e.fake.NewClick(bob, channel, msgs[0].ID, diag))
	raw, _ := json.Marshal(body)
	if body["type"] != float64(4) || dig(body, "data", "flags") != float64(64) || !contains(string(raw), "posted in the alert's thread") {
		t.Fatalf("click answered %s, want an ephemeral note", raw)
	}
	deliver()
	if after, _ := e.fake.Message(msgs[0].ID); len(discordfake.Buttons(after.Components)) != len(discordfake.Buttons(msgs[0].Components)) {
		t.Errorf("the alert's message lost its buttons: %+v", after.Components)
	}
	thread := e.fake.Messages(msgs[0].ID)
	if len(thread) != 1 || !contains(thread[0].Text(), "Diagnosis: disk on api") {
		t.Fatalf("thread %+v", thread)
	}
}

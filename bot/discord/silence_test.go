package discord_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/bot/discord/discordfake"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store/storetest"
	alertverbs "opsbot/verbs/alerts"
)

// The Silence buttons of an alert posted to Discord: a click silences
// exactly that alert for the duration clicked and updates the message; a
// click by someone without a role is refused privately and silences nothing.
func TestSilenceButtonOnDiscord(t *testing.T) {
	e := newEnv(t, "http")
	ctx := context.Background()
	router := chat.NewRouter()
	router.Set("discord", e.a.Poster())
	cfg := func() *config.Config { return e.cfgp.Load() }
	e.setCfg(func(c *config.Config) { c.Notifier.GroupWait = 0 })
	n := notifier.New(storetest.SQLite(t), router, cfg, slog.New(slog.DiscardHandler))
	d := alertverbs.Deps{Notifier: n}
	e.reg.MustRegister(alertverbs.Verbs(d)...)
	for id, h := range alertverbs.Buttons(d) {
		e.reg.RegisterButton(id, h)
	}
	if err := n.Subscribe(ctx, "discord:"+channel, []string{"health"}, "", "", "test"); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, alert.Alert{Fingerprint: "redis_down:api", Kind: "health", Rule: "redis_down", Target: "api", Severity: "critical", Summary: "Redis refuses connections"}); err != nil {
		t.Fatal(err)
	}
	if err := n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := e.fake.Messages(channel)
	if len(msgs) != 1 {
		t.Fatalf("posted %d messages", len(msgs))
	}
	var ids []string
	for _, b := range discordfake.Buttons(msgs[0].Components) {
		ids = append(ids, b.CustomID)
	}
	// The labels do not fit a custom_id: the form is prefilled with the
	// fingerprint, which only this alert carries.
	if strings.Join(ids, " ") != `ack:1 silence:1:1h silence:1:4h silence:1:24h form:silence:fingerprint="redis_down:api"` {
		t.Fatalf("buttons %q", ids)
	}

	_, body := e.deliver(e.fake.NewClick(bob, channel, msgs[0].ID, "silence:1:1h"))
	if b, _ := json.Marshal(body); body["type"] != float64(4) || dig(body, "data", "flags") != float64(64) || !contains(string(b), "you may not run silence") {
		t.Fatalf("bob's click: %s", b)
	}
	if ss, _ := n.Silences(ctx); len(ss) != 0 {
		t.Fatalf("a refused click silenced: %+v", ss)
	}
	_, body = e.deliver(e.fake.NewClick(alice, channel, msgs[0].ID, "silence:1:24h"))
	if b, _ := json.Marshal(body); body["type"] != float64(7) || !contains(string(b), "silenced 1 d by discord:"+alice.ID) {
		t.Fatalf("alice's click: %s", b)
	}
	ss, err := n.Silences(ctx)
	if err != nil || len(ss) != 1 {
		t.Fatalf("silences %d %v", len(ss), err)
	}
	want := `{alertname="redis_down", fingerprint="redis_down:api", kind="health", rule="redis_down", severity="critical", target="api"}`
	if ss[0].Matcher != want || ss[0].EndsAt.Sub(ss[0].StartsAt.Time) != 24*time.Hour {
		t.Fatalf("silence %+v", ss[0])
	}

	// Silence… opens the form prefilled; its submission runs /ops silence
	// through the registry, so the role's limit applies.
	click := e.fake.NewClick(alice, channel, msgs[0].ID, ids[4])
	if code, body := e.deliver(click); code != 200 || body["type"] != float64(9) {
		t.Fatalf("Silence… answered %d %v, want a modal", code, body)
	}
	m := e.interaction(click.Token).Modal
	if m == nil || m.Components[0].Components[0].Value != `fingerprint="redis_down:api"` {
		t.Fatalf("modal %+v", m)
	}
	_, body = e.deliver(e.fake.NewModalSubmit(bob, channel, m.CustomID, map[string]string{"matcher": `fingerprint="redis_down:api"`, "duration": "2h"}))
	if b, _ := json.Marshal(body); !contains(string(b), "you may not run silence") {
		t.Fatalf("bob's form: %s", b)
	}
	_, body = e.deliver(e.fake.NewModalSubmit(alice, channel, m.CustomID, map[string]string{"matcher": `fingerprint="redis_down:api"`, "duration": "2h", "reason": "deploy"}))
	if b, _ := json.Marshal(body); body["type"] != float64(4) {
		t.Fatalf("alice's form: %s", b)
	}
	if ss, err = n.Silences(ctx); err != nil || len(ss) != 2 {
		t.Fatalf("silences %d %v", len(ss), err)
	}
	var fromForm bool
	for _, s := range ss {
		fromForm = fromForm || (s.Matcher == `{fingerprint="redis_down:api"}` && s.EndsAt.Sub(s.StartsAt.Time) == 2*time.Hour)
	}
	if !fromForm {
		t.Fatalf("silences %+v", ss)
	}
}

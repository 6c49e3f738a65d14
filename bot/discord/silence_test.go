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
	if strings.Join(ids, " ") != "ack:1 silence:1:1h silence:1:4h silence:1:24h" {
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
}

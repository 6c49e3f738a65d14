package discord_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"opsbot/alert"
	"opsbot/bot/discord/discordfake"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/rules"
	"opsbot/store/storetest"
	alertverbs "opsbot/verbs/alerts"
)

// A message grouping two alerts on Discord carries Acknowledge all, the
// Silence buttons of the group and one Diagnose per symptom (in rows the
// fake accepts); a click on Silence silences both alerts of the group and
// not an alert on another target.
func TestGroupSilenceOnDiscord(t *testing.T) {
	e := newEnv(t, "http")
	ctx := context.Background()
	router := chat.NewRouter()
	router.Set("discord", e.a.Poster())
	cfg := func() *config.Config { return e.cfgp.Load() }
	e.setCfg(func(c *config.Config) { c.Notifier.GroupWait = 0 })
	n := notifier.New(storetest.SQLite(t), router, cfg, slog.New(slog.DiscardHandler))
	n.SetDiagnose("diagnose", rules.SymptomOf)
	d := alertverbs.Deps{Notifier: n}
	e.reg.MustRegister(alertverbs.Verbs(d)...)
	for id, h := range alertverbs.Buttons(d) {
		e.reg.RegisterButton(id, h)
	}
	if err := n.Subscribe(ctx, "discord:"+channel, []string{"health"}, "", "", "test"); err != nil {
		t.Fatal(err)
	}
	post := func(as ...alert.Alert) {
		t.Helper()
		if err := n.Notify(ctx, as...); err != nil {
			t.Fatal(err)
		}
		if err := n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	down := func(rule, target string) alert.Alert {
		return alert.Alert{Fingerprint: rule + ":" + target, Kind: "health", Rule: rule, Target: target, Severity: "critical", Summary: rule + " on " + target}
	}
	post(down("redis_down", "api"), down("llm_down", "api"))
	msgs := e.fake.Messages(channel)
	if len(msgs) != 1 {
		t.Fatalf("posted %d messages", len(msgs))
	}
	var ids []string
	for _, b := range discordfake.Buttons(msgs[0].Components) {
		ids = append(ids, b.CustomID)
	}
	if len(ids) != 6 || !strings.HasPrefix(ids[0], "ack:msg:") {
		t.Fatalf("buttons %q", ids)
	}
	group := strings.TrimPrefix(ids[0], "ack:")
	want := "ack:" + group + " silence:" + group + ":1h silence:" + group + ":4h silence:" + group + ":24h diagnose:1 diagnose:2"
	if strings.Join(ids, " ") != want {
		t.Fatalf("buttons %q, want %q", ids, want)
	}
	if len(msgs[0].Components) != 2 {
		t.Fatalf("%d rows, want 2 (five buttons a row)", len(msgs[0].Components))
	}
	post(down("database_down", "db"))

	// /ops alerts links each alert's first message in the guild; without a
	// known guild it gives none.
	views, err := n.Alerts(ctx, notifier.AlertFilter{})
	if err != nil || len(views) != 3 {
		t.Fatalf("alerts %d %v", len(views), err)
	}
	dbMsg := e.fake.Messages(channel)[1]
	for _, v := range views {
		id := msgs[0].ID
		if v.Target == "db" {
			id = dbMsg.ID
		}
		want := "https://discord.com/channels/" + theGuild + "/" + channel + "/" + id
		if !strings.HasSuffix(v.Message, " "+want) {
			t.Fatalf("alert #%d shown at %q, want %q", v.ID, v.Message, want)
		}
	}
	e.setCfg(func(c *config.Config) { c.Discord.GuildID = "" })
	if views, _ := n.Alerts(ctx, notifier.AlertFilter{}); len(views) == 0 || strings.Contains(views[0].Message, "https://") {
		t.Fatalf("a link without a guild: %+v", views)
	}
	e.setCfg(func(c *config.Config) { c.Discord.GuildID = theGuild })

	_, body := e.deliver(e.fake.NewClick(bob, channel, msgs[0].ID, "silence:"+group+":1h"))
	if b, _ := json.Marshal(body); body["type"] != float64(4) || !contains(string(b), "you may not run silence") {
		t.Fatalf("bob's click: %s", b)
	}
	_, body = e.deliver(e.fake.NewClick(alice, channel, msgs[0].ID, "silence:"+group+":4h"))
	if b, _ := json.Marshal(body); body["type"] != float64(7) || !contains(string(b), "silenced 4 h by discord:"+alice.ID) {
		t.Fatalf("alice's click: %s", b)
	}
	ss, err := n.Silences(ctx)
	if err != nil || len(ss) != 1 || ss[0].Matcher != `{kind="health", severity="critical", target="api"}` {
		t.Fatalf("silences %+v %v", ss, err)
	}
	// A new alert on api is silenced, one on db is posted.
	before := len(e.fake.Messages(channel))
	post(down("uploads_down", "api"), down("uploads_down", "db"))
	after := e.fake.Messages(channel)
	if len(after) != before+1 || !strings.Contains(string(mustJSON(t, after[len(after)-1])), "uploads_down on db") ||
		strings.Contains(string(mustJSON(t, after[len(after)-1])), "uploads_down on api") {
		t.Fatalf("after the silence: %d new messages", len(after)-before)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

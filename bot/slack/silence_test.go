package slack

import (
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/bot/forms"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/verbs/alerts"
)

// The Silence button of an alert posted to Slack silences exactly that
// alert, for the duration clicked, within the clicker's role limit; someone
// without a role is refused and nothing is silenced.
func TestSilenceButtonOnSlack(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Notifier.GroupWait = 0
		c.Roles["night"] = config.Role{Users: []string{"slack:UNIGHT"}, Verbs: []string{"silence"}, SilenceMax: time.Hour}
	})
	ctx := ctxT(t)
	router := chat.NewRouter()
	router.Set("slack", e.a.Poster())
	n := notifier.New(e.store, router, func() *config.Config { return e.cfg }, slog.New(slog.DiscardHandler))
	d := alerts.Deps{Notifier: n}
	e.reg.MustRegister(alerts.Verbs(d)...)
	for id, h := range alerts.Buttons(d) {
		e.reg.RegisterButton(id, h)
	}
	if err := n.Subscribe(ctx, "slack:C0OPS", []string{"threshold"}, "", "", "test"); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, alert.Alert{Fingerprint: "cpu/api", Kind: "threshold", Rule: "cpu_high", Target: "api", Severity: "warning", Summary: "CPU 91%", Value: 91}); err != nil {
		t.Fatal(err)
	}
	if err := n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := e.fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("posted %d messages", len(msgs))
	}
	var blocks, atts any
	if err := json.Unmarshal(msgs[0].Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	if len(msgs[0].Attachments) > 0 {
		if err := json.Unmarshal(msgs[0].Attachments, &atts); err != nil {
			t.Fatal(err)
		}
	}
	posted := map[string]any{"blocks": blocks, "attachments": atts}
	// Slack wants action ids unique in a block: the three Silence buttons
	// are silence, silence#1 and silence#2.
	oneHour := buttonValue(t, posted, "silence")
	fourHours := buttonValue(t, posted, "silence#1")
	if oneHour != "1:1h" || fourHours != "1:4h" {
		t.Fatalf("button values %q %q", oneHour, fourHours)
	}

	click := func(user, action, value, id string) string {
		e.signed(InteractionsPath, url.Values{"payload": {e.click(user, action, value, id)}}.Encode())
		if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses(id)) == 1 }); err != nil {
			t.Fatalf("no answer to %s: %v", id, err)
		}
		return string(e.fake.Responses(id)[0])
	}
	if got := click("UNOBODY", "silence", oneHour, "r1"); !strings.Contains(got, "you may not run silence") {
		t.Fatalf("no role: %s", got)
	}
	if got := click("UNIGHT", "silence#1", fourHours, "r2"); !strings.Contains(got, "at most 1 h for night") {
		t.Fatalf("over the role's limit: %s", got)
	}
	if ss, _ := n.Silences(ctx); len(ss) != 0 {
		t.Fatalf("refused clicks silenced: %+v", ss)
	}
	got := click("UADMIN", "silence#1", fourHours, "r3")
	if !strings.Contains(got, "silenced 4 h by slack:UADMIN") || !strings.Contains(got, `"replace_original":true`) {
		t.Fatalf("answer: %s", got)
	}
	ss, err := n.Silences(ctx)
	if err != nil || len(ss) != 1 {
		t.Fatalf("silences %d %v", len(ss), err)
	}
	if !strings.Contains(ss[0].Matcher, `fingerprint="cpu/api"`) || !strings.Contains(ss[0].Matcher, `severity="warning"`) ||
		ss[0].EndsAt.Sub(ss[0].StartsAt.Time) != 4*time.Hour || !strings.HasPrefix(ss[0].CreatedBy, "slack:UADMIN") {
		t.Fatalf("silence %+v", ss[0])
	}

	// Silence… opens the form prefilled; its submission runs /ops silence
	// through the registry, so the role's limit applies.
	form := buttonValue(t, posted, forms.Button)
	if form != `silence:fingerprint="cpu/api"` {
		t.Fatalf("form button value %q", form)
	}
	e.signed(InteractionsPath, url.Values{"payload": {e.click("UNIGHT", forms.Button, form, "r4")}}.Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Views()) == 1 }); err != nil {
		t.Fatal(err)
	}
	v := e.fake.Views()[0]
	// The duration is picked from a list on Slack.
	if v.Inputs["matcher"] != `fingerprint="cpu/api"` || v.CallbackID != "form:"+form || v.Inputs["duration"] != "1h" ||
		strings.Count(string(v.Raw), `"type":"static_select"`) != 1 || !strings.Contains(string(v.Raw), `"value":"7d"`) {
		t.Fatalf("view %+v", v)
	}
	submit := func(user, dur string) {
		e.signed(InteractionsPath, url.Values{"payload": {submission(t, user, v.CallbackID, v.PrivateMetadata,
			map[string]string{"matcher": `fingerprint="cpu/api"`, "duration": dur, "reason": "deploy"})}}.Encode())
	}
	submit("UNIGHT", "select:4h")
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Messages()) == 2 }); err != nil {
		t.Fatal(err)
	}
	if m := e.fake.Messages()[1]; !strings.Contains(m.Text, "at most 1 h for night") {
		t.Fatalf("over the role's limit: %+v", m)
	}
	submit("UNIGHT", "select:1h")
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Messages()) == 3 }); err != nil {
		t.Fatal(err)
	}
	if ss, err = n.Silences(ctx); err != nil || len(ss) != 2 || ss[0].Matcher != `{fingerprint="cpu/api"}` && ss[1].Matcher != `{fingerprint="cpu/api"}` {
		t.Fatalf("silences %+v %v", ss, err)
	}
}

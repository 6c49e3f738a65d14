package slack

import (
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/rules"
	"opsbot/verbs/alerts"
)

// A message grouping two alerts on Slack carries the group's Silence
// buttons and a Diagnose per symptom; a click silences the labels the two
// share (so both, and not an alert on another target).
func TestGroupSilenceOnSlack(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Notifier.GroupWait = 0 })
	ctx := ctxT(t)
	router := chat.NewRouter()
	router.Set("slack", e.a.Poster())
	n := notifier.New(e.store, router, func() *config.Config { return e.cfg }, slog.New(slog.DiscardHandler))
	n.SetDiagnose("diagnose", rules.SymptomOf)
	d := alerts.Deps{Notifier: n}
	e.reg.MustRegister(alerts.Verbs(d)...)
	for id, h := range alerts.Buttons(d) {
		e.reg.RegisterButton(id, h)
	}
	if err := n.Subscribe(ctx, "slack:C0OPS", []string{"threshold"}, "", "", "test"); err != nil {
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
	high := func(rule, target string) alert.Alert {
		return alert.Alert{Fingerprint: rule + "/" + target, Kind: "threshold", Rule: rule, Target: target, Severity: "warning", Summary: rule, Value: 95}
	}
	post(high("disk_high", "api"), high("memory_high", "api"))
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
	group := strings.TrimPrefix(buttonValue(t, posted, "ack"), "msg:")
	fourHours := buttonValue(t, posted, "silence#1")
	if fourHours != "msg:"+group+":4h" || buttonValue(t, posted, "diagnose") != "1" || buttonValue(t, posted, "diagnose#1") != "2" {
		t.Fatalf("buttons: silence %q diagnose %q %q", fourHours, buttonValue(t, posted, "diagnose"), buttonValue(t, posted, "diagnose#1"))
	}
	post(high("disk_high", "db"))

	// /ops alerts links each alert's first message once auth.test has told
	// the workspace's URL.
	if got := e.a.Poster().Link("C0OPS", "1.2"); got != "" {
		t.Fatalf("a link before auth.test: %q", got)
	}
	e.run()
	// The adapter keeps the URL after the fake has answered, so the
	// fake's own Await cannot see it: poll, with a deadline.
	for deadline := time.Now().Add(10 * time.Second); e.a.Poster().Link("C0OPS", "1.2") == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no workspace URL 10 s after auth.test")
		}
	}
	if got := e.a.Poster().Link("#ops", "1.2"); got != "" {
		t.Fatalf("a channel name got a link: %q", got)
	}
	views, err := n.Alerts(ctx, notifier.AlertFilter{})
	if err != nil || len(views) != 3 {
		t.Fatalf("alerts %d %v", len(views), err)
	}
	for _, v := range views {
		var ts string
		for _, m := range e.fake.Messages() {
			if strings.Contains(string(m.Attachments)+string(m.Blocks), v.Rule+" on "+v.Target) {
				ts = m.TS
			}
		}
		want := "https://fake.slack.test/archives/C0OPS/p" + strings.ReplaceAll(ts, ".", "")
		if ts == "" || !strings.HasSuffix(v.Message, " "+want) {
			t.Fatalf("alert #%d shown at %q, want the link %q", v.ID, v.Message, want)
		}
	}

	e.signed(InteractionsPath, url.Values{"payload": {e.click("UADMIN", "silence#1", fourHours, "r1")}}.Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("r1")) == 1 }); err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if got := string(e.fake.Responses("r1")[0]); !strings.Contains(got, "silenced 4 h by slack:UADMIN") || !strings.Contains(got, "2 alerts firing") {
		t.Fatalf("answer: %s", got)
	}
	ss, err := n.Silences(ctx)
	if err != nil || len(ss) != 1 || ss[0].Matcher != `{kind="threshold", severity="warning", target="api"}` ||
		ss[0].EndsAt.Sub(ss[0].StartsAt.Time) != 4*time.Hour {
		t.Fatalf("silences %+v %v", ss, err)
	}
	before := len(e.fake.Messages())
	post(high("cpu_high", "api"), high("cpu_high", "db"))
	after := e.fake.Messages()
	last := string(after[len(after)-1].Blocks) + string(after[len(after)-1].Attachments)
	if len(after) != before+1 || !strings.Contains(last, "cpu_high on db") || strings.Contains(last, "cpu_high on api") {
		t.Fatalf("after the silence: %d new messages", len(after)-before)
	}
}

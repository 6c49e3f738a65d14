package alerts_test

import (
	"opsbot/alert"

	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
	"opsbot/verbs/alerts"
)

func TestVerbs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		cfg := config.Default()
		cfg.Notifier.GroupWait = 0
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		var out bytes.Buffer
		router := chat.NewRouter()
		router.Set("console", console.NewPoster(&out))
		n := notifier.New(st, router, func() *config.Config { return cfg }, slog.New(slog.DiscardHandler))
		n.Now = clock
		reg := commands.NewRegistry(func() *config.Config { return cfg }, st, slog.New(slog.DiscardHandler))
		reg.Now = clock
		d := alerts.Deps{Notifier: n}
		reg.MustRegister(alerts.Verbs(d)...)
		for id, h := range alerts.Buttons(d) {
			reg.RegisterButton(id, h)
		}
		run := func(text string) string {
			resp := reg.Handle(ctx, commands.Request{Platform: "console", User: "alice", UserName: "alice", Text: text, Local: true})
			return strings.TrimSpace(resp.Title + "\n" + resp.Text + "\n" + resp.Code)
		}
		steps := []struct{ cmd, want string }{
			{"subscribe threshold weather", `unknown kind "weather" (want threshold, security, health, backup, incident, external)`},
			{"subscriptions", "No subscriptions. Try `/ops subscribe threshold security`."},
			{"subscribe threshold health --min-severity critical --oncall @sre", "This channel now gets threshold, health alerts (critical and above). @sre is mentioned on critical ones until someone acknowledges."},
			{"subscribe security", "This channel now gets security alerts (warning and above)."},
			{"subscriptions", "Subscriptions\n\nconsole              health     critical+  on-call @sre\nconsole              security   warning+\nconsole              threshold  critical+  on-call @sre"},
			{"subscriptions test threshold warning", "No channel would get a warning threshold alert."},
			{"subscriptions test threshold critical", "A critical threshold alert would go to\n\nconsole              threshold  critical+  on-call @sre"},
			{"subscriptions test weather critical", `kind must be one of threshold, security, health, backup, incident, external, got "weather"`},
			{"unsubscribe security", "This channel no longer gets security alerts."},
			{"silence target 1h", `bad matcher "target": want key=value, e.g. target=api or rule=cpu_high`},
			{"silence target=api -5m", `duration must be positive, got "-5m"`},
			{"silence target=api 0s", `duration must be positive, got "0s"`},
			{"silence target=api 2h deploying v2", "Silence #1: target=api until 2026-11-25 12:00 UTC. `/ops unsilence 1` ends it early."},
			{"silences", "Silences\n\n#1    target=api                     until 2026-11-25 12:00 UTC (2h0m0s left)  by console:alice  — deploying v2"},
			{"unsilence 7", "no silence #7 in force"},
			{"unsilence 1", "Silence #1 ended."},
			{"silences", "No silences in force."},
			{"ack 5", "no alert #5"},
			{"ack x", `alert id must be a number, got "x"`},
		}
		for _, s := range steps {
			if got := run(s.cmd); got != s.want {
				t.Errorf("/ops %s:\n got %q\nwant %q", s.cmd, got, s.want)
			}
		}
		if err := n.Notify(ctx, alert.Alert{Fingerprint: "cpu/api", Kind: "threshold", Rule: "cpu_high", Target: "api", Severity: "critical", Summary: "CPU 97%"}); err != nil {
			t.Fatal(err)
		}
		if err := n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "[#1] [CRITICAL] cpu_high on api @sre") {
			t.Fatalf("console shows:\n%s", out.String())
		}
		resp := reg.Button(ctx, commands.Request{Platform: "console", User: "bob", UserName: "bob", Local: true}, "ack", "1")
		if !strings.Contains(resp.Context, "acknowledged by console:bob") || len(resp.Buttons) != 0 {
			t.Fatalf("button answer: %+v", resp.Message)
		}
		if got := run("ack 1"); got != "alert #1 was already acknowledged by console:bob" {
			t.Fatalf("second ack: %q", got)
		}
		if _, err := n.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "[#1 updated] [CRITICAL] cpu_high on api\n") || !strings.Contains(out.String(), "(acknowledged by console:bob · fingerprint cpu/api)") {
			t.Fatalf("console after ack:\n%s", out.String())
		}
	})
}

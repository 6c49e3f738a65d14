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
		cfg.RateLimits.Default.Count = 100 // every step runs at one instant
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
			{"subscriptions test threshold warning", "Route of kind=threshold severity=warning\n\nroot\n  no receiver: not posted"},
			{"subscriptions test threshold critical", "Route of kind=threshold severity=critical\n\nroot → subscription console/threshold {kind=\"threshold\", severity=\"critical\"}\n  receiver subscription console/threshold → console"},
			{"subscriptions test weather critical", `unknown kind "weather" (want threshold, security, health, backup, incident, external)`},
			{"subscriptions test target", `bad label "target": want name=value, e.g. kind=threshold severity=critical target=api`},
			{`subscribe security severity=critical target=~"api.*"`, `This channel now gets security alerts matching {severity="critical", target=~"api.*"} (warning and above).`},
			{`subscribe security target=~"api(("`, `bad matcher "target=~api((": want e.g. target=api, severity!=warning, target=~"api.*" or rule!~"disk_.*"`},
			{"subscriptions", "Subscriptions\n\nconsole              health     critical+  on-call @sre\nconsole              security   warning+   {severity=\"critical\", target=~\"api.*\"}\nconsole              threshold  critical+  on-call @sre"},
			{"subscriptions test kind=security severity=critical target=api-2", "Route of kind=security severity=critical target=api-2\n\nroot → subscription console/security {kind=\"security\", severity=\"critical\", target=~\"api.*\"}\n  receiver subscription console/security → console"},
			{"subscriptions test kind=security severity=critical target=web", "Route of kind=security severity=critical target=web\n\nroot\n  no receiver: not posted"},
			{"subscriptions test kind=security severity=warning target=api-2", "Route of kind=security severity=warning target=api-2\n\nroot\n  no receiver: not posted"},
			{"unsubscribe security", "This channel no longer gets security alerts."},
			{"silence target 1h", `bad matcher "target": want e.g. target=api, severity!=warning, target=~"api.*" or rule!~"disk_.*"`},
			{"silence target=api -5m", `duration must be positive, got "-5m"`},
			{"silence target=api 0s", `duration must be positive, got "0s"`},
			{"silence target=api 2h", "a silence needs a reason: add it after the duration or with --reason"},
			{`silence target=~".*" 2h everything`, `matchers {target=~".*"} match every alert: name at least one label value`},
			{"silence target=api", "give a duration (30m, 2h, 1d) or --until after the matchers"},
			{"silence target=api 2h deploying v2", "Silence #1: {target=\"api\"} until 2026-11-25 12:00 UTC. `/ops unsilence 1` ends it early."},
			{"silences", "Silences\n\n#1    {target=\"api\"}                 until 2026-11-25 12:00 UTC (2 h left)  by console:alice  — deploying v2"},
			{`silence target=db rule!~"disk_.*" --start 2026-11-25T22:00 --until 2026-11-26T02:00 --reason "maintenance window"`, "Silence #2: {target=\"db\", rule!~\"disk_.*\"} from 2026-11-25 22:00 UTC until 2026-11-26 02:00 UTC. `/ops unsilence 2` ends it early."},
			{"silence target=db --start 2h --until 30m reindex", "Silence #3: {target=\"db\"} from 2026-11-25 12:00 UTC until 2026-11-25 12:30 UTC. `/ops unsilence 3` ends it early."},
			{"silence target=db --start tomorrow 1h x", `bad --start "tomorrow": want a duration like 2h or a UTC time like 2026-11-25T22:00`},
			{"silence target=db --until 2026-11-25T09:00 late", "--until 2026-11-25 09:00 is not after the start"},
			{"silence target=db --duration 90m --until 2h x", "give --duration or --until, not both"},
			{"silence severity=warning --duration 90m noisy", "Silence #4: {severity=\"warning\"} until 2026-11-25 11:30 UTC. `/ops unsilence 4` ends it early."},
			{"silence expire x", `silence id must be a number, got "x"`},
			{"unsilence #0", `silence id must be a number, got "#0"`},
			{"silence expire", "usage: silence expire <id>"},
			{"silence expire 4 now", "usage: silence expire <id>"},
			{"silence expire 4 --reason done", "usage: silence expire <id>"},
			{"silence expire 9", "no silence #9 in force"},
			{"silences", "Silences\n\n#1    {target=\"api\"}                 until 2026-11-25 12:00 UTC (2 h left)  by console:alice  — deploying v2\n" +
				"#4    {severity=\"warning\"}           until 2026-11-25 11:30 UTC (1 h 30 min left)  by console:alice  — noisy\n" +
				"#3    {target=\"db\"}                  from 2026-11-25 12:00 UTC until 2026-11-25 12:30 UTC (starts in 2 h)  by console:alice  — reindex\n" +
				"#2    {target=\"db\", rule!~\"disk_.*\"} from 2026-11-25 22:00 UTC until 2026-11-26 02:00 UTC (starts in 12 h)  by console:alice  — maintenance window"},
			{"silence expire 4", "Silence #4 ended."},
			{"unsilence 2", "Silence #2 ended."},
			{"unsilence 3", "Silence #3 ended."},
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
		for _, s := range []struct{ cmd, want string }{
			{"alerts --firing", "Alerts since 2026-11-24 10:00 UTC, firing\n\n#1     acked     critical cpu_high               api               0 s ago  value 0  console message 1"},
			{"alerts --silenced", "No alerts since 2026-11-24 10:00 UTC, silenced."},
			{"alerts --since 2h target=db", `No alerts since 2026-11-25 08:00 UTC, matching {target="db"}.`},
			{"alerts --firing --inhibited", "give one of --firing, --silenced, --inhibited"},
			{"alerts --since soon", `bad --since "soon": want a duration like 1h, 30m or 2d, or a time like 2026-11-25T10:00`},
			{"alerts show 1", "Alert #1: cpu_high on api (critical, acked)\n\n2026-11-25 10:00:00 UTC  pending    CPU 97%\n2026-11-25 10:00:00 UTC  firing     posted console message 1\n2026-11-25 10:00:00 UTC  acked      by console:bob"},
			{"alerts show 9", "no alert #9"},
		} {
			if got := run(s.cmd); got != s.want {
				t.Errorf("/ops %s:\n got %q\nwant %q", s.cmd, got, s.want)
			}
		}
		if _, err := n.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "[#1 updated] [CRITICAL] cpu_high on api — acknowledged by console:bob\n") {
			t.Fatalf("console after ack:\n%s", out.String())
		}
	})
}

// A silence is bounded by the roles that grant it (24 h for operators and
// 7 d for admins by default), and nobody without a role may set one.
func TestSilenceLimitPerRole(t *testing.T) {
	st := storetest.SQLite(t)
	cfg := config.Default()
	cfg.Roles = map[string]config.Role{
		"operator": {Users: []string{"slack:UOP"}},
		"admin":    {Users: []string{"slack:UADM"}},
		"night":    {Users: []string{"discord:7"}, Verbs: []string{"silence"}, SilenceMax: 3 * time.Hour},
	}
	n := notifier.New(st, chat.NewRouter(), func() *config.Config { return cfg }, slog.New(slog.DiscardHandler))
	reg := commands.NewRegistry(func() *config.Config { return cfg }, st, slog.New(slog.DiscardHandler))
	reg.MustRegister(alerts.Verbs(alerts.Deps{Notifier: n})...)
	cases := []struct{ platform, user, text, want string }{
		{"slack", "UANY", "silence target=api 1h", "you may not run silence: silence needs role operator, admin or night; you have none — ask an admin to add you under roles.operator.users"},
		{"slack", "UANY", "silences", "No silences in force."},
		{"slack", "UOP", "silence target=api 2160h upgrade", "a silence of 90 d is longer than your roles allow: at most 1 d for operator (roles.<name>.silence_max); ask an admin for a longer one"},
		{"slack", "UOP", "silence target=api 25h upgrade", "a silence of 1 d 1 h is longer than your roles allow: at most 1 d for operator (roles.<name>.silence_max); ask an admin for a longer one"},
		{"slack", "UOP", "silence target=api 24h upgrade", "Silence #1: "},
		{"slack", "UADM", "silence target=api 8d upgrade", "a silence of 8 d is longer than your roles allow: at most 7 d for admin (roles.<name>.silence_max); ask an admin for a longer one"},
		{"slack", "UADM", "silence target=api 7d upgrade", "Silence #2: "},
		{"discord", "7", "silence target=api 4h upgrade", "at most 3 h for night"},
		{"discord", "7", "ack 1", "you may not run ack: ack needs role operator or admin; you have night"},
		{"slack", "UANY", "silence expire 1", "you may not run silence"},
		{"slack", "UANY", "unsilence 1", "you may not run unsilence"},
		{"console", "me", "silence target=db 7d upgrade", "Silence #3: "},
	}
	for _, tc := range cases {
		r := reg.Handle(context.Background(), commands.Request{Platform: tc.platform, User: tc.user, Channel: "C1", Text: tc.text, Local: tc.platform == "console"})
		if !strings.Contains(r.Text, tc.want) {
			t.Errorf("%s:%s %q: got %q want %q", tc.platform, tc.user, tc.text, r.Text, tc.want)
		}
	}
	ss, err := n.Silences(context.Background())
	if err != nil || len(ss) != 3 {
		t.Fatalf("silences %d %v: a refused silence was set", len(ss), err)
	}
}

package app

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"opsbot/bot/discord"
	"opsbot/bot/discord/discordfake"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/ops/backup"
	"opsbot/policy"
	"opsbot/scheduler"
	"opsbot/store"
	"opsbot/store/storetest"
)

// The autocomplete sources read real stores: rows seeded through the
// services on SQLite and PostgreSQL come back through Discord's
// autocomplete filtered by what was typed, the exact match first, at most
// 25.
func TestCompletionSourcesOnRealStores(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		fake := discordfake.New()
		t.Cleanup(fake.Close)
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Discord.Mode = "http"
		cfg.Secrets.DiscordBotToken = config.Secret(fake.Token)
		cfg.Secrets.DiscordAppID = config.Secret(fake.AppID)
		cfg.Secrets.DiscordPublicKey = config.Secret(hex.EncodeToString(pub))
		cfg.Targets = []config.Target{
			{Name: "api", Logs: map[string]config.LogFile{"app": {}, "nginx": {}, "nginx-error": {}}},
			{Name: "worker"},
		}
		a := &App{}
		a.cfg.Store(cfg)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))

		// Real rows: 40 incidents, 40 silences, 35 backups, 4 jobs.
		inc := incidents.New(st, nil, a.Config, log)
		for i := 1; i <= 40; i++ {
			if _, err := inc.Open(ctx, fmt.Sprintf("API down %d", i), "critical", "", "someone"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := inc.Close(ctx, 7, "someone"); err != nil {
			t.Fatal(err)
		}
		n := notifier.New(st, nil, a.Config, log)
		for i := 1; i <= 40; i++ {
			if _, err := n.Silence(ctx, fmt.Sprintf("rule=disk%d", i), time.Hour, "planned", "someone"); err != nil {
				t.Fatal(err)
			}
		}
		if err := n.Unsilence(ctx, 13, "someone"); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for i := 1; i <= 35; i++ {
			target := "api"
			if i > 30 {
				target = "worker"
			}
			if _, err := st.AddBackup(ctx, target, at.Add(time.Duration(i)*time.Hour).Format("20060102-1504"), at.Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		bk := backup.New(st, a.Config, log)
		var jobs []scheduler.Job
		for _, name := range []string{"backup-nightly", "backup-hourly", "cleanup", "security-scan"} {
			jobs = append(jobs, scheduler.Job{Name: name, Spec: "0 3 * * *", Run: func(context.Context, time.Time) error { return nil }})
		}
		sched, err := scheduler.New(st, n.Source("scheduler"), log, "test", jobs)
		if err != nil {
			t.Fatal(err)
		}

		// Verbs shaped as the real ones, whose options take the candidates.
		reg := commands.NewRegistry(a.Config, st, log)
		noop := func(context.Context, *commands.Call) (commands.Response, error) { return commands.Text("ok"), nil }
		id := []commands.Param{{Name: "id", Required: true, Kind: "int"}}
		reg.MustRegister(
			&commands.Verb{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{{Name: "show", Access: policy.Read, Summary: "show", Params: id, Run: noop}}},
			&commands.Verb{Name: "backup", Summary: "backups", Subs: []*commands.Verb{{Name: "verify", Access: policy.Read, Summary: "verify", Params: id, Run: noop}}},
			&commands.Verb{Name: "unsilence", Access: policy.Read, Summary: "unsilence", Params: id, Run: noop},
			&commands.Verb{Name: "schedule", Summary: "jobs", Subs: []*commands.Verb{{Name: "run", Access: policy.Read, Summary: "run", Params: []commands.Param{{Name: "job", Required: true}}, Run: noop}}},
			&commands.Verb{Name: "status", Access: policy.Read, Summary: "status", Params: []commands.Param{{Name: "target"}}, Run: noop},
		)
		d := discord.New(a.Config, reg, log, append(a.completions(inc, n, bk, sched), discord.WithHTTPClient(fake.Client()))...)
		srv := httptest.NewServer(fake.Endpoint(d.Handler()))
		t.Cleanup(srv.Close)
		user := discordfake.User{ID: "800000000000000001", Name: "alice"}
		ask := func(opts ...discordfake.Option) (values, names []string) {
			t.Helper()
			in := fake.NewAutocomplete(user, "600000000000000001", opts...)
			code, body, err := fake.Deliver(ctx, srv.Client(), srv.URL, priv, time.Now(), in)
			if err != nil || code != 200 {
				t.Fatalf("autocomplete answered %d %s (%v)", code, body, err)
			}
			var out struct {
				Type int `json:"type"`
				Data struct {
					Choices []struct {
						Name  string `json:"name"`
						Value any    `json:"value"`
					} `json:"choices"`
				} `json:"data"`
			}
			if err := json.Unmarshal(body, &out); err != nil || out.Type != 8 {
				t.Fatalf("answer %s (%v)", body, err)
			}
			for _, c := range out.Data.Choices {
				values = append(values, fmt.Sprint(c.Value))
				names = append(names, c.Name)
			}
			return values, names
		}
		join := func(v []string) string { return strings.Join(v, ",") }

		// Incidents: closed ones too (show), newest first; "1" exact first,
		// then ids starting with 1, newest first, then those holding it.
		v, names := ask(discordfake.Group("incident", discordfake.Sub("show", discordfake.TypingInt("id", ""))))
		if len(v) != 25 || v[0] != "40" || v[24] != "16" || names[0] != "#40 API down 40 (discovery)" {
			t.Errorf("incidents, nothing typed: %v %q", v, names[:min(1, len(names))])
		}
		if v, _ := ask(discordfake.Group("incident", discordfake.Sub("show", discordfake.TypingInt("id", "1")))); join(v) != "1,19,18,17,16,15,14,13,12,11,10,31,21" {
			t.Errorf("incidents typed 1: %v", v)
		}
		if v, names := ask(discordfake.Group("incident", discordfake.Sub("show", discordfake.TypingInt("id", "7")))); join(v) != "7,37,27,17" || names[0] != "#7 API down 7 (closed)" {
			t.Errorf("incident 7: %v %q", v, names)
		}

		// Silences in force only (13 was ended), in the order they were set.
		v, names = ask(discordfake.Sub("unsilence", discordfake.TypingInt("id", "1")))
		if join(v) != "1,10,11,12,14,15,16,17,18,19,21,31" || !strings.Contains(names[0], "disk1") {
			t.Errorf("silences typed 1: %v %q", v, names)
		}
		if v, _ := ask(discordfake.Sub("unsilence", discordfake.TypingInt("id", ""))); len(v) != 25 {
			t.Errorf("silences, nothing typed: %d, want 25", len(v))
		}

		// Backups of every target, newest first across targets; the
		// substring matches (stamps holding a 3) fill up to 25.
		v, names = ask(discordfake.Group("backup", discordfake.Sub("verify", discordfake.TypingInt("id", "3"))))
		if len(v) != 25 || join(v[:7]) != "3,35,34,33,32,31,30" || names[1] != "#35 worker 20260302-1100 (running)" {
			t.Errorf("backups typed 3: %v %q", v, names)
		}
		if v, _ := ask(discordfake.Group("backup", discordfake.Sub("verify", discordfake.TypingInt("id", "")))); len(v) != 25 {
			t.Errorf("backups, nothing typed: %d, want 25", len(v))
		}

		// Jobs, targets.
		if v, _ := ask(discordfake.Group("schedule", discordfake.Sub("run", discordfake.Typing("job", "back")))); join(v) != "backup-hourly,backup-nightly" {
			t.Errorf("jobs typed back: %v", v)
		}
		if v, _ := ask(discordfake.Group("schedule", discordfake.Sub("run", discordfake.Typing("job", "scan")))); join(v) != "security-scan" {
			t.Errorf("jobs typed scan: %v", v)
		}
		if v, _ := ask(discordfake.Sub("status", discordfake.Typing("target", "w"))); join(v) != "worker" {
			t.Errorf("targets typed w: %v", v)
		}
	})
}

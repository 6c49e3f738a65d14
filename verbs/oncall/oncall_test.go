package oncall_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/paging"
	"opsbot/store/storetest"
	"opsbot/verbs/oncall"
)

func TestOncallVerb(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 3, 0, 0, 0, time.UTC) // a Wednesday
	cfg := config.Default()
	cfg.Roles = map[string]config.Role{
		"operator": {Users: []string{"slack:U0ALICE", "slack:U0CAROL"}},
		"admin":    {Users: []string{"slack:U0ADMIN"}},
	}
	cfg.Paging = config.Paging{
		People: map[string]config.Person{
			"alice": {Slack: "U0ALICE"}, "bob": {Slack: "U0BOB"}, "carol": {Slack: "U0CAROL"},
		},
		Rotations: map[string]config.RotationSpec{
			"primary":   {Members: []string{"alice", "bob"}, Length: "weekly", Handoff: "09:00", Timezone: "Europe/Berlin", Start: "2026-03-02"},
			"secondary": {Members: []string{"bob", "alice"}, Length: "daily", Handoff: "09:00", Timezone: "UTC", Start: "2026-03-02"},
		},
	}
	if probs := cfg.Validate(); len(probs) > 0 {
		t.Fatal(probs)
	}
	get := func() *config.Config { return cfg }
	n := notifier.New(st, nil, get, nil)
	eng := paging.New(st, n, get, nil)
	eng.Now = func() time.Time { return now }
	reg := commands.NewRegistry(get, st, nil)
	reg.Now = eng.Now
	reg.MustRegister(oncall.Verbs(oncall.Deps{Paging: eng})...)
	do := func(user, text string) commands.Response {
		return reg.Handle(ctx, commands.Request{Platform: "slack", User: user, Channel: "C1", Text: text})
	}

	r := do("U0ANY", "oncall")
	want := "primary      now alice      until Mon 2026-03-09 08:00 UTC · next bob from Mon 2026-03-09 08:00 UTC\n" +
		"secondary    now alice      until Wed 2026-03-04 09:00 UTC · next bob from Wed 2026-03-04 09:00 UTC"
	if r.Code != want {
		t.Fatalf("oncall:\n%s\nwant:\n%s", r.Code, want)
	}
	for _, c := range []struct{ user, text, want string }{
		{"U0ANY", "oncall override primary bob 3h", "you may not run oncall override"},
		{"U0CAROL", "oncall override primary carol 3h", "only a member of primary (or an admin) may override it"},
		{"U0ALICE", "oncall override tertiary bob 3h", `unknown rotation "tertiary"; rotations: primary, secondary`},
		{"U0ALICE", "oncall override primary dave 3h", `unknown person "dave" (not in paging.people)`},
		{"U0ALICE", "oncall override primary bob soon", `bad duration "soon": want e.g. 30m, 2h or 1d`},
		{"U0ALICE", "oncall override primary bob 3h --from 2026-03-03T20:00", "that override would end in the past (2026-03-03T23:00:00Z)"},
		{"U0ALICE", "oncall override primary bob 3h --from yesterday", `--from wants 2006-01-02T15:04 (UTC) or 15:04 (today, UTC), got "yesterday"`},
		{"U0ALICE", "oncall set primary bob", "you may not run oncall set"},
		{"U0ADMIN", "oncall set primary bob nobody", `unknown person "nobody" (not in paging.people)`},
	} {
		if r := do(c.user, c.text); !strings.Contains(r.Text, c.want) {
			t.Errorf("%s by %s: %q, want %q", c.text, c.user, r.Text, c.want)
		}
	}
	ovs, err := eng.OnCall(ctx)
	if err != nil || ovs[0].Now.Person != "alice" {
		t.Fatalf("a refused override changed something: %+v %v", ovs, err)
	}

	// alice, on the rotation, has bob cover her next three hours, by mention.
	if r := do("U0ALICE", "oncall override primary <@U0BOB> 3h"); r.Text != "bob covers primary from 2026-03-04 03:00 until 2026-03-04 06:00 UTC (3 h, override #1)." {
		t.Fatalf("override: %q", r.Text)
	}
	r = do("U0ANY", "oncall show")
	if !strings.HasPrefix(r.Code, "primary      now bob (override) until Wed 2026-03-04 06:00 UTC · next alice from Wed 2026-03-04 06:00 UTC") {
		t.Fatalf("after the override:\n%s", r.Code)
	}
	// An admin may override any rotation.
	if r := do("U0ADMIN", "oncall override secondary carol 1h"); !strings.HasPrefix(r.Text, "carol covers secondary") {
		t.Fatalf("admin override: %q", r.Text)
	}
	if r := do("U0ADMIN", "oncall set primary carol, alice"); r.Text != "primary is now: carol, alice." {
		t.Fatalf("set: %q", r.Text)
	}
	now = now.Add(4 * time.Hour) // the override ended
	r = do("U0ANY", "oncall")
	if !strings.HasPrefix(r.Code, "primary      now carol      until Mon 2026-03-09 08:00 UTC · next alice") {
		t.Fatalf("after set:\n%s", r.Code)
	}
	audit, err := st.RecentAudit(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, a := range audit {
		if a.Verb == "oncall override" && a.Result == "ok" {
			found++
		}
	}
	if found != 2 {
		t.Fatalf("%d overrides audited as ok, want 2: %+v", found, audit)
	}
}

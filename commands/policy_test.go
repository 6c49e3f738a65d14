package commands_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
	"opsbot/store"
	"opsbot/store/storetest"
)

// withDB adds a verb with a dangerous restore (a subcommand name no other
// verb has), an ack verb with its button, a button that names no verb and
// a verb that declares no policy entry.
func withDB(f *fixture) (restores, acks *atomic.Int32) {
	restores, acks = new(atomic.Int32), new(atomic.Int32)
	ok := func(ctx context.Context, c *commands.Call) (commands.Response, error) {
		return commands.Text("ok"), nil
	}
	f.reg.MustRegister(&commands.Verb{Name: "db", Summary: "the database", Subs: []*commands.Verb{
		{Name: "dump", Access: policy.Operate, Run: ok},
		{Name: "list", Access: policy.Read, Run: ok},
		{Name: "restore", Access: policy.Dangerous, Params: []commands.Param{{Name: "id", Required: true}},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				restores.Add(1)
				return commands.Text("restored %s", c.Arg(0)), nil
			}},
	}}, &commands.Verb{Name: "ack", Summary: "acknowledge", Access: policy.Operate, Params: []commands.Param{{Name: "id"}}, Run: ok},
		&commands.Verb{Name: "hidden", Summary: "declares no entry", Run: ok})
	f.reg.RegisterButton("ack", func(ctx context.Context, req commands.Request, value string) (commands.Response, error) {
		acks.Add(1)
		return commands.Text("acknowledged %s", value), nil
	})
	f.reg.RegisterButton("orphan", func(ctx context.Context, req commands.Request, value string) (commands.Response, error) {
		return commands.Text("ran"), nil
	})
	return restores, acks
}

// The defaults: read-only verbs for everyone, changes for operators, the
// dangerous ones for admins, each refusal naming the role that grants it.
func TestDefaultsThroughTheRegistry(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	restores, _ := withDB(f)
	f.cfg.Roles = map[string]config.Role{
		"operator": {Users: []string{"slack:UOP"}},
		"admin":    {Users: []string{"slack:UADM"}},
	}
	cases := []struct{ user, text, want string }{
		{"UANY", "echo hi", "hi"},
		{"UANY", "backup list", "listed"},
		{"UANY", "backup", "you may not run backup create: backup create needs role operator or admin; you have none — ask an admin to add you under roles.operator.users"},
		{"UANY", "db dump", "you may not run db dump: db dump needs role operator or admin; you have none — ask an admin to add you under roles.operator.users"},
		{"UOP", "db dump", "ok"},
		{"UOP", "backup", "created"},
		{"UOP", "db restore 3", "you may not run db restore: db restore needs role admin; you have operator — ask an admin to add you under roles.admin.users"},
		{"UOP", "audit", "you may not run audit: audit needs role operator or admin; you have none — ask an admin to add you under roles.operator.users"},
		{"UADM", "hidden", "you may not run hidden: hidden has no policy entry, so nobody may run it"},
	}
	// audit is granted to operator by default; this operator is on another
	// platform's id, so refused with the same hint.
	cases[7].user = "UNONE"
	for _, tc := range cases {
		r := f.do(t, commands.Request{User: tc.user, Channel: "C1", Text: tc.text})
		if r.Text != tc.want {
			t.Errorf("%s %q: got %q want %q", tc.user, tc.text, r.Text, tc.want)
		}
		if strings.HasPrefix(tc.want, "you may not") {
			detail := "no role"
			if strings.Contains(tc.want, "no policy entry") {
				detail = "no policy entry"
			}
			if row := lastAudit(t, f.st); row.Result != "denied" || row.Detail != detail {
				t.Errorf("%s %q: audit %+v", tc.user, tc.text, row)
			}
		}
	}
	// The admin is asked to confirm; a Confirmed flag from chat is not a
	// confirmation (only the shell's user can say "yes" up front).
	r := f.do(t, commands.Request{User: "UADM", Channel: "C1", Text: "db restore 3", Confirmed: true})
	if r.Title != "Confirm: db restore" || restores.Load() != 0 {
		t.Fatalf("admin: %+v", r)
	}
	// Not even the shell runs a verb without a policy entry.
	if r := f.do(t, commands.Request{Platform: "console", User: "me", Local: true, Text: "hidden"}); !strings.Contains(r.Text, "no policy entry") {
		t.Fatalf("shell ran an unlisted verb: %q", r.Text)
	}
	// A refusal is answered at once, never deferred as slow work.
	if f.reg.IsSlow(commands.Request{Platform: "slack", User: "UANY", Text: "backup"}) || !f.reg.IsSlow(commands.Request{Platform: "slack", User: "UOP", Text: "backup"}) {
		t.Fatal("IsSlow does not follow the policy")
	}
}

// A confirmation belongs to the channel it was asked in: a click from
// another channel (or platform) does nothing and leaves it usable there.
func TestConfirmationFromAnotherChannelRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		f.cfg.Roles = map[string]config.Role{"admin": {Users: []string{"slack:U1", "slack:U2", "discord:U2"}}}
		ctx := context.Background()
		token := f.do(t, commands.Request{User: "U1", Channel: "COPS", Text: "restart api"}).Buttons[0].Value
		for _, elsewhere := range []commands.Request{
			{Platform: "slack", User: "U2", Channel: "CRANDOM"},
			{Platform: "slack", User: "U2"},
			{Platform: "discord", User: "U2", Channel: "COPS"},
		} {
			for _, action := range []string{"confirm", "cancel"} {
				out := f.reg.Button(ctx, elsewhere, action, token)
				if out.Text != "the confirmation of restart api belongs to another channel; nothing was done (confirm it where it was asked)" || f.runs.Load() != 0 {
					t.Fatalf("%s from %s:%s: %q runs %d", action, elsewhere.Platform, elsewhere.Channel, out.Text, f.runs.Load())
				}
				if row := lastAudit(t, st); row.Result != "denied" || row.Verb != "restart" {
					t.Fatalf("audit %+v", row)
				}
			}
		}
		// In its own channel, someone the policy allows there confirms it.
		out := f.reg.Button(ctx, commands.Request{Platform: "slack", User: "U3", Channel: "COPS"}, "confirm", token)
		if !strings.Contains(out.Text, "you may not confirm restart api: restart needs role admin; you have none") || f.runs.Load() != 0 {
			t.Fatalf("outsider in the channel: %q", out.Text)
		}
		out = f.reg.Button(ctx, commands.Request{Platform: "slack", User: "U2", Channel: "COPS"}, "confirm", token)
		if out.Text != "restarted api" || f.runs.Load() != 1 {
			t.Fatalf("confirm in its channel: %q runs %d", out.Text, f.runs.Load())
		}
	})
}

// A confirmation asked in a channel is refused there once the channel's
// rules no longer allow the verb (a reload between the ask and the click).
func TestConfirmationFollowsTheChannelRules(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.cfg.Roles = map[string]config.Role{"admin": {Users: []string{"slack:U1"}}}
	token := f.do(t, commands.Request{User: "U1", Channel: "C1", Text: "restart api"}).Buttons[0].Value
	c := *f.cfg
	c.Channels.Verbs = map[string][]string{"slack:C1": {"status"}}
	f.cfg = &c
	out := f.reg.Button(context.Background(), commands.Request{Platform: "slack", User: "U1", Channel: "C1"}, "confirm", token)
	if !strings.Contains(out.Text, "restart is not allowed in this channel") || f.runs.Load() != 0 {
		t.Fatalf("got %q", out.Text)
	}
}

// two_person names verbs as the docs do: a bare subcommand is an alias.
func TestTwoPersonByAlias(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	restores, _ := withDB(f)
	f.cfg.Roles = map[string]config.Role{"admin": {Users: []string{"slack:U1", "slack:U2"}}}
	f.cfg.Confirm.TwoPerson = []string{"restore"}
	f.cfg.RateLimits.Verbs = nil // the defaults name update, which this registry lacks
	if probs, _ := f.reg.CheckConfig(f.cfg); len(probs) != 0 {
		t.Fatalf("two_person: [restore] refused: %v", probs)
	}
	r := f.do(t, commands.Request{User: "U1", Channel: "C1", Text: "db restore 7"})
	if !strings.Contains(r.Text, "Another person must confirm.") {
		t.Fatalf("ask: %q", r.Text)
	}
	ctx := context.Background()
	out := f.reg.Button(ctx, commands.Request{Platform: "slack", User: "U1", Channel: "C1"}, "confirm", r.Buttons[0].Value)
	if !strings.Contains(out.Text, "needs a second person") || restores.Load() != 0 {
		t.Fatalf("self-confirmation: %q", out.Text)
	}
	out = f.reg.Button(ctx, commands.Request{Platform: "slack", User: "U2", Channel: "C1"}, "confirm", r.Buttons[0].Value)
	if out.Text != "restored 7" || restores.Load() != 1 {
		t.Fatalf("second person: %q", out.Text)
	}
}

// A registered button is the verb of its id: the Acknowledge button on an
// alert needs the role ack needs, though not the channel's verb list (the
// bot posted it there); a button naming no verb is refused to everyone.
func TestButtonsAskThePolicy(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	_, acks := withDB(f)
	f.cfg.Roles = map[string]config.Role{"operator": {Users: []string{"slack:UOP"}}}
	f.cfg.Channels.Allow = []string{"slack:COPS"}
	f.cfg.Channels.Verbs = map[string][]string{"slack:CALERTS": {"status"}}
	ctx := context.Background()
	if out := f.reg.Button(ctx, commands.Request{Platform: "slack", User: "UANY", Channel: "CALERTS"}, "ack", "5"); !strings.Contains(out.Text, "you may not run ack: ack needs role operator or admin") || acks.Load() != 0 {
		t.Fatalf("no role: %q", out.Text)
	}
	if out := f.reg.Button(ctx, commands.Request{Platform: "slack", User: "UOP", Channel: "CALERTS"}, "ack", "5"); out.Text != "acknowledged 5" || acks.Load() != 1 {
		t.Fatalf("operator: %q", out.Text)
	}
	if out := f.reg.Button(ctx, commands.Request{Platform: "console", User: "me", Local: true}, "orphan", "x"); !strings.Contains(out.Text, "orphan has no policy entry") {
		t.Fatalf("orphan: %q", out.Text)
	}
}

// channels.verbs: only the listed verbs run in that channel (help and
// whoami always do); other channels are not limited.
func TestChannelVerbs(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.cfg.Channels.Verbs = map[string][]string{"slack:CGEN": {"backup list"}}
	cases := []struct{ ch, text, want string }{
		{"CGEN", "backup list", "listed"},
		{"CGEN", "echo hi", "you may not run echo: echo is not allowed in this channel (channels.verbs.slack:CGEN); `/ops whoami` says what is"},
		{"COPS", "echo hi", "hi"},
	}
	for _, tc := range cases {
		if r := f.do(t, commands.Request{Channel: tc.ch, Text: tc.text}); r.Text != tc.want {
			t.Errorf("%s in %s: %q want %q", tc.text, tc.ch, r.Text, tc.want)
		}
	}
	if r := f.do(t, commands.Request{Channel: "CGEN", Text: "whoami"}); r.Title != "Who am I" {
		t.Errorf("whoami in a limited channel: %+v", r)
	}
}

func TestWhoami(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	withDB(f)
	f.cfg.Roles = map[string]config.Role{"operator": {Users: []string{"slack:U1"}, SilenceMax: 12 * time.Hour}}
	f.cfg.Channels.Allow = []string{"slack:C1", "slack:C2"}
	f.cfg.Channels.Verbs = map[string][]string{"slack:C2": {"ack"}}
	f.reg.MustRegister(&commands.Verb{Name: "silence", Summary: "mute", Access: policy.Operate,
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) { return commands.Text("x"), nil }})
	r := f.do(t, commands.Request{User: "U1", UserName: "alice", Channel: "C1", Text: "whoami"})
	want := strings.Join([]string{
		"you              slack:U1 (alice)",
		"roles            operator",
		"here             slack:C1",
		"may run          backup list, boom, db list, echo, help, whoami",
		"with your roles  ack, audit, backup create, db dump, silence (at most 12 h)",
		"may not          db restore, restart — needs role admin",
		"may not          hidden — no policy entry",
		"commands in      slack:C1, slack:C2",
		"only in slack:C2 ack, help, whoami",
	}, "\n")
	if r.Code != want || !r.Ephemeral {
		t.Fatalf("whoami:\n%s\nwant:\n%s", r.Code, want)
	}
	r = f.do(t, commands.Request{Platform: "console", User: "me", Local: true, Text: "whoami"})
	if !strings.Contains(r.Code, "roles            admin (the local shell user)") || !strings.Contains(r.Code, "after a confirm  db restore, restart") {
		t.Fatalf("shell whoami:\n%s", r.Code)
	}
}

// One set of names everywhere: CheckConfig resolves the names of roles,
// channel rules, the two-person rule and rate limits against the verbs
// the registry knows, declared ones included; rate limits apply by path.
func TestCheckConfigAndRateLimitsByName(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	withDB(f)
	f.reg.Declare(&commands.Verb{Name: "demo", Subs: []*commands.Verb{{Name: "health", Access: policy.Admin}}})
	cfg := *f.cfg
	cfg.Roles = map[string]config.Role{"ops": {Users: []string{"shell:alice"}, Verbs: []string{"demo", "restore", "dump", "rstart"}}}
	cfg.Confirm.TwoPerson = []string{"db restore", "list"}
	cfg.Channels.Verbs = map[string][]string{"slack:C1": {"health"}}
	cfg.RateLimits.Verbs = map[string]config.RateLimit{"dump": {Count: 1, Per: time.Hour}, "restart": {Count: 3, Per: time.Hour}, "updat": {Count: 1, Per: time.Hour}}
	probs, notes := f.reg.CheckConfig(&cfg)
	want := []string{
		`confirm.two_person[1]: "list" is ambiguous: name one of backup list, db list`,
		`rate_limits.verbs.updat: unknown verb "updat"`,
		`roles.ops.verbs[3]: unknown verb "rstart"; did you mean "restart"?`,
	}
	if len(probs) != len(want) {
		t.Fatalf("problems %q", probs)
	}
	for i, w := range want {
		if !strings.HasPrefix(probs[i], w) {
			t.Errorf("problem %d: %q, want %q", i, probs[i], w)
		}
	}
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "no admin is configured for chat: nobody in Slack or Discord may run db restore, restart") {
		t.Fatalf("notes %q", notes)
	}
	cfg.Roles["admin"] = config.Role{Users: []string{"discord:42"}}
	if _, notes := f.reg.CheckConfig(&cfg); len(notes) != 0 {
		t.Fatalf("admin in Discord, notes %q", notes)
	}
	// A declared verb is known to the configuration, not runnable here.
	if r := f.do(t, commands.Request{Platform: "console", User: "me", Local: true, Text: "demo health"}); r.Text != "demo is not offered by this bot (not in this mode or setup); try `/ops help`" {
		t.Fatalf("declared verb ran: %q", r.Text)
	}
	// "dump" limits db dump, by its alias.
	cfg.Roles = map[string]config.Role{"operator": {Users: []string{"slack:U1"}}}
	f.cfg = &cfg
	if r := f.do(t, commands.Request{Text: "db dump"}); r.Text != "ok" {
		t.Fatalf("first dump: %q", r.Text)
	}
	if r := f.do(t, commands.Request{Text: "db dump"}); !strings.HasPrefix(r.Text, "rate limit reached for db dump; try again in ") {
		t.Fatalf("second dump: %q", r.Text)
	}
}

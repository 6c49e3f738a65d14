package policy

import (
	"strings"
	"testing"
	"time"
)

// cat is the grammar's shape in small: read-only, operator, admin-only and
// dangerous verbs, subcommands shared by several verbs, and one unlisted.
func cat() *Catalogue {
	return NewCatalogue([]Entry{
		{"status", Read}, {"help", Read}, {"whoami", Read}, {"silences", Read},
		{"silence", Operate}, {"ack", Operate}, {"audit", Operate},
		{"backup create", Operate}, {"backup list", Read}, {"backup verify", Operate}, {"backup restore", Dangerous},
		{"incident list", Read}, {"incident close", Operate},
		{"schedule list", Read}, {"schedule run", Operate},
		{"cache flush", Dangerous}, {"restart", Dangerous},
		{"demo health", Admin},
		{"mystery", Unlisted},
	})
}

func compile(t *testing.T, r Rules) *Policy {
	t.Helper()
	p, probs := Compile(r, cat())
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	return p
}

func TestResolveOneRule(t *testing.T) {
	c := cat()
	cases := []struct {
		name, canon, paths, err string
	}{
		{name: "*", canon: "*", paths: strings.Join(c.Paths(), ",")},
		{name: "backup", canon: "backup", paths: "backup create,backup list,backup restore,backup verify"},
		{name: "backup restore", canon: "backup restore", paths: "backup restore"},
		{name: "  backup   restore ", canon: "backup restore", paths: "backup restore"},
		{name: "restore", canon: "backup restore", paths: "backup restore"},
		{name: "flush", canon: "cache flush", paths: "cache flush"},
		{name: "close", canon: "incident close", paths: "incident close"},
		{name: "restart", canon: "restart", paths: "restart"},
		{name: "list", err: `"list" is ambiguous: name one of backup list, incident list, schedule list`},
		{name: "restor", err: `unknown verb "restor"; did you mean "backup restore"?`},
		{name: "updte", err: `unknown verb "updte"`},
		{name: "backup restor", err: `unknown verb "backup restor"; did you mean "backup restore"?`},
		{name: "restart api", err: `unknown verb "restart api"`},
	}
	for _, tc := range cases {
		canon, paths, err := c.Resolve(tc.name)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || canon != tc.canon || strings.Join(paths, ",") != tc.paths {
			t.Errorf("%q: got %q %v %v, want %q %s", tc.name, canon, paths, err, tc.canon, tc.paths)
		}
	}
}

func TestDecide(t *testing.T) {
	rules := Rules{
		Roles: []Role{
			{Name: "operator", Users: []string{"slack:UOP", "discord-role:R1"}},
			{Name: "admin", Users: []string{"slack:UADM"}},
			{Name: "releaser", Users: []string{"slack:UREL"}, Verbs: []string{"restore", "schedule"}, SilenceMax: time.Hour},
			{Name: "legacy", Users: []string{"slack:ULEG"}, Verbs: []string{"*"}},
		},
		TwoPerson: []string{"restore"},
	}
	p := compile(t, rules)
	slack := func(u string) Subject { return Subject{Platform: "slack", User: u, Channel: "slack:C1"} }
	none := "ask an admin to add you under roles."
	cases := []struct {
		who     Subject
		path    string
		allowed bool
		reason  string // substring when refused
		roles   string
	}{
		// Read-only verbs: everyone.
		{slack("UANY"), "status", true, "", ""},
		{slack("UANY"), "backup list", true, "", ""},
		{slack("UOP"), "incident list", true, "", "operator"},
		// Changes of state: a role; operator and admin by default.
		{slack("UANY"), "silence", false, "silence needs role operator, admin or legacy; you have none — " + none + "operator.users", ""},
		{slack("UANY"), "ack", false, "needs role operator", ""},
		{slack("UANY"), "incident close", false, "needs role operator", ""},
		{slack("UANY"), "backup create", false, "needs role operator", ""},
		{slack("UOP"), "silence", true, "", "operator"},
		{slack("UOP"), "audit", true, "", "operator"},
		{Subject{Platform: "discord", User: "123", Groups: []string{"R1"}, Channel: "discord:9"}, "ack", true, "", "operator"},
		{Subject{Platform: "discord", User: "123", Groups: []string{"R2"}, Channel: "discord:9"}, "ack", false, "needs role operator", ""},
		{slack("UADM"), "incident close", true, "", "admin"},
		// Dangerous and admin-only: admin (or a role that names them).
		{slack("UOP"), "restart", false, "restart needs role admin or legacy; you have operator — " + none + "admin.users", ""},
		{slack("UOP"), "demo health", false, "needs role admin", ""},
		{slack("UOP"), "cache flush", false, "needs role admin", ""},
		{slack("UADM"), "restart", true, "", "admin"},
		{slack("UADM"), "demo health", true, "", "admin"},
		{slack("UREL"), "backup restore", true, "", "releaser"},
		{slack("UREL"), "schedule run", true, "", "releaser"},
		{slack("UREL"), "silence", false, "you have releaser", ""},
		{slack("ULEG"), "cache flush", true, "", "legacy"},
		// The local shell user is admin; but not even it runs an unlisted verb.
		{Subject{Platform: "console", User: "me", Local: true}, "restart", true, "", "admin"},
		{Subject{Platform: "console", User: "me", Local: true}, "mystery", false, "mystery has no policy entry, so nobody may run it", ""},
		{slack("ULEG"), "mystery", false, "no policy entry", ""},
		{slack("UADM"), "nosuch", false, "no policy entry", ""},
	}
	for _, tc := range cases {
		d := p.Decide(tc.who, tc.path)
		if d.Allowed != tc.allowed || !strings.Contains(d.Reason, tc.reason) || strings.Join(d.Roles, ",") != tc.roles {
			t.Errorf("%s %s: allowed %v roles %v reason %q; want %v %q %q", tc.who.User, tc.path, d.Allowed, d.Roles, d.Reason, tc.allowed, tc.roles, tc.reason)
		}
		if d.Allowed == (d.Refusal != Granted) {
			t.Errorf("%s %s: allowed %v with refusal %d", tc.who.User, tc.path, d.Allowed, d.Refusal)
		}
	}
	if d := p.Decide(slack("UADM"), "backup restore"); !d.Confirm || !d.TwoPerson {
		t.Errorf("backup restore: confirm %v two-person %v", d.Confirm, d.TwoPerson)
	}
	if d := p.Decide(slack("UADM"), "restart"); !d.Confirm || d.TwoPerson {
		t.Errorf("restart: confirm %v two-person %v", d.Confirm, d.TwoPerson)
	}
	if d := p.Decide(slack("UADM"), "silence"); d.Confirm {
		t.Error("silence asks for a confirmation")
	}
}

// Without operator and admin configured, a denial still names them: the
// roles a newcomer should be added to.
func TestDenialNamesTheDefaultRoles(t *testing.T) {
	p := compile(t, Rules{})
	d := p.Decide(Subject{Platform: "slack", User: "U1", Channel: "slack:C1"}, "silence")
	if d.Reason != "silence needs role operator or admin; you have none — ask an admin to add you under roles.operator.users" {
		t.Fatalf("got %q", d.Reason)
	}
	// An admin configured with a list that lacks restart grants it not;
	// then no role does.
	p = compile(t, Rules{Roles: []Role{{Name: "admin", Users: []string{"slack:UA"}, Verbs: []string{"silence"}}}})
	if d := p.Decide(Subject{Platform: "slack", User: "UA"}, "restart"); d.Allowed || d.Reason != "restart is granted by no role; an admin can add it under roles.admin.verbs" {
		t.Fatalf("got %+v", d)
	}
	if got := p.Grantors("ack"); strings.Join(got, ",") != "operator" {
		t.Fatalf("grantors of ack: %v", got)
	}
}

func TestChannels(t *testing.T) {
	p := compile(t, Rules{
		Roles:    []Role{{Name: "admin", Users: []string{"slack:UADM"}}},
		Accept:   []string{"slack:COPS", "slack:CALERTS"},
		Channels: map[string][]string{"slack:CALERTS": {"ack", "silence", "status"}},
	})
	at := func(ch string) Subject { return Subject{Platform: "slack", User: "UADM", Channel: ch} }
	cases := []struct {
		ch, path string
		allowed  bool
		refusal  Refusal
	}{
		{"slack:COPS", "restart", true, Granted},
		{"slack:CRANDOM", "status", false, NotAccepted},
		{"slack:CALERTS", "ack", true, Granted},
		{"slack:CALERTS", "status", true, Granted},
		{"slack:CALERTS", "restart", false, NotInChannel},
		{"slack:CALERTS", "incident list", false, NotInChannel},
		// help and whoami are everywhere commands are accepted.
		{"slack:CALERTS", "help", true, Granted},
		{"slack:CALERTS", "whoami", true, Granted},
		{"slack:CRANDOM", "whoami", false, NotAccepted},
		// A click on a button the bot posted: no channel rule applies.
		{"", "ack", true, Granted},
	}
	for _, tc := range cases {
		d := p.Decide(at(tc.ch), tc.path)
		if d.Allowed != tc.allowed || d.Refusal != tc.refusal {
			t.Errorf("%s in %q: allowed %v refusal %d (%s); want %v %d", tc.path, tc.ch, d.Allowed, d.Refusal, d.Reason, tc.allowed, tc.refusal)
		}
	}
	if d := p.Decide(at("slack:CALERTS"), "restart"); d.Reason != "restart is not allowed in this channel (channels.verbs.slack:CALERTS); `/ops whoami` says what is" {
		t.Errorf("reason %q", d.Reason)
	}
	// The shell has no channel: channel rules never refuse it.
	if d := p.Decide(Subject{Platform: "console", User: "me", Local: true, Channel: "console"}, "restart"); !d.Allowed {
		t.Errorf("shell refused: %s", d.Reason)
	}
}

func TestSilenceLimitPerRole(t *testing.T) {
	cases := []struct {
		name  string
		roles []Role
		who   Subject
		want  time.Duration
	}{
		{"operator default", []Role{{Name: "operator", Users: []string{"slack:U1"}}}, Subject{Platform: "slack", User: "U1"}, 24 * time.Hour},
		{"admin default", []Role{{Name: "admin", Users: []string{"slack:U1"}}}, Subject{Platform: "slack", User: "U1"}, 7 * 24 * time.Hour},
		{"operator configured", []Role{{Name: "operator", Users: []string{"slack:U1"}, SilenceMax: 2 * time.Hour}}, Subject{Platform: "slack", User: "U1"}, 2 * time.Hour},
		{"custom role default", []Role{{Name: "night", Users: []string{"slack:U1"}, Verbs: []string{"silence"}}}, Subject{Platform: "slack", User: "U1"}, 24 * time.Hour},
		{"the longest of the granting roles", []Role{
			{Name: "operator", Users: []string{"slack:U1"}},
			{Name: "night", Users: []string{"slack:U1"}, Verbs: []string{"silence"}, SilenceMax: 72 * time.Hour},
			{Name: "viewer", Users: []string{"slack:U1"}, Verbs: []string{"ack"}, SilenceMax: 1000 * time.Hour},
		}, Subject{Platform: "slack", User: "U1"}, 72 * time.Hour},
		{"shell is admin", nil, Subject{Platform: "console", User: "me", Local: true}, 7 * 24 * time.Hour},
		{"shell takes admin's limit", []Role{{Name: "admin", Users: []string{"slack:U9"}, SilenceMax: 48 * time.Hour}}, Subject{Platform: "console", User: "me", Local: true}, 48 * time.Hour},
	}
	for _, tc := range cases {
		p := compile(t, Rules{Roles: tc.roles})
		d := p.Decide(tc.who, "silence")
		if !d.Allowed || d.SilenceMax != tc.want {
			t.Errorf("%s: allowed %v max %s, want %s", tc.name, d.Allowed, d.SilenceMax, tc.want)
		}
	}
}

func TestCompileReportsEveryUnknownName(t *testing.T) {
	_, probs := Compile(Rules{
		Roles:     []Role{{Name: "ops", Verbs: []string{"restart", "reboot", "list"}}},
		Channels:  map[string][]string{"slack:C1": {"status", "stauts"}},
		TwoPerson: []string{"restore", "updte"},
	}, cat())
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	want := []string{
		`roles.ops.verbs[1]: unknown verb "reboot"`,
		`roles.ops.verbs[2]: "list" is ambiguous: name one of backup list, incident list, schedule list`,
		`channels.verbs.slack:C1[1]: unknown verb "stauts"; did you mean "status"?`,
		`confirm.two_person[1]: unknown verb "updte"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNoteWhenNoAdminForChat(t *testing.T) {
	cases := []struct {
		name  string
		roles []Role
		note  bool
	}{
		{"no roles", nil, true},
		{"operator only", []Role{{Name: "operator", Users: []string{"slack:U1"}}}, true},
		{"admin from the shell only", []Role{{Name: "admin", Users: []string{"shell:alice"}}}, true},
		{"admin without users", []Role{{Name: "admin"}}, true},
		{"admin in Slack", []Role{{Name: "admin", Users: []string{"slack:U1"}}}, false},
		{"a Discord role naming restart", []Role{{Name: "oncall", Users: []string{"discord-role:7"}, Verbs: []string{"restart"}}}, false},
	}
	for _, tc := range cases {
		notes := compile(t, Rules{Roles: tc.roles}).Notes()
		if (len(notes) > 0) != tc.note {
			t.Errorf("%s: notes %q", tc.name, notes)
		}
		if len(notes) > 0 && notes[0] != "no admin is configured for chat: nobody in Slack or Discord may run backup restore, cache flush, restart (only the local `opsbot shell` user may); add one under roles.admin.users, e.g. slack:U0123ABCD" {
			t.Errorf("%s: note %q", tc.name, notes[0])
		}
	}
}

func TestExplain(t *testing.T) {
	p := compile(t, Rules{
		Roles:    []Role{{Name: "operator", Users: []string{"slack:U1"}}},
		Accept:   []string{"slack:C1", "slack:C2"},
		Channels: map[string][]string{"slack:C2": {"restore", "status"}},
	})
	e := p.Explain(Subject{Platform: "slack", User: "U1", Channel: "slack:C1"})
	if strings.Join(e.Roles, ",") != "operator" || strings.Join(e.Accept, ",") != "slack:C1,slack:C2" || strings.Join(e.Channels["slack:C2"], ",") != "backup restore,status" {
		t.Fatalf("explanation %+v", e)
	}
	allowed := map[string]bool{}
	for _, d := range e.Decisions {
		allowed[d.Path] = d.Allowed
	}
	if len(e.Decisions) != len(cat().Paths()) || !allowed["silence"] || !allowed["status"] || allowed["restart"] || allowed["mystery"] {
		t.Fatalf("decisions %v", allowed)
	}
}

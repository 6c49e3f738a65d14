package commands_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
	"opsbot/store"
	"opsbot/store/storetest"
)

type fixture struct {
	reg   *commands.Registry
	st    *store.Store
	cfg   *config.Config
	now   time.Time
	runs  atomic.Int32
	calls []*commands.Call
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	f := &fixture{st: st, cfg: config.Default(), now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	f.cfg.Secrets.SlackBotToken = "xoxb-planted-secret-token"
	f.reg = commands.NewRegistry(func() *config.Config { return f.cfg }, st, nil)
	f.reg.Now = func() time.Time { return f.now }
	f.reg.MustRegister(&commands.Verb{
		Name: "echo", Summary: "say it back", Access: policy.Read,
		Flags:  []commands.Flag{{Name: "upper", Bool: true}, {Name: "limit", Short: "n"}, {Name: "level", Choices: []string{"INFO", "ERROR"}}},
		Params: []commands.Param{{Name: "text", Required: true, Rest: true}},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			f.calls = append(f.calls, c)
			s := c.Arg(0)
			if c.Has("upper") {
				s = strings.ToUpper(s)
			}
			return commands.Text("%s", s), nil
		},
	}, &commands.Verb{
		Name: "restart", Summary: "restart a target", Access: policy.Dangerous,
		Params:   []commands.Param{{Name: "target"}},
		Describe: func(c *commands.Call) string { return "restart " + c.Arg(0) },
		Check: func(ctx context.Context, c *commands.Call) error {
			if c.Arg(0) == "nosuch" {
				return commands.Errorf("unknown target %q", c.Arg(0))
			}
			return nil
		},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			f.runs.Add(1)
			return commands.Text("restarted %s", c.Arg(0)), nil
		},
	}, &commands.Verb{
		Name: "boom", Summary: "fails", Access: policy.Read,
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			return commands.Response{}, errFailed
		},
	}, &commands.Verb{
		Name: "backup", Summary: "backups", Default: "create",
		Subs: []*commands.Verb{
			{Name: "create", Slow: true, Access: policy.Operate, Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				return commands.Text("created"), nil
			}},
			{Name: "list", Access: policy.Read, Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				return commands.Text("listed"), nil
			}},
		},
	})
	return f
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errFailed = constErr("database password=hunter2 refused")

func (f *fixture) do(t *testing.T, req commands.Request) commands.Response {
	t.Helper()
	if req.Platform == "" {
		req.Platform = "slack"
	}
	if req.User == "" {
		req.User = "U1"
	}
	return f.reg.Handle(context.Background(), req)
}

func lastAudit(t *testing.T, st *store.Store) store.AuditRow {
	t.Helper()
	rows, err := st.RecentAudit(context.Background(), 1)
	if err != nil || len(rows) != 1 {
		t.Fatalf("audit: %v %v", rows, err)
	}
	return rows[0]
}

func TestParsingFlagsAnywhere(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	r := f.do(t, commands.Request{Text: `/ops echo --limit=5 "LLM API Error" --upper -n 7 --level ERROR`})
	if r.Text != "LLM API ERROR" {
		t.Fatalf("got %q", r.Text)
	}
	if r := f.do(t, commands.Request{Text: `echo -- --upper -5m`}); r.Text != "--upper -5m" {
		t.Fatalf("after --: %q", r.Text)
	}
	c := f.calls[0]
	if c.Flag("limit") != "7" || c.Flag("level") != "ERROR" || c.Path != "echo" {
		t.Fatalf("flags %v path %q", c.Flags, c.Path)
	}
	if n, err := c.Int("limit", 0); err != nil || n != 7 {
		t.Fatalf("int %d %v", n, err)
	}
}

func TestBadInputGetsOneLineAndUsage(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	cases := map[string]string{
		"":                                     "no command given; try `/ops help`",
		"/ops frobnicate":                      `unknown command "frobnicate"; commands: audit, backup, boom, echo, help, restart, whoami`,
		"/ops ehco hi":                         `unknown command "ehco"; did you mean echo?`,
		"echo":                                 "/ops echo needs <text>\nusage: /ops echo <text…> [--upper] [--limit L] [--level INFO|ERROR]",
		"echo hi --bogus":                      "unknown flag --bogus for /ops echo; flags: --level, --limit, --upper\nusage: /ops echo <text…> [--upper] [--limit L] [--level INFO|ERROR]",
		"echo hi --uper":                       "unknown flag --uper for /ops echo; did you mean --upper?\nusage: /ops echo <text…> [--upper] [--limit L] [--level INFO|ERROR]",
		"echo hi --level WARN":                 `--level must be one of INFO, ERROR, got "WARN"`,
		"echo hi --level EROR":                 `--level must be one of INFO, ERROR, got "EROR"; did you mean ERROR?`,
		"echo hi --limit":                      "--limit needs a value\nusage: /ops echo <text…> [--upper] [--limit L] [--level INFO|ERROR]",
		`echo "unterminated`:                   `cannot read the command: a " quote is not closed`,
		"backup nosuch":                        "too many arguments for /ops backup create: \"nosuch\"\nusage: /ops backup create",
		"backup lst":                           "unknown subcommand \"lst\" for /ops backup; did you mean list?\nusage: /ops backup create|list",
		"echo " + strings.Repeat("x", 10*1024): "command too long (10245 bytes, at most 4096)",
	}
	for text, want := range cases {
		before := len(f.calls)
		r := f.do(t, commands.Request{Text: text})
		if r.Text != want {
			t.Errorf("%.30q: got %q want %q", text, r.Text, want)
		}
		if !r.Ephemeral || len(f.calls) != before {
			t.Errorf("%.30q: error must be ephemeral and run nothing", text)
		}
		if row := lastAudit(t, f.st); row.Result != "invalid" {
			t.Errorf("%.30q: audit result %q", text, row.Result)
		}
	}
}

func TestSubcommandsAndDefault(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.cfg.Roles = map[string]config.Role{"operator": {Users: []string{"slack:U1"}}}
	if r := f.do(t, commands.Request{Text: "backup"}); r.Text != "created" {
		t.Fatalf("default sub: %q", r.Text)
	}
	if r := f.do(t, commands.Request{Text: "backup list"}); r.Text != "listed" {
		t.Fatalf("list: %q", r.Text)
	}
	if !f.reg.IsSlow(commands.Request{Platform: "slack", User: "U1", Text: "backup"}) || f.reg.IsSlow(commands.Request{Platform: "slack", User: "U1", Text: "backup list"}) {
		t.Fatal("slowness follows the leaf verb")
	}
	f.cfg.Channels.Allow = []string{"slack:COPS"}
	if f.reg.IsSlow(commands.Request{Platform: "slack", User: "U1", Channel: "CNOT", Text: "backup"}) {
		t.Fatal("a request refused by the allowlist is answered at once")
	}
	f.cfg.Channels.Allow = nil
	if row := lastAudit(t, f.st); row.Verb != "backup list" || row.Result != "ok" {
		t.Fatalf("audit %+v", row)
	}
}

func TestDuplicateVerbRejected(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	err := f.reg.Register(&commands.Verb{Name: "echo", Run: func(context.Context, *commands.Call) (commands.Response, error) { return commands.Response{}, nil }})
	if err == nil || err.Error() != `register verb "echo": already registered` {
		t.Fatalf("got %v", err)
	}
}

func TestInternalErrorsHideDetailAndRedact(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	r := f.do(t, commands.Request{Text: "boom"})
	if !strings.HasPrefix(r.Text, "internal error, ref ") || strings.Contains(r.Text, "hunter2") {
		t.Fatalf("got %q", r.Text)
	}
	c := *f.cfg
	c.Redact.Patterns = []string{`ticket-[0-9]+`}
	f.cfg = &c
	if r := f.do(t, commands.Request{Text: "echo see ticket-4711"}); r.Text != "see [REDACTED]" {
		t.Fatalf("configured pattern: %q", r.Text)
	}
	r = f.do(t, commands.Request{Text: "echo token xoxb-planted-secret-token and Authorization: Bearer abc.def"})
	if strings.Contains(r.Text, "xoxb-planted") || strings.Contains(r.Text, "abc.def") {
		t.Fatalf("secret reached chat: %q", r.Text)
	}
}

func TestDangerousClosedByDefault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		r := f.do(t, commands.Request{Text: "restart api"})
		if r.Text != "you may not run restart: restart needs role admin; you have none — ask an admin to add you under roles.admin.users" || f.runs.Load() != 0 {
			t.Fatalf("got %q runs %d", r.Text, f.runs.Load())
		}
		if row := lastAudit(t, st); row.Result != "denied" || row.Verb != "restart" {
			t.Fatalf("audit %+v", row)
		}
		// A bad argument is refused before anyone is asked to confirm.
		r = f.do(t, commands.Request{Platform: "console", User: "me", Text: "restart nosuch", Local: true})
		if r.Text != `unknown target "nosuch"` || len(r.Buttons) != 0 {
			t.Fatalf("check before confirmation: %+v", r)
		}
		// The shell's local user may, and is still asked to confirm.
		r = f.do(t, commands.Request{Platform: "console", User: "me", Text: "restart api", Local: true})
		if len(r.Buttons) != 2 || r.Buttons[0].ID != "confirm" || r.Buttons[0].Style != chat.StyleDanger || f.runs.Load() != 0 {
			t.Fatalf("want a confirmation, got %+v", r)
		}
	})
}

func TestConfirmationRunsOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		f.cfg.Roles = map[string]config.Role{"ops": {Users: []string{"slack:U1", "slack:U2"}, Verbs: []string{"restart"}}}
		r := f.do(t, commands.Request{User: "U1", Text: "restart api"})
		if r.Title != "Confirm: restart api" {
			t.Fatalf("got %+v", r)
		}
		token := r.Buttons[0].Value
		ctx := context.Background()
		// A user without the role cannot confirm.
		out := f.reg.Button(ctx, commands.Request{Platform: "slack", User: "U9"}, "confirm", token)
		if !strings.Contains(out.Text, "you may not confirm restart api") || f.runs.Load() != 0 {
			t.Fatalf("outsider: %q", out.Text)
		}
		out = f.reg.Button(ctx, commands.Request{Platform: "slack", User: "U2", UserName: "bob"}, "confirm", token)
		if out.Text != "restarted api" || f.runs.Load() != 1 || out.Context != "confirmed by slack:U2 (bob), asked by slack:U1" {
			t.Fatalf("confirm: %+v runs %d", out, f.runs.Load())
		}
		out = f.reg.Button(ctx, commands.Request{Platform: "slack", User: "U2"}, "confirm", token)
		if !strings.Contains(out.Text, "already handled by slack:U2") || f.runs.Load() != 1 {
			t.Fatalf("double click: %q runs %d", out.Text, f.runs.Load())
		}
	})
}

func TestConfirmationExpiresAndTwoPerson(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.cfg.Roles = map[string]config.Role{"ops": {Users: []string{"slack:U1", "slack:U2"}, Verbs: []string{"*"}}}
	f.cfg.Confirm.TwoPerson = []string{"restart"}
	ctx := context.Background()
	token := f.do(t, commands.Request{User: "U1", Text: "restart api"}).Buttons[0].Value
	out := f.reg.Button(ctx, commands.Request{Platform: "slack", User: "U1"}, "confirm", token)
	if !strings.Contains(out.Text, "needs a second person") || f.runs.Load() != 0 {
		t.Fatalf("two-person: %q", out.Text)
	}
	f.now = f.now.Add(6 * time.Minute)
	out = f.reg.Button(ctx, commands.Request{Platform: "slack", User: "U2"}, "confirm", token)
	if !strings.Contains(out.Text, "expired") || f.runs.Load() != 0 {
		t.Fatalf("expired: %q", out.Text)
	}
}

func TestRateLimitSaysWhenToRetry(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.cfg.RateLimits.Default = config.RateLimit{Count: 2, Per: time.Minute}
	for i := 0; i < 2; i++ {
		if r := f.do(t, commands.Request{Text: "echo hi"}); r.Text != "hi" {
			t.Fatalf("call %d: %q", i, r.Text)
		}
	}
	r := f.do(t, commands.Request{Text: "echo hi"})
	if r.Text != "rate limit reached for echo; try again in 30s" {
		t.Fatalf("got %q", r.Text)
	}
	if r := f.do(t, commands.Request{User: "U2", Text: "echo hi"}); r.Text != "hi" {
		t.Fatalf("other user limited: %q", r.Text)
	}
	f.now = f.now.Add(31 * time.Second)
	if r := f.do(t, commands.Request{Text: "echo hi"}); r.Text != "hi" {
		t.Fatalf("after wait: %q", r.Text)
	}
}

func TestChannelAllowlist(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.cfg.Channels.Allow = []string{"slack:COPS"}
	if r := f.do(t, commands.Request{Channel: "CRANDOM", Text: "echo hi"}); r.Text != "commands are not accepted in this channel" {
		t.Fatalf("got %q", r.Text)
	}
	if r := f.do(t, commands.Request{Channel: "COPS", Text: "echo hi"}); r.Text != "hi" {
		t.Fatalf("got %q", r.Text)
	}
}

func TestHelpListsRegisteredVerbs(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	r := f.do(t, commands.Request{Text: "help"})
	for _, v := range []string{"audit", "backup", "echo", "help", "restart"} {
		if !strings.Contains(r.Code, v+" ") {
			t.Errorf("help lacks %s:\n%s", v, r.Code)
		}
	}
	if strings.Contains(r.Code, "logs") {
		t.Error("help lists a verb that is not registered")
	}
	r = f.do(t, commands.Request{Text: "help echo"})
	if !strings.Contains(r.Text, "usage: /ops echo <text…>") {
		t.Fatalf("help echo: %q", r.Text)
	}
	// Long flag names keep the help column straight.
	f.reg.MustRegister(&commands.Verb{Name: "grep", Summary: "find", Access: policy.Read,
		Params: []commands.Param{{Name: "pattern", Help: "what to find"}},
		Flags:  []commands.Flag{{Name: "ignore-case", Short: "i", Bool: true, Help: "any case"}, {Name: "limit", Help: "at most"}},
		Run:    func(ctx context.Context, c *commands.Call) (commands.Response, error) { return commands.Text("x"), nil }})
	r = f.do(t, commands.Request{Text: "help grep"})
	col := -1
	for _, l := range strings.Split(r.Text, "\n") {
		for _, h := range []string{"what to find", "any case", "at most"} {
			if i := strings.Index(l, h); i >= 0 {
				if col >= 0 && i != col {
					t.Fatalf("help columns differ:\n%s", r.Text)
				}
				col = i
			}
		}
	}
	if col < 0 {
		t.Fatalf("help grep:\n%s", r.Text)
	}
	// A verb with subcommands and examples: the examples start a line.
	f.reg.MustRegister(&commands.Verb{Name: "jobs", Summary: "jobs", Examples: []string{"/ops jobs run backup"},
		Subs: []*commands.Verb{{Name: "run", Summary: "run one", Access: policy.Operate, Params: []commands.Param{{Name: "job"}},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) { return commands.Text("x"), nil }}}})
	r = f.do(t, commands.Request{Text: "help jobs"})
	if !strings.Contains(r.Text, "usage: /ops jobs run [job]\n  restricted: needs role operator or admin\n\nexamples:\n  /ops jobs run backup") {
		t.Fatalf("help jobs:\n%s", r.Text)
	}
}

// The requester confirming their own command is named once.
func TestSelfConfirmationNamesTheActorOnce(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	r := f.do(t, commands.Request{Platform: "console", User: "me", Text: "restart api", Local: true})
	if len(r.Buttons) == 0 {
		t.Fatalf("want a confirmation, got %+v", r)
	}
	out := f.reg.Button(context.Background(), commands.Request{Platform: "console", User: "me", Local: true}, "confirm", r.Buttons[0].Value)
	if out.Text != "restarted api" || out.Context != "confirmed by console:me" {
		t.Fatalf("got %q (%q)", out.Text, out.Context)
	}
}

func TestAuditVerbRestricted(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	if r := f.do(t, commands.Request{Text: "audit"}); !strings.Contains(r.Text, "you may not run audit") {
		t.Fatalf("got %q", r.Text)
	}
	f.cfg.Roles = map[string]config.Role{"lead": {Users: []string{"slack:U1"}, Verbs: []string{"audit"}}}
	f.do(t, commands.Request{Text: "echo one"})
	r := f.do(t, commands.Request{Text: "audit 2"})
	if !strings.Contains(r.Code, "audit") || strings.Count(r.Code, "\n") != 1 {
		t.Fatalf("audit 2:\n%s %s", r.Code, r.Text)
	}
	if r := f.do(t, commands.Request{Text: "audit -5"}); !strings.Contains(r.Text, "n must be a whole number from 1 to 200") {
		t.Fatalf("audit -5: %q", r.Text)
	}
}

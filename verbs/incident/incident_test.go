package incident_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/policy"
	"opsbot/store"
	"opsbot/store/storetest"
	verbs "opsbot/verbs/incident"
)

// syncOutbox delivers at once through the console poster (the notifier's
// durable outbox does the same with retries).
type syncOutbox struct {
	p     chat.Poster
	mu    sync.Mutex
	heads map[string]chat.Ref
}

func (o *syncOutbox) Send(ctx context.Context, channel, owner string, m chat.Message) error {
	ref, err := o.p.Post(ctx, channel, m)
	o.mu.Lock()
	o.heads[owner] = ref
	o.mu.Unlock()
	return err
}

func (o *syncOutbox) Update(ctx context.Context, owner string, m chat.Message) error {
	o.mu.Lock()
	ref := o.heads[owner]
	o.mu.Unlock()
	return o.p.Update(ctx, ref, m)
}

func (o *syncOutbox) Reply(ctx context.Context, owner string, m chat.Message) error {
	o.mu.Lock()
	ref := o.heads[owner]
	o.mu.Unlock()
	_, err := o.p.Reply(ctx, ref, m)
	return err
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *clock) After(d time.Duration) <-chan time.Time { return make(chan time.Time) }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type bench struct {
	reg   *commands.Registry
	st    *store.Store
	out   *strings.Builder
	clock *clock
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T, st *store.Store) *bench { return setupWith(t, st, nil) }

func setupWith(t *testing.T, st *store.Store, change func(*config.Config)) *bench {
	cfg := config.Default()
	cfg.Channels.Incident = "console"
	cfg.Targets = []config.Target{{Name: "api"}}
	cfg.Incidents.MaxTitle = 40
	cfg.RateLimits.Default = config.RateLimit{Count: 1000, Per: time.Minute}
	// The chat users who lead and note incidents are operators.
	cfg.Roles = map[string]config.Role{"operator": {Users: []string{"slack:U0ME", "discord:me"}}}
	if change != nil {
		change(cfg)
	}
	get := func() *config.Config { return cfg }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	out := &strings.Builder{}
	router := chat.NewRouter()
	router.Set("console", console.NewPoster(out))
	svc := incidents.New(st, &syncOutbox{p: router, heads: map[string]chat.Ref{}}, get, log)
	clk := &clock{now: t0}
	svc.Clock = clk
	reg := commands.NewRegistry(get, st, log)
	reg.Now = clk.Now
	reg.MustRegister(verbs.Verbs(verbs.Deps{Incidents: svc})...)
	// A stand-in for the ops verbs, and the hook the app wires: every
	// finished command is offered to the incident timelines.
	reg.MustRegister(&commands.Verb{Name: "status", Summary: "status", Access: policy.Read, Params: []commands.Param{{Name: "target"}},
		Target: func(c *commands.Call) string { return c.Arg(0) },
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			return commands.Text("api: healthy (12 ms)"), nil
		}})
	reg.AddHook(func(ctx context.Context, c *commands.Call, result string, resp commands.Response) {
		target := ""
		if c.Verb.Target != nil {
			target = c.Verb.Target(c)
		}
		svc.RecordCommand(ctx, target, c.Actor(), c.Path, result, resp.Text, c.Now)
	})
	return &bench{reg: reg, st: st, out: out, clock: clk}
}

func (b *bench) run(platform, text string) commands.Response {
	user := "me"
	if platform == "slack" {
		user = "U0ME"
	}
	return b.reg.Handle(context.Background(), commands.Request{Platform: platform, User: user, UserName: "me", Text: text, Local: platform == "console"})
}

func TestIncidentVerbsEndToEndOnTheConsole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := setup(t, st)
		ctx := context.Background()
		steps := []struct {
			at       time.Duration
			platform string
			text     string
			want     string // in the response (title + text)
			refused  bool
		}{
			{0, "console", `incident open "API not responding" --sev critical`, "Opened incident #1: API not responding", false},
			{time.Minute, "console", "incident lead 1 alice", `the lead must be a user mention (@name), got "alice"`, true},
			{time.Minute, "slack", "incident lead 1 @alice", `the lead must be a user mention (@someone, sent as <@U123>), got "@alice"`, true},
			{time.Minute, "slack", "incident lead 1 <@U0ALICE|alice>", "@U0ALICE leads incident #1", false},
			{2 * time.Minute, "console", "incident stage 1 handling", "incident #1 is now in handling (10–30 min)", false},
			{3 * time.Minute, "console", "incident stage 1 assessment", "incident #1: stages only move forward (handling → assessment); use reopen to go back", true},
			{3 * time.Minute, "console", "incident stage 1 triage", "stage must be one of discovery, assessment, handling, recovery, post-mortem, closed", true},
			{3 * time.Minute, "console", "incident show 99", "no incident #99", true},
			{3 * time.Minute, "console", "incident note 99 hello", "no incident #99", true},
			{3 * time.Minute, "console", "incident show x", `an incident id is a whole number like 7, got "x"`, true},
			{3 * time.Minute, "console", "incident open " + strings.Repeat("long ", 9), "title is 44 characters long; at most 40", true},
			{4 * time.Minute, "console", "incident note 1 workers stuck on the LLM API", "note added to incident #1", false},
			{5 * time.Minute, "console", "status api", "api: healthy (12 ms)", false},
			{20 * time.Minute, "console", "incident stage 1 recovery", "incident #1 is now in recovery (30–60 min)", false},
			{40 * time.Minute, "console", "incident close 1", "incident #1 closed after 40m", false},
			{41 * time.Minute, "console", "incident note 1 one more thing", "incident #1 is closed; notes go to open incidents (reopen it first)", true},
			{42 * time.Minute, "console", "incident reopen 1", "incident #1 reopened: now in handling (10–30 min)", false},
			{50 * time.Minute, "console", "incident stage 1 post-mortem", "incident #1 is now in post-mortem (within 24 h)", false},
			{60 * time.Minute, "console", "incident postmortem 1", "Post-mortem draft of incident #1", false},
			{61 * time.Minute, "console", "incident list --open", "#1    post-mortem critical 1h01m", false},
			{61 * time.Minute, "console", "incident stats --days 7", "Incidents in the last 7 days", false},
			{61 * time.Minute, "console", "incident show 1", "Incident #1: API not responding", false},
		}
		for _, s := range steps {
			b.clock.Set(t0.Add(s.at))
			inc, _ := st.Incident(ctx, 1)
			tl, _ := st.IncidentTimeline(ctx, 1)
			before := b.out.Len()
			resp := b.run(s.platform, s.text)
			got := resp.Title + "\n" + resp.Text + "\n" + resp.Code
			if !strings.Contains(got, s.want) {
				t.Fatalf("%q: got %q, want %q", s.text, got, s.want)
			}
			if s.refused {
				if resp.Severity != chat.SevWarning {
					t.Errorf("%q: refusal not marked", s.text)
				}
				after, _ := st.Incident(ctx, 1)
				tl2, _ := st.IncidentTimeline(ctx, 1)
				if after != inc || len(tl2) != len(tl) || b.out.Len() != before {
					t.Fatalf("%q was refused but changed something", s.text)
				}
			}
		}
		show := b.run("console", "incident show 1")
		for _, want := range []string{"opened    console:me", "lead      slack:U0ME (me)", "command   console:me", "status api — ran: api: healthy (12 ms)", "reopened", "postmortem"} {
			if !strings.Contains(show.Code, want) {
				t.Errorf("timeline lacks %q:\n%s", want, show.Code)
			}
		}
		stats := b.run("console", "incident stats")
		if v := stats.Fields[0].Value; v != "1 (1 critical, 1 open)" {
			t.Errorf("stats count %q", v)
		}
		out := b.out.String()
		for _, want := range []string{
			"[#1] [CRITICAL] Incident #1: API not responding",
			"    ↳ [#2 in #1]  U0ALICE",
			"    ↳ [#3 in #1] Stage: stage discovery → handling (console:me)",
			"Command (console:me): status api — ran: api: healthy (12 ms)",
			"Closed (console:me)",
			"Reopened: reopened: closed → handling (console:me)",
			"incident-1-postmortem.md",
			"[#1 updated]",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("console lacks %q:\n%s", want, out)
			}
		}
		pm, _, err := st.PostMortem(ctx, 1)
		if err != nil || !strings.HasPrefix(pm, "# Post-mortem: incident #1 — API not responding") {
			t.Fatalf("stored post-mortem %q %v", pm, err)
		}
		rows, _ := st.RecentAudit(ctx, 100)
		refused := 0
		for _, r := range rows {
			if r.Result == "refused" || r.Result == "invalid" {
				refused++
			}
		}
		if refused != 9 {
			t.Errorf("%d refused or invalid audit rows, want 9", refused)
		}
	})
}

// The lead is a user parameter, so Discord offers a member picker and hands
// the pick on as <@id>, which the verb takes.
func TestLeadIsAUserParameter(t *testing.T) {
	b := setup(t, storetest.SQLite(t))
	var lead *commands.Verb
	for _, v := range b.reg.Lookup("incident").Subs {
		if v.Name == "lead" {
			lead = v
		}
	}
	if lead == nil || len(lead.Params) != 2 || lead.Params[1].Kind != "user" {
		t.Fatalf("incident lead params %+v, want a user parameter", lead)
	}
	b.run("console", `incident open "API down"`)
	if resp := b.run("discord", "incident lead 1 <@800000000000000001>"); resp.Severity == chat.SevWarning || !strings.Contains(resp.Text, "leads incident #1") {
		t.Fatalf("lead from Discord's picker: %+v", resp.Message)
	}
}

// The incident form's lead is `incident open --lead`: a mention is the
// lead from the start; anything else is refused before an incident opens.
func TestOpenWithLead(t *testing.T) {
	b := setup(t, storetest.SQLite(t))
	if resp := b.run("slack", `incident open --lead nobody-in-particular "API down"`); resp.Severity != chat.SevWarning || !strings.Contains(resp.Text+resp.Title, "lead must be a user mention") {
		t.Fatalf("bad lead answered %+v", resp.Message)
	}
	if resp := b.run("console", "incident list"); !strings.Contains(strings.ToLower(resp.Text+resp.Title+resp.Code), "no incidents") {
		t.Fatalf("a refused open left an incident: %+v", resp.Message)
	}
	if resp := b.run("slack", `incident open --lead <@U0LEAD> "API down"`); !strings.Contains(resp.Title, "Opened incident #1") {
		t.Fatalf("open with lead: %+v", resp.Message)
	}
	if resp := b.run("slack", "incident show 1"); !strings.Contains(fmt.Sprintf("%+v", resp.Message), "U0LEAD") {
		t.Fatalf("incident show names no lead: %+v", resp.Message)
	}
}

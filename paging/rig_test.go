package paging_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/bot/slack"
	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/paging"
	"opsbot/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// t0 is a Wednesday: alice is primary, bob secondary (rotations from Monday).
var t0 = time.Date(2026, 3, 4, 3, 0, 0, 0, time.UTC)

const (
	pdKey   = "R0UTINGKEY0123456789012345678901"
	hookKey = "hook-signing-key"
)

// rig is the whole way out: the notifier's pipeline and delivery lanes,
// the Slack adapter against the Slack fake, the page integrations against
// the local PagerDuty and webhook receivers, and the escalation engine,
// all on one injected clock.
type rig struct {
	st     *store.Store
	cfg    *config.Config
	clk    *clock
	fake   *slackfake.Server
	pd     *pdReceiver
	hook   *hookReceiver
	n      *notifier.Notifier
	eng    *paging.Engine
	integ  *paging.Integrations
	dms    *paging.DMs
	router *chat.Router
	log    *slog.Logger
}

func newRig(t *testing.T, st *store.Store) *rig { return newRigTB(t, st) }

func newRigTB(t testing.TB, st *store.Store) *rig {
	t.Helper()
	r := &rig{st: st, clk: &clock{t: t0}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r.fake = slackfake.New()
	t.Cleanup(r.fake.Close)
	r.pd = newPD(t)
	r.hook = newHook(t, hookKey, r.clk.Now)
	cfg := config.Default()
	cfg.Slack.APIURL = r.fake.APIURL()
	cfg.Secrets.SlackBotToken = slackfake.BotToken
	cfg.Notifier.GroupWait = 0
	cfg.Notifier.MaxAttempts = 4
	cfg.Paging = config.Paging{
		Channel: "slack:C0OPS",
		People: map[string]config.Person{
			"alice": {Slack: "U0ALICE", Email: "alice@example.com", Phone: "+4930123456"},
			"bob":   {Slack: "U0BOB", Email: "bob@example.com"},
			"lead":  {Slack: "U0LEAD", Email: "lead@example.com"},
		},
		Rotations: map[string]config.RotationSpec{
			"primary":   {Members: []string{"alice", "bob"}, Length: "weekly", Handoff: "09:00", Timezone: "Europe/Berlin", Start: "2026-03-02"},
			"secondary": {Members: []string{"bob", "alice"}, Length: "weekly", Handoff: "09:00", Timezone: "Europe/Berlin", Start: "2026-03-02"},
		},
		Integrations: map[string]config.Integration{
			"pd":   {Type: "pagerduty", URL: r.pd.srv.URL, Timeout: 5 * time.Second},
			"hook": {Type: "webhook", URL: r.hook.srv.URL + "/opsbot", Timeout: 5 * time.Second},
		},
		Policies: []config.EscalationPolicy{{Name: "critical", Severity: "critical", Steps: []config.Step{
			{After: 0, Rotation: "primary", Via: []string{"channel"}},
			{After: 5 * time.Minute, Rotation: "primary", Via: []string{"pd", "hook"}},
			{After: 15 * time.Minute, Rotation: "secondary", Via: []string{"pd", "hook"}},
			{After: 30 * time.Minute, People: []string{"lead"}, Via: []string{"channel", "pd"}},
		}}},
	}
	cfg.Secrets.Paging = map[string]config.Secret{"pd": pdKey, "hook": hookKey}
	if probs := cfg.Validate(); len(probs) > 0 {
		t.Fatalf("rig config: %v", probs)
	}
	r.cfg = cfg
	get := func() *config.Config { return r.cfg }
	adapter := slack.New(get, commands.NewRegistry(get, st, r.log), r.log, slack.WithPace(time.Millisecond, 1000))
	router := chat.NewRouter()
	router.Set("slack", adapter.Poster())
	r.integ = paging.NewIntegrations(get)
	r.integ.Now = r.clk.Now
	router.Set("page", r.integ)
	r.dms = paging.NewDMs()
	r.dms.Set("slack", adapter.Poster())
	router.Set("dm", r.dms)
	r.router = router
	r.n = notifier.New(st, router, get, r.log)
	r.n.Now = r.clk.Now
	r.n.Jitter = func() float64 { return 0 }
	r.eng = r.engine()
	if err := r.n.Subscribe(context.Background(), "slack:C0ALERT", []string{"health"}, "warning", "", "test"); err != nil {
		t.Fatal(err)
	}
	return r
}

// engine is a fresh escalation engine on the rig's store: a restarted or
// newly elected leader.
func (r *rig) engine() *paging.Engine {
	e := paging.New(r.st, r.n, func() *config.Config { return r.cfg }, r.log)
	e.Now = r.clk.Now
	e.DMs = r.dms
	return e
}

func (r *rig) at(d time.Duration) { r.clk.Set(t0.Add(d)) }

// pass runs the pipeline, the escalation engine and the delivery until
// nothing more is due now.
func (r *rig) pass(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := r.n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.eng.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := r.n.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *rig) fire(t *testing.T, fp, severity string) {
	t.Helper()
	if err := r.n.Notify(context.Background(), alert.Alert{Fingerprint: fp, Kind: "health", Rule: "api_down", Target: "api",
		Severity: severity, Summary: "api is not responding"}); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) resolve(t *testing.T, fp string) {
	t.Helper()
	if err := r.n.Notify(context.Background(), alert.Alert{Fingerprint: fp, Kind: "health", Rule: "api_down", Target: "api",
		Status: alert.Resolved, Severity: "critical", Summary: "api is back"}); err != nil {
		t.Fatal(err)
	}
}

// thread is the text of every reply in the thread of the alert's message in C0ALERT.
func (r *rig) thread(t *testing.T) []string {
	t.Helper()
	var root string
	var out []string
	for _, m := range r.fake.Messages() {
		if m.Channel != "C0ALERT" {
			continue
		}
		if m.ThreadTS == "" && root == "" {
			root = m.TS
			continue
		}
		if m.ThreadTS == root {
			out = append(out, m.Text)
		}
	}
	return out
}

func count(lines []string, sub string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func (r *rig) alertID(t *testing.T, fp string) int64 {
	t.Helper()
	a, err := store.LatestAlert(context.Background(), r.st.DB, fp)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

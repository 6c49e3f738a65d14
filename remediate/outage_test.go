package remediate_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"opsbot/alert"
	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/ops"
	"opsbot/remediate"
	"opsbot/standin"
	"opsbot/store"
	"opsbot/store/storetest"
)

// The outage tests drive the alert path as an on-call engineer meets it:
// the real health job, pipeline, action queue, incidents and console
// adapter, wired as app/wire.go wires them, on a store of each dialect,
// with a stand-in API that dies. Time is an injected clock that moves in
// steps; the leader's loops (the health job on its cron schedule, the
// pipeline, the queue, incident reminders and delivery) run at every step,
// so a line is printed when the real bot would print it, and the console
// transcript carries the time since the first failed check on each message.

var updateGolden = flag.Bool("update-golden", os.Getenv("UPDATE_GOLDEN") == "1", "rewrite the outage golden files")

// step is how often the loops look at the injected clock: the pipeline of
// a running bot wakes when an alert is due; this grid is fine enough for
// the group wait (30 s) to fall on it.
const step = 5 * time.Second

// outage is the wired bot and its stand-in API, on an injected clock.
type outage struct {
	t      *testing.T
	st     *store.Store
	cfg    *config.Config
	clk    *clock
	b      *standin.Backend
	n      *notifier.Notifier
	inc    *incidents.Service
	rem    *remediate.Remediator
	health *remediate.Health
	tr     *transcript

	sched     cron.Schedule
	nextCheck time.Time
	// restartTakes is how much time passes on the clock while a restart
	// runs (the real action takes milliseconds against the stand-in).
	restartTakes time.Duration
	restarting   chan chan struct{}
}

// t0 is the first failed check: on the default schedule (every 5 min).
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func newOutage(t *testing.T, st *store.Store, mode standin.RestartMode, restartTakes time.Duration) *outage {
	t.Helper()
	ctx := context.Background()
	// The bot has been running for a while, the API healthy.
	o := &outage{t: t, st: st, clk: &clock{now: t0.Add(-5 * time.Minute)}, restartTakes: restartTakes,
		restarting: make(chan chan struct{})}
	o.tr = &transcript{clk: o.clk, t0: t0}
	self, _ := os.Executable()
	b, err := standin.Start(ctx, t.TempDir(), standin.Options{Self: self, RowsPerSecond: -1, LogInterval: time.Hour,
		HistoryLines: 5, StartDelay: 20 * time.Millisecond, CommandTimeout: 10 * time.Second, HealthDeadline: 500 * time.Millisecond,
		Restart: mode, OnRestart: o.onRestart, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	o.b = b

	// Defaults throughout (health every 5 min, group wait 30 s, a restart
	// after 3 failed checks, 3 restarts in 30 min), with the console as
	// the only channel, as `opsbot shell` has it without a chat token.
	o.cfg = config.Default()
	o.cfg.Targets = []config.Target{b.Target()}
	o.cfg.Channels.Subscriptions = []config.Subscription{{Channel: "console", Kinds: alert.Kinds, MinSeverity: "warning"}}
	o.cfg.Channels.Incident = "console"
	if o.sched, err = cron.ParseStandard(o.cfg.Schedules["health"].Spec); err != nil {
		t.Fatal(err)
	}
	cfgf := func() *config.Config { return o.cfg }
	log := slog.New(slog.DiscardHandler)

	// As app/wire.go wires them.
	router := chat.NewRouter()
	router.Set("console", console.NewPoster(o.tr))
	n := notifier.New(st, router, cfgf, log)
	n.Now = o.clk.Now
	n.Jitter = func() float64 { return 0 }
	inc := incidents.New(st, n, cfgf, log)
	inc.Clock = o.clk
	n.OnAlert(inc.OnAlert)
	n.OnEscalate(inc.OnAlert)
	acts := ops.NewActions(st, log)
	acts.HealthInterval = 20 * time.Millisecond
	rem, err := remediate.New(ctx, remediate.Deps{Store: st, Config: cfgf, Sink: n.Source("remediation"), Outbox: n, Incidents: inc,
		Timeline: inc.RecordAction, Actions: acts, Host: ops.NewHost(t.TempDir()), Log: log, Now: o.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	n.SetActions(rem)
	o.health = &remediate.Health{Store: st, Config: cfgf, Checker: ops.NewChecker(nil), Sink: n.Source("health"), Log: log, Now: o.clk.Now}
	o.n, o.inc, o.rem = n, inc, rem
	if err := n.Seed(ctx); err != nil {
		t.Fatal(err)
	}

	// The queue runs for real: its jobs are driven to completion below.
	qctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rem.Run(qctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("action queue: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("action queue did not stop within 10 s")
		}
	})
	o.nextCheck = o.clk.Now()
	return o
}

// onRestart runs inside the stand-in's restart, in its control handler:
// the test's loop delivers what was said so far (the attempt), moves the
// clock by restartTakes and lets the restart go on.
func (o *outage) onRestart() {
	ack := make(chan struct{})
	select {
	case o.restarting <- ack:
	case <-time.After(30 * time.Second):
		return // the test is gone or stuck; its own deadline reports it
	}
	select {
	case <-ack:
	case <-time.After(30 * time.Second):
	}
}

// at is the clock as an offset from the first failed check.
func (o *outage) at() time.Duration { return o.clk.Now().Sub(t0) }

// runUntil runs the bot's loops, step by step, until offset end.
func (o *outage) runUntil(end time.Duration) {
	o.t.Helper()
	for o.at() < end {
		now := o.clk.Now()
		o.clk.Advance(now.Truncate(step).Add(step).Sub(now))
		o.pass()
	}
}

// pass is one wake-up of the leader: the health job when due, then the
// pipeline, the queue until idle, reminders and delivery.
func (o *outage) pass() {
	o.t.Helper()
	ctx := context.Background()
	if now := o.clk.Now(); !now.Before(o.nextCheck) {
		if err := o.health.Check(ctx, now); err != nil {
			o.t.Fatalf("health job at %s: %v", rel(o.at()), err)
		}
		o.nextCheck = o.sched.Next(now)
	}
	o.tick()
	o.settle()
	o.tick() // what the actions observed (a spent budget's alert)
	if err := o.inc.Tick(ctx, o.clk.Now()); err != nil {
		o.t.Fatal(err)
	}
	o.drain()
}

func (o *outage) tick() {
	o.t.Helper()
	if err := o.n.Tick(context.Background()); err != nil {
		o.t.Fatalf("pipeline at %s: %v", rel(o.at()), err)
	}
}

func (o *outage) drain() {
	o.t.Helper()
	if _, err := o.n.Drain(context.Background()); err != nil {
		o.t.Fatalf("delivery at %s: %v", rel(o.at()), err)
	}
}

// settle waits until no action is queued or running; a restart on its way
// is let through (see onRestart).
func (o *outage) settle() {
	o.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		var n int
		if err := o.st.Get(context.Background(), &n, `SELECT COUNT(*) FROM remediation_attempts WHERE state <> 'done'`); err != nil {
			o.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		select {
		case ack := <-o.restarting:
			// What the thread was told when the restart began is out now.
			o.drain()
			o.clk.Advance(o.restartTakes)
			close(ack)
		case <-deadline:
			o.t.Fatalf("at %s: %d action(s) still unfinished after 30 s", rel(o.at()), n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// attempts are the restart attempts so far, oldest first.
func (o *outage) attempts() []store.RemediationAttempt {
	o.t.Helper()
	var out []store.RemediationAttempt
	if err := o.st.Select(context.Background(), &out, `SELECT id, target, action, fingerprint, attempt, budget, state, outcome, text, job_id, queued_at, started_at, finished_at
		FROM remediation_attempts WHERE action = ? ORDER BY id`, remediate.ActRestart); err != nil {
		o.t.Fatal(err)
	}
	return out
}

// transcript is the console as a person reads it, each message stamped
// with the time since the first failed check.
type transcript struct {
	clk *clock
	t0  time.Time

	mu    sync.Mutex
	b     strings.Builder
	lines []tline
}

// tline is one console line and when it was printed.
type tline struct {
	at   time.Duration
	text string
}

// probeTime is a round trip measured on the wall clock (the stand-in's
// /health answering in 0.8 ms or 1.3 ms); the transcript does not depend on it.
var probeTime = regexp.MustCompile(`(status \d{3} in )\d+(\.\d+)? ms`)

func (tr *transcript) Write(p []byte) (int, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	at := tr.clk.Now().Sub(tr.t0)
	for i, l := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		l = probeTime.ReplaceAllString(l, "${1}N ms")
		stamp := rel(at)
		if i > 0 {
			stamp = "" // a message's later lines belong to its first
		}
		fmt.Fprintf(&tr.b, "%6s  %s\n", stamp, l)
		tr.lines = append(tr.lines, tline{at: at, text: l})
	}
	return len(p), nil
}

func (tr *transcript) String() string { tr.mu.Lock(); defer tr.mu.Unlock(); return tr.b.String() }

func (tr *transcript) Lines() []tline {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]tline(nil), tr.lines...)
}

// find returns the first line at or after index from that contains want.
func (tr *transcript) find(t *testing.T, from int, want string) (int, tline) {
	t.Helper()
	lines := tr.Lines()
	for i := from; i < len(lines); i++ {
		if strings.Contains(lines[i].text, want) {
			return i, lines[i]
		}
	}
	t.Fatalf("the console has no line %q after line %d:\n%s", want, from+1, tr)
	return 0, tline{}
}

// rel renders an offset as +m:ss.
func rel(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%d:%02d", sign, int(d/time.Minute), int(d%time.Minute/time.Second))
}

// golden compares the transcript with testdata/name line by line.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden && strings.HasSuffix(t.Name(), "/sqlite") {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (UPDATE_GOLDEN=1 writes it)", err)
	}
	want := strings.Split(string(raw), "\n")
	lines := strings.Split(got, "\n")
	for i := 0; i < max(len(want), len(lines)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(lines) {
			g = lines[i]
		}
		if w != g {
			t.Fatalf("%s line %d:\n got: %q\nwant: %q\nwhole console:\n%s", path, i+1, g, w, got)
		}
	}
}

// A stand-in API that dies and comes back after one restart: the console
// shows the outage (cause first) within the group wait of the first failed
// check, the attempt when the restart starts, the recovery with its time
// to healthy, and the resolve, in that order, none held back.
func TestOutageRecoversAfterOneRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		o := newOutage(t, st, standin.RestartOK, 14*time.Second)
		o.runUntil(-4 * time.Minute) // one healthy check
		if err := o.b.SetHealth(standin.HealthFail, 0); err != nil {
			t.Fatal(err)
		}
		o.runUntil(16 * time.Minute)
		golden(t, "outage-recovers.golden", o.tr.String())

		if got := o.b.State().Restarts; got != 1 {
			t.Fatalf("restarts: %d, want 1", got)
		}
		// Order: firing < attempt < recovery < resolve.
		i, firing := o.tr.find(t, 0, "[WARNING] api_down on demo")
		if next := o.tr.Lines()[i+1].text; next != "/health answered 503" {
			t.Fatalf("the firing message does not start with its cause: %q", next)
		}
		i, attempt := o.tr.find(t, i, "restarting demo (attempt 1 of 3)…")
		i, recovery := o.tr.find(t, i, "demo healthy again 14 s after restart 1 of 3")
		_, resolve := o.tr.find(t, i, "Resolved: api_down on demo")

		// Timing. The first line comes no later than the rule's `for` plus
		// one check interval after the first failed check (here: within
		// the group wait).
		interval := o.sched.Next(t0).Sub(t0)
		if bound := o.cfg.Rules.For + interval; firing.at > bound || firing.at > o.cfg.Notifier.GroupWait {
			t.Errorf("first line at %s, want within %s (and the group wait, %s)", rel(firing.at), rel(bound), o.cfg.Notifier.GroupWait)
		}
		// Nothing held back: the attempt is told when the restart starts,
		// the recovery when its health check passed.
		att := o.attempts()
		if len(att) != 1 || att[0].Outcome != "cleared" {
			t.Fatalf("attempts: %+v", att)
		}
		if started := att[0].StartedAt.Sub(t0); attempt.at != started {
			t.Errorf("attempt told at %s, started at %s", rel(attempt.at), rel(started))
		}
		if finished := att[0].FinishedAt.Sub(t0); recovery.at != finished || recovery.at-attempt.at != 14*time.Second {
			t.Errorf("recovery told at %s, the restart finished at %s", rel(recovery.at), rel(finished))
		}
		// The restart came at the third failed check, two intervals in.
		if attempt.at != 2*interval {
			t.Errorf("restart at %s, want at the third failed check (%s)", rel(attempt.at), rel(2*interval))
		}
		// The restart's health check passing resolves the alert then, not
		// at the next health check an interval later.
		if resolve.at != recovery.at {
			t.Errorf("resolved at %s, the recovery was told at %s", rel(resolve.at), rel(recovery.at))
		}
		if _, l := o.tr.find(t, i, "#1 resolved after 10 min 14 s: "); !strings.HasSuffix(l.text, "API recovered after restart 1 of 3 (14 s).") {
			t.Errorf("resolve reply %q", l.text)
		}
		var held int
		if err := st.Get(context.Background(), &held, `SELECT COUNT(*) FROM alerts WHERE pending = ?`, store.PendingHold); err != nil {
			t.Fatal(err)
		}
		if held != 0 {
			t.Errorf("%d alert(s) held by a maintenance window during an automatic restart", held)
		}
	})
}

// A stand-in API that a restart cannot fix: attempts 1..3 in the alert's
// thread, then the critical restart_budget alert and an incident, no later
// than one check interval after the last attempt.
func TestOutageBudgetSpent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		o := newOutage(t, st, standin.RestartUnhealthy, time.Minute)
		o.runUntil(-4 * time.Minute)
		if err := o.b.SetHealth(standin.HealthFail, 0); err != nil {
			t.Fatal(err)
		}
		o.runUntil(22 * time.Minute)
		golden(t, "outage-budget-spent.golden", o.tr.String())

		if got := o.b.State().Restarts; got != 3 {
			t.Fatalf("restarts: %d, want 3", got)
		}
		i, firing := o.tr.find(t, 0, "[WARNING] api_down on demo")
		interval := o.sched.Next(t0).Sub(t0)
		if bound := o.cfg.Rules.For + interval; firing.at > bound {
			t.Errorf("first line at %s, want within %s", rel(firing.at), rel(bound))
		}
		var last tline
		for k := 1; k <= 3; k++ {
			var l tline
			i, l = o.tr.find(t, i, fmt.Sprintf("[#%d in #1] [WARNING] restarting demo (attempt %d of 3)…", 2*k, k))
			i, _ = o.tr.find(t, i, fmt.Sprintf("still unhealthy 1 min after restart %d of 3 (status 503)", k))
			if want := (2 + time.Duration(k-1)) * interval; l.at != want {
				t.Errorf("attempt %d at %s, want %s", k, rel(l.at), rel(want))
			}
			last = l
		}
		_, spent := o.tr.find(t, i, "restart budget spent (3 in 11 min): opening incident #1")
		_, incident := o.tr.find(t, 0, "[CRITICAL] Incident #1: demo down: restart budget spent")
		_, crit := o.tr.find(t, 0, "[CRITICAL] restart_budget on demo")
		for what, l := range map[string]tline{"budget spent": spent, "incident": incident, "critical alert": crit} {
			if l.at > last.at+interval {
				t.Errorf("%s at %s, more than one interval after the last attempt (%s)", what, rel(l.at), rel(last.at))
			}
		}
		open, err := o.inc.List(context.Background(), true, 10)
		if err != nil || len(open) != 1 || open[0].Severity != "critical" || open[0].Target != "demo" {
			t.Fatalf("want one critical incident on demo, got %+v %v", open, err)
		}
		if got := strings.Count(o.tr.String(), "restarting demo (attempt"); got != 3 {
			t.Errorf("%d attempts told, want 3", got)
		}
	})
}

// A target that a restart brought back and that dies again before the
// next check is a new outage: its alert fires again as a new message,
// counted from the new failure, and the next restart comes at its own
// third failed check as attempt 2 of 3 of the same budget.
func TestOutageAgainAfterRecovery(t *testing.T) {
	o := newOutage(t, storetest.SQLite(t), standin.RestartOK, 14*time.Second)
	o.runUntil(-4 * time.Minute)
	if err := o.b.SetHealth(standin.HealthFail, 0); err != nil {
		t.Fatal(err)
	}
	o.runUntil(11 * time.Minute) // restarted at +10:00, healthy and resolved at +10:14
	if err := o.b.SetHealth(standin.HealthFail, 0); err != nil {
		t.Fatal(err)
	}
	o.runUntil(26 * time.Minute)
	i, _ := o.tr.find(t, 0, "#1 resolved after 10 min 14 s")
	i, again := o.tr.find(t, i, "[#5] [WARNING] api_down on demo")
	if again.at != 15*time.Minute+o.cfg.Notifier.GroupWait {
		t.Errorf("the second outage announced at %s, want at %s", rel(again.at), rel(15*time.Minute+o.cfg.Notifier.GroupWait))
	}
	if _, l := o.tr.find(t, i, "Failed checks: 1"); l.at != again.at {
		t.Errorf("the second outage does not count from its own first failure")
	}
	_, second := o.tr.find(t, i, "[#6 in #5] [WARNING] restarting demo (attempt 2 of 3)…")
	if second.at != 25*time.Minute {
		t.Errorf("second restart at %s, want at the third failed check of the new outage (+25:00)", rel(second.at))
	}
	if got := o.b.State().Restarts; got != 2 {
		t.Errorf("restarts: %d, want 2", got)
	}
}

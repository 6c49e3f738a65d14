package scheduler_test

import (
	"opsbot/alert"

	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/ops"
	"opsbot/scheduler"
	"opsbot/standin"
	"opsbot/store"
	"opsbot/store/storetest"
)

// argvRestarter restarts a target by its configured argv and waits for
// health: the real sequence, without the lock and reply formatting of the
// chat verb.
type argvRestarter struct{ cfg func() *config.Config }

func (r argvRestarter) Restart(ctx context.Context, target, actor string) (string, bool, error) {
	t, _ := r.cfg().Target(target)
	res, err := ops.RunArgv(ctx, t.Restart, t.Workdir, nil, t.CommandTimeout)
	if err != nil {
		return "", false, err
	}
	took, err := ops.WaitHealthy(ctx, t.HealthURL, 3*time.Second, 50*time.Millisecond)
	if err != nil {
		return fmt.Sprintf("restart ran in %s, not healthy after 3s", res.Duration.Round(time.Millisecond)), false, nil
	}
	return fmt.Sprintf("restart ran, healthy after %s", took.Round(time.Millisecond)), true, nil
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type remEnv struct {
	rem  *scheduler.Remediator
	n    *notifier.Notifier
	inc  *incidents.Service
	b    *standin.Backend
	st   *store.Store
	out  *syncBuf
	now  time.Time
	cfg  *config.Config
	self string
}

func newRemEnv(t *testing.T, st *store.Store) *remEnv {
	t.Helper()
	self, _ := os.Executable()
	b, err := standin.Start(context.Background(), t.TempDir(), standin.Options{Self: self, RowsPerSecond: -1, LogInterval: time.Hour, HistoryLines: 5, StartDelay: 20 * time.Millisecond, CommandTimeout: 10 * time.Second, HealthDeadline: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := &remEnv{b: b, st: st, out: &syncBuf{}, now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	e.cfg = config.Default()
	e.cfg.Targets = []config.Target{b.Target()}
	e.cfg.Channels.Subscriptions = []config.Subscription{{Channel: "console", Kinds: alert.Kinds, MinSeverity: "warning"}}
	e.cfg.Channels.Incident = "console"
	e.cfg.Notifier.GroupWait = 0
	cfgf := func() *config.Config { return e.cfg }
	router := chat.NewRouter()
	router.Set("console", console.NewPoster(e.out))
	e.n = notifier.New(st, router, cfgf, nil)
	e.n.Now = func() time.Time { return e.now }
	if err := e.n.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.inc = incidents.New(st, e.n, cfgf, nil)
	e.rem = &scheduler.Remediator{Store: st, Config: cfgf, Sink: e.n, Outbox: e.n, Incidents: e.inc, Restarter: argvRestarter{cfgf},
		Probe: func(ctx context.Context, t config.Target) error {
			return ops.CheckHealth(ctx, t.HealthURL, time.Second).Err
		},
		Now: func() time.Time { return e.now }}
	return e
}

// check runs one health pass a minute after the last and delivers what it said.
func (e *remEnv) check(t *testing.T) {
	t.Helper()
	e.checkAfter(t, time.Minute)
}

// checkAfter runs one health pass d after the last and delivers what it said.
func (e *remEnv) checkAfter(t *testing.T, d time.Duration) {
	t.Helper()
	e.now = e.now.Add(d)
	ctx := context.Background()
	if err := e.rem.CheckHealth(ctx, e.now); err != nil {
		t.Fatal(err)
	}
	if err := e.n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.n.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestThreeFailuresOneRestartThenResolved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newRemEnv(t, st)
		e.b.SetHealth(standin.HealthFail, 0)
		e.check(t)
		e.check(t)
		if e.b.State().Restarts != 0 || strings.Contains(e.out.String(), "health") {
			t.Fatalf("acted before the third failure:\n%s", e.out.String())
		}
		e.check(t) // third failure: alert and one restart
		if got := e.b.State().Restarts; got != 1 {
			t.Fatalf("restarts %d", got)
		}
		e.check(t) // healthy again: resolved
		out := e.out.String()
		for _, want := range []string{"failed 3 health checks in a row", "automatic restart 1 of 3 within 30m0s after 3 failed checks", "— healthy", "[RESOLVED]"} {
			if !strings.Contains(out, want) {
				t.Errorf("console lacks %q:\n%s", want, out)
			}
		}
		// The restart report is a reply in the alert's thread.
		if !strings.Contains(out, "↳") {
			t.Errorf("restart not posted in the alert's thread:\n%s", out)
		}
		rows, _ := st.RecentAudit(context.Background(), 5)
		if len(rows) == 0 || rows[len(rows)-1].Verb != "auto restart" && rows[0].Verb != "auto restart" {
			t.Errorf("automatic restart not audited: %+v", rows)
		}
	})
}

func TestBudgetStopsRestartsAndCallsAHuman(t *testing.T) {
	e := newRemEnv(t, storetest.SQLite(t))
	e.b.SetRestart(standin.RestartUnhealthy)
	e.b.SetHealth(standin.HealthFail, 0)
	for i := 0; i < 15; i++ { // five rounds of three failures within 15 minutes
		e.check(t)
	}
	if got := e.b.State().Restarts; got != 3 {
		t.Fatalf("want the budget of 3 restarts, got %d", got)
	}
	st, _ := e.rem.State(context.Background(), "demo")
	if !st.Spent {
		t.Fatal("budget not marked spent")
	}
	open, err := e.inc.List(context.Background(), true, 10)
	if err != nil || len(open) != 1 || open[0].Severity != "critical" {
		t.Fatalf("want one critical incident, got %+v %v", open, err)
	}
	out := e.out.String()
	if !strings.Contains(out, "restart budget spent: 3 automatic restarts of demo within 30m0s did not fix it") || !strings.Contains(out, "a human is needed") {
		t.Fatalf("console:\n%s", out)
	}
	lines := e.rem.StatusLines(context.Background())
	if len(lines) != 1 || !strings.Contains(lines[0], "3/3 automatic restarts used in 30m0s — budget spent") {
		t.Fatalf("status lines %q", lines)
	}
	// The counters survive a bot restart: a new remediator reads them back.
	again := &scheduler.Remediator{Store: e.st, Config: e.rem.Config}
	if st2, _ := again.State(context.Background(), "demo"); !st2.Spent || len(st2.Restarts) != 3 {
		t.Fatalf("state after restart %+v", st2)
	}
	// After a healthy period as long as the window, the budget resets.
	e.b.SetRestart(standin.RestartOK)
	e.b.SetHealth(standin.HealthOK, 0)
	for i := 0; i < 31; i++ {
		e.check(t)
	}
	if st3, _ := e.rem.State(context.Background(), "demo"); st3.Spent || len(st3.Restarts) != 0 {
		t.Fatalf("budget not reset after a healthy window: %+v", st3)
	}
}

// At the default cadence (a check every 5 minutes, 3 failures, 3 restarts in
// 30 minutes) a service that restarts never fix still reaches the budget:
// a restart that left it unhealthy keeps the failure count, so the next
// failed check restarts again. Once spent, the budget stays spent when its
// restarts leave the window: two hours of failures, three restarts.
func TestBudgetSpentAtTheDefaultCadence(t *testing.T) {
	e := newRemEnv(t, storetest.SQLite(t))
	e.b.SetRestart(standin.RestartUnhealthy)
	e.b.SetHealth(standin.HealthFail, 0)
	for i := 0; i < 24; i++ {
		e.checkAfter(t, 5*time.Minute)
	}
	if got := e.b.State().Restarts; got != 3 {
		t.Fatalf("want the budget of 3 restarts in two hours of failures, got %d", got)
	}
	st, _ := e.rem.State(context.Background(), "demo")
	if !st.Spent {
		t.Fatal("budget not marked spent")
	}
	out := e.out.String()
	if n := strings.Count(out, "restart budget spent: 3 automatic restarts"); n != 1 {
		t.Fatalf("budget spent said %d times:\n%s", n, out)
	}
	for _, want := range []string{"automatic restart 1 of 3 within 30m0s after 3 failed checks", "automatic restart 2 of 3 within 30m0s after 4 failed checks"} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
}

// A target with no restart command is not restarted, and the alert's thread
// says a human is needed.
func TestNoRestartCommandSaysSo(t *testing.T) {
	e := newRemEnv(t, storetest.SQLite(t))
	e.cfg.Targets[0].Restart = nil
	e.b.SetHealth(standin.HealthFail, 0)
	for i := 0; i < 6; i++ {
		e.check(t)
	}
	if got := e.b.State().Restarts; got != 0 {
		t.Fatalf("restarted %d times without a restart command", got)
	}
	out := e.out.String()
	if n := strings.Count(out, "demo has no restart command configured: not restarting; a human is needed"); n != 1 {
		t.Fatalf("said %d times:\n%s", n, out)
	}
}

package remediate_test

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"

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
)

// TestMain lets this test binary act as the stand-in's ctl client when a
// target's action argv runs it.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(standin.CtlMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// clock is the injected time of the store's budgets, the notifier and
// incidents; actions themselves run in real time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time                         { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (c *clock) Advance(d time.Duration)                { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// tee observes through the notifier and then hands firing observations
// to the remediator, as the pipeline does after committing them.
// It also keeps what was observed, for the assertions on summaries.
type tee struct {
	n   *notifier.Notifier
	rem *remediate.Remediator

	mu   sync.Mutex
	seen []alert.Alert
}

func (f *tee) Notify(ctx context.Context, alerts ...alert.Alert) error {
	f.mu.Lock()
	f.seen = append(f.seen, alerts...)
	f.mu.Unlock()
	if err := f.n.Notify(ctx, alerts...); err != nil {
		return err
	}
	for _, a := range alerts {
		if a.Status != alert.Resolved {
			f.rem.Firing(ctx, a, false)
		}
	}
	return nil
}

type env struct {
	st     *store.Store
	cfg    *config.Config
	clk    *clock
	out    *syncBuf
	n      *notifier.Notifier
	inc    *incidents.Service
	rem    *remediate.Remediator
	health *remediate.Health
	obs    *tee
	b      *standin.Backend // nil without a stand-in
}

type envOpts struct {
	standin   bool
	redisAddr string
	redisDB   int
	restart   standin.RestartMode
}

func newEnv(t *testing.T, st *store.Store, o envOpts) *env {
	t.Helper()
	e := &env{st: st, out: &syncBuf{}, clk: &clock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}}
	e.cfg = config.Default()
	if o.standin {
		self, _ := os.Executable()
		b, err := standin.Start(context.Background(), t.TempDir(), standin.Options{Self: self, RowsPerSecond: -1, LogInterval: time.Hour,
			HistoryLines: 5, StartDelay: 20 * time.Millisecond, CommandTimeout: 10 * time.Second, HealthDeadline: 500 * time.Millisecond,
			Restart: o.restart, RedisAddr: o.redisAddr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		e.b = b
		tg := b.Target()
		tg.Redis.DB = o.redisDB
		e.cfg.Targets = []config.Target{tg}
	}
	e.cfg.Channels.Subscriptions = []config.Subscription{{Channel: "console", Kinds: alert.Kinds, MinSeverity: "warning"}}
	e.cfg.Channels.Incident = "console"
	e.cfg.Notifier.GroupWait = 0
	cfgf := func() *config.Config { return e.cfg }
	router := chat.NewRouter()
	router.Set("console", console.NewPoster(e.out))
	e.n = notifier.New(st, router, cfgf, nil)
	e.n.Now = e.clk.Now
	if err := e.n.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.inc = incidents.New(st, e.n, cfgf, nil)
	e.inc.Clock = e.clk
	acts := ops.NewActions(st, nil)
	acts.HealthInterval = 20 * time.Millisecond
	rem, err := remediate.New(context.Background(), remediate.Deps{Store: st, Config: cfgf, Sink: e.n, Outbox: e.n, Incidents: e.inc,
		Timeline: e.inc.RecordAction, Actions: acts, Host: ops.NewHost(t.TempDir()), Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.rem = rem
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rem.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("remediator run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("remediator did not stop within 10 s")
		}
	})
	e.obs = &tee{n: e.n, rem: rem}
	e.health = &remediate.Health{Store: st, Config: cfgf, Checker: ops.NewChecker(nil), Sink: e.obs, Now: e.clk.Now}
	return e
}

// check runs one health pass d after the last, waits for the actions it
// queued and delivers what was said.
func (e *env) check(t *testing.T, d time.Duration) {
	t.Helper()
	e.clk.Advance(d)
	if err := e.health.Check(context.Background(), e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
}

// settle waits until no action is queued or running, then delivers.
func (e *env) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := e.st.Get(context.Background(), &n, `SELECT COUNT(*) FROM remediation_attempts WHERE state <> 'done'`); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d action(s) still unfinished after 30 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.deliver(t)
}

func (e *env) deliver(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := e.n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.n.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

func (e *env) attempts(t *testing.T, action string) []store.RemediationAttempt {
	t.Helper()
	var out []store.RemediationAttempt
	if err := e.st.Select(context.Background(), &out, `SELECT id, target, action, fingerprint, attempt, budget, state, outcome, text, job_id, queued_at, started_at, finished_at
		FROM remediation_attempts WHERE action = ? ORDER BY id`, action); err != nil {
		t.Fatal(err)
	}
	return out
}

// observed returns the observations of fingerprint so far.
func (e *env) observed(fingerprint string) []alert.Alert {
	e.obs.mu.Lock()
	defer e.obs.mu.Unlock()
	var out []alert.Alert
	for _, a := range e.obs.seen {
		if a.Fingerprint == fingerprint {
			out = append(out, a)
		}
	}
	return out
}

// lastResolved is the summary of fingerprint's latest resolved observation.
func (e *env) lastResolved(fingerprint string) string {
	obs := e.observed(fingerprint)
	for i := len(obs) - 1; i >= 0; i-- {
		if obs[i].Status == alert.Resolved {
			return obs[i].Summary
		}
	}
	return ""
}

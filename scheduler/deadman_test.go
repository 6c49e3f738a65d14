package scheduler_test

import (
	"opsbot/alert"

	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/scheduler"
	"opsbot/store/storetest"
)

func consoleNotifier(t *testing.T, now *time.Time) (*notifier.Notifier, *syncBuf) {
	t.Helper()
	st := storetest.SQLite(t)
	cfg := config.Default()
	cfg.Channels.Subscriptions = []config.Subscription{{Channel: "console", Kinds: alert.Kinds, MinSeverity: "warning"}}
	cfg.Notifier.GroupWait = 0
	out := &syncBuf{}
	router := chat.NewRouter()
	router.Set("console", console.NewPoster(out))
	n := notifier.New(st, router, func() *config.Config { return cfg }, nil)
	n.Now = func() time.Time { return *now }
	if err := n.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n, out
}

func TestDeadMansSwitch(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	n, out := consoleNotifier(t, &now)
	st := storetest.SQLite(t)
	var fail atomic.Bool
	fail.Store(true)
	s, err := scheduler.New(st, n, nil, "test", []scheduler.Job{{Name: "backup", Spec: "0 2 * * *", Location: time.UTC, Kind: "backup",
		Run: func(context.Context, time.Time) error {
			if fail.Load() {
				return errors.New("backup folder not writable")
			}
			return nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Start(ctx, now)
	step := func(d time.Duration) {
		now = now.Add(d)
		tick(ctx, s, now)
		n.Tick(ctx)
		n.Drain(ctx)
	}
	// Period 24 h, slack 2.4 h: no alert before 26.4 h without a success.
	for i := 0; i < 26; i++ {
		step(time.Hour)
	}
	if strings.Contains(out.String(), "job_overdue") || !s.Healthy() {
		t.Fatalf("alerted too early:\n%s", out.String())
	}
	step(time.Hour)
	if !strings.Contains(out.String(), "job backup has not succeeded for 27h0m0s (expected every 24h0m0s)") || s.Healthy() {
		t.Fatalf("no overdue alert after 27 h:\n%s", out.String())
	}
	fail.Store(false)
	for i := 0; i < 24 && !s.Healthy(); i++ {
		step(time.Hour)
	}
	if !s.Healthy() || !strings.Contains(out.String(), "[RESOLVED]") {
		t.Fatalf("not resolved after a success:\n%s", out.String())
	}
}

// The dead man's switch counts from the last success, so restarting the bot
// neither resets it nor leaves its alert firing: a new process that finds
// the job on time resolves the alert an earlier one raised.
func TestDeadMansSwitchAcrossBotRestarts(t *testing.T) {
	now := time.Date(2026, 11, 25, 1, 30, 0, 0, time.UTC)
	n, out := consoleNotifier(t, &now)
	st := storetest.SQLite(t)
	var fail atomic.Bool
	job := scheduler.Job{Name: "backup", Spec: "0 2 * * *", Location: time.UTC, Kind: "backup",
		Run: func(context.Context, time.Time) error {
			if fail.Load() {
				return errors.New("backup folder not writable")
			}
			return nil
		}}
	ctx := context.Background()
	boot := func() *scheduler.Scheduler {
		s, err := scheduler.New(st, n, nil, "test", []scheduler.Job{job})
		if err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return now }
		if err := s.Start(ctx, now); err != nil {
			t.Fatal(err)
		}
		return s
	}
	step := func(s *scheduler.Scheduler, d time.Duration) {
		now = now.Add(d)
		tick(ctx, s, now)
		n.Tick(ctx)
		n.Drain(ctx)
	}
	s := boot()
	step(s, time.Hour) // 02:30: the 02:00 backup succeeded
	fail.Store(true)
	for i := 0; i < 27 && s.Healthy(); i++ {
		step(s, time.Hour)
	}
	if s.Healthy() || !strings.Contains(out.String(), "job backup has not succeeded") {
		t.Fatalf("no overdue alert:\n%s", out.String())
	}
	// The bot restarts; its catch-up backup still fails. Still overdue.
	s = boot()
	step(s, time.Minute)
	step(s, time.Minute)
	if s.Healthy() {
		t.Fatal("a restart of the bot reset the dead man's switch")
	}
	// The bot restarts again and the backup works: the catch-up run at start
	// succeeds and the alert raised before the restart is resolved.
	fail.Store(false)
	s = boot()
	step(s, time.Minute)
	step(s, time.Minute)
	if !s.Healthy() || !strings.Contains(out.String(), "[RESOLVED]") {
		t.Fatalf("the overdue alert was not resolved after the restart:\n%s", out.String())
	}
}

// A run left "running" by a process that died is marked interrupted at the
// next start, so the schedule list does not show it running forever.
func TestStaleRunMarkedInterrupted(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	if _, ok, err := st.ClaimJobRun(ctx, "backup", t0, t0, "dead-replica"); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	s, err := scheduler.New(st, nil, nil, "test", []scheduler.Job{{Name: "backup", Spec: "0 2 * * *", Location: time.UTC,
		Run: func(context.Context, time.Time) error { return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	last, err := st.LastJobRun(ctx, "backup")
	if err != nil || last.Result != "interrupted" {
		t.Fatalf("last run %+v %v", last, err)
	}
	jobs, _ := s.List(ctx)
	if jobs[0].Last.Result != "interrupted" || jobs[0].Running {
		t.Fatalf("list %+v", jobs[0])
	}
}

// The heartbeat's health also needs the scheduler's loop alive: a loop that
// stopped ticking is unhealthy even with no job overdue.
func TestSchedulerUnhealthyWhenItStopsTicking(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	s, err := scheduler.New(st, nil, nil, "test", []scheduler.Job{{Name: "rules", Spec: "* * * * *", Run: func(context.Context, time.Time) error { return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	s.Start(ctx, t0)
	tick(ctx, s, t0.Add(time.Minute))
	if !s.Healthy() {
		t.Fatal("unhealthy right after a tick")
	}
	s.Now = func() time.Time { return t0.Add(5 * time.Minute) }
	if s.Healthy() {
		t.Fatal("healthy although the loop has not ticked for 4 minutes")
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/ops/cache"
	"opsbot/scheduler"
	"opsbot/store/storetest"
)

func consoleNotifier(t *testing.T, now *time.Time) (*notifier.Notifier, *syncBuf) {
	t.Helper()
	st := storetest.SQLite(t)
	cfg := config.Default()
	cfg.Channels.Subscriptions = []config.Subscription{{Channel: "console", Kinds: notifier.Kinds, MinSeverity: "warning"}}
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

// A high-memory alert flushes the served service's cache database (real
// Redis, database 13 of this test), and the action is audited and posted in
// the alert's thread.
func TestMemoryAlertFlushesTheCache(t *testing.T) {
	addr := os.Getenv("OPSBOT_TEST_REDIS_ADDR")
	if addr == "" {
		storetest.Skip(t, "OPSBOT_TEST_REDIS_ADDR not set")
	}
	rc := redis.NewClient(&redis.Options{Addr: addr, DB: 13})
	defer rc.Close()
	ctx := context.Background()
	if err := rc.Ping(ctx).Err(); err != nil {
		storetest.Skip(t, "redis unreachable: %v", err)
	}
	for i := 0; i < 3; i++ {
		rc.Set(ctx, fmt.Sprint("lesson:", i), "cached", 0)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	n, out := consoleNotifier(t, &now)
	st := storetest.SQLite(t)
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", Redis: config.Redis{Addr: addr, DB: 13}}}
	rem := &scheduler.Remediator{Store: st, Config: func() *config.Config { return cfg }, Outbox: n, Now: func() time.Time { return now },
		Handlers: map[string]scheduler.Action{"memory_high": func(ctx context.Context, target string) (string, error) {
			res, err := cache.Flush(ctx, cfg.Targets[0].Redis)
			return res.String(), err
		}}}
	var actions []string
	rem.OnAction = func(ctx context.Context, target, actor, text string) { actions = append(actions, target+": "+text) }
	a := notifier.Alert{Fingerprint: "memory_high:host", Kind: "threshold", Rule: "memory_high", Target: "api", Severity: "critical", Status: notifier.Firing, Summary: "memory 93 %", Value: 93, StartsAt: now}
	n.OnAlert(rem.OnAlert)
	if err := n.Notify(ctx, a); err != nil {
		t.Fatal(err)
	}
	n.Drain(ctx)
	n.Drain(ctx)
	if k := rc.DBSize(ctx).Val(); k != 0 {
		t.Fatalf("cache still holds %d keys", k)
	}
	if len(actions) != 1 || !strings.Contains(actions[0], "api: automatic action for memory_high on api: flushed database: 3 key(s) removed") {
		t.Fatalf("actions %q", actions)
	}
	rows, _ := st.RecentAudit(ctx, 1)
	if len(rows) != 1 || rows[0].Verb != "auto memory_high" || rows[0].Result != "ok" {
		t.Fatalf("audit %+v", rows)
	}
	if !strings.Contains(out.String(), "↳") || !strings.Contains(out.String(), "flushed database: 3 key(s) removed") {
		t.Fatalf("action not posted in the alert's thread:\n%s", out.String())
	}
}

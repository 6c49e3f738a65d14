package remediate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"opsbot/alert"
	"opsbot/remediate"
	"opsbot/store"
	"opsbot/store/storetest"
)

// redisDB returns the test Redis address with database db emptied and
// filled with n keys (each test uses its own database number).
func redisDB(t *testing.T, db, n int) (string, *redis.Client) {
	t.Helper()
	addr := os.Getenv("OPSBOT_TEST_REDIS_ADDR")
	if addr == "" {
		storetest.Skip(t, "OPSBOT_TEST_REDIS_ADDR not set")
	}
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		storetest.Skip(t, "redis unreachable: %v", err)
	}
	if err := c.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c.Set(ctx, fmt.Sprint("lesson:", i), "cached", 0)
	}
	return addr, c
}

func memoryAlert(i int, start time.Time) alert.Alert {
	return alert.Alert{Fingerprint: fmt.Sprintf("memory_high:demo:%d", i), Kind: "threshold", Rule: "memory_high", Target: "demo",
		Severity: "warning", Status: alert.Firing, Summary: "memory use on demo is 93.0 %", Value: 93, StartsAt: start}
}

// 3,000 memory_high alerts for one target, observed at once from eight
// goroutines: one flush runs, one attempt is recorded, one job queued, and
// the thread hears one start and one outcome. The same through Enqueue
// (the Alertmanager mapping's door).
func TestOneFlushPerTargetUnder3000Alerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		dbn := 10
		if st.Dialect == "postgres" {
			dbn = 9
		}
		addr, rc := redisDB(t, dbn, 3)
		e := newEnv(t, st, envOpts{standin: true, redisAddr: addr, redisDB: dbn})
		e.cfg.Thresholds.MemoryPct.Normal = 100 // the flush clears it
		ctx := context.Background()
		// The alert every observation answers is announced first, so the
		// thread exists.
		if err := e.n.Notify(ctx, memoryAlert(0, e.clk.Now())); err != nil {
			t.Fatal(err)
		}
		e.deliver(t)
		start := e.clk.Now()
		began := time.Now()
		// The first observed is the announced one: the action answers in
		// its thread.
		e.rem.Firing(ctx, memoryAlert(0, start), false)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 1 + g; i < 3000; i += 8 {
					e.rem.Firing(ctx, memoryAlert(i, start), false)
				}
			}()
		}
		wg.Wait()
		took := time.Since(began)
		e.settle(t)
		t.Logf("%s: 3,000 firing observations decided in %s", st.Dialect, took)
		if k := rc.DBSize(ctx).Val(); k != 0 {
			t.Fatalf("cache still holds %d keys", k)
		}
		atts := e.attempts(t, remediate.ActCacheFlush)
		if len(atts) != 1 || atts[0].Attempt != 1 || atts[0].Outcome != "cleared" {
			t.Fatalf("attempts %+v", atts)
		}
		var jobs int
		if err := st.Get(ctx, &jobs, `SELECT COUNT(*) FROM river_job WHERE kind = 'cache_flush'`); err != nil {
			t.Fatal(err)
		}
		if jobs != 1 {
			t.Fatalf("%d flush jobs queued", jobs)
		}
		out := e.out.String()
		if n := strings.Count(out, "flushing the cache of demo (attempt 1 of 3)…"); n != 1 {
			t.Fatalf("start told %d times:\n%s", n, out)
		}
		if n := strings.Count(out, "cache flush 1 of 3 on demo removed 3 keys"); n != 1 {
			t.Fatalf("outcome told %d times:\n%s", n, out)
		}

		// Through Enqueue at once: nothing more in the same episode (the
		// flush just cleared it) ...
		if err := e.rem.Enqueue(ctx, "demo", remediate.ActCacheFlush, "am-memory"); err != nil {
			t.Fatal(err)
		}
		e.settle(t)
		if atts := e.attempts(t, remediate.ActCacheFlush); len(atts) != 1 {
			t.Fatalf("a flush repeated within the episode: %+v", atts)
		}
		// ... and, once it has been quiet for reset_after, 3,000 at once
		// run one action, the first of a fresh budget.
		e.clk.Advance(e.cfg.Remediation.ResetAfter)
		var errs sync.Map
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < 3000; i += 8 {
					if err := e.rem.Enqueue(ctx, "demo", remediate.ActCacheFlush, "am-memory"); err != nil {
						errs.Store(i, err)
					}
				}
			}()
		}
		wg.Wait()
		errs.Range(func(k, v any) bool { t.Fatalf("enqueue %v: %v", k, v); return false })
		e.settle(t)
		if atts := e.attempts(t, remediate.ActCacheFlush); len(atts) != 2 || atts[1].Attempt != 1 {
			t.Fatalf("after 3,000 enqueues: %+v", atts)
		}
	})
}

// A flush that does not bring memory back to its normal bound, and a
// cleanup that does not bring the disk back, say so and call a human.
func TestActionThatDoesNotClearSaysSo(t *testing.T) {
	addr, _ := redisDB(t, 11, 2)
	e := newEnv(t, storetest.SQLite(t), envOpts{standin: true, redisAddr: addr, redisDB: 11})
	e.cfg.Thresholds.MemoryPct.Normal = 0
	e.cfg.Thresholds.DiskPct.Normal = 0
	// Old temporary files for the cleanup to delete.
	old := time.Now().Add(-72 * time.Hour)
	for i, size := range []int{20000, 3142} {
		p := filepath.Join(e.b.Dir(), "temp", fmt.Sprintf("upload-%d.part", i))
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	disk := alert.Alert{Fingerprint: "disk_high:host", Kind: "threshold", Rule: "disk_high", Severity: "critical", Status: alert.Firing,
		Summary: "disk use on host is 93.0 %", Value: 93, StartsAt: e.clk.Now()}
	for _, a := range []alert.Alert{memoryAlert(0, e.clk.Now()), disk} {
		if err := e.n.Notify(ctx, a); err != nil {
			t.Fatal(err)
		}
		e.deliver(t)
		e.rem.Firing(ctx, a, false)
		e.settle(t)
	}
	out := e.out.String()
	for _, want := range []string{
		`cache flush 1 of 3 on demo removed 2 keys in [0-9.]+ m?s; memory still [0-9]+\.[0-9] %, above 0\.0 %: a human is needed`,
		`cleanup 1 of 3 on demo freed [0-9.]+ KiB \([0-9]+ gzipped, [0-9]+ deleted\); disk still [0-9]+\.[0-9] %, above 0\.0 %: a human is needed`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Fatalf("console lacks %q:\n%s", want, out)
		}
	}
	// It asked a human: the same episode does not flush again.
	for range 5 {
		e.clk.Advance(time.Minute)
		e.rem.Firing(ctx, memoryAlert(0, e.clk.Now().Add(-6*time.Minute)), false)
	}
	e.settle(t)
	if atts := e.attempts(t, remediate.ActCacheFlush); len(atts) != 1 || atts[0].Outcome != "not_cleared" {
		t.Fatalf("flush attempts %+v", atts)
	}
	rows, err := e.st.RecentAudit(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	verbs := map[string]string{}
	for _, r := range rows {
		verbs[r.Verb] = r.Result
	}
	if verbs["auto cache_flush"] != "error" || verbs["auto cleanup"] != "error" {
		t.Fatalf("audit %+v", rows)
	}
}

// A silenced alert's remediation does not run; the audit says
// "skipped: silenced" once. An external (Alertmanager) alert never acts
// through Firing, whatever its name.
func TestSilencedSkipsAndExternalNeverActs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{standin: true, redisAddr: "127.0.0.1:1"})
		ctx := context.Background()
		for range 10 {
			e.rem.Firing(ctx, memoryAlert(0, e.clk.Now()), true)
		}
		ext := memoryAlert(1, e.clk.Now())
		ext.Kind = "external"
		for range 10 {
			e.rem.Firing(ctx, ext, false)
		}
		e.settle(t)
		if atts := e.attempts(t, remediate.ActCacheFlush); len(atts) != 0 {
			t.Fatalf("attempts %+v", atts)
		}
		rows, err := st.RecentAudit(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Verb != "auto cache_flush" || rows[0].Result != "skipped" ||
			rows[0].Text != "cache flush of demo for memory_high skipped: silenced" {
			t.Fatalf("audit %+v", rows)
		}
		var rounds int
		if err := st.Get(ctx, &rounds, `SELECT COUNT(*) FROM remediation_rounds`); err != nil || rounds != 1 {
			t.Fatalf("rounds %d %v: the external alert touched the budget", rounds, err)
		}
	})
}

// Bad input to Enqueue is refused with a one-line reason and stores nothing.
func TestEnqueueRefusesBadInput(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{standin: true})
	ctx := context.Background()
	for _, c := range []struct{ target, action, want string }{
		{"demo", "reboot", `remediation: unknown action "reboot" (want restart, cache_flush or cleanup)`},
		{"web", "restart", `remediation: unknown target "web"`},
		{"demo", "cache_flush", "remediation: cache_flush on demo: no Redis cache configured"},
	} {
		err := e.rem.Enqueue(ctx, c.target, c.action, "fp")
		if err == nil || err.Error() != c.want {
			t.Errorf("enqueue %s %s: %v, want %q", c.target, c.action, err, c.want)
		}
	}
	var n int
	if err := e.st.Get(ctx, &n, `SELECT (SELECT COUNT(*) FROM remediation_attempts) + (SELECT COUNT(*) FROM remediation_rounds) + (SELECT COUNT(*) FROM river_job)`); err != nil || n != 0 {
		t.Fatalf("rows stored: %d %v", n, err)
	}
}

// An attempt left running by a process that died is found lost at the
// next decision: it is not counted, and the next attempt runs.
func TestLostAttemptDoesNotBlockTheTarget(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{standin: true})
	ctx := context.Background()
	dead := store.RemediationAttempt{Target: "demo", Action: remediate.ActRestart, Fingerprint: "api_down:demo", Attempt: 1, Budget: 3,
		State: store.AttemptRunning, QueuedAt: store.T(e.clk.Now())}
	if err := store.InsertRemediationAttempt(ctx, e.st.DB, &dead); err != nil {
		t.Fatal(err)
	}
	if err := e.rem.Enqueue(ctx, "demo", remediate.ActRestart, "api_down:demo"); err != nil {
		t.Fatal(err)
	}
	e.deliver(t)
	if atts := e.attempts(t, remediate.ActRestart); len(atts) != 1 {
		t.Fatalf("a second attempt started beside an unfinished one: %+v", atts)
	}
	e.clk.Advance(time.Hour)
	if err := e.rem.Enqueue(ctx, "demo", remediate.ActRestart, "api_down:demo"); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	atts := e.attempts(t, remediate.ActRestart)
	if len(atts) != 2 || atts[0].Outcome != "lost" || atts[1].Attempt != 1 || atts[1].Outcome != "cleared" {
		t.Fatalf("attempts %+v", atts)
	}
	if e.b.State().Restarts != 1 {
		t.Fatalf("restarts %d", e.b.State().Restarts)
	}
}

// Replicas starting together on one PostgreSQL migrate the queue once,
// without tripping over each other.
func TestQueueMigrationsConcurrent(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		st, err := store.Open(context.Background(), "postgres", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = remediate.MigrateQueue(context.Background(), st, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}

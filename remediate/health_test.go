package remediate_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/config"
	"opsbot/ops"
	"opsbot/remediate"
	"opsbot/standin"
	"opsbot/store/storetest"
)

// The health job runs the six status checks of every target and observes
// each failing one as <check>_down with its cause first, its evidence in
// the detail and the failed checks in a row as its value; each resolves
// with what it measures again.
func TestHealthJobObservesTheSixChecks(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{standin: true, redisAddr: "127.0.0.1:1"})
	tg := e.cfg.Targets[0]
	e.b.SetHealth(standin.HealthFail, 0)
	e.b.SetLLM(false)
	moved := map[string]string{
		tg.Database.Path:    tg.Database.Path + ".away",
		tg.UploadsDir:       tg.UploadsDir + ".away",
		tg.Logs["app"].Path: tg.Logs["app"].Path + ".away",
	}
	for from, to := range moved {
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
	}
	e.check(t, time.Minute)
	e.check(t, time.Minute)
	want := map[string]struct{ severity, summary string }{
		"api":      {"warning", "/health answered 503"},
		"database": {"critical", "database file missing: ai_tutor.db"},
		"redis":    {"warning", "Redis does not answer PING: "},
		"llm":      {"warning", "LLM API answered 503"},
		"uploads":  {"warning", "uploads folder missing: " + tg.UploadsDir},
		"logging":  {"warning", "log files missing: app"},
	}
	for _, check := range remediate.Checks {
		fp := remediate.DownFingerprint(check, "demo")
		obs := e.observed(fp)
		if len(obs) != 2 {
			t.Fatalf("%s: %d observations, want 2", fp, len(obs))
		}
		a, w := obs[1], want[check]
		if a.Kind != "health" || a.Rule != check+"_down" || a.Status != alert.Firing || a.Severity != w.severity ||
			!strings.HasPrefix(a.Summary, w.summary) || a.Value != 2 || a.Target != "demo" ||
			!strings.HasPrefix(a.Detail, check+" check of demo: ") || !a.StartsAt.Equal(obs[0].StartsAt) {
			t.Errorf("%s: %+v", check, a)
		}
	}
	// Everything back: each check resolves, saying what it measures now.
	e.b.SetHealth(standin.HealthOK, 0)
	e.b.SetLLM(true)
	for from, to := range moved {
		if err := os.Rename(to, from); err != nil {
			t.Fatal(err)
		}
	}
	e.cfg.Targets[0].Redis.Addr = "" // not configured: skipped, so not down
	e.check(t, time.Minute)
	for _, check := range remediate.Checks {
		fp := remediate.DownFingerprint(check, "demo")
		got := e.lastResolved(fp)
		if !strings.Contains(got, " healthy again") || !strings.HasSuffix(got, "after 2 min down") {
			t.Errorf("%s resolved as %q", check, got)
		}
	}
	if got := e.lastResolved("api_down:demo"); !strings.HasPrefix(got, "API healthy again: status 200 in ") {
		t.Errorf("api resolved as %q", got)
	}
	if got := e.lastResolved("database_down:demo"); !strings.HasPrefix(got, "database healthy again: ") {
		t.Errorf("database resolved as %q", got)
	}
	// A further healthy pass observes nothing new.
	n := len(e.obs.seen)
	e.check(t, time.Minute)
	if len(e.obs.seen) != n {
		t.Fatalf("a healthy pass observed %+v", e.obs.seen[n:])
	}
}

// A target the bot will not restart gets a critical api_down at once: no
// automatic step stands between the outage and a human.
func TestAPIDownCriticalWithoutRestart(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{standin: true})
	e.cfg.Targets[0].Restart = nil
	e.b.SetHealth(standin.HealthFail, 0)
	for range 4 {
		e.check(t, time.Minute)
	}
	obs := e.observed("api_down:demo")
	if len(obs) != 4 || obs[3].Severity != "critical" || obs[3].Value != 4 {
		t.Fatalf("observations %+v", obs)
	}
	if e.b.State().Restarts != 0 || len(e.attempts(t, remediate.ActRestart)) != 0 {
		t.Fatal("restarted a target without a restart command")
	}
}

// The words of each cause, from the status line as /ops status shows it.
func TestCauseWords(t *testing.T) {
	tg := config.Target{HealthURL: "http://127.0.0.1:8000/api/health", UploadsDir: "/srv/app/uploads"}
	for _, c := range []struct {
		check, value, want string
	}{
		{"api", "status 503 in 3.1 ms", "/api/health answered 503"},
		{"api", "connection refused", "/api/health does not answer: connection refused"},
		{"database", "missing: ai_tutor.db", "database file missing: ai_tutor.db"},
		{"database", "query failed: file is not a database", "database query failed: file is not a database"},
		{"redis", "no PONG: connection refused", "Redis does not answer PING: connection refused"},
		{"llm", "status 503", "LLM API answered 503"},
		{"llm", "status 503, 40.0 % of 50 recent calls ok", "LLM API answered 503, 40.0 % of 50 recent calls ok"},
		{"llm", "unreachable: no such host", "LLM API unreachable: no such host"},
		{"llm", "reachable (200 in 5 ms), 40.0 % of 50 recent calls ok", "LLM API calls failing: 40.0 % of 50 recent calls ok"},
		{"uploads", "writable, 1.2 GiB free (96 % used)", "uploads disk almost full: writable, 1.2 GiB free (96 % used)"},
		{"uploads", "folder missing", "uploads folder missing: /srv/app/uploads"},
		{"uploads", "not writable: permission denied", "uploads folder not writable: permission denied"},
		{"logging", "missing: app, error", "log files missing: app, error"},
	} {
		if got := remediate.Cause(tg, ops.Line{Check: c.check, Value: c.value, Level: ops.LevelFailing}); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.check, c.value, got, c.want)
		}
	}
}

// A health pass cut short by shutdown counts no failure.
func TestHealthPassCancelledCountsNothing(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{standin: true})
	e.b.SetHealth(standin.HealthFail, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.health.Check(ctx, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if obs := e.observed("api_down:demo"); len(obs) != 0 {
		t.Fatalf("observed %+v", obs)
	}
}

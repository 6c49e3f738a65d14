package remediate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"opsbot/ops"
	"opsbot/remediate"
	"opsbot/standin"
	"opsbot/store"
	"opsbot/store/storetest"
)

func budgetOf(t *testing.T, e *env, action string) remediate.Budget {
	t.Helper()
	bs, err := e.rem.Budgets(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Action == action {
			return b
		}
	}
	t.Fatalf("no budget for %s", action)
	return remediate.Budget{}
}

// An outage is announced at the first failed check, restarted at the
// third, and every step is told in the alert's thread: the attempt, the
// time to healthy, the resolve naming the restart. A second outage soon
// after continues the budget ("attempt 2 of 3"); one after the target had
// been healthy for reset_after starts again at attempt 1.
func TestRestartToldAndBudgetResets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{standin: true})
		e.b.SetHealth(standin.HealthFail, 0)
		e.check(t, time.Minute)
		if !strings.Contains(e.out.String(), "/health answered 503") {
			t.Fatalf("the outage is not announced at the first failed check:\n%s", e.out)
		}
		e.check(t, time.Minute)
		if e.b.State().Restarts != 0 {
			t.Fatal("restarted before the third failed check")
		}
		e.check(t, time.Minute)
		if got := e.b.State().Restarts; got != 1 {
			t.Fatalf("restarts after the third failed check: %d", got)
		}
		// An automatic restart holds nothing: the alert it answers stays visible.
		var m ops.Maintenance
		if err := st.GetState(context.Background(), ops.MaintenanceKey("demo"), &m); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("automatic restart left a maintenance hold: %+v %v", m, err)
		}
		e.check(t, time.Minute) // healthy again: resolved
		out := e.out.String()
		order := []string{"/health answered 503", "↳", "restarting demo (attempt 1 of 3)…", "demo healthy again ", " after restart 1 of 3", "[RESOLVED]"}
		at := 0
		for _, want := range order {
			i := strings.Index(out[at:], want)
			if i < 0 {
				t.Fatalf("console lacks %q after position %d:\n%s", want, at, out)
			}
			at += i + len(want)
		}
		// The resolve says what resolved it and the restart that did.
		if got := e.lastResolved("api_down:demo"); !strings.HasPrefix(got, "API healthy again: status 200 in ") ||
			!strings.Contains(got, " after 3 min down; recovered after restart 1 of 3 (") {
			t.Fatalf("resolved summary %q", got)
		}
		if b := budgetOf(t, e, remediate.ActRestart); b.Used != 1 || b.Left != 2 || b.Spent {
			t.Fatalf("budget after one restart: %+v", b)
		}
		lines := e.rem.Lines(context.Background())
		if len(lines) != 1 || lines[0].Level != ops.LevelWarning || !strings.HasPrefix(lines[0].Value, "restart 2 of 3 left, cleanup 3 of 3 left; last: 1 min ago, demo healthy again ") {
			t.Fatalf("status lines %+v", lines)
		}
		rows, err := st.RecentAudit(context.Background(), 10)
		if err != nil || len(rows) == 0 || rows[0].Verb != "auto restart" || rows[0].Result != "ok" || !strings.Contains(rows[0].Text, "healthy again") {
			t.Fatalf("automatic restart not audited: %+v %v", rows, err)
		}

		// A second outage five minutes later: the same round, attempt 2.
		e.b.SetHealth(standin.HealthFail, 0)
		for range 3 {
			e.check(t, time.Minute)
		}
		if !strings.Contains(e.out.String(), "restarting demo (attempt 2 of 3)…") {
			t.Fatalf("second outage within reset_after is not attempt 2:\n%s", e.out)
		}
		e.check(t, time.Minute)
		// Healthy for longer than reset_after (10 min): a new outage is attempt 1.
		for range 11 {
			e.check(t, time.Minute)
		}
		if b := budgetOf(t, e, remediate.ActRestart); b.Used != 0 || b.Left != 3 {
			t.Fatalf("budget after %s healthy: %+v", e.cfg.Remediation.ResetAfter, b)
		}
		e.b.SetHealth(standin.HealthFail, 0)
		for range 3 {
			e.check(t, time.Minute)
		}
		if n := strings.Count(e.out.String(), "restarting demo (attempt 1 of 3)…"); n != 2 {
			t.Fatalf("a new outage after reset_after healthy does not start at attempt 1 (%d times):\n%s", n, e.out)
		}
		if got := e.b.State().Restarts; got != 3 {
			t.Fatalf("restarts: %d", got)
		}
	})
}

// Restarts that do not help: attempts 1..3 in the thread, then the
// critical restart_budget alert and an incident, and no fourth restart;
// /ops status shows the spent budget; the api's recovery ends the
// budget alert.
func TestRestartBudgetSpentOpensIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{standin: true, restart: standin.RestartUnhealthy})
		e.b.SetHealth(standin.HealthFail, 0)
		for range 8 {
			e.check(t, time.Minute)
		}
		if got := e.b.State().Restarts; got != 3 {
			t.Fatalf("want the budget of 3 restarts, got %d", got)
		}
		out := e.out.String()
		for i, want := range []string{"restarting demo (attempt 1 of 3)…", "after restart 1 of 3 (status 503)", "restarting demo (attempt 2 of 3)…",
			"restarting demo (attempt 3 of 3)…", "restart budget spent (3 in 2 min): opening incident #1", "demo still down after 3 automatic restarts in 2 min: a human is needed"} {
			if !strings.Contains(out, want) {
				t.Fatalf("console lacks %q (%d):\n%s", want, i, out)
			}
		}
		if n := strings.Count(out, "] restart budget spent ("); n != 1 {
			t.Fatalf("budget spent told %d times:\n%s", n, out)
		}
		open, err := e.inc.List(context.Background(), true, 10)
		if err != nil || len(open) != 1 || open[0].Severity != "critical" || open[0].Title != "demo down: restart budget spent" {
			t.Fatalf("want one critical incident titled short, got %+v %v", open, err)
		}
		_, entries, err := e.inc.Get(context.Background(), open[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var timeline []string
		for _, en := range entries {
			timeline = append(timeline, en.Text)
		}
		if !strings.Contains(strings.Join(timeline, "\n"), "restart budget spent (3 in 2 min)") {
			t.Fatalf("incident timeline lacks the budget: %q", timeline)
		}
		lines := e.rem.Lines(context.Background())
		if len(lines) != 1 || lines[0].Level != ops.LevelFailing || !strings.Contains(lines[0].Value, "restart budget spent, waiting for a human") ||
			!strings.Contains(lines[0].Value, "last: ") {
			t.Fatalf("status lines %+v", lines)
		}
		// The service comes back by hand: the budget alert resolves.
		e.b.SetRestart(standin.RestartOK)
		e.b.SetHealth(standin.HealthOK, 0)
		e.check(t, time.Minute)
		if got := e.lastResolved(remediate.BudgetFingerprint("demo")); !strings.HasPrefix(got, "demo is up again: API healthy again") {
			t.Fatalf("budget alert not resolved: %q", got)
		}
		if got := e.b.State().Restarts; got != 3 {
			t.Fatalf("restarted after the budget was spent: %d", got)
		}
	})
}

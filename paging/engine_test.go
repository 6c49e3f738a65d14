package paging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/store"
	"opsbot/store/storetest"
)

// The end-to-end case: a critical alert nobody acknowledges is
// mentioned at once, paged to the primary at 5 min; an ack at minute 7
// stops it (no secondary page, PagerDuty hears acknowledge); the resolve
// resolves it at PagerDuty. Each step exactly once, each a line in the thread.
func TestEscalationAckAndResolve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		r.fire(t, "api/down", "critical")
		r.pass(t)
		th := r.thread(t)
		if count(th, "Escalation step 1 of 4 (critical): alice (primary), please acknowledge.") != 1 || count(th, "<@U0ALICE>") != 1 {
			t.Fatalf("step 1 not in the thread once: %q", th)
		}
		if len(r.pd.events()) != 0 {
			t.Fatalf("paged before 5 min: %v", r.pd.actions())
		}

		r.at(4*time.Minute + 59*time.Second)
		r.pass(t)
		if len(r.pd.events()) != 0 || len(r.hook.bodies()) != 0 {
			t.Fatalf("paged before 5 min: %v", r.pd.actions())
		}
		r.at(5 * time.Minute)
		r.pass(t)
		r.at(5*time.Minute + 30*time.Second)
		r.pass(t)
		evs := r.pd.events()
		if len(evs) != 1 || evs[0].EventAction != "trigger" || evs[0].DedupKey != "api/down" || evs[0].Payload.Severity != "critical" ||
			evs[0].Payload.Source != "api" || len(evs[0].Links) != 1 || !strings.HasPrefix(evs[0].Links[0].Href, "https://slack.com/archives/C0ALERT/p") {
			t.Fatalf("PagerDuty got %+v", evs)
		}
		hb := r.hook.bodies()
		if len(hb) != 1 || hb[0].Action != "trigger" || hb[0].Alert.Person != "alice" || hb[0].Alert.Phone != "+4930123456" || hb[0].Alert.State != "firing" {
			t.Fatalf("webhook got %+v", hb)
		}
		th = r.thread(t)
		for _, want := range []string{"Escalation step 2 of 4 (critical): paging alice (primary) via pd, hook.", "Page via pd to alice: delivered.", "Page via hook to alice: delivered."} {
			if count(th, want) != 1 {
				t.Fatalf("%q not in the thread once: %q", want, th)
			}
		}

		r.at(7 * time.Minute)
		id := r.alertID(t, "api/down")
		if _, err := r.n.Ack(ctx, id, "slack:U0ALICE (alice)"); err != nil {
			t.Fatal(err)
		}
		r.pass(t)
		r.at(15 * time.Minute)
		r.pass(t)
		r.at(31 * time.Minute)
		r.pass(t)
		if got := strings.Join(r.pd.actions(), ","); got != "trigger,acknowledge" {
			t.Fatalf("PagerDuty actions %s, want trigger,acknowledge", got)
		}
		if hb := r.hook.bodies(); len(hb) != 2 || hb[1].Action != "acknowledge" || hb[1].Alert.By != "slack:U0ALICE (alice)" {
			t.Fatalf("webhook got %+v", hb)
		}
		if n, _ := store.StepsTaken(ctx, st.DB, id); n != 2 {
			t.Fatalf("%d steps taken, want 2", n)
		}
		th = r.thread(t)
		if count(th, "Escalation stopped: acknowledged by slack:U0ALICE (alice) after 2 of 4 steps; hook, pd told.") != 1 || count(th, "step 3") != 0 {
			t.Fatalf("thread after the ack: %q", th)
		}

		stats, err := r.eng.Stats(ctx, t0.Add(-time.Hour))
		if err != nil || stats.Alerts != 1 || stats.Acked != 1 || stats.MTTA != 7*time.Minute || stats.Paged != 1 || stats.TimeToPage != 5*time.Minute {
			t.Fatalf("stats %+v, %v; want MTTA 7m, time to page 5m", stats, err)
		}

		r.at(40 * time.Minute)
		r.resolve(t, "api/down")
		r.pass(t)
		if got := strings.Join(r.pd.actions(), ","); got != "trigger,acknowledge,resolve" {
			t.Fatalf("PagerDuty actions %s", got)
		}
		if count(r.thread(t), "Escalation ended: resolved; hook, pd told.") != 1 {
			t.Fatalf("thread after the resolve: %q", r.thread(t))
		}
		for id, n := range r.hook.ids {
			if n != 1 {
				t.Fatalf("webhook delivery %s received %d times", id, n)
			}
		}
	})
}

// Nobody acknowledges: the secondary is paged at 15 min and the lead at
// 30 min, each once however often the engine looks; the leader is killed
// between step 2 and 3 and a new engine (the new leader) takes step 3
// once, on time; two engines racing take each step once.
func TestEscalationSurvivesLeaderChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		r.fire(t, "api/down", "critical")
		r.pass(t)
		r.at(5 * time.Minute)
		r.pass(t)
		if got := len(r.pd.events()); got != 1 {
			t.Fatalf("%d pages after step 2", got)
		}
		// The leader dies; its successor starts from the store.
		r.eng = r.engine()
		r.at(14*time.Minute + 59*time.Second)
		r.pass(t)
		if got := len(r.pd.events()); got != 1 {
			t.Fatalf("step 3 early: %d pages", got)
		}
		r.at(15 * time.Minute)
		// Two processes that both believe they lead.
		other := r.engine()
		done := make(chan error, 1)
		go func() { done <- other.Tick(ctx) }()
		r.pass(t)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		r.pass(t)
		evs := r.pd.events()
		if len(evs) != 2 {
			t.Fatalf("PagerDuty got %d events after step 3, want 2", len(evs))
		}
		hb := r.hook.bodies()
		if len(hb) != 2 || hb[1].Alert.Person != "bob" || hb[1].Alert.Step != 3 {
			t.Fatalf("webhook after step 3: %+v", hb)
		}
		r.at(30 * time.Minute)
		r.pass(t)
		r.at(45 * time.Minute)
		r.pass(t)
		id := r.alertID(t, "api/down")
		if n, _ := store.StepsTaken(ctx, st.DB, id); n != 4 {
			t.Fatalf("%d steps taken, want 4", n)
		}
		th := r.thread(t)
		for _, want := range []string{"Escalation step 3 of 4 (critical): paging bob (secondary) via pd, hook.", "Escalation step 4 of 4 (critical): paging lead via pd."} {
			if count(th, want) != 1 {
				t.Fatalf("%q not in the thread once: %q", want, th)
			}
		}
		if count(th, "<@U0LEAD>") != 1 {
			t.Fatalf("the lead is not mentioned once: %q", th)
		}
		if got := len(r.pd.events()); got != 3 {
			t.Fatalf("PagerDuty got %d events, want 3", got)
		}
	})
}

// An alert announced an hour before paging was configured is not paged
// through every overdue step at once when paging starts; one announced
// moments before a new leader starts its escalation takes every step.
func TestOverdueStepsAreNotBurst(t *testing.T) {
	st := storetest.SQLite(t)
	r := newRig(t, st)
	pols := r.cfg.Paging.Policies
	r.cfg.Paging.Policies = nil
	r.fire(t, "old/alert", "critical")
	r.pass(t)
	r.at(time.Hour)
	r.cfg.Paging.Policies = pols
	r.fire(t, "new/alert", "critical")
	r.pass(t)
	r.at(time.Hour + 6*time.Minute)
	r.pass(t)
	evs := r.pd.events()
	if len(evs) != 1 || evs[0].DedupKey != "new/alert" {
		t.Fatalf("PagerDuty got %+v; want only new/alert's step 2", evs)
	}
	if n, _ := store.StepsTaken(context.Background(), st.DB, r.alertID(t, "old/alert")); n != 0 {
		t.Fatalf("%d steps taken for the old alert", n)
	}
}

// A warning that turns critical is escalated under the critical policy
// from the change on: its first step at once, the page 5 min after the rise.
func TestSeverityRiseSwitchesPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		r.cfg.Paging.Policies = append(r.cfg.Paging.Policies, config.EscalationPolicy{Name: "warning", Severity: "warning",
			Steps: []config.Step{{After: 0, Rotation: "primary", Via: []string{"hook"}}}})
		r.fire(t, "disk/api", "warning")
		r.pass(t)
		if hb := r.hook.bodies(); len(hb) != 1 || hb[0].Alert.Severity != "warning" {
			t.Fatalf("warning page: %+v", hb)
		}
		r.at(2 * time.Minute)
		r.fire(t, "disk/api", "critical")
		r.pass(t)
		r.at(6*time.Minute + 59*time.Second)
		r.pass(t)
		if len(r.pd.events()) != 0 {
			t.Fatalf("paged before 5 min after the rise: %v", r.pd.actions())
		}
		r.at(7 * time.Minute)
		r.pass(t)
		r.pass(t)
		if evs := r.pd.events(); len(evs) != 1 || evs[0].Payload.Severity != "critical" {
			t.Fatalf("PagerDuty after the rise: %+v", evs)
		}
		th := r.thread(t)
		if count(th, "Escalation step 1 of 1 (warning): paging alice (primary) via hook.") != 1 ||
			count(th, "Escalation step 1 of 4 (critical): alice (primary), please acknowledge.") != 1 ||
			count(th, "Escalation step 2 of 4 (critical): paging alice (primary) via pd, hook.") != 1 {
			t.Fatalf("thread: %q", th)
		}
	})
}

package paging_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/incidents"
	"opsbot/store"
	"opsbot/store/storetest"
)

// Each step and each page's outcome is in the incident timeline too: the
// critical alert opens an incident for its target, and the engine's lines
// enter its timeline.
func TestStepsInTheIncidentTimeline(t *testing.T) {
	st := storetest.SQLite(t)
	r := newRig(t, st)
	ctx := context.Background()
	inc := incidents.New(st, r.n, func() *config.Config { return r.cfg }, r.log)
	r.n.OnAlert(inc.OnAlert)
	r.eng.Timeline = inc.RecordActionTx
	r.fire(t, "api/down", "critical")
	r.pass(t)
	r.at(5 * time.Minute)
	r.pass(t)
	list, err := inc.List(ctx, true, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("incidents %+v, %v", list, err)
	}
	_, entries, err := inc.Get(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range entries {
		texts = append(texts, e.Text)
	}
	for _, want := range []string{"Escalation step 1 of 4 (critical): alice (primary), please acknowledge.",
		"Escalation step 2 of 4 (critical): paging alice (primary) via pd, hook.", "Page via pd to alice: delivered."} {
		if count(texts, want) != 1 {
			t.Fatalf("timeline lacks %q once:\n%s", want, strings.Join(texts, "\n"))
		}
	}
}

// The timeline entry of a step is written in the step's own transaction:
// a step whose transaction fails after the entry was written leaves
// neither the step nor the entry, and the step taken again leaves one of
// each.
func TestStepAndTimelineEntryCommitTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		inc := incidents.New(st, r.n, func() *config.Config { return r.cfg }, r.log)
		r.n.OnAlert(inc.OnAlert)
		fail := true
		r.eng.Timeline = func(ctx context.Context, tx store.DBTX, target, actor, text string, now time.Time) error {
			if err := inc.RecordActionTx(ctx, tx, target, actor, text, now); err != nil {
				return err
			}
			if fail && strings.HasPrefix(text, "Escalation step 1") {
				return errors.New("store lost mid-step")
			}
			return nil
		}
		r.fire(t, "api/down", "critical")
		if err := r.n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.eng.Tick(ctx); err == nil || !strings.Contains(err.Error(), "store lost mid-step") {
			t.Fatalf("engine tick: %v, want the step's failure", err)
		}
		list, err := inc.List(ctx, true, 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("incidents %+v, %v", list, err)
		}
		entries := func() []string {
			_, es, err := inc.Get(ctx, list[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range es {
				out = append(out, e.Text)
			}
			return out
		}
		const line = "Escalation step 1 of 4 (critical): alice (primary), please acknowledge."
		if got := entries(); count(got, line) != 0 {
			t.Fatalf("a step rolled back left its timeline entry:\n%s", strings.Join(got, "\n"))
		}
		if n, err := store.StepsTaken(ctx, st.DB, r.alertID(t, "api/down")); err != nil || n != 0 {
			t.Fatalf("steps taken %d, %v; want 0 after the rollback", n, err)
		}
		fail = false
		r.pass(t)
		if got := entries(); count(got, line) != 1 {
			t.Fatalf("timeline lacks %q once:\n%s", line, strings.Join(got, "\n"))
		}
		if n, err := store.StepsTaken(ctx, st.DB, r.alertID(t, "api/down")); err != nil || n != 1 {
			t.Fatalf("steps taken %d, %v; want 1", n, err)
		}
	})
}
